/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress test of audit dispatch against concurrent updates, meant to run
 * under ThreadSanitizer and AddressSanitizer as well as plain.
 *
 * Dispatchers raise events through SYSFAST_AUDIT, sysfast_audit and
 * sysfast_audit_args while adders add filtered and unfiltered hooks,
 * process-wide and to the main interpreter, and a churner creates,
 * enters, uses, leaves and destroys sub-interpreters. Every dispatch is
 * checked against the snapshot rule (docs/api.md, audit rule 5 with rules 2
 * and 4):
 *
 *   Each recorded hook belongs to an owner (an adder, or the set-up) and
 *   has a sequence number in its owner's add order. An owner publishes
 *   "last add that returned" with a release store. A dispatcher reads all
 *   of them (acquire) before it starts, raises its event with a unique
 *   token as the first argument, and the hooks log themselves into the
 *   dispatching thread's log when they see that token. Afterwards:
 *     - every hook of an owner up to the value read, whose filter matches
 *       the event and whose interpreter is the dispatch's, is in the log;
 *     - no hook is in the log twice or for an event or interpreter it
 *       does not match;
 *     - process-wide hooks come first, then the interpreter's;
 *     - within each part, one owner's hooks are in its add order, and a
 *       hook whose add returned before another's add began comes first
 *       (two stamps of one global counter, taken before each add and
 *       after it returned, say which adds were ordered).
 *
 * Fixed hooks re-enter the library while all that goes on: one audits a
 * nested event, one adds hooks. A second test piles re-entrancy up
 * (nested audits, adds, interpreters made and destroyed from hooks) on
 * several threads. A watchdog turns a deadlock into a failure.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define N_DISPATCHERS 4
#define N_ADDERS 2
#define DISPATCHES_PER_THREAD 2500
#define HOOKS_PER_ADDER 40
#define N_CHURNS 80
/* Every FRESH_EVERY-th dispatch raises a name never seen before. */
#define FRESH_EVERY 32
/* Hooks that fixed hooks add from inside a dispatch, at most. */
#define ADDS_FROM_HOOKS 24
#define WATCHDOG_S 120
#define MAX_REPORTS 10

/* ---- recorded hooks ---- */

enum { OWNER_FIXED = N_ADDERS, OWNER_CHURNER, N_OWNERS };
#define MAX_SEQ (HOOKS_PER_ADDER + 8)
#define N_RECS (N_OWNERS * (MAX_SEQ + 1))

/* What the checker knows about one hook; its userdata. */
struct rec {
	unsigned index; /* in recs, for the per-dispatch seen table */
	unsigned owner;
	unsigned seq;           /* 1, 2, ... in the owner's add order */
	sysfast_interp *interp; /* NULL: process-wide */
	const char *const *patterns;
	size_t n_patterns;    /* 0: every event */
	uint64_t start, done; /* global add stamps; atomic, 0 unknown */
};

static struct rec recs[N_OWNERS][MAX_SEQ + 1];
/* Per owner, the seq of its last add that returned; release/acquire. */
static unsigned last_done[N_OWNERS];
/* Incremented after each recorded add returns; seq_cst. */
static uint64_t add_clock;

static const char *const p_a[] = {"stress.a"};
static const char *const p_b_prefix[] = {"stress.b*"};
static const char *const p_stress[] = {"stress.*"};
static const char *const p_c_other[] = {"other.x", "stress.c"};
static const char *const p_never[] = {"stress.never"};
static const char *const p_star[] = {"*"};
static const char *const p_nested[] = {"stress.nested"};

/* ---- per-thread state ---- */

#define LOG_MAX (N_OWNERS * MAX_SEQ)

struct tstate {
	const char *cur_name; /* the dispatch being logged; NULL: none */
	uint64_t cur_token;
	size_t n_log;
	const struct rec *log[LOG_MAX];
	unsigned char seen[N_RECS];
	unsigned long nested_calls, hook_calls;
};

static __thread struct tstate ts;

static unsigned failures;
static unsigned long progress; /* dispatches done, all threads */
static int adds_from_hooks_left;

__attribute__((format(printf, 1, 2))) static void report_failure(const char *fmt, ...)
{
	va_list va;

	if (__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED) >= MAX_REPORTS)
		return;
	va_start(va, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, va);
	fputc('\n', stderr);
	va_end(va);
}

static bool pattern_matches(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);

	if (pattern[len - 1] == '*')
		return strncmp(name, pattern, len - 1) == 0;
	return strcmp(name, pattern) == 0;
}

/* Should a dispatch of `name` in `interp` call the hook of `r`? */
static bool rec_applies(const struct rec *r, const char *name, const sysfast_interp *interp)
{
	if (r->interp && r->interp != interp)
		return false;
	if (!r->n_patterns)
		return true;
	for (size_t i = 0; i < r->n_patterns; i++)
		if (pattern_matches(r->patterns[i], name))
			return true;
	return false;
}

/* Logs the hook of `r` when it runs for the thread's current dispatch. */
static void log_call(const struct rec *r, const char *name, const sysfast_args *args)
{
	ts.hook_calls++;
	if (!ts.cur_name || strcmp(name, ts.cur_name) != 0)
		return;
	if (args->n < 1 || args->items[0].kind != SYSFAST_ARG_UINT
	    || args->items[0].v.u != ts.cur_token) {
		report_failure("%s: hook %u.%u got the wrong arguments", name, r->owner, r->seq);
		return;
	}
	if (ts.n_log == LOG_MAX) {
		report_failure("%s: log full", name);
		return;
	}
	ts.log[ts.n_log++] = r;
}

static int record_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id;
	log_call(ud, name, args);
	return 0;
}

/* Counts the nested event that reenter_hook raises. */
static int nested_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id, (void)name, (void)args, (void)ud;
	ts.nested_calls++;
	return 0;
}

/* On "stress.a": raises "stress.nested" from inside the dispatch. */
static int reenter_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	unsigned long before = ts.nested_calls;
	int rc;

	(void)id;
	log_call(ud, name, args);
	rc = sysfast_audit("stress.nested", "K", (unsigned long long)ts.cur_token);
	if (rc != 0 || ts.nested_calls != before + 1)
		report_failure("nested audit from a hook: rc %d, nested hook ran %lu times", rc,
		               ts.nested_calls - before);
	return rc;
}

static int noop_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id, (void)name, (void)args, (void)ud;
	return 0;
}

/* On "stress.b": now and then adds a hook, process-wide or to the
 * current interpreter, from inside the dispatch (it must not wait for a
 * grace period its own read-side section holds up). */
static int adding_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	static const sysfast_hook_options never = {0, p_never, 1};
	int rc, left;

	(void)id;
	log_call(ud, name, args);
	if (ts.hook_calls % 8 != 0)
		return 0;
	left = __atomic_sub_fetch(&adds_from_hooks_left, 1, __ATOMIC_RELAXED);
	if (left < 0)
		return 0;
	if (left % 2)
		rc = sysfast_add_audit_hook_ex(noop_hook, NULL, &never);
	else
		rc = sysfast_interp_add_audit_hook(NULL, noop_hook, NULL, &never);
	if (rc != 0) {
		report_failure("add from inside a hook returned %d (%s)", rc,
		               sysfast_err_message());
		sysfast_err_clear();
	}
	return 0;
}

/* Adds the recorded hook `fn` for `r`, stamping it, and publishes it as
 * its owner's last completed add. */
static void add_recorded(struct rec *r, sysfast_audit_hook fn)
{
	const sysfast_hook_options opts = {0, r->patterns, r->n_patterns};
	uint64_t start = __atomic_load_n(&add_clock, __ATOMIC_SEQ_CST);
	int rc;

	__atomic_store_n(&r->start, start + 1, __ATOMIC_RELAXED);
	if (r->interp)
		rc = sysfast_interp_add_audit_hook(r->interp, fn, r, &opts);
	else
		rc = sysfast_add_audit_hook_ex(fn, r, &opts);
	if (rc != 0) {
		report_failure("add of hook %u.%u returned %d (%s)", r->owner, r->seq, rc,
		               sysfast_err_message());
		sysfast_err_clear();
		return;
	}
	__atomic_store_n(&r->done, __atomic_add_fetch(&add_clock, 1, __ATOMIC_SEQ_CST) + 1,
	                 __ATOMIC_RELAXED);
	__atomic_store_n(&last_done[r->owner], r->seq, __ATOMIC_RELEASE);
}

static struct rec *rec_init(unsigned owner, unsigned seq, sysfast_interp *interp,
                            const char *const *patterns, size_t n_patterns)
{
	struct rec *r = &recs[owner][seq];

	*r = (struct rec){
	    owner * (MAX_SEQ + 1) + seq, owner, seq, interp, patterns, n_patterns, 0, 0};
	return r;
}

/* ---- checking one dispatch ---- */

struct snapshot {
	unsigned done[N_OWNERS];
};

static void snapshot_take(struct snapshot *s)
{
	for (int k = 0; k < N_OWNERS; k++)
		s->done[k] = __atomic_load_n(&last_done[k], __ATOMIC_ACQUIRE);
}

/* Checks the log of the dispatch of `name` in `interp` that started after
 * `s` was taken, then empties it. */
static void check_dispatch(const char *name, const sysfast_interp *interp, const struct snapshot *s,
                           int rc)
{
	unsigned last_seq[2][N_OWNERS] = {{0}};
	uint64_t max_start[2] = {0, 0};
	int group = 0;

	if (rc != 0) {
		report_failure("%s: dispatch returned %d (%s)", name, rc, sysfast_err_message());
		sysfast_err_clear();
	}
	for (size_t i = 0; i < ts.n_log; i++) {
		const struct rec *r = ts.log[i];
		int g = r->interp != NULL;
		uint64_t done = __atomic_load_n(&r->done, __ATOMIC_RELAXED);

		if (!rec_applies(r, name, interp))
			report_failure("%s: hook %u.%u called but does not match", name, r->owner,
			               r->seq);
		if (ts.seen[r->index]++)
			report_failure("%s: hook %u.%u called twice", name, r->owner, r->seq);
		if (g < group)
			report_failure("%s: process-wide hook %u.%u after an interpreter hook",
			               name, r->owner, r->seq);
		group = g;
		if (r->seq <= last_seq[g][r->owner])
			report_failure("%s: hook %u.%u after %u.%u of the same owner", name,
			               r->owner, r->seq, r->owner, last_seq[g][r->owner]);
		last_seq[g][r->owner] = r->seq;
		if (done && done <= max_start[g])
			report_failure("%s: hook %u.%u called after a hook added after it returned",
			               name, r->owner, r->seq);
		if (__atomic_load_n(&r->start, __ATOMIC_RELAXED) > max_start[g])
			max_start[g] = __atomic_load_n(&r->start, __ATOMIC_RELAXED);
	}
	for (int k = 0; k < N_OWNERS; k++)
		for (unsigned seq = 1; seq <= s->done[k]; seq++) {
			const struct rec *r = &recs[k][seq];

			if (rec_applies(r, name, interp) && !ts.seen[r->index])
				report_failure(
				    "%s: hook %u.%u, added before the dispatch, not called", name,
				    k, seq);
		}
	for (size_t i = 0; i < ts.n_log; i++)
		ts.seen[ts.log[i]->index] = 0;
	ts.n_log = 0;
}

/* ---- the threads ---- */

enum { EV_A, EV_B, EV_C, EV_CHURN, N_EVENTS };
static const char *const event_names[N_EVENTS] = {"stress.a", "stress.b", "stress.c",
                                                  "stress.churn"};
static sysfast_event_id event_ids[N_EVENTS];

/* Raises event `e` with `token` through one of three entry points. */
static int raise_event(unsigned how, unsigned e, uint64_t token)
{
	const sysfast_args args = SYSFAST_ARGS(SYSFAST_UINT(token));

	switch (how % 3) {
	case 0:
		switch (e) {
		case EV_A:
			return SYSFAST_AUDIT("stress.a", SYSFAST_UINT(token));
		case EV_B:
			return SYSFAST_AUDIT("stress.b", SYSFAST_UINT(token));
		case EV_C:
			return SYSFAST_AUDIT("stress.c", SYSFAST_UINT(token));
		default:
			return SYSFAST_AUDIT("stress.churn", SYSFAST_UINT(token));
		}
	case 1:
		return sysfast_audit(event_names[e], "K", (unsigned long long)token);
	default:
		return sysfast_audit_args(event_ids[e], &args);
	}
}

struct worker {
	pthread_t thread;
	unsigned index;
	pthread_barrier_t *start;
};

/* One checked dispatch of `name` (raised by `how`, or as a fresh name
 * through sysfast_audit when e is N_EVENTS). */
static void checked_dispatch(const char *name, unsigned how, unsigned e, uint64_t token)
{
	struct snapshot s;
	int rc;

	snapshot_take(&s);
	ts.cur_name = name;
	ts.cur_token = token;
	if (e == N_EVENTS)
		rc = sysfast_audit(name, "K", (unsigned long long)token);
	else
		rc = raise_event(how, e, token);
	ts.cur_name = NULL;
	check_dispatch(name, sysfast_interp_current(), &s, rc);
}

#define TOTAL_DISPATCHES ((unsigned long)N_DISPATCHERS * DISPATCHES_PER_THREAD)

/* Adders add their seq-th hook once the dispatchers have done this many
 * dispatches, so that adds spread over the whole run. */
static unsigned long add_due(unsigned seq)
{
	return TOTAL_DISPATCHES * (seq - 1) / HOOKS_PER_ADDER;
}

/* Dispatchers wait while they are more than two adds ahead of the slowest
 * adder (the adders' own wait is below that, so nobody waits forever). */
static void keep_pace_with_adders(void)
{
	for (;;) {
		unsigned slowest = HOOKS_PER_ADDER;

		for (int k = 0; k < N_ADDERS; k++) {
			unsigned d = __atomic_load_n(&last_done[k], __ATOMIC_ACQUIRE);

			slowest = d < slowest ? d : slowest;
		}
		if (slowest == HOOKS_PER_ADDER
		    || __atomic_load_n(&progress, __ATOMIC_RELAXED) <= add_due(slowest + 3))
			return;
		sched_yield();
	}
}

static void *dispatcher_main(void *arg)
{
	struct worker *w = arg;
	char fresh[64];

	pthread_barrier_wait(w->start);
	for (unsigned i = 0; i < DISPATCHES_PER_THREAD; i++) {
		uint64_t token = ((uint64_t)(w->index + 1) << 32) | (i + 1);
		unsigned e = (i + w->index) % EV_CHURN;

		if (i % FRESH_EVERY == FRESH_EVERY - 1) {
			snprintf(fresh, sizeof(fresh), "stress.fresh.%u.%u", w->index, i);
			checked_dispatch(fresh, 0, N_EVENTS, token);
		} else {
			checked_dispatch(event_names[e], i / EV_CHURN, e, token);
		}
		__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
		keep_pace_with_adders();
	}
	return NULL;
}

/* Hook kinds the adders cycle through: where, and which filter. */
static const struct {
	bool main_interp;
	const char *const *patterns;
	size_t n;
} kinds[] = {
    {false, NULL, 0},     {false, p_a, 1},       {true, NULL, 0},
    {false, p_stress, 1}, {false, p_c_other, 2}, {true, p_b_prefix, 1},
    {false, p_never, 1},  {false, p_star, 1},    {true, p_a, 1},
};

static void *adder_main(void *arg)
{
	struct worker *w = arg;
	const struct timespec pause = {0, 100000};

	pthread_barrier_wait(w->start);
	for (unsigned seq = 1; seq <= HOOKS_PER_ADDER; seq++) {
		unsigned k = (seq + w->index * 4) % (sizeof(kinds) / sizeof(kinds[0]));
		struct rec *r;

		/* Spread the adds over the dispatchers' run. */
		while (__atomic_load_n(&progress, __ATOMIC_RELAXED) < add_due(seq))
			nanosleep(&pause, NULL);
		r = rec_init(w->index, seq, kinds[k].main_interp ? sysfast_interp_main() : NULL,
		             kinds[k].patterns, kinds[k].n);
		add_recorded(r, record_hook);
	}
	return NULL;
}

/* Creates an interpreter, enters it, gives it a hook, dispatches there and
 * checks the dispatch, goes back to the main interpreter, destroys it. */
static void *churner_main(void *arg)
{
	struct worker *w = arg;
	struct rec *local = &recs[OWNER_CHURNER][1];

	pthread_barrier_wait(w->start);
	for (unsigned i = 0; i < N_CHURNS; i++) {
		sysfast_interp *interp = sysfast_interp_new(), *prev;
		char name[64];

		if (!interp) {
			report_failure("sysfast_interp_new: %s", sysfast_err_message());
			sysfast_err_clear();
			continue;
		}
		prev = sysfast_interp_enter(interp);
		if (prev != sysfast_interp_main())
			report_failure("sysfast_interp_enter returned %p, not the main interpreter",
			               (void *)prev);
		/* Outside the registry: only this thread's checks know it. */
		*local = (struct rec){
		    OWNER_CHURNER * (MAX_SEQ + 1) + 1, OWNER_CHURNER, 1, interp, NULL, 0, 0, 0};
		if (sysfast_interp_add_audit_hook(NULL, record_hook, local, NULL) != 0) {
			report_failure("sysfast_interp_add_audit_hook: %s", sysfast_err_message());
			sysfast_err_clear();
		}
		checked_dispatch(event_names[EV_CHURN], i, EV_CHURN,
		                 (uint64_t)(N_DISPATCHERS + 1) << 32 | i);
		if (ts.seen[local->index])
			report_failure("churner's own hook left in the seen table");
		/* And one fresh name there too, which must also get it. */
		snprintf(name, sizeof(name), "stress.churn.fresh.%u", i);
		checked_dispatch(name, 0, N_EVENTS, (uint64_t)(N_DISPATCHERS + 2) << 32 | i);
		if (sysfast_interp_enter(prev) != interp)
			report_failure("leaving the sub-interpreter");
		if (sysfast_interp_destroy(interp) != 0) {
			report_failure("sysfast_interp_destroy: %s", sysfast_err_message());
			sysfast_err_clear();
		}
	}
	return NULL;
}

static void run_threads(void *(*fn)(void *), struct worker *w, unsigned n, pthread_barrier_t *start)
{
	for (unsigned i = 0; i < n; i++) {
		w[i].index = i;
		w[i].start = start;
		assert_int_equal(pthread_create(&w[i].thread, NULL, fn, &w[i]), 0);
	}
}

static void join_threads(struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
}

/* ---- watchdog ---- */

static void watchdog_fired(int sig)
{
	static const char msg[] = "# watchdog: no progress, deadlock?\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(99);
}

static void watchdog_arm(void)
{
	signal(SIGALRM, watchdog_fired);
	alarm(WATCHDOG_S);
}

/* ---- tests ---- */

static int fresh_runtime(void **state)
{
	(void)state;
	sysfast_fini();
	failures = 0;
	progress = 0;
	memset(recs, 0, sizeof(recs));
	memset(last_done, 0, sizeof(last_done));
	add_clock = 0;
	adds_from_hooks_left = ADDS_FROM_HOOKS;
	return sysfast_init();
}

static int stop_runtime(void **state)
{
	(void)state;
	alarm(0);
	sysfast_fini();
	return 0;
}

/* The fixed hooks, added before any thread starts; the owner's order is
 * the order below. */
static void add_fixed_hooks(void)
{
	unsigned seq = 0;

	add_recorded(rec_init(OWNER_FIXED, ++seq, NULL, NULL, 0), record_hook);
	add_recorded(rec_init(OWNER_FIXED, ++seq, NULL, p_nested, 1), nested_hook);
	add_recorded(rec_init(OWNER_FIXED, ++seq, NULL, p_a, 1), reenter_hook);
	add_recorded(rec_init(OWNER_FIXED, ++seq, NULL, p_b_prefix, 1), adding_hook);
	add_recorded(rec_init(OWNER_FIXED, ++seq, sysfast_interp_main(), NULL, 0), record_hook);
	add_recorded(rec_init(OWNER_FIXED, ++seq, sysfast_interp_main(), p_stress, 1), record_hook);
}

/* Rule 5 under fire: N_DISPATCHERS threads dispatch, N_ADDERS add hooks,
 * one churns sub-interpreters; every dispatch is checked as described at
 * the top of this file. */
static void test_dispatch_calls_every_hook_added_before_it_once_in_order(void **state)
{
	struct worker dispatchers[N_DISPATCHERS], adders[N_ADDERS], churner[1];
	pthread_barrier_t start;

	(void)state;
	watchdog_arm();
	for (int e = 0; e < N_EVENTS; e++)
		assert_int_not_equal(event_ids[e] = sysfast_event_intern(event_names[e]), 0);
	add_fixed_hooks();
	assert_int_equal(failures, 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, N_DISPATCHERS + N_ADDERS + 1), 0);
	run_threads(dispatcher_main, dispatchers, N_DISPATCHERS, &start);
	run_threads(adder_main, adders, N_ADDERS, &start);
	run_threads(churner_main, churner, 1, &start);
	join_threads(dispatchers, N_DISPATCHERS);
	join_threads(adders, N_ADDERS);
	join_threads(churner, 1);
	pthread_barrier_destroy(&start);
	assert_int_equal(last_done[0], HOOKS_PER_ADDER);
	assert_int_equal(last_done[N_ADDERS - 1], HOOKS_PER_ADDER);
	assert_int_equal(failures, 0);
}

/* ---- re-entrancy pile-up ---- */

#define REENTRANT_THREADS 3
#define REENTRANT_DISPATCHES 500
#define REENTRANT_INTERPS 8
#define REENTRANT_ADDS 40

static unsigned long reentrant_adds, interps_from_hooks;

/* Raises "reenter.x" again from inside itself, two levels deep. */
static int recursive_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	int64_t level = args->n == 1 ? args->items[0].v.i : 2;

	(void)id, (void)name, (void)ud;
	return level < 2 ? sysfast_audit("reenter.x", "i", (int)level + 1) : 0;
}

/* Audits another event through all three entry points. */
static int auditing_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	const sysfast_args none = {0, NULL};
	static sysfast_event_id nested;
	unsigned long before = ts.nested_calls;
	int rc = 0;

	(void)id, (void)name, (void)args, (void)ud;
	if (!__atomic_load_n(&nested, __ATOMIC_RELAXED))
		__atomic_store_n(&nested, sysfast_event_intern("reenter.nested"), __ATOMIC_RELAXED);
	rc |= SYSFAST_AUDIT("reenter.nested");
	rc |= sysfast_audit("reenter.nested", NULL);
	rc |= sysfast_audit_args(__atomic_load_n(&nested, __ATOMIC_RELAXED), &none);
	if (rc != 0 || ts.nested_calls != before + 3)
		report_failure("nested audits from a hook: rc %d, %lu of 3 seen", rc,
		               ts.nested_calls - before);
	return rc;
}

/* Adds hooks, and makes and destroys an interpreter, from inside a
 * dispatch, now and then. */
static int mutating_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	static const sysfast_hook_options nested = {0, p_nested, 1};
	unsigned long n = ++ts.hook_calls;

	(void)id, (void)name, (void)args, (void)ud;
	if (n % 64 == 1
	    && __atomic_add_fetch(&reentrant_adds, 2, __ATOMIC_RELAXED) <= REENTRANT_ADDS) {
		if (sysfast_add_audit_hook(noop_hook, NULL) != 0
		    || sysfast_interp_add_audit_hook(NULL, noop_hook, NULL, &nested) != 0) {
			report_failure("add from a hook: %s", sysfast_err_message());
			return -1;
		}
	}
	if (n % 256 == 2
	    && __atomic_add_fetch(&interps_from_hooks, 1, __ATOMIC_RELAXED) <= REENTRANT_INTERPS) {
		sysfast_interp *interp = sysfast_interp_new();

		if (!interp || sysfast_interp_destroy(interp) != 0) {
			report_failure("interpreter from a hook: %s", sysfast_err_message());
			return -1;
		}
	}
	return 0;
}

static int nested_counter_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                               void *ud)
{
	(void)id, (void)args, (void)ud;
	if (strcmp(name, "reenter.nested") == 0)
		ts.nested_calls++;
	return 0;
}

static void *reentrant_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	for (int i = 0; i < REENTRANT_DISPATCHES; i++) {
		int rc = i % 2 ? SYSFAST_AUDIT("reenter.x", SYSFAST_INT(0))
		               : sysfast_audit("reenter.x", "i", 0);

		if (rc != 0) {
			report_failure("reenter.x: %d (%s)", rc, sysfast_err_message());
			sysfast_err_clear();
		}
	}
	return NULL;
}

/* Hooks that audit (the same event recursively, and another one), add
 * hooks and make interpreters, on several threads at once: no deadlock,
 * every nested dispatch complete. */
static void test_reentrant_hooks_on_many_threads_do_not_deadlock(void **state)
{
	static const char *const x[] = {"reenter.x"};
	const sysfast_hook_options on_x = {0, x, 1};
	struct worker w[REENTRANT_THREADS];
	pthread_barrier_t start;

	(void)state;
	watchdog_arm();
	reentrant_adds = 0;
	interps_from_hooks = 0;
	assert_int_equal(sysfast_add_audit_hook(nested_counter_hook, NULL), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(recursive_hook, NULL, &on_x), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, auditing_hook, NULL, &on_x), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(mutating_hook, NULL, &on_x), 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, REENTRANT_THREADS), 0);
	run_threads(reentrant_main, w, REENTRANT_THREADS, &start);
	join_threads(w, REENTRANT_THREADS);
	pthread_barrier_destroy(&start);
	assert_true(reentrant_adds >= REENTRANT_ADDS);
	assert_true(interps_from_hooks >= REENTRANT_INTERPS);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_dispatch_calls_every_hook_added_before_it_once_in_order, fresh_runtime,
	        stop_runtime),
	    cmocka_unit_test_setup_teardown(test_reentrant_hooks_on_many_threads_do_not_deadlock,
	                                    fresh_runtime, stop_runtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
