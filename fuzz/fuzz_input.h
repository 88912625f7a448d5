/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the operation-sequence harnesses: a reader over the fuzzer's
 * input, and the allocation-fault seam of core/src/alloc.c.
 *
 * The harnesses use the public API only. The seam is the one internal
 * part they need; it is declared here, as core/src/internal.h declares
 * it, rather than by including internal.h, so that the harnesses do not
 * depend on how the library arranges its internal headers.
 */
#ifndef SYSFAST_FUZZ_INPUT_H
#define SYSFAST_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The input, read front to back; past its end every byte reads as 0. */
struct fuzz_input {
	const uint8_t *p, *end;
};

static inline bool fuzz_more(const struct fuzz_input *in)
{
	return in->p < in->end;
}

static inline unsigned fuzz_byte(struct fuzz_input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static inline unsigned fuzz_u16(struct fuzz_input *in)
{
	unsigned lo = fuzz_byte(in);

	return lo | fuzz_byte(in) << 8;
}

/* ---- the allocation-fault seam (core/src/alloc.c) ---- */

/* Arms the counters and fails the `nth` allocation attempt from now on
 * (1-based; 0: none), and with `persistent` every attempt after it too.
 * Blocks and mappings are counted live from the first arming on. */
void sysfast__alloc_fault_set(unsigned long nth, bool persistent);
/* Stops failing; the counters go on. */
void sysfast__alloc_fault_clear(void);
struct sysfast__alloc_stats {
	unsigned long attempts;
	unsigned long failures;
	long live_blocks;
	long live_maps;
};
struct sysfast__alloc_stats sysfast__alloc_stats(void);

#endif /* SYSFAST_FUZZ_INPUT_H */
