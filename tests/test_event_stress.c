/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stress test of the event name registry: several threads intern the same
 * names in different orders, plus names of their own, while a reader
 * checks every id it can see. Afterwards every name must have exactly one
 * id and the ids must be exactly base+1..count. Meant to run under
 * ThreadSanitizer too (build with -Db_sanitize=thread).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N_WRITERS 4
#define N_SHARED 2000
#define N_UNIQUE 250
#define N_ROUNDS 3
#define NAME_LEN 48

/* Visiting order of the shared names per writer: index = (start + i * step)
 * mod N_SHARED. Each step is coprime to N_SHARED; 1999 walks backwards. */
static const unsigned order_step[N_WRITERS] = {1, 3, 7, N_SHARED - 1};
static const unsigned order_start[N_WRITERS] = {0, 500, 1000, 1500};

struct writer {
	pthread_t thread;
	unsigned index;
	unsigned round;
	pthread_barrier_t *start;
	const int *reader_ready; /* atomic */
	sysfast_event_id shared[N_SHARED];
	sysfast_event_id unique[N_UNIQUE];
	unsigned failures;
};

struct reader {
	pthread_t thread;
	pthread_barrier_t *start;
	int ready; /* atomic: set after the first pass */
	int stop;  /* atomic */
	unsigned checks;
	unsigned failures;
};

/* Every seventh name ends in U+00E9 so that multi-byte names take part. */
static void shared_name(char *buf, unsigned round, unsigned i)
{
	snprintf(buf, NAME_LEN, "stress.r%u.shared.%u%s", round, i, i % 7 ? "" : "\xc3\xa9");
}

static void unique_name(char *buf, unsigned round, unsigned writer, unsigned i)
{
	snprintf(buf, NAME_LEN, "stress.r%u.w%u.unique.%u", round, writer, i);
}

/* Interns `name` and checks, at once, that the id resolves both ways. */
static sysfast_event_id intern_checked(const char *name, unsigned *failures)
{
	sysfast_event_id id = sysfast_event_intern(name);
	const char *back = sysfast_event_name(id);

	if (id == 0 || !back || strcmp(back, name) != 0 || sysfast_event_find(name) != id
	    || sysfast_event_count() < id) {
		fprintf(stderr, "# %s: id %u, name %s\n", name, id, back ? back : "(null)");
		(*failures)++;
	}
	return id;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char name[NAME_LEN];
	unsigned i, next_unique = 0;

	pthread_barrier_wait(w->start);
	/* Start only once the reader runs, so that its checks overlap the
	 * writes even on a loaded machine where it would otherwise be
	 * scheduled after the writers are done. */
	while (!__atomic_load_n(w->reader_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	for (i = 0; i < N_SHARED; i++) {
		unsigned k = (order_start[w->index] + i * order_step[w->index]) % N_SHARED;

		shared_name(name, w->round, k);
		w->shared[k] = intern_checked(name, &w->failures);
		if (i % (N_SHARED / N_UNIQUE) == 0 && next_unique < N_UNIQUE) {
			unique_name(name, w->round, w->index, next_unique);
			w->unique[next_unique++] = intern_checked(name, &w->failures);
		}
	}
	return NULL;
}

/* Checks the newest ids while writers add more: any id up to the count
 * must already have its name, and the name must find the id. One pass
 * checks the eight newest ids. */
static void reader_pass(struct reader *r)
{
	sysfast_event_id top = (sysfast_event_id)sysfast_event_count();
	sysfast_event_id id;

	for (id = top; id > 0 && id + 8 > top; id--) {
		const char *name = sysfast_event_name(id);

		if (!name || sysfast_event_find(name) != id)
			r->failures++;
		r->checks++;
	}
}

/* Passes until told to stop, then one more over the final count. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;

	pthread_barrier_wait(r->start);
	reader_pass(r);
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		reader_pass(r);
	reader_pass(r);
	return NULL;
}

static void run_round(unsigned round, struct writer *w)
{
	pthread_barrier_t start;
	struct reader r = {.start = &start};
	unsigned t;

	assert_int_equal(pthread_barrier_init(&start, NULL, N_WRITERS + 1), 0);
	for (t = 0; t < N_WRITERS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].index = t;
		w[t].round = round;
		w[t].start = &start;
		w[t].reader_ready = &r.ready;
		assert_int_equal(pthread_create(&w[t].thread, NULL, writer_main, &w[t]), 0);
	}
	assert_int_equal(pthread_create(&r.thread, NULL, reader_main, &r), 0);
	for (t = 0; t < N_WRITERS; t++) {
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
		assert_int_equal(w[t].failures, 0);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(r.thread, NULL), 0);
	assert_int_equal(r.failures, 0);
	assert_true(r.checks > 0);
	pthread_barrier_destroy(&start);
}

/* Marks `id` as seen in `seen` (indexed from base + 1); fails on a
 * duplicate or an id outside base+1..base+n. */
static void mark(unsigned char *seen, size_t base, size_t n, sysfast_event_id id)
{
	assert_in_range(id, base + 1, base + n);
	assert_int_equal(seen[id - base - 1], 0);
	seen[id - base - 1] = 1;
}

static void test_concurrent_interns_give_one_dense_id_per_name(void **state)
{
	struct writer *w = calloc(N_WRITERS, sizeof(*w));
	const size_t per_round = N_SHARED + N_WRITERS * N_UNIQUE;
	unsigned round, t, i;

	(void)state;
	assert_non_null(w);
	for (round = 0; round < N_ROUNDS; round++) {
		size_t base = sysfast_event_count();
		unsigned char *seen = calloc(per_round, 1);
		sysfast_event_id id;

		assert_non_null(seen);
		run_round(round, w);
		assert_int_equal(sysfast_event_count(), base + per_round);

		for (i = 0; i < N_SHARED; i++) {
			for (t = 1; t < N_WRITERS; t++)
				assert_int_equal(w[t].shared[i], w[0].shared[i]);
			mark(seen, base, per_round, w[0].shared[i]);
		}
		for (t = 0; t < N_WRITERS; t++)
			for (i = 0; i < N_UNIQUE; i++)
				mark(seen, base, per_round, w[t].unique[i]);

		for (id = (sysfast_event_id)base + 1; id <= base + per_round; id++) {
			const char *name = sysfast_event_name(id);

			assert_non_null(name);
			assert_int_equal(sysfast_event_find(name), id);
			assert_int_equal(sysfast_event_intern(name), id);
			assert_ptr_equal(sysfast_event_name(id), name);
		}
		free(seen);
	}
	assert_no_error();
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_interns_give_one_dense_id_per_name),
	};

	return cmocka_run_group_tests(tests, testutil_runtime_up, testutil_runtime_down);
}
