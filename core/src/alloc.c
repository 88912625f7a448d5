/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the one place the library takes memory.
 *
 * Every heap block and every mapping the library owns comes from here and
 * goes back here. Two reasons to keep it in one file:
 *
 * - The allocator is a choice made once (docs/building.md): changing it
 *   means changing these few functions, nothing else.
 * - Out-of-memory behaviour is a promise (docs/robustness.md): a call
 *   whose allocation fails changes nothing. To test that promise for every
 *   allocation the library makes, this file can fail the Nth allocation
 *   on demand (sysfast__alloc_fault_set), as SQLite's test harness does
 *   with its malloc shim. The tests reach the knobs through the static
 *   library; they are hidden from the shared library's symbol table.
 *
 * Disarmed, the fault machinery costs one relaxed load and a predictable
 * branch per allocation, nothing on the audit path (which never
 * allocates).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "base.h"

/* Armed by a test: count attempts and live blocks, fail as told. Relaxed
 * atomics throughout: the counters are statistics for a test that reads
 * them after the work it measures has finished (and after an RCU barrier
 * for deferred frees). */
static bool fault_armed;
static unsigned long fault_nth; /* fail the nth attempt; 0: never */
static bool fault_persistent;   /* and every attempt after it */
static unsigned long attempts;  /* since the last sysfast__alloc_fault_set */
static unsigned long failures;  /* injected, since the same */
static long live_blocks, live_maps;

/* Whether this attempt must fail. Counts it when armed. */
static bool inject_failure(void)
{
	unsigned long n;

	if (SYSFAST_LIKELY(!__atomic_load_n(&fault_armed, __ATOMIC_RELAXED)))
		return false;
	n = __atomic_add_fetch(&attempts, 1, __ATOMIC_RELAXED);
	if (fault_nth == 0 || n < fault_nth || (n > fault_nth && !fault_persistent))
		return false;
	__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	return true;
}

static void count(long *counter, long delta)
{
	if (__atomic_load_n(&fault_armed, __ATOMIC_RELAXED))
		__atomic_add_fetch(counter, delta, __ATOMIC_RELAXED);
}

void *sysfast__malloc(size_t size)
{
	void *p;

	if (inject_failure())
		return NULL;
	p = malloc(size);
	if (p)
		count(&live_blocks, 1);
	return p;
}

void *sysfast__calloc(size_t n, size_t size)
{
	void *p;

	if (inject_failure())
		return NULL;
	p = calloc(n, size);
	if (p)
		count(&live_blocks, 1);
	return p;
}

void *sysfast__realloc(void *old, size_t size)
{
	void *p;

	if (inject_failure())
		return NULL;
	p = realloc(old, size);
	if (p && !old)
		count(&live_blocks, 1);
	return p;
}

void sysfast__free(void *p)
{
	if (!p)
		return;
	count(&live_blocks, -1);
	free(p);
}

void *sysfast__map(size_t size)
{
	void *p;

	if (inject_failure())
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	         -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	count(&live_maps, 1);
	return p;
}

void sysfast__unmap(void *p, size_t size)
{
	count(&live_maps, -1);
	munmap(p, size);
}

/* ---- fault injection, for the tests ---- */

void sysfast__alloc_fault_set(unsigned long nth, bool persistent)
{
	__atomic_store_n(&fault_nth, nth, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_persistent, persistent, __ATOMIC_RELAXED);
	__atomic_store_n(&attempts, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&failures, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_armed, true, __ATOMIC_RELEASE);
}

void sysfast__alloc_fault_clear(void)
{
	__atomic_store_n(&fault_nth, 0, __ATOMIC_RELAXED);
}

struct sysfast__alloc_stats sysfast__alloc_stats(void)
{
	return (struct sysfast__alloc_stats){
	    .attempts = __atomic_load_n(&attempts, __ATOMIC_RELAXED),
	    .failures = __atomic_load_n(&failures, __ATOMIC_RELAXED),
	    .live_blocks = __atomic_load_n(&live_blocks, __ATOMIC_RELAXED),
	    .live_maps = __atomic_load_n(&live_maps, __ATOMIC_RELAXED),
	};
}
