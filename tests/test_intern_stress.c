/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress test of interned strings: several threads intern, find and drop
 * the same few names at once while their counts go to zero and back.
 * Meant to run under AddressSanitizer (a reader touching a freed string is
 * a report) and ThreadSanitizer as well as in the release build.
 *
 * Two phases, both started only once every thread is running:
 *
 *   lockstep  rounds separated by barriers. In each round every thread
 *             interns the round's name at the same moment, so they race to
 *             create it; then each checks that all got the same pointer;
 *             then all drop it at once, and once every reference is gone
 *             the name must be absent (find gives NULL, the count is back).
 *             Every round re-creates a string that died in an earlier one.
 *   churn     no barriers: each thread interns, finds and drops the names
 *             in its own pseudo-random order, holding up to two references
 *             per name, so that counts hit zero while other threads intern
 *             the same bytes. Every operation checks the bytes it got and,
 *             while the thread holds a reference, the identity of what
 *             intern and find return.
 *
 * A second test races on strings longer than any interned before, the
 * path where intern allocates before it looks (intern.c), with a finder
 * alongside. A third makes the table grow and shrink (rehash into a new
 * slot array) while other threads look strings up in the old one and
 * drop theirs, filling slots, leaving tombstones and emptying clusters.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N_THREADS 4
#define N_NAMES 6
#define N_ROUNDS 600
#define N_CHURN 100000
#define HOLD 2

static const char *const names[N_NAMES] = {
    "stress.alpha", "stress.beta", "stress.gamma", "stress.\0delta", "stress", "",
};
static const size_t name_lens[N_NAMES] = {12, 11, 12, 13, 6, 0};

struct shared {
	pthread_barrier_t barrier;
	sysfast_str *got[N_THREADS]; /* each thread's string of the round */
	size_t base_count;
};

struct worker {
	pthread_t thread;
	unsigned index;
	struct shared *sh;
	unsigned failures;
	unsigned long checks;
};

static void report(struct worker *w, const char *what, unsigned name)
{
	fprintf(stderr, "# thread %u: %s (name %u)\n", w->index, what, name);
	w->failures++;
}

/* The string must hold exactly name k's bytes and be interned. */
static void check_bytes(struct worker *w, const sysfast_str *s, unsigned k)
{
	w->checks++;
	if (!s || sysfast_str_len(s) != name_lens[k]
	    || memcmp(sysfast_str_data(s), names[k], name_lens[k]) != 0
	    || sysfast_str_data(s)[name_lens[k]] != '\0' || !sysfast_str_is_interned(s))
		report(w, "wrong string", k);
}

static void lockstep(struct worker *w)
{
	struct shared *sh = w->sh;

	for (unsigned r = 0; r < N_ROUNDS; r++) {
		unsigned k = r % N_NAMES;
		sysfast_str *s = sysfast_intern(names[k], name_lens[k]);

		check_bytes(w, s, k);
		sh->got[w->index] = s;
		pthread_barrier_wait(&sh->barrier);
		for (unsigned t = 0; t < N_THREADS; t++)
			if (sh->got[t] != s)
				report(w, "two pointers for one name", k);
		pthread_barrier_wait(&sh->barrier);
		sysfast_str_decref(s);
		pthread_barrier_wait(&sh->barrier);
		/* Every reference is gone: the string must be too. */
		if (w->index == 0) {
			sysfast_str *gone = sysfast_intern_find(names[k], name_lens[k]);

			w->checks++;
			if (gone) {
				report(w, "found after the last reference went", k);
				sysfast_str_decref(gone);
			}
			if (sysfast_intern_count() != sh->base_count)
				report(w, "count not back after the last reference", k);
		}
		pthread_barrier_wait(&sh->barrier);
	}
}

/* xorshift32: a fixed sequence per thread, so a failure reproduces. */
static unsigned next_random(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void churn(struct worker *w)
{
	sysfast_str *held[N_NAMES][HOLD] = {{NULL}};
	unsigned x = 2463534242u + w->index * 7919u;

	for (unsigned i = 0; i < N_CHURN; i++) {
		unsigned r = next_random(&x);
		unsigned k = r % N_NAMES, slot = (r >> 8) % HOLD;
		sysfast_str *mine = held[k][0] ? held[k][0] : held[k][1];
		sysfast_str *s;

		switch ((r >> 12) % 3) {
		case 0: /* intern into the slot, dropping what it held */
			s = sysfast_intern(names[k], name_lens[k]);
			check_bytes(w, s, k);
			if (mine && s != mine)
				report(w, "intern gave another pointer while one was held", k);
			sysfast_str_decref(held[k][slot]);
			held[k][slot] = s;
			break;
		case 1: /* find and drop at once */
			s = sysfast_intern_find(names[k], name_lens[k]);
			if (s)
				check_bytes(w, s, k);
			if (mine && s != mine)
				report(w, "find missed a string that was held", k);
			sysfast_str_decref(s);
			break;
		default: /* drop the slot's reference, often the last one */
			sysfast_str_decref(held[k][slot]);
			held[k][slot] = NULL;
			break;
		}
	}
	for (unsigned k = 0; k < N_NAMES; k++)
		for (unsigned j = 0; j < HOLD; j++)
			sysfast_str_decref(held[k][j]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* Nobody starts before everyone runs. */
	pthread_barrier_wait(&w->sh->barrier);
	lockstep(w);
	churn(w);
	return NULL;
}

static void test_concurrent_interns_and_drops_keep_identity_and_mortality(void **state)
{
	struct shared sh = {.base_count = sysfast_intern_count()};
	struct worker w[N_THREADS];
	unsigned long checks = 0;

	(void)state;
	assert_int_equal(pthread_barrier_init(&sh.barrier, NULL, N_THREADS), 0);
	for (unsigned t = 0; t < N_THREADS; t++) {
		w[t] = (struct worker){.index = t, .sh = &sh};
		assert_int_equal(pthread_create(&w[t].thread, NULL, worker_main, &w[t]), 0);
	}
	for (unsigned t = 0; t < N_THREADS; t++) {
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
		assert_int_equal(w[t].failures, 0);
		checks += w[t].checks;
	}
	pthread_barrier_destroy(&sh.barrier);

	/* Every check ran: N_ROUNDS per thread plus one per round by thread
	 * 0 in lockstep, and at least every intern of the churn. */
	assert_true(checks >= (unsigned long)N_ROUNDS * (N_THREADS + 1));
	/* Everything was dropped: nothing is left. */
	for (unsigned k = 0; k < N_NAMES; k++)
		assert_null(sysfast_intern_find(names[k], name_lens[k]));
	assert_int_equal(sysfast_intern_count(), sh.base_count);
	assert_no_error();
}

#define N_LONG_ROUNDS 300
#define LONG_BASE 64 /* longer than every name above */

static char long_bytes[LONG_BASE + N_LONG_ROUNDS];

/* Round r interns the first LONG_BASE + r bytes: one more than any string
 * interned so far, so each thread either allocates first or, if another
 * one already published the string, finds it. All must get one pointer;
 * a find racing with them gets that pointer or nothing. */
static void *long_worker(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;

	pthread_barrier_wait(&sh->barrier);
	for (unsigned r = 0; r < N_LONG_ROUNDS; r++) {
		size_t len = LONG_BASE + r;
		sysfast_str *s = sysfast_intern(long_bytes, len);
		sysfast_str *found = sysfast_intern_find(long_bytes, len);

		w->checks++;
		if (!s || sysfast_str_len(s) != len
		    || memcmp(sysfast_str_data(s), long_bytes, len) != 0)
			report(w, "wrong long string", r);
		if (found != s)
			report(w, "find gave another pointer while one was held", r);
		sysfast_str_decref(found);
		sh->got[w->index] = s;
		pthread_barrier_wait(&sh->barrier);
		for (unsigned t = 0; t < N_THREADS; t++)
			if (sh->got[t] != s)
				report(w, "two pointers for one long string", r);
		pthread_barrier_wait(&sh->barrier);
		sysfast_str_decref(s);
	}
	return NULL;
}

static void test_concurrent_interns_of_ever_longer_strings_give_one_pointer(void **state)
{
	struct shared sh = {.base_count = sysfast_intern_count()};
	struct worker w[N_THREADS];

	(void)state;
	for (size_t i = 0; i < sizeof(long_bytes); i++)
		long_bytes[i] = (char)('a' + i % 23);
	assert_int_equal(pthread_barrier_init(&sh.barrier, NULL, N_THREADS), 0);
	for (unsigned t = 0; t < N_THREADS; t++) {
		w[t] = (struct worker){.index = t, .sh = &sh};
		assert_int_equal(pthread_create(&w[t].thread, NULL, long_worker, &w[t]), 0);
	}
	for (unsigned t = 0; t < N_THREADS; t++) {
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
		assert_int_equal(w[t].failures, 0);
		assert_int_equal(w[t].checks, N_LONG_ROUNDS);
	}
	pthread_barrier_destroy(&sh.barrier);
	assert_null(sysfast_intern_find(long_bytes, LONG_BASE));
	assert_int_equal(sysfast_intern_count(), sh.base_count);
	assert_no_error();
}

#define N_GROW_NAMES 12000
#define N_GROW_HELD 1500 /* per thread: 6000 at most held at once */
#define N_GROW_OPS 60000

static void grow_name(char *buf, size_t size, unsigned k)
{
	snprintf(buf, size, "grow.%u.%s", k, k % 3 ? "x" : "longer-tail");
}

/*
 * Each thread keeps a ring of held strings of random names from a shared
 * pool. Holding thousands makes the table grow through several sizes;
 * dropping them (often the last reference) leaves tombstones and empty
 * slots, and the rehashes triggered by both run while the other threads
 * probe. A held name must come back as the held pointer, from intern and
 * from find.
 */
static void *grow_worker(void *arg)
{
	struct worker *w = arg;
	sysfast_str **held = calloc(N_GROW_HELD, sizeof(*held));
	unsigned *held_k = calloc(N_GROW_HELD, sizeof(*held_k));
	unsigned x = 88172645u + w->index * 104729u;
	char name[48];

	if (!held || !held_k) {
		report(w, "test out of memory", 0);
		return NULL;
	}
	pthread_barrier_wait(&w->sh->barrier);
	for (unsigned i = 0; i < N_GROW_OPS; i++) {
		unsigned r = next_random(&x);
		unsigned k = r % N_GROW_NAMES, slot = i % N_GROW_HELD;
		sysfast_str *s, *again;

		grow_name(name, sizeof(name), k);
		s = sysfast_intern_cstr(name);
		w->checks++;
		if (!s || strcmp(sysfast_str_data(s), name) != 0 || !sysfast_str_is_interned(s)) {
			report(w, "wrong string", k);
			continue;
		}
		sysfast_str_decref(held[slot]);
		held[slot] = s;
		held_k[slot] = k;
		/* A string held a while ago: still the canonical one. */
		slot = (slot + N_GROW_HELD / 2) % N_GROW_HELD;
		if (!held[slot])
			continue;
		grow_name(name, sizeof(name), held_k[slot]);
		again = (r >> 20) & 1 ? sysfast_intern_find(name, strlen(name))
		                      : sysfast_intern_cstr(name);
		if (again != held[slot])
			report(w, "another pointer for a held string", held_k[slot]);
		sysfast_str_decref(again);
	}
	for (unsigned j = 0; j < N_GROW_HELD; j++)
		sysfast_str_decref(held[j]);
	free(held);
	free(held_k);
	return NULL;
}

static void test_concurrent_growth_and_removal_keep_identity(void **state)
{
	struct shared sh = {.base_count = sysfast_intern_count()};
	struct worker w[N_THREADS];
	char name[48];

	(void)state;
	assert_int_equal(pthread_barrier_init(&sh.barrier, NULL, N_THREADS), 0);
	for (unsigned t = 0; t < N_THREADS; t++) {
		w[t] = (struct worker){.index = t, .sh = &sh};
		assert_int_equal(pthread_create(&w[t].thread, NULL, grow_worker, &w[t]), 0);
	}
	for (unsigned t = 0; t < N_THREADS; t++) {
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
		assert_int_equal(w[t].failures, 0);
		assert_int_equal(w[t].checks, N_GROW_OPS);
	}
	pthread_barrier_destroy(&sh.barrier);
	for (unsigned k = 0; k < N_GROW_NAMES; k += 7) {
		grow_name(name, sizeof(name), k);
		assert_null(sysfast_intern_find(name, strlen(name)));
	}
	assert_int_equal(sysfast_intern_count(), sh.base_count);
	assert_no_error();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_interns_and_drops_keep_identity_and_mortality),
	    cmocka_unit_test(test_concurrent_interns_of_ever_longer_strings_give_one_pointer),
	    cmocka_unit_test(test_concurrent_growth_and_removal_keep_identity),
	};

	return cmocka_run_group_tests(tests, testutil_runtime_up, testutil_runtime_down);
}
