/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The benchmark groups of sysfast-bench; each registers its benchmarks. */
#ifndef SYSFAST_BENCH_BENCH_H
#define SYSFAST_BENCH_BENCH_H

#include <stddef.h>

/* Reference limits: what the fastest conceivable dispatch costs here. */
void bench_limits_register(void);

/* libsysfast's audit benchmarks. `threads` lists the thread counts for the
 * threaded dispatch (always starts with 1). */
void bench_audit_register(const int *threads, size_t n_threads);
/* Set-up: a fresh runtime with sysfast_bench_arg() no-op hooks that listen
 * to every event. */
struct sysfast_bench_state;
void bench_setup_hooks(struct sysfast_bench_state *st);

/* bench_audit_call.c: SYSFAST_AUDIT without the inline dispatch. */
void bench_audit_call_register(void);

/* bench_objects.c: interning and getsizeof. */
void bench_objects_register(void);

/* bench_frames.c: the frame chain with nothing tracing, against a
 * runtime's own. */
void bench_frames_register(void);

/* The realistic workload through libsysfast. */
void bench_workload_register(void);

/* CPython 3.11's PySys_Audit, each hook configuration in a worker process
 * of this binary (hooks cannot be removed from CPython). Start the workers
 * before anything else in the process (before threads exist or libsysfast
 * is initialised); stop them at exit. */
int bench_cpython_start(const char *argv0);
void bench_cpython_register(void);
void bench_cpython_stop(void);

#endif /* SYSFAST_BENCH_BENCH_H */
