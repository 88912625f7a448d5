// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The C face of Google Benchmark (see shim.h): the only C++ in the project.
//
// Allocation counters, wherever jemalloc serves malloc (linked into the
// program or preloaded; its mallctl is looked up at run time, so that a
// program may also run on glibc's malloc, where the counters read -1).
// Bytes come from jemalloc's per-thread totals
// (thread.allocatedp / thread.deallocatedp: exact, free to read, always
// on). Counts come from jemalloc's experimental hooks, installed once for
// the process by sysfast_bench_main() unless the program turned counting
// off: every malloc, calloc, realloc,
// aligned allocation and free on any thread calls them, and they bump
// counters of the calling thread. Installed hooks send jemalloc down its
// slow path, which costs only in code that allocates; the benchmarks whose
// timings matter here allocate nothing in their loops (that is a target),
// and CPython's baselines run in other processes that have no hook.

#include "shim.h"

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <dlfcn.h>

namespace {

// ---- allocation counting ----

// jemalloc 5.3's experimental hook interface (include/jemalloc/internal/
// hook.h); not in the public header, stable since 5.2.
using hook_alloc = void (*)(void *extra, int type, void *result, uintptr_t result_raw,
                            uintptr_t args_raw[3]);
using hook_dalloc = void (*)(void *extra, int type, void *address, uintptr_t args_raw[3]);
using hook_expand = void (*)(void *extra, int type, void *address, size_t old_usize,
                             size_t new_usize, uintptr_t result_raw, uintptr_t args_raw[4]);
struct jemalloc_hooks {
	hook_alloc alloc_hook;
	hook_dalloc dalloc_hook;
	hook_expand expand_hook;
	void *extra;
};

using mallctl_fn = int (*)(const char *name, void *oldp, size_t *oldlenp, void *newp,
                           size_t newlen);

// jemalloc's mallctl where jemalloc serves malloc, else null.
mallctl_fn jemalloc_ctl()
{
	static const mallctl_fn ctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
	return ctl;
}

thread_local uint64_t tl_allocs; // allocations, and reallocs done in place
thread_local uint64_t tl_frees;

void count_alloc(void *, int, void *, uintptr_t, uintptr_t *)
{
	tl_allocs++;
}

void count_dalloc(void *, int, void *, uintptr_t *)
{
	tl_frees++;
}

void count_expand(void *, int, void *, size_t, size_t, uintptr_t, uintptr_t *)
{
	tl_allocs++;
}

bool counting_installed;
bool counting_wanted = true;

void install_alloc_counting()
{
	static jemalloc_hooks hooks = {count_alloc, count_dalloc, count_expand, nullptr};
	void *handle;
	size_t sz = sizeof(handle);

	if (!jemalloc_ctl() || !counting_wanted)
		return;
	if (jemalloc_ctl()("experimental.hooks.install", &handle, &sz, &hooks, sizeof(hooks)) == 0)
		counting_installed = true;
	else
		std::fprintf(stderr, "sysfast-bench: jemalloc hooks unavailable: "
		                     "allocs/op and frees/op will read -1\n");
}

struct alloc_snapshot {
	uint64_t allocs, frees, bytes;
};

// jemalloc's per-thread byte totals; the pointers stay valid for the
// thread's life. Read through volatile: the compiler knows malloc and free
// do not write to memory it can see, and would otherwise reuse the load.
struct thread_bytes {
	const volatile uint64_t *allocated = nullptr;
	thread_bytes()
	{
		uint64_t *p;
		size_t sz = sizeof(p);
		if (jemalloc_ctl() && jemalloc_ctl()("thread.allocatedp", &p, &sz, nullptr, 0) == 0)
			allocated = p;
	}
};

alloc_snapshot take_snapshot()
{
	thread_local thread_bytes tb;
	return {tl_allocs, tl_frees, tb.allocated ? *tb.allocated : 0};
}

// ---- registered benchmarks ----

// A reusable barrier for the threads of one run (std::barrier is C++20).
class run_barrier
{
	std::mutex mu_;
	std::condition_variable cv_;
	int waiting_ = 0;
	unsigned long generation_ = 0;

public:
	void wait(int parties)
	{
		std::unique_lock<std::mutex> lock(mu_);
		unsigned long gen = generation_;
		if (++waiting_ == parties) {
			waiting_ = 0;
			generation_++;
			cv_.notify_all();
			return;
		}
		cv_.wait(lock, [&] { return gen != generation_; });
	}
};

struct entry {
	std::string name;
	sysfast_bench_fn fn;
	sysfast_bench_options opts;
	std::vector<int> threads;
	run_barrier barrier;
	// Written by the set-up thread before the barrier, read after it.
	bool setup_failed = false;
	std::string setup_error;
};

std::vector<entry *> &entries()
{
	static std::vector<entry *> v;
	return v;
}

void run_entry(entry *e, benchmark::State &s);

} // namespace

struct sysfast_bench_state {
	benchmark::State *s;
	entry *e;
	size_t max_batch;
	bool in_setup;
	bool started;
	bool finished;
	bool skipped;
	bool counters_overridden;
	alloc_snapshot at_start;
};

namespace {

void run_entry(entry *e, benchmark::State &s)
{
	sysfast_bench_state st = {};
	st.s = &s;
	st.e = e;
	st.max_batch = e->opts.max_batch ? e->opts.max_batch : 4096;

	if (s.thread_index() == 0) {
		e->setup_failed = false;
		if (e->opts.setup) {
			st.in_setup = true;
			e->opts.setup(&st);
			st.in_setup = false;
			e->setup_failed = st.skipped;
		}
	}
	e->barrier.wait(s.threads());
	// Every thread of a run whose set-up failed skips without entering the
	// loop, so none waits at Google Benchmark's barriers for the others.
	if (e->setup_failed) {
		if (!st.skipped)
			s.SkipWithError(e->setup_error.c_str());
		return;
	}
	e->fn(&st);
	if (!st.skipped && !st.started)
		s.SkipWithError("the benchmark body never ran its loop");
}

void set_alloc_counters(sysfast_bench_state *st, double allocs, double frees, double bytes)
{
	using benchmark::Counter;
	st->s->counters["allocs/op"] = Counter(allocs, Counter::kAvgThreads);
	st->s->counters["frees/op"] = Counter(frees, Counter::kAvgThreads);
	st->s->counters["B/op"] = Counter(bytes, Counter::kAvgThreads);
}

void finish_counters(sysfast_bench_state *st)
{
	if (st->counters_overridden)
		return;
	alloc_snapshot end = take_snapshot();
	double iters = (double)st->s->iterations();
	if (iters <= 0)
		return;
	double allocs =
	    counting_installed ? (double)(end.allocs - st->at_start.allocs) / iters : -1;
	double frees = counting_installed ? (double)(end.frees - st->at_start.frees) / iters : -1;
	double bytes = jemalloc_ctl() ? (double)(end.bytes - st->at_start.bytes) / iters : -1;
	set_alloc_counters(st, allocs, frees, bytes);
}

} // namespace

extern "C" {

void sysfast_bench_register(const char *name, sysfast_bench_fn fn,
                            const sysfast_bench_options *opts)
{
	entry *e = new entry;
	e->name = name;
	e->fn = fn;
	e->opts = opts ? *opts : sysfast_bench_options{};
	if (e->opts.threads)
		e->threads.assign(e->opts.threads, e->opts.threads + e->opts.n_threads);
	entries().push_back(e);

	benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
	    e->name.c_str(), [e](benchmark::State &s) { run_entry(e, s); });
	b->Unit(benchmark::kNanosecond);
	if (e->opts.manual_time)
		b->UseManualTime();
	for (int t : e->threads)
		b->Threads(t);
}

void sysfast_bench_count_allocations(bool on)
{
	counting_wanted = on;
}

void sysfast_bench_add_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

int sysfast_bench_main(int argc, char **argv)
{
	// Defaults first: Google Benchmark lets a later flag override an
	// earlier one, so the caller's flags win.
	static const char *const defaults[] = {
	    "--benchmark_repetitions=5",
	    "--benchmark_display_aggregates_only=true",
	};
	std::vector<char *> args;
	args.push_back(argv[0]);
	for (const char *d : defaults)
		args.push_back(const_cast<char *>(d));
	for (int i = 1; i < argc; i++)
		args.push_back(argv[i]);
	int n = (int)args.size();
	args.push_back(nullptr);

	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()))
		return 2;
	install_alloc_counting();
	benchmark::AddCustomContext("jemalloc_hooks",
	                            counting_installed ? "installed" : "not installed");
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

bool sysfast_bench_keep_running(sysfast_bench_state *st, size_t *batch)
{
	benchmark::State &s = *st->s;
	benchmark::IterationCount max = st->max_batch < (size_t)INT64_MAX
	                                    ? (benchmark::IterationCount)st->max_batch
	                                    : INT64_MAX;

	*batch = 0;
	if (st->finished)
		return false;
	if (st->skipped) {
		// KeepRunningBatch sees the error and ends the run; calling it keeps
		// the run's threads in step at Google Benchmark's barriers.
		st->finished = true;
		return s.KeepRunningBatch(1);
	}
	benchmark::IterationCount left = s.max_iterations - s.iterations();
	if (!st->started) {
		// The first KeepRunningBatch waits for the run's other threads and
		// starts the timer. The snapshot is taken inside the timed region,
		// so that the harness's own start-up is not counted, after a first
		// one outside it that sets up the thread's jemalloc pointers.
		take_snapshot();
		st->started = true;
		benchmark::IterationCount n = left < max ? left : max;
		if (n < 1)
			n = 1;
		bool more = s.KeepRunningBatch(n);
		st->at_start = take_snapshot();
		*batch = more ? (size_t)n : 0;
		st->finished = !more;
		return more;
	}
	if (left <= 0) {
		finish_counters(st);
		st->finished = true;
		return s.KeepRunningBatch(1);
	}
	benchmark::IterationCount n = left < max ? left : max;
	*batch = (size_t)n;
	return s.KeepRunningBatch(n);
}

void sysfast_bench_set_batch_time(sysfast_bench_state *st, double seconds)
{
	st->s->SetIterationTime(seconds);
}

void sysfast_bench_set_alloc_counters(sysfast_bench_state *st, double allocs_per_op,
                                      double frees_per_op, double bytes_per_op)
{
	st->counters_overridden = true;
	set_alloc_counters(st, allocs_per_op, frees_per_op, bytes_per_op);
}

void sysfast_bench_set_counter(sysfast_bench_state *st, const char *name, double value)
{
	st->s->counters[name] = benchmark::Counter(value, benchmark::Counter::kAvgThreads);
}

void sysfast_bench_skip(sysfast_bench_state *st, const char *msg)
{
	if (st->in_setup && !st->skipped)
		st->e->setup_error = msg;
	st->skipped = true;
	st->s->SkipWithError(msg);
}

bool sysfast_bench_skipped(const sysfast_bench_state *st)
{
	return st->skipped;
}

const void *sysfast_bench_arg(const sysfast_bench_state *st)
{
	return st->e->opts.arg;
}

int sysfast_bench_thread_index(const sysfast_bench_state *st)
{
	return st->s->thread_index();
}

int sysfast_bench_thread_count(const sysfast_bench_state *st)
{
	return st->s->threads();
}

} // extern "C"
