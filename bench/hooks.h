/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hooks every benchmark calls: libsysfast's, the reference limits' and
 * CPython's have the same body, so that only the dispatch differs.
 *
 * A hook is a no-op that touches its arguments lightly: it adds the number
 * of arguments to a per-thread volatile counter (one load of the tuple's
 * size, one read-modify-write of thread-local memory). Per-thread, so that
 * threads dispatching at once share no cache line through the hook. The
 * hooks live in their own file and are noipa: the compiler can neither
 * inline them nor use what it knows of their bodies at the call sites.
 */
#ifndef SYSFAST_BENCH_HOOKS_H
#define SYSFAST_BENCH_HOOKS_H

#include <Python.h>

#include <sysfast/sysfast.h>

/* The event every micro-benchmark raises, and the one the filtering hooks
 * listen to instead. */
#define BENCH_EVENT "bench.event"
#define BENCH_OTHER_EVENT "bench.other"

/* The string the interning and getsizeof benchmarks work on, in both
 * libraries: a dotted identifier of a typical length. */
#define BENCH_INTERN_NAME "bench.interned.name"

/* libsysfast (and the reference limits, which call it the same way). */
int bench_hook_noop(sysfast_event_id event, const char *name, const sysfast_args *args,
                    void *userdata);

/* CPython's native hooks (PySys_AddAuditHook). */
int bench_py_hook_noop(const char *event, PyObject *args, void *userdata);
/* Returns at once unless the event is BENCH_OTHER_EVENT (one strcmp). */
int bench_py_hook_filter_other(const char *event, PyObject *args, void *userdata);
/* The realistic workload's hook: cares about three events (strcmp chain). */
int bench_py_hook_workload(const char *event, PyObject *args, void *userdata);

/* The three events the workload's hook cares about. */
#define BENCH_WORKLOAD_WATCHED_1 "open"
#define BENCH_WORKLOAD_WATCHED_2 "os.remove"
#define BENCH_WORKLOAD_WATCHED_3 "subprocess.Popen"

#endif /* SYSFAST_BENCH_HOOKS_H */
