/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The incumbent: CPython 3.11's PySys_Audit, embedded; and, for
 * bench_objects.c, its interning and sys.getsizeof.
 *
 * CPython's hooks cannot be removed, so each hook configuration lives in a
 * worker process forked from sysfast-bench at start-up: it initialises
 * CPython once, holds the GIL, adds its hooks, says it is ready and then
 * runs batches on request over a pipe. The benchmark in the main process hands each batch
 * to its worker and reports the worker's own time for it (manual time: the
 * pipe round trip is not counted), so the baselines run in the same binary
 * and in the same Google Benchmark run as libsysfast, interleaved with it.
 *
 * Times are the worker thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the
 * clock Google Benchmark's cpu_time uses for the in-process benchmarks.
 *
 * Allocations: pymalloc serves small objects without calling malloc, so
 * jemalloc does not see them. Before timing, the worker runs a counting
 * pass of BENCH_PY_COUNT_ITERS calls with a counting wrapper around all
 * three PyMem domains (raw, mem, object), then restores the allocators: the
 * timed batches run on CPython's default allocators, unwrapped.
 */
/* Python.h first: it sets feature macros for the system headers. */
#include "hooks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "shim.h"
#include "workload.h"

#define BENCH_PY_COUNT_ITERS 4096

enum bench_py_config {
	BENCH_PY_NOHOOK,
	BENCH_PY_FILTER_OTHER,
	BENCH_PY_HOOKS_1,
	BENCH_PY_HOOKS_8,
	BENCH_PY_WORKLOAD,
	BENCH_PY_INTERN,
	BENCH_PY_GETSIZEOF,
	BENCH_PY_NCONFIG
};

static const struct {
	const char *bench_name;
	int (*hook)(const char *, PyObject *, void *);
	int n_hooks;
} bench_py_configs[BENCH_PY_NCONFIG] = {
    [BENCH_PY_NOHOOK] = {"cpython/audit/nohook", NULL, 0},
    [BENCH_PY_FILTER_OTHER] = {"cpython/audit/filter_other", bench_py_hook_filter_other, 1},
    [BENCH_PY_HOOKS_1] = {"cpython/audit/hooks:1", bench_py_hook_noop, 1},
    [BENCH_PY_HOOKS_8] = {"cpython/audit/hooks:8", bench_py_hook_noop, 8},
    [BENCH_PY_WORKLOAD] = {"cpython/workload", bench_py_hook_workload, 1},
    [BENCH_PY_INTERN] = {"cpython/intern/known", NULL, 0},
    [BENCH_PY_GETSIZEOF] = {"cpython/getsizeof/str", NULL, 0},
};

/* In the intern and getsizeof workers: BENCH_INTERN_NAME, interned and
 * held for the worker's life, as bench_objects.c holds libsysfast's. */
static PyObject *bench_py_held;

enum bench_py_op { BENCH_PY_OP_TIME = 1, BENCH_PY_OP_COUNT = 2 };

struct bench_py_request {
	uint32_t op;
	uint64_t n;
};

struct bench_py_response {
	int32_t status; /* 0, or -1 with `error` */
	uint64_t cpu_ns;
	uint64_t allocs, frees, bytes;
	char error[200];
};

struct bench_py_worker {
	pid_t pid;
	int to_child, from_child;
};

static struct bench_py_worker bench_py_workers[BENCH_PY_NCONFIG];

/* ---- pipe I/O ---- */

static bool bench_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

static bool bench_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

/* ---- in the worker ---- */

/* The counting wrapper. The worker is single-threaded and holds the GIL;
 * `depth` keeps pymalloc's own fallback to the raw domain (objects over
 * 512 bytes) from counting twice. */
static PyMemAllocatorEx bench_py_orig[3];
static uint64_t bench_py_allocs, bench_py_frees, bench_py_bytes;
static int bench_py_depth;

static void *bench_py_count_malloc(void *ctx, size_t size)
{
	PyMemAllocatorEx *o = ctx;
	if (bench_py_depth++ == 0) {
		bench_py_allocs++;
		bench_py_bytes += size;
	}
	void *p = o->malloc(o->ctx, size);
	bench_py_depth--;
	return p;
}

static void *bench_py_count_calloc(void *ctx, size_t nelem, size_t elsize)
{
	PyMemAllocatorEx *o = ctx;
	if (bench_py_depth++ == 0) {
		bench_py_allocs++;
		bench_py_bytes += nelem * elsize;
	}
	void *p = o->calloc(o->ctx, nelem, elsize);
	bench_py_depth--;
	return p;
}

static void *bench_py_count_realloc(void *ctx, void *ptr, size_t size)
{
	PyMemAllocatorEx *o = ctx;
	if (bench_py_depth++ == 0) {
		bench_py_allocs++;
		bench_py_bytes += size;
	}
	void *p = o->realloc(o->ctx, ptr, size);
	bench_py_depth--;
	return p;
}

static void bench_py_count_free(void *ctx, void *ptr)
{
	PyMemAllocatorEx *o = ctx;
	if (bench_py_depth++ == 0 && ptr)
		bench_py_frees++;
	o->free(o->ctx, ptr);
	bench_py_depth--;
}

static void bench_py_counting(bool on)
{
	static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
	                                                PYMEM_DOMAIN_OBJ};
	for (int d = 0; d < 3; d++) {
		if (on) {
			PyMemAllocatorEx w = {&bench_py_orig[d], bench_py_count_malloc,
			                      bench_py_count_calloc, bench_py_count_realloc,
			                      bench_py_count_free};
			PyMem_GetAllocator(domains[d], &bench_py_orig[d]);
			PyMem_SetAllocator(domains[d], &w);
		} else {
			PyMem_SetAllocator(domains[d], &bench_py_orig[d]);
		}
	}
}

/* One call site per event, as in bench_workload.c. */
static inline int bench_py_raise_event(unsigned e)
{
	switch (e) {
#define BENCH_WORKLOAD_EVENT(ident, name, weight, nargs)                                           \
	case BENCH_EV_##ident:                                                                     \
		return PySys_Audit(name, BENCH_PY_FMT_##nargs BENCH_PY_ARGS_##nargs);
#include "workload_events.def"
#undef BENCH_WORKLOAD_EVENT
	}
	return 0;
}

/* The timed loops: the same shape and guard as SYSFAST_BENCH_LOOP's bodies. */
static int bench_py_run(enum bench_py_config c, uint64_t n)
{
	static size_t pos;
	int acc = 0;

	if (c == BENCH_PY_INTERN) {
		/* Interning a name read from C: a new str, the lookup in the
		 * interned dict, the new str dropped for the canonical one. */
		uintptr_t other = 0;
		for (uint64_t i = 0; i < n; i++) {
			PyObject *s = PyUnicode_InternFromString(BENCH_INTERN_NAME);
			SYSFAST_BENCH_CONSUME(other, (uintptr_t)s ^ (uintptr_t)bench_py_held);
			Py_XDECREF(s);
		}
		acc = other != 0;
	} else if (c == BENCH_PY_GETSIZEOF) {
		size_t want = _PySys_GetSizeOf(bench_py_held);
		size_t other = 0;
		for (uint64_t i = 0; i < n; i++) {
			size_t size = _PySys_GetSizeOf(bench_py_held);
			SYSFAST_BENCH_CONSUME(other, size ^ want);
		}
		acc = other != 0 || want == (size_t)-1;
	} else if (c == BENCH_PY_WORKLOAD) {
		for (uint64_t i = 0; i < n; i++) {
			int rc = bench_py_raise_event(
			    bench_workload_seq[pos++ & (BENCH_WORKLOAD_LEN - 1)]);
			SYSFAST_BENCH_CONSUME(acc, rc);
		}
	} else {
		for (uint64_t i = 0; i < n; i++) {
			int rc = PySys_Audit(BENCH_EVENT, "(si)", "x", 1);
			SYSFAST_BENCH_CONSUME(acc, rc);
		}
	}
	SYSFAST_BENCH_DO_NOT_OPTIMIZE(acc);
	/* The hooks never fail: an error means the benchmark is broken. */
	if (acc != 0)
		PyErr_Clear();
	return acc != 0 ? -1 : 0;
}

static uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool bench_py_setup(enum bench_py_config c, struct bench_py_response *r)
{
	PyConfig config;
	PyStatus status;

	PyConfig_InitIsolatedConfig(&config);
	config.install_signal_handlers = 0;
	status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		snprintf(r->error, sizeof(r->error), "Py_InitializeFromConfig: %s",
		         status.err_msg ? status.err_msg : "failed");
		return false;
	}
	if (c == BENCH_PY_INTERN || c == BENCH_PY_GETSIZEOF) {
		bench_py_held = PyUnicode_InternFromString(BENCH_INTERN_NAME);
		if (!bench_py_held) {
			snprintf(r->error, sizeof(r->error), "PyUnicode_InternFromString failed");
			return false;
		}
	}
	for (int k = 0; k < bench_py_configs[c].n_hooks; k++) {
		if (PySys_AddAuditHook(bench_py_configs[c].hook, NULL) != 0) {
			snprintf(r->error, sizeof(r->error), "PySys_AddAuditHook failed");
			return false;
		}
	}
	return true;
}

static void bench_py_serve(enum bench_py_config c, int in, int out)
{
	struct bench_py_request req;
	struct bench_py_response r = {0};
	bool ready = bench_py_setup(c, &r);

	/* The hand-shake: the main process waits for it, so that no worker is
	 * still starting CPython while the first benchmarks run. */
	r.status = ready ? 0 : -1;
	if (!bench_write_all(out, &r, sizeof(r)))
		_exit(1);
	while (bench_read_all(in, &req, sizeof(req))) {
		if (!ready) {
			r.status = -1;
		} else if (req.op == BENCH_PY_OP_TIME) {
			uint64_t t0 = bench_thread_cpu_ns();
			r.status = bench_py_run(c, req.n) ? -1 : 0;
			r.cpu_ns = bench_thread_cpu_ns() - t0;
		} else {
			bench_py_allocs = bench_py_frees = bench_py_bytes = 0;
			bench_py_counting(true);
			r.status = bench_py_run(c, req.n) ? -1 : 0;
			bench_py_counting(false);
			r.allocs = bench_py_allocs;
			r.frees = bench_py_frees;
			r.bytes = bench_py_bytes;
		}
		if (ready && r.status != 0)
			snprintf(r.error, sizeof(r.error), "%s failed in the worker",
			         bench_py_configs[c].bench_name);
		if (!bench_write_all(out, &r, sizeof(r)))
			break;
	}
	_exit(0);
}

/* ---- in the main process ---- */

int bench_cpython_start(const char *argv0)
{
	(void)argv0;
	fflush(NULL);
	for (int c = 0; c < BENCH_PY_NCONFIG; c++) {
		int down[2], up[2];
		if (pipe(down) != 0 || pipe(up) != 0) {
			perror("sysfast-bench: pipe");
			return -1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("sysfast-bench: fork");
			return -1;
		}
		if (pid == 0) {
			close(down[1]);
			close(up[0]);
			/* Workers forked earlier hold pipes we must not keep open. */
			for (int k = 0; k < c; k++) {
				close(bench_py_workers[k].to_child);
				close(bench_py_workers[k].from_child);
			}
			bench_py_serve((enum bench_py_config)c, down[0], up[1]);
		}
		close(down[0]);
		close(up[1]);
		bench_py_workers[c] = (struct bench_py_worker){pid, down[1], up[0]};
		struct bench_py_response hello;
		if (!bench_read_all(up[0], &hello, sizeof(hello)))
			fprintf(stderr, "sysfast-bench: the %s worker died at start-up\n",
			        bench_py_configs[c].bench_name);
		else if (hello.status != 0)
			fprintf(stderr, "sysfast-bench: the %s worker: %s\n",
			        bench_py_configs[c].bench_name, hello.error);
	}
	return 0;
}

void bench_cpython_stop(void)
{
	for (int c = 0; c < BENCH_PY_NCONFIG; c++) {
		if (bench_py_workers[c].pid <= 0)
			continue;
		close(bench_py_workers[c].to_child);
		close(bench_py_workers[c].from_child);
		waitpid(bench_py_workers[c].pid, NULL, 0);
		bench_py_workers[c].pid = 0;
	}
}

static bool bench_py_call(sysfast_bench_state *st, enum bench_py_config c, uint32_t op, uint64_t n,
                          struct bench_py_response *r)
{
	const struct bench_py_worker *w = &bench_py_workers[c];
	struct bench_py_request req = {op, n};

	if (!bench_write_all(w->to_child, &req, sizeof(req))
	    || !bench_read_all(w->from_child, r, sizeof(*r))) {
		sysfast_bench_skip(st, "the CPython worker process is gone");
		return false;
	}
	if (r->status != 0) {
		sysfast_bench_skip(st, r->error);
		return false;
	}
	return true;
}

static void bm_cpython(sysfast_bench_state *st)
{
	enum bench_py_config c = (enum bench_py_config)(uintptr_t)sysfast_bench_arg(st);
	struct bench_py_response r;
	size_t n;

	if (bench_py_call(st, c, BENCH_PY_OP_COUNT, BENCH_PY_COUNT_ITERS, &r))
		sysfast_bench_set_alloc_counters(st, (double)r.allocs / BENCH_PY_COUNT_ITERS,
		                                 (double)r.frees / BENCH_PY_COUNT_ITERS,
		                                 (double)r.bytes / BENCH_PY_COUNT_ITERS);
	while (sysfast_bench_keep_running(st, &n))
		if (bench_py_call(st, c, BENCH_PY_OP_TIME, n, &r))
			sysfast_bench_set_batch_time(st, (double)r.cpu_ns * 1e-9);
}

void bench_cpython_register(void)
{
	for (int c = 0; c < BENCH_PY_NCONFIG; c++)
		sysfast_bench_register(bench_py_configs[c].bench_name, bm_cpython,
		                       &(sysfast_bench_options){.arg = (const void *)(uintptr_t)c,
		                                                .max_batch = SIZE_MAX,
		                                                .manual_time = true});
}
