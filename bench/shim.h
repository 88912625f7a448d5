/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A C face for Google Benchmark, so that benchmarks are written in C.
 *
 * A benchmark is a C function that runs its body in a loop of batches:
 *
 *     static void bm_thing(sysfast_bench_state *st)
 *     {
 *             int acc = 0;
 *             SYSFAST_BENCH_LOOP(st) {
 *                     int rc = thing();
 *                     SYSFAST_BENCH_CONSUME(acc, rc);
 *             }
 *             sysfast_bench_expect_zero(st, acc, "thing() failed");
 *     }
 *
 * The C loop runs many iterations per call into the harness: one C-to-C++
 * call costs a few nanoseconds, more than the bodies measured here, so it
 * must not be paid per iteration. Every benchmark gets allocation counters
 * (allocs/op, frees/op, B/op, taken from jemalloc on the calling thread over
 * the timed loop only; -1 where jemalloc does not serve malloc); they are
 * columns on the console and fields in the JSON. This file and shim.cc are
 * the only C++-facing code in the project.
 */
#ifndef SYSFAST_BENCH_SHIM_H
#define SYSFAST_BENCH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sysfast_bench_state sysfast_bench_state;

/* A benchmark body; called once per thread for every run (runs are the
 * iteration-count estimates and each repetition). */
typedef void (*sysfast_bench_fn)(sysfast_bench_state *st);

typedef struct sysfast_bench_options {
	/* Passed through to sysfast_bench_arg(). */
	const void *arg;
	/* Run once per run, by one thread, before any thread calls the body:
	 * put set-up that must not race with the body here (sysfast_fini and
	 * sysfast_init, adding hooks). May call sysfast_bench_skip(). */
	sysfast_bench_fn setup;
	/* Thread counts to run with, e.g. {1, 2}; NULL: one thread. */
	const int *threads;
	size_t n_threads;
	/* The most iterations handed to the C loop per batch; 0: 4096, which
	 * makes the per-batch call into the harness cost well under a
	 * picosecond per iteration. */
	size_t max_batch;
	/* The body reports its own time per batch with
	 * sysfast_bench_set_batch_time() (used for work done in another
	 * process). GB then appends "/manual_time" to the name. */
	bool manual_time;
} sysfast_bench_options;

/* Registers a benchmark under `name` (copied). `opts` may be NULL. Call
 * before sysfast_bench_main(). Not thread-safe. */
void sysfast_bench_register(const char *name, sysfast_bench_fn fn,
                            const sysfast_bench_options *opts);

/* Whether to count allocations (default true); call before
 * sysfast_bench_main(). Counting installs jemalloc's hooks, which put every
 * allocation on jemalloc's slow path: turn it off where the allocations
 * themselves are timed. allocs/op and frees/op then read -1; B/op, from
 * jemalloc's per-thread totals, is still counted. The JSON context's
 * "jemalloc_hooks" says which it was. */
void sysfast_bench_count_allocations(bool on);

/* Adds a key=value pair to the "context" object of the JSON output. */
void sysfast_bench_add_context(const char *key, const char *value);

/* Runs the benchmarks selected by the command line (Google Benchmark's
 * --benchmark_* flags; unknown flags are an error) and returns the exit
 * status. Defaults, overridable by the command line: 5 repetitions, the
 * console showing only the aggregates (mean, median, stddev, cv), times in
 * nanoseconds. */
int sysfast_bench_main(int argc, char **argv);

/* Starts or continues the timed loop. Returns true with *batch set to the
 * number of iterations to run now, or false once the run is complete (the
 * body must then return without running more). Call it until it returns
 * false. The first call of each run waits for every thread of the run. */
bool sysfast_bench_keep_running(sysfast_bench_state *st, size_t *batch);

/* For manual_time benchmarks: the time the batch just run took. */
void sysfast_bench_set_batch_time(sysfast_bench_state *st, double seconds);

/* Replaces this thread's measured allocation counters with figures taken
 * elsewhere (e.g. in another process), per operation. */
void sysfast_bench_set_alloc_counters(sysfast_bench_state *st, double allocs_per_op,
                                      double frees_per_op, double bytes_per_op);

/* Sets a user counter (a console column and a JSON field). The value is
 * averaged over the run's threads. */
void sysfast_bench_set_counter(sysfast_bench_state *st, const char *name, double value);

/* Marks the run as failed with `msg`. From a set-up function, the run's
 * bodies are not called; from a body, sysfast_bench_keep_running() then
 * returns false (keep calling it, e.g. by finishing SYSFAST_BENCH_LOOP, so
 * that the run's threads stay in step). */
void sysfast_bench_skip(sysfast_bench_state *st, const char *msg);
bool sysfast_bench_skipped(const sysfast_bench_state *st);

const void *sysfast_bench_arg(const sysfast_bench_state *st);
int sysfast_bench_thread_index(const sysfast_bench_state *st);
int sysfast_bench_thread_count(const sysfast_bench_state *st);

/*
 * Guards against dead-code elimination, usable from C. Put the same guard
 * in the loops being compared, so that both pay for it.
 *
 * SYSFAST_BENCH_CONSUME(acc, v), once per iteration: ORs the result `v`
 * into the accumulator `acc` and clobbers memory, so the call producing v
 * must run every iteration, and no load may be hoisted out of the loop nor
 * store sunk out of it. Hand `acc` to sysfast_bench_expect_zero() after
 * the loop: the compiler must compute it, and a call that failed fails the
 * run. An accumulator rather than a per-iteration DO_NOT_OPTIMIZE keeps
 * the guard from adding an instruction to a disabled call site whose
 * result is a constant 0 on the fast path (GCC would materialise the 0 in
 * a register for the asm on some paths and not on others).
 *
 * SYSFAST_BENCH_DO_NOT_OPTIMIZE(x): the value of x must be computed (it is
 * an input of an empty asm) and memory is clobbered.
 * sysfast_bench_clobber_memory(): only the memory clobber.
 */
#define SYSFAST_BENCH_DO_NOT_OPTIMIZE(x) __asm__ volatile("" : : "r,m"(x) : "memory")

static inline void sysfast_bench_clobber_memory(void)
{
	__asm__ volatile("" : : : "memory");
}

#define SYSFAST_BENCH_CONSUME(acc, v)                                                              \
	do {                                                                                       \
		(acc) |= (v);                                                                      \
		sysfast_bench_clobber_memory();                                                    \
	} while (0)

/* Fails the run with `what` unless `acc` is 0; see SYSFAST_BENCH_CONSUME. */
static inline void sysfast_bench_expect_zero(sysfast_bench_state *st, long acc, const char *what)
{
	SYSFAST_BENCH_DO_NOT_OPTIMIZE(acc);
	if (acc != 0)
		sysfast_bench_skip(st, what);
}

/* The timed loop: the statement or block after it is the body, run once
 * per iteration. */
#define SYSFAST_BENCH_LOOP(st)                                                                     \
	for (size_t sysfast_bench__n = 0; sysfast_bench_keep_running((st), &sysfast_bench__n);)    \
		for (size_t sysfast_bench__i = 0; sysfast_bench__i < sysfast_bench__n;             \
		     sysfast_bench__i++)

#ifdef __cplusplus
}
#endif

#endif /* SYSFAST_BENCH_SHIM_H */
