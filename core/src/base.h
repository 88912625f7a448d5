/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the bottom layer: the allocator and short-string helpers
 * (alloc.c; siphash.h is its neighbour).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_BASE_H
#define SYSFAST_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sysfast/sysfast.h>

/* ---- alloc.c ---- */

/* The library's allocator: every block and mapping it owns comes from
 * these and goes back to them (never to malloc/free directly). Each
 * returns NULL on failure and sets no error: the caller says what it was
 * allocating. */
void *sysfast__malloc(size_t size);
void *sysfast__calloc(size_t n, size_t size);
void *sysfast__realloc(void *p, size_t size);
void sysfast__free(void *p);
/* `size` bytes of zeroed, private, anonymous memory, committed on first
 * touch; NULL on failure. */
void *sysfast__map(size_t size);
void sysfast__unmap(void *p, size_t size);

/* Fault injection for the tests (reached through the static library).
 * sysfast__alloc_fault_set arms the counters and fails the `nth`
 * allocation attempt from now on (1-based; 0: none), and with
 * `persistent` every attempt after it too. Mappings count as
 * allocations. Blocks and mappings are counted live from the first
 * arming on: arm before the first allocation you want counted. */
void sysfast__alloc_fault_set(unsigned long nth, bool persistent);
/* Stops failing; the counters go on. */
void sysfast__alloc_fault_clear(void);
struct sysfast__alloc_stats {
	unsigned long attempts; /* since the last fault_set */
	unsigned long failures; /* injected since the last fault_set */
	long live_blocks;       /* allocated and not yet freed */
	long live_maps;         /* mapped and not yet unmapped */
};
struct sysfast__alloc_stats sysfast__alloc_stats(void);

/* ---- short strings ---- */

/*
 * strcmp for the short strings of the hot paths (event names), inline,
 * like sysfast__short_strlen (data.h). A call to libc's goes through the PLT to an
 * IFUNC-selected routine: an indirect jump, which on some machines costs
 * more than the whole comparison (on the benchmark machine, the loop took
 * 14 ns off a 47 ns call; docs/benchmarks.md). Past 32 bytes, libc's.
 */
static inline bool sysfast__streq(const char *a, const char *b)
{
	for (size_t n = 0; n < 32; n++) {
		if (a[n] != b[n])
			return false;
		if (!a[n])
			return true;
	}
	return strcmp(a + 32, b + 32) == 0;
}

#endif /* SYSFAST_BASE_H */
