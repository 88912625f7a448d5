/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast-bench-scale: how each cost grows with the work, libsysfast
 * beside CPython 3.11 where CPython does the same thing.
 *
 *   sysfast-bench-scale --out=FILE [--suite=quick|full] [--threads=1,2,...]
 *                       [--filter=REGEX] [--min-iters=N]
 *
 * Every point (one series, one implementation, one size) runs in a process
 * of its own, forked from this one before anything is initialised: its
 * memory figures start from a clean heap, CPython's sub-interpreters and
 * hooks cannot leak into the next point, and a point that runs out of
 * memory fails alone. The point writes its rows to a pipe; this process
 * gathers them into FILE, in the JSON layout of Google Benchmark (a
 * "context" object and a "benchmarks" array with one entry per
 * repetition), so that tools/bench-compare.py reads it as it reads the
 * main suite. Each entry also carries scale_series, scale_impl,
 * scale_size and scale_metric, which tools/bench-scale.py plots and fits.
 *
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, as Google
 * Benchmark's cpu_time) per operation. An operation that can be repeated
 * (a lookup, a dispatch) runs in batches sized to take BATCH_NS, and each
 * repetition is one batch; one that changes the state (inserting a string,
 * adding a hook, creating an interpreter) is timed over a fixed number of
 * operations and said so in the row's "iterations".
 *
 * Memory: "rss" figures are deltas of the resident set (/proc/self/statm)
 * across the step, divided by its size; "vm" the same for the address
 * space; "alloc" figures are deltas of jemalloc's stats.allocated (bytes
 * the program holds, without the allocator's slack), for libsysfast only:
 * CPython's objects come from pymalloc's arenas, which jemalloc does not
 * see. "peak" is the high-water mark of the resident set (VmHWM, reset
 * through /proc/self/clear_refs) over the step, minus the resident set
 * before it. What the program itself allocates for a point (the keys, the
 * arrays of held references) is allocated and touched before the first
 * reading.
 */
/* Python.h first: it sets feature macros for the system headers. */
#include "hooks.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- output ---- */

/* The pipe to the parent, in a point's process. */
static FILE *scale_out;
static bool scale_full;
static int scale_reps;
/* --min-iters: the least batch, whatever the clock says. Under callgrind
 * (which slows everything ~50x) the clock alone would give batches too
 * small to count instructions per call with. */
static size_t scale_min_iters = 1;

#define BATCH_NS_QUICK 2000000.0
#define BATCH_NS_FULL 5000000.0
#define MAX_REPS 64

static double batch_ns(void)
{
	return scale_full ? BATCH_NS_FULL : BATCH_NS_QUICK;
}

/* One row per repetition: `vals[0..n)` of `metric` for the point. */
static void emit(const char *series, const char *impl, size_t size, const char *metric,
                 const double *vals, int n, size_t iterations)
{
	for (int r = 0; r < n; r++)
		fprintf(
		    scale_out,
		    "{\"name\": \"scale/%s/%s/size:%zu\", \"run_name\": \"scale/%s/%s/size:%zu\", "
		    "\"run_type\": \"iteration\", \"repetitions\": %d, \"repetition_index\": %d, "
		    "\"threads\": 1, \"iterations\": %zu, \"real_time\": %.6g, "
		    "\"cpu_time\": %.6g, \"time_unit\": \"ns\", \"scale_series\": \"%s\", "
		    "\"scale_impl\": \"%s\", \"scale_size\": %zu, \"scale_metric\": \"%s\"}\n",
		    series, impl, size, series, impl, size, n, r, iterations, vals[r], vals[r],
		    series, impl, size, metric);
	fflush(scale_out);
}

static void emit_one(const char *series, const char *impl, size_t size, const char *metric,
                     double v)
{
	emit(series, impl, size, metric, &v, 1, 1);
}

static void emit_error(const char *series, const char *impl, size_t size, const char *msg)
{
	fprintf(scale_out,
	        "{\"name\": \"scale/%s/%s/size:%zu\", \"run_name\": \"scale/%s/%s/size:%zu\", "
	        "\"run_type\": \"iteration\", \"error_occurred\": true, \"error_message\": \"",
	        series, impl, size, series, impl, size);
	for (const char *p = msg; *p; p++)
		fprintf(scale_out, *p == '"' || *p == '\\' ? "\\%c" : (*p < ' ' ? "?" : "%c"), *p);
	fprintf(scale_out,
	        "\", \"scale_series\": \"%s\", \"scale_impl\": \"%s\", "
	        "\"scale_size\": %zu}\n",
	        series, impl, size);
	fflush(scale_out);
}

/* ---- clocks and memory ---- */

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Resident and virtual bytes of the process. */
static void mem_now(double *rss, double *vm)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			size = resident = 0;
		fclose(f);
	}
	*rss = (double)resident * (double)sysconf(_SC_PAGESIZE);
	*vm = (double)size * (double)sysconf(_SC_PAGESIZE);
}

static double rss_now(void)
{
	double rss, vm;

	mem_now(&rss, &vm);
	return rss;
}

/* Resets the resident high-water mark (Linux 4.0 and later). */
static void peak_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static double peak_now(void)
{
	char line[256];
	double kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtod(line + 6, NULL);
	if (f)
		fclose(f);
	return kb * 1024;
}

/* Bytes the program holds from jemalloc. */
static double allocated_now(void)
{
	uint64_t epoch = 1;
	size_t allocated = 0, sz = sizeof(epoch);

	mallctl("epoch", &epoch, &sz, &epoch, sz);
	sz = sizeof(allocated);
	mallctl("stats.allocated", &allocated, &sz, NULL, 0);
	return (double)allocated;
}

/* ---- timing ---- */

/* Runs `n` operations and returns the number that gave a wrong result. */
typedef size_t (*batch_fn)(void *ctx, size_t n);

/* Sizes a batch to take about BATCH_NS, then times `reps` batches; ns per
 * operation in out[]. Returns false (and emits an error row) if an
 * operation gave a wrong result. */
static bool measure(const char *series, const char *impl, size_t size, batch_fn fn, void *ctx,
                    int reps, double *out, size_t *iters)
{
	size_t n = 1, bad = 0;
	uint64_t t;

	for (;;) {
		t = cpu_ns();
		bad += fn(ctx, n);
		t = cpu_ns() - t;
		if ((double)t >= batch_ns() / 4 || n >= ((size_t)1 << 40))
			break;
		n *= 2;
	}
	n = (size_t)((double)n * batch_ns() / (double)(t ? t : 1)) + 1;
	if (n < scale_min_iters)
		n = scale_min_iters;
	for (int r = 0; r < reps; r++) {
		t = cpu_ns();
		bad += fn(ctx, n);
		out[r] = (double)(cpu_ns() - t) / (double)n;
	}
	*iters = n;
	if (bad) {
		emit_error(series, impl, size, "an operation gave a wrong result");
		return false;
	}
	return true;
}

static void measure_emit(const char *series, const char *impl, size_t size, batch_fn fn, void *ctx)
{
	double v[MAX_REPS];
	size_t iters;

	if (measure(series, impl, size, fn, ctx, scale_reps, v, &iters))
		emit(series, impl, size, "ns/op", v, scale_reps, iters);
}

/* A step that counts `n` operations, timed once per repetition by its
 * caller: adds the sample. */
static double per_op(uint64_t t0, size_t n)
{
	return (double)(cpu_ns() - t0) / (double)(n ? n : 1);
}

/* A stride through n items that visits each once per cycle and jumps
 * far: consecutive operations touch unrelated memory, as in a large
 * program, instead of the cache lines just used. */
static size_t stride_for(size_t n)
{
	size_t s = (size_t)((double)n * 0.6180339887) | 1;

	for (;; s += 2) {
		size_t a = n, b = s % (n ? n : 1);

		while (b) {
			size_t t = a % b;
			a = b;
			b = t;
		}
		if (a == 1 || n <= 1)
			return n <= 1 ? 0 : s % n;
	}
}

static inline size_t step(size_t i, size_t stride, size_t n)
{
	i += stride;
	return i >= n ? i - n : i;
}

/* ---- start-up of a point's runtime ---- */

static bool py_up(void)
{
	PyConfig config;
	PyStatus status;

	PyConfig_InitIsolatedConfig(&config);
	config.install_signal_handlers = 0;
	status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	return !PyStatus_Exception(status);
}

static bool sf_up(void)
{
	return sysfast_init() == 0;
}

/* ---- interning ---- */

#define KEY_LEN 16
#define KEY_STRIDE 17 /* the bytes and a NUL, for PyUnicode_InternFromString */

/* `n` distinct 16-byte keys, NUL-terminated: "key:" and 12 hex digits. */
static char *keys_make(size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *k = malloc(n * KEY_STRIDE);

	for (size_t i = 0; k && i < n; i++) {
		char *p = k + i * KEY_STRIDE;
		size_t v = i;

		memcpy(p, "key:", 4);
		for (int d = 15; d >= 4; d--, v >>= 4)
			p[d] = digits[v & 15];
		p[KEY_LEN] = '\0';
	}
	return k;
}

struct intern_ctx {
	const char *keys;
	void **held;
	size_t n, stride, pos;
};

static size_t sf_intern_hit(void *c, size_t n)
{
	struct intern_ctx *x = c;
	size_t bad = 0, i = x->pos;

	for (size_t k = 0; k < n; k++) {
		sysfast_str *s = sysfast_intern(x->keys + i * KEY_STRIDE, KEY_LEN);

		bad += s != x->held[i];
		sysfast_str_decref(s);
		i = step(i, x->stride, x->n);
	}
	x->pos = i;
	return bad;
}

static size_t sf_intern_find(void *c, size_t n)
{
	struct intern_ctx *x = c;
	size_t bad = 0, i = x->pos;

	for (size_t k = 0; k < n; k++) {
		sysfast_str *s = sysfast_intern_find(x->keys + i * KEY_STRIDE, KEY_LEN);

		bad += s != x->held[i];
		sysfast_str_decref(s);
		i = step(i, x->stride, x->n);
	}
	x->pos = i;
	return bad;
}

static size_t py_intern_hit(void *c, size_t n)
{
	struct intern_ctx *x = c;
	size_t bad = 0, i = x->pos;

	for (size_t k = 0; k < n; k++) {
		PyObject *s = PyUnicode_InternFromString(x->keys + i * KEY_STRIDE);

		bad += s != x->held[i];
		Py_XDECREF(s);
		i = step(i, x->stride, x->n);
	}
	x->pos = i;
	return bad;
}

static void *intern_one(bool py, const char *key)
{
	return py ? (void *)PyUnicode_InternFromString(key) : (void *)sysfast_intern(key, KEY_LEN);
}

static void drop_one(bool py, void *s)
{
	if (py)
		Py_XDECREF((PyObject *)s);
	else
		sysfast_str_decref(s);
}

/* Interning at `n` live strings: memory per string, hit, find (libsysfast
 * only: CPython has no lookup that never inserts) and miss-and-insert of
 * `m` new strings (a tenth of n, at most 10000). */
static void point_intern(bool py, size_t n)
{
	const char *impl = py ? "cpython" : "sysfast";
	size_t m = n / 10 < 10000 ? n / 10 : 10000;
	char *keys = keys_make(n + m);
	void **held = calloc(n + m, sizeof(*held));
	struct intern_ctx x = {keys, held, n, stride_for(n), 0};
	double rss0 = 0, a0 = 0, v[MAX_REPS];
	int reps = scale_reps * 2;

	if (!keys || !held || !(py ? py_up() : sf_up())) {
		emit_error("intern/hit", impl, n, "set-up failed (memory, or the runtime)");
		return;
	}
	/* The held array and keys are touched: not part of the figures. */
	memset(held, 0, (n + m) * sizeof(*held));
	for (size_t i = 0; i < n; i++) {
		/* The second half's memory: what one more string costs,
		 * without the table's one-time costs. */
		if (i == n / 2) {
			rss0 = rss_now();
			a0 = allocated_now();
		}
		if (!(held[i] = intern_one(py, keys + i * KEY_STRIDE))) {
			emit_error("intern/hit", impl, n, "interning failed");
			return;
		}
	}
	emit_one("intern/mem_rss", impl, n, "B/string",
	         (rss_now() - rss0) / (double)(n - n / 2) - KEY_LEN);
	if (!py)
		emit_one("intern/mem_alloc", impl, n, "B/string",
		         (allocated_now() - a0) / (double)(n - n / 2) - KEY_LEN);

	measure_emit("intern/hit", impl, n, py ? py_intern_hit : sf_intern_hit, &x);
	if (!py)
		measure_emit("intern/find", impl, n, sf_intern_find, &x);

	/* Miss and insert: m strings never seen, held, then dropped again
	 * (untimed) so that every repetition starts from n. */
	for (int r = 0; r < reps && m > 0; r++) {
		uint64_t t0 = cpu_ns();

		for (size_t i = n; i < n + m; i++)
			held[i] = intern_one(py, keys + i * KEY_STRIDE);
		v[r] = per_op(t0, m);
		for (size_t i = n; i < n + m; i++) {
			if (!held[i]) {
				emit_error("intern/miss", impl, n, "interning failed");
				return;
			}
			drop_one(py, held[i]);
		}
	}
	if (m > 0)
		emit("intern/miss", impl, n, "ns/op", v, reps, m);
}

/* ---- events ---- */

#define EVENT_NAME_STRIDE 32

static char *event_names(size_t n)
{
	char *names = malloc(n * EVENT_NAME_STRIDE);

	for (size_t i = 0; names && i < n; i++)
		snprintf(names + i * EVENT_NAME_STRIDE, EVENT_NAME_STRIDE, "scale.event.%08zx", i);
	return names;
}

struct event_ctx {
	const char *names;
	size_t n, stride, pos;
};

static size_t sf_event_find(void *c, size_t n)
{
	struct event_ctx *x = c;
	size_t bad = 0, i = x->pos;

	for (size_t k = 0; k < n; k++) {
		bad += sysfast_event_find(x->names + i * EVENT_NAME_STRIDE) == 0;
		i = step(i, x->stride, x->n);
	}
	x->pos = i;
	return bad;
}

/* Events at `n` known names (libsysfast only: CPython keeps no table of
 * event names, a hook compares the string it is given): memory per event,
 * name lookup, the first sysfast_audit() from an address the library has
 * not seen (the name resolved from its text) against the calls after it,
 * and what each event costs in a second interpreter that listens to all. */
static void point_events(size_t n)
{
	char *names = event_names(n);
	size_t m = n < 10000 ? n : 10000;
	char *copies = malloc(m * EVENT_NAME_STRIDE * (size_t)scale_reps);
	struct event_ctx x = {names, n, stride_for(n), 0};
	double rss0 = 0, a0 = 0, first[MAX_REPS], again[MAX_REPS];
	sysfast_interp *sub, *prev;

	if (!names || !copies || !sf_up()) {
		emit_error("events/lookup", "sysfast", n, "set-up failed");
		return;
	}
	memset(copies, 0, m * EVENT_NAME_STRIDE * (size_t)scale_reps);
	for (size_t i = 0; i < n; i++) {
		/* The second half's memory, as for interning. */
		if (i == n / 2) {
			rss0 = rss_now();
			a0 = allocated_now();
		}
		if (!sysfast_event_intern(names + i * EVENT_NAME_STRIDE)) {
			emit_error("events/lookup", "sysfast", n, sysfast_err_message());
			return;
		}
	}
	emit_one("events/mem_rss", "sysfast", n, "B/event",
	         (rss_now() - rss0) / (double)(n - n / 2));
	emit_one("events/mem_alloc", "sysfast", n, "B/event",
	         (allocated_now() - a0) / (double)(n - n / 2));
	measure_emit("events/lookup", "sysfast", n, sf_event_find, &x);

	if (sysfast_add_audit_hook(bench_hook_noop, NULL) < 0) {
		emit_error("events/first_call", "sysfast", n, sysfast_err_message());
		return;
	}
	for (int r = 0; r < scale_reps; r++) {
		char *c = copies + (size_t)r * m * EVENT_NAME_STRIDE;
		size_t bad = 0;
		uint64_t t0;

		/* Names spread over all n, each at a new address. */
		for (size_t k = 0, i = (size_t)r; k < m; k++, i = step(i, x.stride, n))
			memcpy(c + k * EVENT_NAME_STRIDE, names + i * EVENT_NAME_STRIDE,
			       EVENT_NAME_STRIDE);
		t0 = cpu_ns();
		for (size_t k = 0; k < m; k++)
			bad += sysfast_audit(c + k * EVENT_NAME_STRIDE, NULL) != 0;
		first[r] = per_op(t0, m);
		t0 = cpu_ns();
		for (size_t k = 0; k < m; k++)
			bad += sysfast_audit(c + k * EVENT_NAME_STRIDE, NULL) != 0;
		again[r] = per_op(t0, m);
		if (bad) {
			emit_error("events/first_call", "sysfast", n, sysfast_err_message());
			return;
		}
	}
	emit("events/first_call", "sysfast", n, "ns/op", first, scale_reps, m);
	emit("events/second_call", "sysfast", n, "ns/op", again, scale_reps, m);

	/* A second interpreter with its own hook, every event raised in it
	 * once: what it costs per event, its creation included (its tables
	 * are filled for every known event when the hook comes). */
	rss0 = rss_now();
	a0 = allocated_now();
	sub = sysfast_interp_new();
	if (!sub || sysfast_interp_add_audit_hook(sub, bench_hook_noop, NULL, NULL) < 0) {
		emit_error("events/interp_mem_rss", "sysfast", n, sysfast_err_message());
		return;
	}
	prev = sysfast_interp_enter(sub);
	for (size_t i = 0; i < n; i++)
		sysfast_audit_args(sysfast_event_find(names + i * EVENT_NAME_STRIDE), NULL);
	sysfast_interp_enter(prev);
	emit_one("events/interp_mem_rss", "sysfast", n, "B/event", (rss_now() - rss0) / (double)n);
	emit_one("events/interp_mem_alloc", "sysfast", n, "B/event",
	         (allocated_now() - a0) / (double)n);
}

/* ---- hooks ---- */

struct dispatch_ctx {
	sysfast_event_id id;
};

static size_t sf_dispatch(void *c, size_t n)
{
	const struct dispatch_ctx *x = c;
	const sysfast_args args = SYSFAST_ARGS(SYSFAST_STR("x"), SYSFAST_INT(1));
	size_t bad = 0;

	for (size_t k = 0; k < n; k++)
		bad += sysfast_audit_args(x->id, &args) != 0;
	return bad;
}

static size_t py_dispatch(void *c, size_t n)
{
	size_t bad = 0;

	(void)c;
	for (size_t k = 0; k < n; k++)
		bad += PySys_Audit(BENCH_EVENT, "(si)", "x", 1) != 0;
	return bad;
}

/* One event, `n` hooks on it, two arguments: as the main suite's
 * sysfast/audit_args/hooks:N and cpython/audit/hooks:N. */
static void point_hooks(bool py, size_t n)
{
	const char *impl = py ? "cpython" : "sysfast";
	struct dispatch_ctx x = {0};

	if (!(py ? py_up() : sf_up())) {
		emit_error("hooks/dispatch", impl, n, "set-up failed");
		return;
	}
	for (size_t k = 0; k < n; k++) {
		int rc = py ? PySys_AddAuditHook(bench_py_hook_noop, NULL)
		            : sysfast_add_audit_hook(bench_hook_noop, NULL);
		if (rc != 0) {
			emit_error("hooks/dispatch", impl, n, "adding a hook failed");
			return;
		}
	}
	if (!py)
		x.id = sysfast_event_intern(BENCH_EVENT);
	measure_emit("hooks/dispatch", impl, n, py ? py_dispatch : sf_dispatch, &x);
}

#define ADD_EVENTS 10000
#define ADD_WINDOW 8

/* Adding hooks one by one, each filtered to one of ADD_EVENTS known
 * events (CPython's hooks have no filter: it gets the same number of
 * unfiltered ones); the times of adds number N to N + ADD_WINDOW - 1 are
 * the samples of size N. */
static void point_hook_add(bool py, const size_t *sizes, size_t n_sizes)
{
	const char *impl = py ? "cpython" : "sysfast";
	size_t total = sizes[n_sizes - 1] + ADD_WINDOW;
	char *names = py ? NULL : event_names(ADD_EVENTS);
	double *t = calloc(total + 1, sizeof(*t));

	if (!t || (!py && !names) || !(py ? py_up() : sf_up())) {
		emit_error("hooks/add", impl, sizes[0], "set-up failed");
		return;
	}
	for (size_t i = 0; !py && i < ADD_EVENTS; i++)
		sysfast_event_intern(names + i * EVENT_NAME_STRIDE);
	for (size_t k = 1; k <= total; k++) {
		const char *pattern =
		    py ? NULL : names + ((k * 7919) % ADD_EVENTS) * EVENT_NAME_STRIDE;
		sysfast_hook_options opts = {0, &pattern, 1};
		uint64_t t0 = cpu_ns();
		int rc = py ? PySys_AddAuditHook(bench_py_hook_noop, NULL)
		            : sysfast_add_audit_hook_ex(bench_hook_noop, NULL, &opts);

		t[k] = (double)(cpu_ns() - t0);
		if (rc != 0) {
			emit_error("hooks/add", impl, k, "adding a hook failed");
			return;
		}
	}
	for (size_t s = 0; s < n_sizes; s++)
		emit("hooks/add", impl, sizes[s], "ns/op", t + sizes[s], ADD_WINDOW, 1);
}

/* The other axis of adding a hook: ADD_WINDOW hooks, each filtered to one
 * of `events` known events, added one by one; their times are the samples
 * of size `events`. libsysfast only (CPython's hooks have no filters and
 * it keeps no events). */
static void point_hook_add_events(size_t events)
{
	char *names = event_names(events);
	double t[ADD_WINDOW];

	if (!names || !sf_up()) {
		emit_error("hooks/add_events", "sysfast", events, "set-up failed");
		return;
	}
	for (size_t i = 0; i < events; i++)
		sysfast_event_intern(names + i * EVENT_NAME_STRIDE);
	for (size_t k = 0; k < ADD_WINDOW; k++) {
		const char *pattern = names + ((k * 7919) % events) * EVENT_NAME_STRIDE;
		sysfast_hook_options opts = {0, &pattern, 1};
		uint64_t t0 = cpu_ns();

		if (sysfast_add_audit_hook_ex(bench_hook_noop, NULL, &opts) != 0) {
			emit_error("hooks/add_events", "sysfast", events, sysfast_err_message());
			return;
		}
		t[k] = (double)(cpu_ns() - t0);
	}
	emit("hooks/add_events", "sysfast", events, "ns/op", t, ADD_WINDOW, 1);
}

/* ---- interpreters ---- */

/* `n` live sub-interpreters: memory each, and the time to create and to
 * destroy one (the mean over the n). Repeated while it is cheap. */
static void point_interps(bool py, size_t n)
{
	const char *impl = py ? "cpython" : "sysfast";
	void **live = calloc(n, sizeof(*live));
	int reps = n <= 100 && !py ? scale_reps : 1;
	double create[MAX_REPS], destroy[MAX_REPS], rss0, vm0, rss1, vm1;
	PyThreadState *main_ts = NULL;

	if (!live || !(py ? py_up() : sf_up())) {
		emit_error("interps/create", impl, n, "set-up failed");
		return;
	}
	memset(live, 0, n * sizeof(*live));
	if (py)
		main_ts = PyThreadState_Get();
	for (int r = 0; r < reps; r++) {
		uint64_t t0;

		mem_now(&rss0, &vm0);
		t0 = cpu_ns();
		for (size_t i = 0; i < n; i++) {
			/* From two on, the memory of the second half: what one
			 * more costs, without one-time costs. */
			if (i == n / 2 && i > 0 && r == 0) {
				uint64_t t1 = cpu_ns();
				mem_now(&rss0, &vm0);
				t0 += cpu_ns() - t1;
			}
			if (py) {
				live[i] = Py_NewInterpreter();
				PyThreadState_Swap(main_ts);
			} else {
				live[i] = sysfast_interp_new();
			}
			if (!live[i]) {
				emit_error("interps/create", impl, n,
				           "creating an interpreter failed");
				return;
			}
		}
		create[r] = per_op(t0, n);
		mem_now(&rss1, &vm1);
		if (r == 0) {
			double k = (double)(n > 1 ? n - n / 2 : 1);

			emit_one("interps/rss", impl, n, "B/interp", (rss1 - rss0) / k);
			emit_one("interps/vm", impl, n, "B/interp", (vm1 - vm0) / k);
		}
		t0 = cpu_ns();
		for (size_t i = 0; i < n; i++) {
			if (py) {
				PyThreadState_Swap(live[i]);
				Py_EndInterpreter(live[i]);
				PyThreadState_Swap(main_ts);
			} else if (sysfast_interp_destroy(live[i]) != 0) {
				emit_error("interps/destroy", impl, n, sysfast_err_message());
				return;
			}
		}
		destroy[r] = per_op(t0, n);
	}
	emit("interps/create", impl, n, "ns/op", create, reps, n);
	emit("interps/destroy", impl, n, "ns/op", destroy, reps, n);
}

/* ---- deepsizeof ---- */

struct node {
	sysfast_object ob;
	size_t n_kids;
	struct node **kids; /* or, in a chain, the next node */
};

static int node_sizeof(const sysfast_object *self, int64_t *size)
{
	*size =
	    (int64_t)(sizeof(struct node) + ((const struct node *)self)->n_kids * sizeof(void *));
	return 0;
}

static int node_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	const struct node *o = (const struct node *)self;

	for (size_t i = 0; i < o->n_kids; i++) {
		int rc = visit(&o->kids[i]->ob, arg);
		if (rc)
			return rc;
	}
	return 0;
}

static int chain_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	const struct node *o = (const struct node *)self;

	return o->kids ? visit((const sysfast_object *)o->kids, arg) : 0;
}

static const sysfast_type node_type = {"scale.node", 0, node_sizeof, node_traverse};
static const sysfast_type chain_type = {"scale.chain", 0, node_sizeof, chain_traverse};

/* `n` nodes: a root holding the n - 1 others (wide, as a list of n - 1
 * objects), or a chain of n, each node holding the next (libsysfast only:
 * CPython has no deepsizeof). Time per node; peak memory beyond the graph
 * during the first walk. */
static void point_deep(bool chain, size_t n)
{
	const char *series = chain ? "deepsizeof/chain" : "deepsizeof/wide";
	struct node *nodes = calloc(n, sizeof(*nodes));
	struct node **kids = chain ? NULL : calloc(n, sizeof(*kids));
	double v[MAX_REPS], rss0;
	size_t size = 0, want = 0;
	int reps = n >= 1000000 ? 3 : scale_reps;

	if (!nodes || (!chain && !kids) || !sf_up()) {
		emit_error(series, "sysfast", n, "set-up failed");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		nodes[i].ob.type = chain ? &chain_type : &node_type;
		if (chain) {
			nodes[i].kids = i + 1 < n ? (struct node **)&nodes[i + 1] : NULL;
		} else if (i > 0) {
			kids[i - 1] = &nodes[i];
		}
	}
	if (!chain) {
		nodes[0].n_kids = n - 1;
		nodes[0].kids = kids;
	}
	for (size_t i = 0; i < n; i++)
		want += sizeof(struct node) + nodes[i].n_kids * sizeof(void *);
	rss0 = rss_now();
	peak_reset();
	if (sysfast_deepsizeof(&nodes[0].ob, &size) != 0 || size != want) {
		emit_error(series, "sysfast", n, "deepsizeof failed or gave another size");
		return;
	}
	emit_one(chain ? "deepsizeof/chain_peak" : "deepsizeof/wide_peak", "sysfast", n, "B/node",
	         (peak_now() - rss0) / (double)n);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = cpu_ns();
		int rc = sysfast_deepsizeof(&nodes[0].ob, &size);

		v[r] = per_op(t0, n);
		if (rc != 0 || size != want) {
			emit_error(series, "sysfast", n, "deepsizeof failed or gave another size");
			return;
		}
	}
	emit(series, "sysfast", n, "ns/node", v, reps, n);
}

/* ---- threads ---- */

#define THREAD_KEYS 1000

struct thread_run {
	pthread_barrier_t *start;
	bool intern;
	size_t n;
	sysfast_event_id id;
	const char *keys;
	sysfast_str **held;
	size_t first;
	double ns;
	size_t bad;
};

static void *thread_body(void *arg)
{
	struct thread_run *t = arg;
	/* Each thread from its own place in the shared keys. */
	struct intern_ctx x = {t->keys, (void **)t->held, THREAD_KEYS, stride_for(THREAD_KEYS),
	                       t->first};
	struct dispatch_ctx d = {t->id};
	uint64_t t0;

	/* Warm up: the thread's own set-up is not part of the cost. */
	t->bad = t->intern ? sf_intern_hit(&x, 1000) : sf_dispatch(&d, 1000);
	pthread_barrier_wait(t->start);
	t0 = cpu_ns();
	t->bad += t->intern ? sf_intern_hit(&x, t->n) : sf_dispatch(&d, t->n);
	t->ns = per_op(t0, t->n);
	return NULL;
}

/* `threads` threads at once dispatching (one hook, two arguments) or
 * interning known names (a shared set of THREAD_KEYS): CPU time per
 * operation, per thread, the mean over the threads. libsysfast only:
 * CPython's GIL lets one thread run at a time. */
static void point_threads(bool intern, const int *threads, size_t n_threads)
{
	const char *series = intern ? "threads/intern" : "threads/dispatch";
	char *keys = keys_make(THREAD_KEYS);
	sysfast_str *held[THREAD_KEYS];
	sysfast_event_id id;
	size_t n;

	if (!keys || !sf_up() || sysfast_add_audit_hook(bench_hook_noop, NULL) != 0) {
		emit_error(series, "sysfast", 1, "set-up failed");
		return;
	}
	id = sysfast_event_intern(BENCH_EVENT);
	for (size_t i = 0; i < THREAD_KEYS; i++)
		held[i] = sysfast_intern(keys + i * KEY_STRIDE, KEY_LEN);
	{
		/* The operations per thread: a batch's worth at one thread. */
		struct intern_ctx x = {keys, (void **)held, THREAD_KEYS, stride_for(THREAD_KEYS),
		                       0};
		struct dispatch_ctx d = {id};
		uint64_t t0 = cpu_ns();
		size_t probe = 100000;

		if (intern)
			sf_intern_hit(&x, probe);
		else
			sf_dispatch(&d, probe);
		n = (size_t)((double)probe * batch_ns() / (double)(cpu_ns() - t0 + 1)) + 1;
	}
	for (size_t c = 0; c < n_threads; c++) {
		int nt = threads[c];
		double v[MAX_REPS];

		for (int r = 0; r < scale_reps; r++) {
			pthread_barrier_t start;
			pthread_t tid[16];
			struct thread_run run[16];
			size_t bad = 0;

			pthread_barrier_init(&start, NULL, (unsigned)nt);
			v[r] = 0;
			for (int k = 0; k < nt; k++) {
				run[k] = (struct thread_run){&start,
				                             intern,
				                             n,
				                             id,
				                             keys,
				                             held,
				                             (size_t)k * THREAD_KEYS / (size_t)nt,
				                             0,
				                             0};
				pthread_create(&tid[k], NULL, thread_body, &run[k]);
			}
			for (int k = 0; k < nt; k++) {
				pthread_join(tid[k], NULL);
				v[r] += run[k].ns / nt;
				bad += run[k].bad;
			}
			pthread_barrier_destroy(&start);
			if (bad) {
				emit_error(series, "sysfast", (size_t)nt, "an operation failed");
				return;
			}
		}
		emit(series, "sysfast", (size_t)nt, "ns/op", v, scale_reps, n);
	}
}

/* ---- the tracer's overhead ---- */

static uint64_t trace_events;

static int sf_tracer(void *data, sysfast_frame *frame, sysfast_trace_what what,
                     const sysfast_arg *arg)
{
	(void)arg;
	(*(volatile uint64_t *)data)++;
	if (what == SYSFAST_TRACE_CALL)
		sysfast_frame_set_local_tracer(frame, sf_tracer, data);
	return 0;
}

static int py_tracer(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
	(void)obj, (void)frame, (void)what, (void)arg;
	(*(volatile uint64_t *)&trace_events)++;
	return 0;
}

/* A function call with `lines` lines, as a runtime reports it to
 * libsysfast: enter, a line event per line, leave. */
static size_t sf_traced_calls(void *c, size_t n)
{
	size_t lines = *(const size_t *)c, bad = 0;

	for (size_t k = 0; k < n; k++) {
		sysfast_frame f;

		sysfast_frame_init(&f, "f", "scale.py", 1);
		bad += sysfast_frame_enter(&f) != 0;
		for (size_t l = 0; l < lines; l++)
			bad += sysfast_frame_line(&f, (int)l + 2) != 0;
		bad += sysfast_frame_leave(&f, NULL) != 0;
	}
	return bad;
}

/* The same calls through the inline forms of the frame calls
 * (SYSFAST_INLINE, <sysfast/static/trace.h>), which deliver `line` at the
 * call site. Only this function uses them: the rest of the file keeps the
 * default forms (and the default SYSFAST_AUDIT). */
#define SYSFAST_INLINE 1
#include <sysfast/static/trace.h>

static size_t sf_traced_calls_inline(void *c, size_t n)
{
	size_t lines = *(const size_t *)c, bad = 0;

	for (size_t k = 0; k < n; k++) {
		sysfast_frame f;

		sysfast_frame_init(&f, "f", "scale.py", 1);
		bad += sysfast__frame_enter_fast(&f) != 0;
		for (size_t l = 0; l < lines; l++)
			bad += sysfast__frame_line_fast(&f, (int)l + 2) != 0;
		bad += sysfast__frame_leave_fast(&f, NULL) != 0;
	}
	return bad;
}
#undef sysfast_frame_enter
#undef sysfast_frame_leave
#undef sysfast_frame_line
#undef sysfast_tracing_active
#undef SYSFAST_INLINE

static PyObject *py_traced_fn;

static size_t py_traced_calls(void *c, size_t n)
{
	size_t bad = 0;

	(void)c;
	for (size_t k = 0; k < n; k++) {
		PyObject *r = PyObject_CallNoArgs(py_traced_fn);

		bad += r == NULL;
		Py_XDECREF(r);
	}
	return bad;
}

/* def f(): with `lines` assignments, one per line. */
static PyObject *py_make_fn(size_t lines)
{
	size_t cap = 32 + lines * 16;
	char *src = malloc(cap);
	PyObject *globals, *f = NULL;
	size_t off;

	if (!src)
		return NULL;
	off = (size_t)snprintf(src, cap, "def f():\n");
	for (size_t l = 0; l < lines; l++)
		off += (size_t)snprintf(src + off, cap - off, "    x = %zu\n", l);
	globals = PyDict_New();
	if (globals && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0) {
		PyObject *r = PyRun_String(src, Py_file_input, globals, globals);
		Py_XDECREF(r);
		f = r ? PyDict_GetItemString(globals, "f") : NULL;
		Py_XINCREF(f);
	}
	Py_XDECREF(globals);
	free(src);
	return f;
}

/* The cost a no-op C tracer adds per event it is handed, with `lines`
 * lines per call (call, the lines and return reach it): CPU time of calls
 * traced minus untraced, over the events, the two interleaved per
 * repetition. CPython: PyEval_SetTrace with a C function on a Python
 * function of as many lines, called from C. libsysfast twice: the frame
 * calls in their default form ("sysfast") and inline ("sysfast-inline"). */
static void point_trace(bool py, bool inl, size_t lines)
{
	const char *impl = py ? "cpython" : inl ? "sysfast-inline" : "sysfast";
	double v[MAX_REPS], plain[MAX_REPS], traced[MAX_REPS];
	batch_fn fn = py ? py_traced_calls : inl ? sf_traced_calls_inline : sf_traced_calls;
	size_t n, iters;

	if (!(py ? py_up() : sf_up()) || (py && !(py_traced_fn = py_make_fn(lines)))) {
		emit_error("trace/overhead", impl, lines, "set-up failed");
		return;
	}
	/* The batch: sized on the untraced calls. */
	if (!measure("trace/overhead", impl, lines, fn, &lines, 1, plain, &n))
		return;
	for (int r = 0; r < scale_reps; r++) {
		uint64_t t0;
		int rc;

		trace_events = 0;
		rc = py ? (PyEval_SetTrace(py_tracer, NULL), 0)
		        : sysfast_settrace(sf_tracer, &trace_events);
		t0 = cpu_ns();
		iters = fn(&lines, n);
		traced[r] = (double)(cpu_ns() - t0);
		rc |= py ? (PyEval_SetTrace(NULL, NULL), 0) : sysfast_settrace(NULL, NULL);
		t0 = cpu_ns();
		iters += fn(&lines, n);
		plain[r] = (double)(cpu_ns() - t0);
		if (rc != 0 || iters != 0 || trace_events != n * (lines + 2)) {
			emit_error("trace/overhead", impl, lines,
			           "the tracer missed events or failed");
			return;
		}
		v[r] = (traced[r] - plain[r]) / (double)trace_events;
		traced[r] /= (double)n;
		plain[r] /= (double)n;
	}
	emit("trace/overhead", impl, lines, "ns/event", v, scale_reps, n);
	emit("trace/call_untraced", impl, lines, "ns/call", plain, scale_reps, n);
	emit("trace/call_traced", impl, lines, "ns/call", traced, scale_reps, n);
}

/* ---- the plan ---- */

enum point_kind {
	P_INTERN,
	P_EVENTS,
	P_HOOKS,
	P_HOOK_ADD,
	P_HOOK_ADD_EVENTS,
	P_INTERPS,
	P_DEEP,
	P_THREADS,
	P_TRACE,
	P_TRACE_INLINE
};

struct point {
	enum point_kind kind;
	const char *series; /* for --filter */
	bool alt;           /* CPython; or for deepsizeof the chain; for threads interning */
	size_t size;
};

static const size_t intern_full[] = {1000, 10000, 100000, 1000000, 10000000};
static const size_t intern_quick[] = {1000, 10000, 100000};
static const size_t events_full[] = {10, 100, 1000, 10000, 100000, 1000000};
static const size_t events_quick[] = {10, 1000, 100000};
static const size_t hooks_sizes[] = {1, 2, 4, 8, 16, 32, 64};
static const size_t hooks_quick[] = {1, 8, 64};
static const size_t add_full[] = {1, 4, 16, 64, 256, 1024};
static const size_t add_quick[] = {1, 16, 256};
static const size_t add_events_full[] = {100, 1000, 10000, 100000};
static const size_t add_events_quick[] = {100, 10000};
static const size_t interps_full[] = {1, 10, 100, 1000};
static const size_t interps_quick[] = {1, 10, 100, 1000};
static const size_t py_interps_full[] = {1, 10, 100, 1000};
static const size_t py_interps_quick[] = {1, 10};
static const size_t deep_full[] = {1000, 10000, 100000, 1000000, 10000000};
static const size_t deep_quick[] = {1000, 100000};
static const size_t trace_full[] = {1, 10, 100, 1000};
static const size_t trace_quick[] = {1, 10, 100};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int thread_counts[16] = {1, 2};
static size_t n_thread_counts = 2;

static void run_point(const struct point *p)
{
	switch (p->kind) {
	case P_INTERN:
		point_intern(p->alt, p->size);
		break;
	case P_EVENTS:
		point_events(p->size);
		break;
	case P_HOOKS:
		point_hooks(p->alt, p->size);
		break;
	case P_HOOK_ADD:
		if (scale_full)
			point_hook_add(p->alt, add_full, N_OF(add_full));
		else
			point_hook_add(p->alt, add_quick, N_OF(add_quick));
		break;
	case P_HOOK_ADD_EVENTS:
		point_hook_add_events(p->size);
		break;
	case P_INTERPS:
		point_interps(p->alt, p->size);
		break;
	case P_DEEP:
		point_deep(p->alt, p->size);
		break;
	case P_THREADS:
		point_threads(p->alt, thread_counts, n_thread_counts);
		break;
	case P_TRACE:
		point_trace(p->alt, false, p->size);
		break;
	case P_TRACE_INLINE:
		point_trace(false, true, p->size);
		break;
	}
}

/* Which library a point measures. */
static const char *point_impl(const struct point *p)
{
	bool py_kind = p->kind == P_INTERN || p->kind == P_HOOKS || p->kind == P_HOOK_ADD
	               || p->kind == P_INTERPS || p->kind == P_TRACE;

	if (p->kind == P_TRACE_INLINE)
		return "sysfast-inline";
	return py_kind && p->alt ? "cpython" : "sysfast";
}

/* Runs one point in a child process; its rows go to `out`. */
static void fork_point(const struct point *p, FILE *out, bool *first)
{
	char line[4096];
	int fds[2];
	pid_t pid;
	int status;
	FILE *in;

	fflush(NULL);
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("sysfast-bench-scale");
		exit(1);
	}
	if (pid == 0) {
		close(fds[0]);
		scale_out = fdopen(fds[1], "w");
		run_point(p);
		fflush(scale_out);
		_exit(0);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), in)) {
		fprintf(out, "%s  %s", *first ? "" : ",\n", strtok(line, "\n"));
		*first = false;
	}
	fclose(in);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
		        "sysfast-bench-scale: %s/%s size %zu: the process died (status %d)\n",
		        p->series, point_impl(p), p->size, status);
		fprintf(out,
		        "%s  {\"name\": \"scale/%s/%s/size:%zu\", \"error_occurred\": true, "
		        "\"error_message\": \"the process died\", \"scale_series\": \"%s\", "
		        "\"scale_impl\": \"%s\", \"scale_size\": %zu}",
		        *first ? "" : ",\n", p->series, point_impl(p), p->size, p->series,
		        point_impl(p), p->size);
		*first = false;
	}
}

static size_t plan(struct point *out)
{
	size_t n = 0, k;

	for (int py = 0; py < 2; py++) {
		const size_t *s = scale_full ? intern_full : intern_quick;
		for (k = 0; k < (scale_full ? N_OF(intern_full) : N_OF(intern_quick)); k++)
			out[n++] = (struct point){P_INTERN, "intern", py, s[k]};
	}
	{
		const size_t *s = scale_full ? events_full : events_quick;
		for (k = 0; k < (scale_full ? N_OF(events_full) : N_OF(events_quick)); k++)
			out[n++] = (struct point){P_EVENTS, "events", false, s[k]};
	}
	for (int py = 0; py < 2; py++) {
		const size_t *s = scale_full ? hooks_sizes : hooks_quick;
		for (k = 0; k < (scale_full ? N_OF(hooks_sizes) : N_OF(hooks_quick)); k++)
			out[n++] = (struct point){P_HOOKS, "hooks/dispatch", py, s[k]};
		out[n++] = (struct point){P_HOOK_ADD, "hooks/add", py, 0};
	}
	{
		const size_t *s = scale_full ? add_events_full : add_events_quick;
		for (k = 0; k < (scale_full ? N_OF(add_events_full) : N_OF(add_events_quick)); k++)
			out[n++] =
			    (struct point){P_HOOK_ADD_EVENTS, "hooks/add_events", false, s[k]};
	}
	for (int py = 0; py < 2; py++) {
		const size_t *s = py ? (scale_full ? py_interps_full : py_interps_quick)
		                     : (scale_full ? interps_full : interps_quick);
		size_t m = py ? (scale_full ? N_OF(py_interps_full) : N_OF(py_interps_quick))
		              : (scale_full ? N_OF(interps_full) : N_OF(interps_quick));
		for (k = 0; k < m; k++)
			out[n++] = (struct point){P_INTERPS, "interps", py, s[k]};
	}
	for (int chain = 0; chain < 2; chain++) {
		const size_t *s = scale_full ? deep_full : deep_quick;
		for (k = 0; k < (scale_full ? N_OF(deep_full) : N_OF(deep_quick)); k++)
			out[n++] = (struct point){
			    P_DEEP, chain ? "deepsizeof/chain" : "deepsizeof/wide", chain, s[k]};
	}
	for (int py = 0; py < 2; py++) {
		const size_t *s = scale_full ? trace_full : trace_quick;
		for (k = 0; k < (scale_full ? N_OF(trace_full) : N_OF(trace_quick)); k++)
			out[n++] = (struct point){P_TRACE, "trace", py, s[k]};
		if (!py)
			for (k = 0; k < (scale_full ? N_OF(trace_full) : N_OF(trace_quick)); k++)
				out[n++] = (struct point){P_TRACE_INLINE, "trace", false, s[k]};
	}
	out[n++] = (struct point){P_THREADS, "threads/dispatch", false, 0};
	out[n++] = (struct point){P_THREADS, "threads/intern", true, 0};
	return n;
}

static void context(FILE *out, const char *suite)
{
	char line[256], model[256] = "unknown", date[64];
	double load[3] = {0};
	long mem_kb = 0;
	time_t now = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n\"\\")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "MemTotal:", 9) == 0)
			mem_kb = strtol(line + 9, NULL, 10);
	if (f)
		fclose(f);
	getloadavg(load, 3);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(out,
	        "{\n \"context\": {\"date\": \"%s\", \"host_name\": \"scale\", \"num_cpus\": %ld, "
	        "\"mem_total_kib\": %ld, \"cpu_model\": \"%s\", \"load_avg\": [%.2f, %.2f, %.2f], "
	        "\"suite\": \"%s\", \"libsysfast_version\": \"%s\", \"cpython_version\": \"%s\", "
	        "\"thread_counts\": \"",
	        date, sysconf(_SC_NPROCESSORS_ONLN), mem_kb, model, load[0], load[1], load[2],
	        suite, sysfast_version(), PY_VERSION);
	for (size_t i = 0; i < n_thread_counts; i++)
		fprintf(out, "%s%d", i ? "," : "", thread_counts[i]);
	fprintf(out, "\"},\n \"benchmarks\": [\n");
}

int main(int argc, char **argv)
{
	const char *out_path = NULL, *filter = NULL, *suite = "quick";
	struct point points[128];
	size_t n_points;
	regex_t re;
	bool first = true;
	FILE *out;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--out=", 6) == 0) {
			out_path = argv[i] + 6;
		} else if (strcmp(argv[i], "--suite=full") == 0) {
			suite = "full";
		} else if (strcmp(argv[i], "--suite=quick") == 0) {
			suite = "quick";
		} else if (strncmp(argv[i], "--min-iters=", 12) == 0) {
			scale_min_iters = strtoul(argv[i] + 12, NULL, 10);
		} else if (strncmp(argv[i], "--filter=", 9) == 0) {
			filter = argv[i] + 9;
		} else if (strncmp(argv[i], "--threads=", 10) == 0) {
			char *end;
			n_thread_counts = 0;
			for (const char *p = argv[i] + 10; *p && n_thread_counts < 16; p = end) {
				long t = strtol(p, &end, 10);
				if (end == p || t < 1 || t > 16 || (*end && *end != ',')) {
					fprintf(stderr, "sysfast-bench-scale: bad %s\n", argv[i]);
					return 2;
				}
				thread_counts[n_thread_counts++] = (int)t;
				if (*end == ',')
					end++;
			}
		} else {
			fprintf(stderr,
			        "usage: sysfast-bench-scale --out=FILE [--suite=quick|full] "
			        "[--threads=1,2,...] [--filter=REGEX] [--min-iters=N]\n");
			return 2;
		}
	}
	if (!out_path || n_thread_counts == 0)
		return fprintf(stderr, "sysfast-bench-scale: --out=FILE is required\n"), 2;
	if (filter && regcomp(&re, filter, REG_EXTENDED | REG_NOSUB) != 0)
		return fprintf(stderr, "sysfast-bench-scale: bad --filter\n"), 2;
	scale_full = strcmp(suite, "full") == 0;
	scale_reps = scale_full ? 9 : 5;
	out = fopen(out_path, "w");
	if (!out) {
		perror(out_path);
		return 1;
	}
	context(out, suite);
	n_points = plan(points);
	for (size_t i = 0; i < n_points; i++) {
		if (filter && regexec(&re, points[i].series, 0, NULL, 0) != 0)
			continue;
		fprintf(stderr, "sysfast-bench-scale: %s %s size %zu\n", points[i].series,
		        point_impl(&points[i]), points[i].size);
		fork_point(&points[i], out, &first);
	}
	fprintf(out, "\n ]\n}\n");
	return fclose(out) == 0 ? 0 : 1;
}
