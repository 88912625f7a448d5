/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the RCU paths, concurrently: threads dispatch an
 * event in the main interpreter, in a sub-interpreter and in one that
 * another thread destroys once the dispatcher has left it, while an adder
 * thread adds process-wide and per-interpreter hooks (also to the
 * interpreter being destroyed), and interner threads intern, look up and
 * drop strings while the harness holds references to some of them. Built
 * with AddressSanitizer in the fuzz build and with ThreadSanitizer in the
 * fuzz-tsan build (tools/test.sh --build fuzz-tsan, tools/fuzz.sh --tsan),
 * where any data race is a finding.
 *
 * The input picks the hooks to add (target and order), how many
 * dispatches and interning rounds each thread makes, which strings the
 * harness holds, and where threads yield.
 *
 * What each thread may observe (the model): hooks are added in one order
 * by one thread, and snapshots are immutable and published whole, so each
 * dispatch calls exactly the first a of the process-wide hooks added and
 * then the first b of its interpreter's own, for some a and b, and never a
 * hook whose add failed; one thread's successive dispatches never see a
 * or b shrink. A hook of the destroyed interpreter that listens to every
 * event sees its Clear event at most once, exactly once if it was added
 * before the threads started (one that listens to "fuzz.*" never), and
 * an add to it fails with ValueError only after the destroy began. An
 * intern of bytes the harness holds returns the held string from every
 * thread; any other intern returns an interned string with those bytes;
 * once every thread has finished, the table holds the held strings only.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

#define HOOKS 24
#define OBS 64
#define POOL 6

enum { T_MAIN, T_SUB, T_DOOMED, LISTS, T_GLOBAL = LISTS };

struct hook {
	unsigned target; /* T_GLOBAL or an interpreter */
	int added;       /* the add's result: 0, or -1 */
	unsigned clears; /* Clear events seen */
	bool before;     /* added before the threads started */
};

static struct hook hooks[HOOKS];
static unsigned n_hooks;
static sysfast_interp *interps[LISTS];
/* The add order of each list: hook indexes. Written by the adder only,
 * read after the join. */
static unsigned order[LISTS + 1][HOOKS];
static unsigned n_order[LISTS + 1];

/* One dispatcher's observations: the hooks each dispatch called. */
struct dispatcher {
	unsigned list; /* the interpreter it dispatches in */
	unsigned rounds, yield_mask;
	unsigned seen[OBS][HOOKS];
	unsigned n_seen[OBS];
	unsigned n_obs;
	bool entered, left; /* it has entered, left its interpreter */
};

static __thread struct dispatcher *current_dispatcher;

static int hook_fn(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	unsigned h = (unsigned)(uintptr_t)ud;
	struct dispatcher *d = current_dispatcher;

	(void)id, (void)args;
	if (!strcmp(name, "cpython.PyInterpreterState_Clear")) {
		__atomic_add_fetch(&hooks[h].clears, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (strcmp(name, "fuzz.mt") || !d || d->n_obs >= OBS)
		return 0;
	if (d->n_seen[d->n_obs] < HOOKS)
		d->seen[d->n_obs][d->n_seen[d->n_obs]++] = h;
	return 0;
}

static int add_hook(unsigned h)
{
	const char *const pattern[] = {"fuzz.*"};
	const sysfast_hook_options opts = {0, pattern, 1};
	void *ud = (void *)(uintptr_t)h;
	const sysfast_hook_options *o = h & 1 ? &opts : NULL;

	if (hooks[h].target == T_GLOBAL)
		return sysfast_add_audit_hook_ex(hook_fn, ud, o);
	return sysfast_interp_add_audit_hook(interps[hooks[h].target], hook_fn, ud, o);
}

/* ---- the threads ---- */

static unsigned first_late_hook; /* hooks from here on are the adder's */
static bool destroy_began;

static void *adder(void *arg)
{
	(void)arg;
	for (unsigned h = first_late_hook; h < n_hooks; h++) {
		bool began = __atomic_load_n(&destroy_began, __ATOMIC_ACQUIRE);
		int rc = add_hook(h);

		hooks[h].added = rc;
		if (rc == 0) {
			unsigned l = hooks[h].target;

			order[l][n_order[l]] = h;
			__atomic_store_n(&n_order[l], n_order[l] + 1, __ATOMIC_RELEASE);
		} else {
			/* Only an add to the doomed interpreter may fail, and
			 * only once its destroy has begun. */
			CHECK(hooks[h].target == T_DOOMED
			      && sysfast_err_matches(sysfast_ValueError));
			CHECK(__atomic_load_n(&destroy_began, __ATOMIC_ACQUIRE) || began);
			sysfast_err_clear();
		}
		sched_yield();
	}
	return NULL;
}

static void *dispatch(void *arg)
{
	struct dispatcher *d = arg;

	current_dispatcher = d;
	if (d->list != T_MAIN) {
		CHECK(sysfast_interp_enter(interps[d->list]) != NULL);
		__atomic_store_n(&d->entered, true, __ATOMIC_RELEASE);
	}
	for (unsigned r = 0; r < d->rounds && d->n_obs < OBS; r++) {
		CHECK((sysfast_audit)("fuzz.mt", "(i)", (int)r) == 0);
		d->n_obs++;
		if (d->yield_mask >> (r % 8) & 1)
			sched_yield();
	}
	if (d->list != T_MAIN) {
		CHECK(sysfast_interp_enter(sysfast_interp_main()) == interps[d->list]);
		__atomic_store_n(&d->left, true, __ATOMIC_RELEASE);
	}
	current_dispatcher = NULL;
	return NULL;
}

static struct dispatcher doomed_dispatcher;

static void *destroyer(void *arg)
{
	(void)arg;
	/* Not before its dispatcher is inside: that one must find it live. */
	while (!__atomic_load_n(&doomed_dispatcher.entered, __ATOMIC_ACQUIRE))
		sched_yield();
	__atomic_store_n(&destroy_began, true, __ATOMIC_RELEASE);
	for (;;) {
		bool left = __atomic_load_n(&doomed_dispatcher.left, __ATOMIC_ACQUIRE);
		int rc = sysfast_interp_destroy(interps[T_DOOMED]);

		if (rc == 0)
			break;
		/* In use, while its dispatcher is still inside. */
		CHECK(!left && sysfast_err_matches(sysfast_RuntimeError));
		sysfast_err_clear();
		sched_yield();
	}
	return NULL;
}

/* The strings: the harness holds a reference to those in `held`. */
static char pool[POOL][8];
static sysfast_str *anchors[POOL];
struct interner {
	unsigned rounds, mask;
};

static void *interner(void *arg)
{
	const struct interner *in = arg;

	for (unsigned r = 0; r < in->rounds; r++) {
		unsigned k = (r + in->mask) % POOL;
		sysfast_str *s = sysfast_intern(pool[k], strlen(pool[k]));
		sysfast_str *f;

		CHECK(s && sysfast_str_is_interned(s) && !strcmp(sysfast_str_data(s), pool[k]));
		if (anchors[k])
			CHECK(s == anchors[k]);
		f = sysfast_intern_find(pool[k], strlen(pool[k]));
		/* Found while this thread holds s: the very same string. */
		CHECK(f == s);
		sysfast_str_decref(f);
		if (in->mask >> (r % 8) & 1)
			sched_yield();
		sysfast_str_decref(s);
	}
	return NULL;
}

/* ---- the model's checks ---- */

/* Whether dispatch i of d is a prefix of the globals, then a prefix of
 * its own list; returns both lengths in a, b. */
static bool observation(const struct dispatcher *d, unsigned i, unsigned *a, unsigned *b)
{
	const unsigned *seen = d->seen[i];
	unsigned n = d->n_seen[i], k = 0;

	while (k < n && k < n_order[T_GLOBAL] && seen[k] == order[T_GLOBAL][k])
		k++;
	*a = k;
	for (*b = 0; k < n; k++, ++*b)
		if (*b >= n_order[d->list] || seen[k] != order[d->list][*b])
			return false;
	return true;
}

static void check_dispatcher(const struct dispatcher *d)
{
	unsigned last_a = 0, last_b = 0;

	for (unsigned i = 0; i < d->n_obs; i++) {
		unsigned a, b;

		CHECK(observation(d, i, &a, &b));
		/* Never older than what this thread saw before. */
		CHECK(a >= last_a && b >= last_b);
		last_a = a;
		last_b = b;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, data + size};
	static struct dispatcher disp[2];
	static struct interner interners[2];
	pthread_t threads[7];
	unsigned n_threads = 0, early;

	CHECK(sysfast_init() == 0);
	memset(hooks, 0, sizeof(hooks));
	memset(n_order, 0, sizeof(n_order));
	destroy_began = false;
	interps[T_MAIN] = sysfast_interp_main();
	interps[T_SUB] = sysfast_interp_new();
	interps[T_DOOMED] = sysfast_interp_new();
	CHECK(interps[T_SUB] && interps[T_DOOMED]);

	/* The hooks: 2 bits of target each, the first `early` added now. */
	n_hooks = fuzz_byte(&in) % (HOOKS + 1);
	early = fuzz_byte(&in) % (n_hooks + 1);
	for (unsigned h = 0; h < n_hooks; h++) {
		unsigned t = fuzz_byte(&in) % 4;

		hooks[h].target = t == 3 ? T_GLOBAL : t;
	}
	for (unsigned h = 0; h < early; h++) {
		unsigned l = hooks[h].target;

		CHECK(add_hook(h) == 0);
		hooks[h].before = true;
		order[l][n_order[l]++] = h;
	}
	first_late_hook = early;

	for (unsigned i = 0; i < 2; i++) {
		disp[i] = (struct dispatcher){.list = i ? T_SUB : T_MAIN,
		                              .rounds = fuzz_byte(&in) % OBS,
		                              .yield_mask = fuzz_byte(&in)};
		interners[i] = (struct interner){fuzz_byte(&in) * 2u, fuzz_byte(&in)};
	}
	doomed_dispatcher = (struct dispatcher){
	    .list = T_DOOMED, .rounds = fuzz_byte(&in) % OBS, .yield_mask = fuzz_byte(&in)};
	{
		unsigned held = fuzz_byte(&in);

		for (unsigned k = 0; k < POOL; k++) {
			snprintf(pool[k], sizeof(pool[k]), "mt-%u", k);
			anchors[k] =
			    held >> k & 1 ? sysfast_intern(pool[k], strlen(pool[k])) : NULL;
		}
	}

	CHECK(pthread_create(&threads[n_threads++], NULL, adder, NULL) == 0);
	for (unsigned i = 0; i < 2; i++) {
		CHECK(pthread_create(&threads[n_threads++], NULL, dispatch, &disp[i]) == 0);
		CHECK(pthread_create(&threads[n_threads++], NULL, interner, &interners[i]) == 0);
	}
	CHECK(pthread_create(&threads[n_threads++], NULL, dispatch, &doomed_dispatcher) == 0);
	CHECK(pthread_create(&threads[n_threads++], NULL, destroyer, NULL) == 0);
	for (unsigned i = 0; i < n_threads; i++)
		CHECK(pthread_join(threads[i], NULL) == 0);

	for (unsigned i = 0; i < 2; i++)
		check_dispatcher(&disp[i]);
	check_dispatcher(&doomed_dispatcher);
	for (unsigned h = 0; h < n_hooks; h++) {
		if (hooks[h].target != T_DOOMED)
			CHECK(hooks[h].added == 0);
		else
			/* Odd hooks listen to "fuzz.*" only. */
			CHECK(h & 1 ? hooks[h].clears == 0
			            : hooks[h].clears <= 1
			                  && (!hooks[h].before || hooks[h].clears == 1));
	}
	{
		size_t held = 0;

		for (unsigned k = 0; k < POOL; k++) {
			held += anchors[k] != NULL;
			if (!anchors[k])
				CHECK(sysfast_intern_find(pool[k], strlen(pool[k])) == NULL);
		}
		CHECK(sysfast_intern_count() == held);
		for (unsigned k = 0; k < POOL; k++)
			sysfast_str_decref(anchors[k]);
	}
	CHECK(!sysfast_err_occurred());
	sysfast_fini();
	return 0;
}
