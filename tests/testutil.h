/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the cmocka test programs. */
#ifndef SYSFAST_TESTUTIL_H
#define SYSFAST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sysfast/sysfast.h>

/* Asserts that the calling thread's error is exactly class `t` and that its
 * message contains `needle` (NULL: any message), then clears it. */
#define assert_error(t, needle) testutil_assert_error((t), (needle), __FILE__, __LINE__)
void testutil_assert_error(const sysfast_exc_type *t, const char *needle, const char *file,
                           int line);

/* Asserts that no error is pending. */
#define assert_no_error() testutil_assert_no_error(__FILE__, __LINE__)
void testutil_assert_no_error(const char *file, int line);

/*
 * cmocka fixtures. testutil_runtime_up and _down: sysfast_init and
 * sysfast_fini around a whole group. testutil_runtime_fresh: a new runtime
 * for each test (fini, which drops every hook; the thread's error
 * cleared; init). A file whose hooks record what they see resets that
 * between fini and init in a fixture of its own.
 */
int testutil_runtime_up(void **state);
int testutil_runtime_down(void **state);
int testutil_runtime_fresh(void **state);

/*
 * Waits until every block the library handed to call_rcu so far is freed:
 * a marker goes after them on liburcu's default call_rcu worker, the only
 * one the library uses, which runs callbacks in the order they came. Not
 * urcu_memb_barrier(): it hands a block of liburcu's own to the worker
 * through atomics that ThreadSanitizer cannot see, which it reports as a
 * race. Call on a thread that has used the library.
 */
void testutil_deferred_frees_wait(void);

/*
 * The calling thread's heap use, for "never allocates" tests:
 * jemalloc's per-thread counters (thread.allocatedp / deallocatedp, read
 * through volatile pointers) where the build links jemalloc, the
 * sanitizer allocator's malloc and free hooks in ASan and TSan builds.
 * TESTUTIL_HEAP_PROBE is defined where one of them exists; elsewhere leave
 * such tests out at compile time (cmocka's skip() counts as a failure
 * under meson). Bracket the code with testutil_heap_start() and
 * testutil_heap_stop(): the result is zero exactly when the thread neither
 * allocated nor freed in between (its unit - bytes or blocks - depends on
 * the probe). testutil_heap_available() is false when the probe cannot
 * be read; call it first. A test should also show that the probe sees a
 * real allocation.
 */
#if defined(SYSFAST_HAVE_JEMALLOC)
#define TESTUTIL_HEAP_JEMALLOC 1
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TESTUTIL_HEAP_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TESTUTIL_HEAP_SANITIZER 1
#endif
#endif
#if defined(TESTUTIL_HEAP_JEMALLOC) || defined(TESTUTIL_HEAP_SANITIZER)
#define TESTUTIL_HEAP_PROBE 1
bool testutil_heap_available(void);
void testutil_heap_start(void);
uint64_t testutil_heap_stop(void);
#endif

#endif /* SYSFAST_TESTUTIL_H */
