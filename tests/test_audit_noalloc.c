/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit rule 9 as a test: once a thread has used the library and the
 * event name is known, the audit entry points neither allocate nor free
 * on that thread, with or without hooks, on success and on failure.
 *
 * Each configuration (no hook, 1, 8, a failing hook, filtered hooks, a
 * pending error, a fresh thread) warms every entry point up with one call
 * and then makes N_CALLS calls of each inside a measured region. The
 * meter counts the calling thread's heap operations only (liburcu's
 * call_rcu worker frees old snapshots on its own thread meanwhile):
 *
 *   jemalloc               thread.allocatedp / thread.deallocatedp (bytes)
 *   ASan, TSan             __sanitizer_install_malloc_and_free_hooks
 *   plain glibc            malloc and friends interposed in this binary,
 *                          forwarding to __libc_malloc and friends
 *
 * The test_meter_* cases show the meter does see heap use, the library's
 * included, so the suite cannot pass vacuously.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define METER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define METER_SANITIZER 1
#endif
#endif

#if defined(SYSFAST_HAVE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(METER_SANITIZER)
#include <sanitizer/allocator_interface.h>
#endif

#define N_CALLS 100000
#define EVENT "bench.x"

/* ---- the meter ---- */

/* Heap operations of the calling thread so far: bytes with jemalloc,
 * calls otherwise. Only differences mean anything. */
struct meter {
	uint64_t allocs, frees;
};

#if defined(SYSFAST_HAVE_JEMALLOC)

static const char meter_kind[] = "jemalloc thread.allocatedp/deallocatedp";
/* jemalloc's own per-thread counters; the pointers are per thread too. */
static __thread volatile uint64_t *je_allocated, *je_deallocated;

static volatile uint64_t *je_counter(const char *name)
{
	uint64_t *p = NULL;
	size_t sz = sizeof(p);

	if (mallctl(name, &p, &sz, NULL, 0) != 0 || !p) {
		print_error("mallctl(\"%s\") failed: jemalloc without stats?\n", name);
		abort();
	}
	return p;
}

/* Call on each thread before it reads the meter: mallctl may allocate. */
static void meter_attach(void)
{
	je_allocated = je_counter("thread.allocatedp");
	je_deallocated = je_counter("thread.deallocatedp");
}

static struct meter meter_read(void)
{
	return (struct meter){*je_allocated, *je_deallocated};
}

static void meter_install(void)
{
}

#else /* counting hooks, thread-local counters */

static __thread uint64_t tls_allocs, tls_frees;

static void meter_attach(void)
{
}

static struct meter meter_read(void)
{
	return (struct meter){__atomic_load_n(&tls_allocs, __ATOMIC_RELAXED),
	                      __atomic_load_n(&tls_frees, __ATOMIC_RELAXED)};
}

static void count_alloc(const void *p)
{
	if (p)
		tls_allocs++;
}

static void count_free(const void *p)
{
	if (p)
		tls_frees++;
}

#if defined(METER_SANITIZER)

static const char meter_kind[] = "sanitizer malloc/free hooks";

static void on_malloc(const volatile void *p, size_t size)
{
	(void)size;
	count_alloc((const void *)p);
}

static void on_free(const volatile void *p)
{
	count_free((const void *)p);
}

static void meter_install(void)
{
	if (!__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free)) {
		print_error("__sanitizer_install_malloc_and_free_hooks failed\n");
		abort();
	}
}

#else /* glibc: interpose the allocator in this binary */

static const char meter_kind[] = "interposed malloc (glibc __libc_*)";

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
void *__libc_memalign(size_t alignment, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);

static void meter_install(void)
{
}

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	count_alloc(p);
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	count_alloc(p);
	return p;
}

/* realloc(p, n) frees p and allocates, whatever it does in place. */
void *realloc(void *old, size_t size)
{
	void *p = __libc_realloc(old, size);

	count_free(old);
	count_alloc(p);
	return p;
}

void free(void *p)
{
	count_free(p);
	__libc_free(p);
}

void *memalign(size_t alignment, size_t size)
{
	void *p = __libc_memalign(alignment, size);

	count_alloc(p);
	return p;
}

void *aligned_alloc(size_t alignment, size_t size)
{
	return memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
	void *p;

	if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0)
		return EINVAL;
	p = memalign(alignment, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t size)
{
	void *p = __libc_valloc(size);

	count_alloc(p);
	return p;
}

void *pvalloc(size_t size)
{
	void *p = __libc_pvalloc(size);

	count_alloc(p);
	return p;
}

#endif
#endif

static struct meter meter_since(struct meter before)
{
	struct meter now = meter_read();

	return (struct meter){now.allocs - before.allocs, now.frees - before.frees};
}

/* ---- hooks ---- */

/* Hook calls and hooks that saw an error pending; hooks run on the
 * measuring thread, which the main thread joins before reading. */
static unsigned long hook_calls, hook_saw_error;

static int counting_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id, (void)name, (void)args, (void)ud;
	hook_calls++;
	if (sysfast_err_occurred())
		hook_saw_error++;
	return 0;
}

static sysfast_event_id event_id;

/* The failing hooks fail EVENT only, so that later adds get past them. */
static int failing_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)name, (void)args, (void)ud;
	if (id != event_id)
		return 0;
	hook_calls++;
	sysfast_err_set(sysfast_PermissionError, "blocked by the failing hook");
	return -1;
}

static int failing_hook_without_error(sysfast_event_id id, const char *name,
                                      const sysfast_args *args, void *ud)
{
	(void)name, (void)args, (void)ud;
	if (id != event_id)
		return 0;
	hook_calls++;
	return -1;
}

/* ---- configurations ---- */

struct config {
	const char *name;
	/* Adds the hooks, on a fresh runtime; returns 0. */
	int (*setup)(void);
	/* What each dispatching call must return, and the error it leaves. */
	int rc;
	const sysfast_exc_type *const *exc;
	/* Hooks a dispatch calls; whether sysfast_audit_active says yes. */
	unsigned calls_per_dispatch;
	bool active;
	/* The caller sets an error before each call (rule 6). */
	bool pending_error;
};

static int setup_no_hooks(void)
{
	return 0;
}

static int setup_1_hook(void)
{
	return sysfast_add_audit_hook(counting_hook, NULL);
}

/* Four process-wide hooks and four of the main interpreter. */
static int setup_8_hooks(void)
{
	for (int i = 0; i < 4; i++)
		if (sysfast_add_audit_hook(counting_hook, NULL) != 0
		    || sysfast_interp_add_audit_hook(NULL, counting_hook, NULL, NULL) != 0)
			return -1;
	return 0;
}

/* The failing hook is second of three: the third must not run. */
static int setup_failing_hook(void)
{
	if (sysfast_add_audit_hook(counting_hook, NULL) != 0
	    || sysfast_add_audit_hook(failing_hook, NULL) != 0)
		return -1;
	return sysfast_add_audit_hook(counting_hook, NULL);
}

static int setup_failing_hook_without_error(void)
{
	return sysfast_add_audit_hook(failing_hook_without_error, NULL);
}

static int setup_hook_for_another_event(void)
{
	static const char *const events[] = {"other.event"};
	const sysfast_hook_options opts = {0, events, 1};

	return sysfast_add_audit_hook_ex(counting_hook, NULL, &opts);
}

/* One prefix hook that matches EVENT and one that does not. */
static int setup_prefix_filtered_hooks(void)
{
	static const char *const match[] = {"bench.*"};
	static const char *const other[] = {"other.*"};
	const sysfast_hook_options m = {0, match, 1}, o = {0, other, 1};

	if (sysfast_add_audit_hook_ex(counting_hook, NULL, &m) != 0)
		return -1;
	return sysfast_interp_add_audit_hook(NULL, counting_hook, NULL, &o);
}

static const struct config cfg_no_hooks = {"no hooks", setup_no_hooks, 0, NULL, 0, false, false};
static const struct config cfg_1_hook = {"1 hook", setup_1_hook, 0, NULL, 1, true, false};
static const struct config cfg_8_hooks = {"8 hooks", setup_8_hooks, 0, NULL, 8, true, false};
static const struct config cfg_failing = {
    "a failing hook", setup_failing_hook, -1, &sysfast_PermissionError, 2, true, false};
static const struct config cfg_failing_no_error = {"a hook failing without an error",
                                                   setup_failing_hook_without_error,
                                                   -1,
                                                   &sysfast_SystemError,
                                                   1,
                                                   true,
                                                   false};
static const struct config cfg_other_event = {
    "a hook for another event", setup_hook_for_another_event, 0, NULL, 0, false, false};
static const struct config cfg_prefix = {
    "prefix-filtered hooks", setup_prefix_filtered_hooks, 0, NULL, 1, true, false};
static const struct config cfg_pending = {"a pending error", setup_1_hook, 0, NULL, 1, true, true};
static const struct config cfg_pending_failing = {"a pending error and a failing hook",
                                                  setup_failing_hook,
                                                  -1,
                                                  &sysfast_PermissionError,
                                                  2,
                                                  true,
                                                  true};

/* ---- the entry points, each one call site ---- */

enum entry {
	E_AUDIT,
	E_AUDIT_FLAT,
	E_AUDIT_FN,
	E_VAUDIT,
	E_AUDIT_ARGS,
	E_MACRO,
	E_ACTIVE,
	E_INTERN,
	N_ENTRIES
};

/* sysfast_audit three times: through the call-site macro (a literal event
 * and format) with a format it builds inline and with one the library
 * builds from the site's array, and through the function itself. */
static const char *const entry_names[N_ENTRIES] = {
    "sysfast_audit (call site)", "sysfast_audit (call site, \"s#i\")",
    "sysfast_audit (function)",  "sysfast_vaudit",
    "sysfast_audit_args",        "SYSFAST_AUDIT",
    "sysfast_audit_active",      "sysfast_event_intern",
};

static int vaudit(const char *event, const char *format, ...)
{
	va_list va;
	int rc;

	va_start(va, format);
	rc = sysfast_vaudit(event, format, va);
	va_end(va);
	return rc;
}

/* The value of one call; for sysfast_audit_active 0 or 1, for
 * sysfast_event_intern the id. */
static long call_entry(enum entry e)
{
	const sysfast_args args = SYSFAST_ARGS(SYSFAST_STR("x"), SYSFAST_INT(1));

	switch (e) {
	case E_AUDIT:
		return sysfast_audit(EVENT, "(si)", "x", 1);
	case E_AUDIT_FLAT:
		return sysfast_audit(EVENT, "s#i", "x", (ssize_t)1, 1);
	case E_AUDIT_FN:
		return (sysfast_audit)(EVENT, "(si)", "x", 1);
	case E_VAUDIT:
		return vaudit(EVENT, "(si)", "x", 1);
	case E_AUDIT_ARGS:
		return sysfast_audit_args(event_id, &args);
	case E_MACRO:
		return SYSFAST_AUDIT(EVENT, SYSFAST_STR("x"), SYSFAST_INT(1));
	case E_ACTIVE:
		return sysfast_audit_active(event_id);
	case E_INTERN:
		return sysfast_event_intern(EVENT);
	default:
		return -2;
	}
}

static bool is_dispatch(enum entry e)
{
	return e <= E_MACRO;
}

/* Did one call behave as the configuration says? Checked inside the
 * measured region, so it must not allocate either. */
static bool outcome_ok(const struct config *c, enum entry e, long v)
{
	const sysfast_exc_type *want = c->pending_error ? sysfast_KeyboardInterrupt : NULL;
	long want_v = 0;

	if (is_dispatch(e) && c->rc != 0) {
		want_v = c->rc;
		want = *c->exc;
	} else if (e == E_ACTIVE) {
		want_v = c->active;
	} else if (e == E_INTERN) {
		want_v = event_id;
	}
	return v == want_v && sysfast_err_occurred() == want;
}

/* ---- measuring ---- */

struct entry_result {
	struct meter heap;
	unsigned long wrong_outcomes;
	unsigned long hook_calls;
};

struct config_result {
	struct entry_result e[N_ENTRIES];
	unsigned long hook_saw_error;
};

/* Warms every entry point up, then makes N_CALLS calls of each inside a
 * measured region. Runs on the thread being measured. */
static void measure(const struct config *c, struct config_result *r)
{
	unsigned long saw_error = hook_saw_error;

	meter_attach();
	for (int e = 0; e < N_ENTRIES; e++) {
		(void)call_entry(e);
		sysfast_err_clear();
	}
	for (int e = 0; e < N_ENTRIES; e++) {
		struct entry_result *er = &r->e[e];
		unsigned long calls = hook_calls, wrong = 0;
		struct meter before = meter_read();

		for (int i = 0; i < N_CALLS; i++) {
			if (c->pending_error)
				sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
			wrong += !outcome_ok(c, e, call_entry(e));
			sysfast_err_clear();
		}
		er->heap = meter_since(before);
		er->wrong_outcomes = wrong;
		er->hook_calls = hook_calls - calls;
	}
	r->hook_saw_error = hook_saw_error - saw_error;
}

static void check_result(const struct config *c, const struct config_result *r, const char *where)
{
	bool ok = r->hook_saw_error == 0;

	for (int e = 0; e < N_ENTRIES; e++) {
		const struct entry_result *er = &r->e[e];
		unsigned long want_calls =
		    is_dispatch(e) ? (unsigned long)N_CALLS * c->calls_per_dispatch : 0;

		if (er->heap.allocs || er->heap.frees) {
			print_error("%s, %s: %s: %llu allocated, %llu freed over %d calls (%s)\n",
			            c->name, where, entry_names[e],
			            (unsigned long long)er->heap.allocs,
			            (unsigned long long)er->heap.frees, N_CALLS, meter_kind);
			ok = false;
		}
		if (er->wrong_outcomes || er->hook_calls != want_calls) {
			print_error("%s, %s: %s: %lu wrong results, %lu hook calls (want %lu)\n",
			            c->name, where, entry_names[e], er->wrong_outcomes,
			            er->hook_calls, want_calls);
			ok = false;
		}
	}
	if (r->hook_saw_error)
		print_error("%s, %s: hooks saw the caller's error %lu times\n", c->name, where,
		            r->hook_saw_error);
	assert_true(ok);
}

static void start_config(const struct config *c)
{
	sysfast_err_clear();
	sysfast_fini();
	assert_int_equal(sysfast_init(), 0);
	event_id = sysfast_event_intern(EVENT);
	assert_int_not_equal(event_id, 0);
	assert_int_equal(c->setup(), 0);
	assert_no_error();
}

static void run_on_this_thread(const struct config *c)
{
	struct config_result r = {0};

	start_config(c);
	measure(c, &r);
	check_result(c, &r, "calling thread");
}

struct fresh_thread {
	const struct config *c;
	struct config_result r;
};

static void *fresh_thread_main(void *arg)
{
	struct fresh_thread *ft = arg;

	measure(ft->c, &ft->r);
	return NULL;
}

/* A thread that has never used the library: its first call of each entry
 * point is the warm-up. */
static void run_on_fresh_thread(const struct config *c)
{
	static struct fresh_thread ft;
	pthread_t th;

	start_config(c);
	memset(&ft, 0, sizeof(ft));
	ft.c = c;
	assert_int_equal(pthread_create(&th, NULL, fresh_thread_main, &ft), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	check_result(c, &ft.r, "fresh thread");
}

/* ---- the meter works ---- */

/* Volatile, so the compiler cannot pair and drop the calls. */
static void *(*volatile heap_malloc)(size_t) = malloc;
static void (*volatile heap_free)(void *) = free;

static void test_meter_detects_a_malloc_and_a_free(void **state)
{
	struct meter before, used;

	(void)state;
	meter_attach();
	before = meter_read();
	heap_free(heap_malloc(64));
	used = meter_since(before);
	assert_true(used.allocs > 0);
	assert_true(used.frees > 0);
}

/* Heap use inside libsysfast counts too: interning a new name allocates,
 * and sysfast_fini frees the hook lists on the calling thread. */
static void test_meter_detects_heap_use_inside_the_library(void **state)
{
	static unsigned round;
	char name[64];
	struct meter before, used;

	(void)state;
	start_config(&cfg_no_hooks);
	meter_attach();
	snprintf(name, sizeof(name), "noalloc.meter.%u", round++);
	before = meter_read();
	assert_int_not_equal(sysfast_event_intern(name), 0);
	assert_int_equal(sysfast_add_audit_hook(counting_hook, NULL), 0);
	sysfast_fini();
	used = meter_since(before);
	assert_true(used.allocs > 0);
	assert_true(used.frees > 0);
}

static sem_t other_go, other_done;

static void *other_thread_main(void *arg)
{
	(void)arg;
	sem_wait(&other_go);
	heap_free(heap_malloc(64));
	sem_post(&other_done);
	return NULL;
}

/* What another thread does (liburcu's call_rcu worker, say) is not
 * counted against the caller. */
static void test_meter_ignores_other_threads(void **state)
{
	struct meter before, used;
	pthread_t th;

	(void)state;
	meter_attach();
	assert_int_equal(sem_init(&other_go, 0, 0), 0);
	assert_int_equal(sem_init(&other_done, 0, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, other_thread_main, NULL), 0);
	before = meter_read();
	sem_post(&other_go);
	sem_wait(&other_done);
	used = meter_since(before);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(used.allocs, 0);
	assert_int_equal(used.frees, 0);
	sem_destroy(&other_go);
	sem_destroy(&other_done);
}

/* ---- one test per configuration ---- */

static void test_audit_with_no_hooks_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_no_hooks);
}

static void test_audit_with_1_hook_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_1_hook);
}

static void test_audit_with_8_hooks_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_8_hooks);
}

static void test_audit_with_a_failing_hook_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_failing);
}

static void test_audit_with_a_hook_failing_without_an_error_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_failing_no_error);
}

static void test_audit_with_a_hook_filtered_to_another_event_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_other_event);
}

static void test_audit_with_prefix_filtered_hooks_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_prefix);
}

static void test_audit_with_a_pending_error_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_pending);
}

static void test_audit_with_a_pending_error_and_a_failing_hook_allocates_nothing(void **state)
{
	(void)state;
	run_on_this_thread(&cfg_pending_failing);
}

/* Rejected calls, with a hook registered so that names, ids and formats
 * are checked: the errors go into the thread's fixed buffer. */
static int call_rejected(int which)
{
	const sysfast_args args = SYSFAST_ARGS(SYSFAST_INT(1));

	switch (which) {
	case 0:
		return (sysfast_audit)(EVENT, "(si", "x", 1);
	case 1:
		return vaudit(EVENT, "(s!)", "x");
	case 2:
		return (sysfast_audit)("", "i", 1);
	case 3:
		return sysfast_audit_args(SYSFAST_EVENT_ID_MAX, &args);
	case 4:
		return sysfast_audit(EVENT, "(si", "x", 1);
	case 5:
		return sysfast_audit("", "i", 1);
	default:
		return sysfast_audit(NULL, "i", 1);
	}
}

static void test_audit_rejecting_bad_input_allocates_nothing(void **state)
{
	static const char *const what[] = {"unclosed tuple format",
	                                   "bad format code",
	                                   "empty event name",
	                                   "unknown event id",
	                                   "unclosed tuple format, literals",
	                                   "empty event name, literals",
	                                   "NULL event name"};
	const sysfast_exc_type *const *want[] = {
	    &sysfast_SystemError, &sysfast_SystemError, &sysfast_ValueError, &sysfast_ValueError,
	    &sysfast_SystemError, &sysfast_ValueError,  &sysfast_ValueError};
	bool ok = true;

	(void)state;
	start_config(&cfg_1_hook);
	meter_attach();
	for (int w = 0; w < (int)(sizeof(what) / sizeof(what[0])); w++) {
		unsigned long wrong = 0, calls = hook_calls;
		struct meter before, used;

		(void)call_rejected(w);
		sysfast_err_clear();
		before = meter_read();
		for (int i = 0; i < N_CALLS; i++) {
			wrong += call_rejected(w) != -1 || sysfast_err_occurred() != *want[w];
			sysfast_err_clear();
		}
		used = meter_since(before);
		if (used.allocs || used.frees || wrong || hook_calls != calls) {
			print_error("%s: %llu allocated, %llu freed, %lu wrong results, %lu hook "
			            "calls (%s)\n",
			            what[w], (unsigned long long)used.allocs,
			            (unsigned long long)used.frees, wrong, hook_calls - calls,
			            meter_kind);
			ok = false;
		}
	}
	assert_true(ok);
}

/* Every configuration again, each from a thread that never used the
 * library before. */
static void test_audit_from_a_fresh_thread_allocates_nothing(void **state)
{
	static const struct config *const all[] = {
	    &cfg_no_hooks, &cfg_1_hook,           &cfg_8_hooks,
	    &cfg_failing,  &cfg_failing_no_error, &cfg_other_event,
	    &cfg_prefix,   &cfg_pending,          &cfg_pending_failing,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		run_on_fresh_thread(all[i]);
}

static int fini_after(void **state)
{
	(void)state;
	sysfast_fini();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_meter_detects_a_malloc_and_a_free),
	    cmocka_unit_test_teardown(test_meter_detects_heap_use_inside_the_library, fini_after),
	    cmocka_unit_test(test_meter_ignores_other_threads),
	    cmocka_unit_test_teardown(test_audit_with_no_hooks_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_with_1_hook_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_with_8_hooks_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_with_a_failing_hook_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(
	        test_audit_with_a_hook_failing_without_an_error_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(
	        test_audit_with_a_hook_filtered_to_another_event_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_with_prefix_filtered_hooks_allocates_nothing,
	                              fini_after),
	    cmocka_unit_test_teardown(test_audit_with_a_pending_error_allocates_nothing,
	                              fini_after),
	    cmocka_unit_test_teardown(
	        test_audit_with_a_pending_error_and_a_failing_hook_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_rejecting_bad_input_allocates_nothing, fini_after),
	    cmocka_unit_test_teardown(test_audit_from_a_fresh_thread_allocates_nothing, fini_after),
	};

	meter_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
