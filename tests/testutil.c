/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "testutil.h"

#if defined(TESTUTIL_HEAP_JEMALLOC)
#include <jemalloc/jemalloc.h>
#endif

void testutil_assert_error(const sysfast_exc_type *t, const char *needle, const char *file,
                           int line)
{
	const sysfast_exc_type *got = sysfast_err_occurred();

	if (got != t) {
		print_error("%s:%d: expected %s, got %s (\"%s\")\n", file, line,
		            sysfast_exc_type_name(t), got ? sysfast_exc_type_name(got) : "no error",
		            sysfast_err_message());
		_fail(file, line);
	}
	if (needle && !strstr(sysfast_err_message(), needle)) {
		print_error("%s:%d: message \"%s\" lacks \"%s\"\n", file, line,
		            sysfast_err_message(), needle);
		_fail(file, line);
	}
	sysfast_err_clear();
}

int testutil_runtime_up(void **state)
{
	(void)state;
	return sysfast_init();
}

int testutil_runtime_down(void **state)
{
	(void)state;
	sysfast_fini();
	return 0;
}

int testutil_runtime_fresh(void **state)
{
	(void)state;
	sysfast_fini();
	sysfast_err_clear();
	return sysfast_init();
}

void testutil_assert_no_error(const char *file, int line)
{
	const sysfast_exc_type *got = sysfast_err_occurred();

	if (got) {
		print_error("%s:%d: unexpected %s: \"%s\"\n", file, line,
		            sysfast_exc_type_name(got), sysfast_err_message());
		_fail(file, line);
	}
}

/* ---- the heap probe (see testutil.h) ---- */

#if defined(TESTUTIL_HEAP_JEMALLOC)
/* The calling thread's counters; mallctl may allocate, so they are looked
 * up once per thread, before any measurement. */
static __thread volatile uint64_t *heap_allocated, *heap_deallocated;
static __thread uint64_t heap_base;

bool testutil_heap_available(void)
{
	size_t sz = sizeof(heap_allocated);

	return heap_allocated
	       || (mallctl("thread.allocatedp", (void *)&heap_allocated, &sz, NULL, 0) == 0
	           && mallctl("thread.deallocatedp", (void *)&heap_deallocated, &sz, NULL, 0) == 0);
}

void testutil_heap_start(void)
{
	heap_base = *heap_allocated + *heap_deallocated;
}

/* Bytes allocated plus bytes freed since testutil_heap_start(). */
uint64_t testutil_heap_stop(void)
{
	return *heap_allocated + *heap_deallocated - heap_base;
}
#elif defined(TESTUTIL_HEAP_SANITIZER)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static __thread bool heap_probing;
static __thread uint64_t heap_events;

static void heap_on_malloc(const volatile void *p, size_t size)
{
	(void)p, (void)size;
	if (heap_probing)
		heap_events++;
}

static void heap_on_free(const volatile void *p)
{
	if (heap_probing && p)
		heap_events++;
}

bool testutil_heap_available(void)
{
	static bool installed;

	if (!installed)
		installed =
		    __sanitizer_install_malloc_and_free_hooks(heap_on_malloc, heap_on_free) != 0;
	return installed;
}

void testutil_heap_start(void)
{
	heap_events = 0;
	heap_probing = true;
}

/* Allocations plus frees since testutil_heap_start(). */
uint64_t testutil_heap_stop(void)
{
	heap_probing = false;
	return heap_events;
}
#endif

static struct rcu_head deferred_marker;
static bool deferred_marker_ran;

static void deferred_marker_run(struct rcu_head *head)
{
	(void)head;
	__atomic_store_n(&deferred_marker_ran, true, __ATOMIC_RELEASE);
}

void testutil_deferred_frees_wait(void)
{
	__atomic_store_n(&deferred_marker_ran, false, __ATOMIC_RELAXED);
	urcu_memb_call_rcu(&deferred_marker, deferred_marker_run);
	while (!__atomic_load_n(&deferred_marker_ran, __ATOMIC_ACQUIRE))
		usleep(100);
}
