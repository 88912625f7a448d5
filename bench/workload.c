/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The realistic workload's event sequence; see workload.h. */
#include "workload.h"

uint16_t bench_workload_seq[BENCH_WORKLOAD_LEN];

static const unsigned bench_workload_weight[BENCH_EV_COUNT] = {
#define BENCH_WORKLOAD_EVENT(ident, name, weight, nargs) [BENCH_EV_##ident] = (weight),
#include "workload_events.def"
#undef BENCH_WORKLOAD_EVENT
};

/* xorshift64*: a fixed seed gives the same sequence on every machine. */
static uint64_t bench_workload_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

void bench_workload_init(void)
{
	static int done;
	uint64_t state = 0x5eed5eed5eed5eedULL;
	unsigned total = 0;

	if (done)
		return;
	done = 1;
	for (unsigned e = 0; e < BENCH_EV_COUNT; e++)
		total += bench_workload_weight[e];
	for (unsigned i = 0; i < BENCH_WORKLOAD_LEN; i++) {
		unsigned r = (unsigned)((bench_workload_next(&state) >> 32) % total);
		unsigned e = 0;
		while (r >= bench_workload_weight[e])
			r -= bench_workload_weight[e++];
		bench_workload_seq[i] = (uint16_t)e;
	}
}
