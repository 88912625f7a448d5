/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast-bench-dlopen: libsysfast loaded with dlopen, as a plugin host or
 * Python's ctypes loads it, and its exported functions called through the
 * pointers dlsym gives. Each dlopen/ row mirrors the sysfast-bench row of
 * the same name after its prefix (dlopen/audit_args/hooks:1 and
 * sysfast/audit_args/hooks:1): the same loop (lib_calls.h), the same hook
 * (hooks.c), the same set-up; only the way the library was loaded differs,
 * and with it the call: one indirect call through the table here, a call
 * to the PLT stub and its indirect jump in sysfast-bench (a fraction of a
 * nanosecond, visible on dlopen/audit_args/nohook, which returns at once).
 *
 *   sysfast-bench-dlopen [--lib=PATH] [--no-alloc-hooks] [--benchmark_* flags]
 *
 * --lib names the library to load (default: the build tree's default
 * libsysfast.so.0, the one built to be dlopened).
 *
 * The program links neither libsysfast (checked before the dlopen) nor an
 * allocator, so the allocator is chosen when it starts: with
 * LD_PRELOAD=libjemalloc.so.2 it has the malloc sysfast-bench has, and
 * the allocation counters; without, glibc's. The alloc/ rows time the
 * library's allocating paths under whichever it is, and the JSON context
 * says which served them and how that was established. --no-alloc-hooks
 * leaves out the counters' jemalloc hooks, which would put jemalloc on its
 * slow path, for timing those rows under jemalloc.
 *
 * Threads: the library is loaded in main, before any benchmark runs, and
 * Google Benchmark creates the threads of each run afterwards, so every
 * measuring thread was created after the dlopen. The library's TLS is
 * larger than the static TLS that glibc keeps for modules loaded late
 * (the glibc.rtld.optional_static_tls tunable, 512 bytes by default), so
 * its TLS descriptors resolve to dynamic TLS: each thread, whether it
 * existed before the dlopen or not, gets the block on its first access,
 * which each body's warm-up call before its loop takes out of the figures.
 */
/* Python.h first (through hooks.h): it sets feature macros for the system
 * headers. Only its headers are used, for the types of hooks.c. */
#include "hooks.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loaded.h"
#include "shim.h"

/* Every libsysfast function this program calls, each resolved with dlsym
 * into a field of the same name and type. */
#define BENCH_DL_FUNCTIONS(X)                                                                      \
	X(sysfast_init)                                                                            \
	X(sysfast_fini)                                                                            \
	X(sysfast_version)                                                                         \
	X(sysfast_err_message)                                                                     \
	X(sysfast_add_audit_hook)                                                                  \
	X(sysfast_add_audit_hook_ex)                                                               \
	X(sysfast_audit)                                                                           \
	X(sysfast_audit_args)                                                                      \
	X(sysfast_event_intern)                                                                    \
	X(sysfast_intern)                                                                          \
	X(sysfast_intern_cstr)                                                                     \
	X(sysfast_str_decref)

#define BENCH_DL_FIELD(name) __typeof__(name) *name;
static struct {
	BENCH_DL_FUNCTIONS(BENCH_DL_FIELD)
} lib;

/* The library is loaded by hand: its functions are called through the
 * table. */
#define BENCH_CALL(name) (*lib.name)
#include "lib_calls.h"

/* ---- set-up, as bench_audit.c and bench_objects.c do it ---- */

static bool fresh_runtime(sysfast_bench_state *st)
{
	lib.sysfast_fini();
	if (lib.sysfast_init() != 0) {
		sysfast_bench_skip(st, lib.sysfast_err_message());
		return false;
	}
	return true;
}

/* arg: the number of no-op hooks listening to every event. */
static void setup_hooks(sysfast_bench_state *st)
{
	size_t n = (size_t)(uintptr_t)sysfast_bench_arg(st);

	if (!fresh_runtime(st))
		return;
	for (size_t k = 0; k < n; k++) {
		if (lib.sysfast_add_audit_hook_ex(bench_hook_noop, NULL, NULL) != 0) {
			sysfast_bench_skip(st, lib.sysfast_err_message());
			return;
		}
	}
}

/* The string the interning rows look up: held for the whole run. */
static sysfast_str *bench_held;

static void setup_held(sysfast_bench_state *st)
{
	if (!fresh_runtime(st))
		return;
	if (!bench_held)
		bench_held = lib.sysfast_intern_cstr(BENCH_INTERN_NAME);
	if (!bench_held)
		sysfast_bench_skip(st, lib.sysfast_err_message());
}

/* ---- the mirrored rows ---- */

BENCH_AUDIT_ARGS_BODY(bm_audit_prebuilt)
BENCH_AUDIT_FORMAT_FN_BODY(bm_audit_format_fn)
BENCH_EVENT_INTERN_BODY(bm_event_intern)
BENCH_INTERN_BODY(bm_intern_known, sysfast_intern, bench_held, "interning gave another string")

/* ---- the allocating paths, for the allocator comparison ---- */

/* sysfast_intern of a string never seen before, then the reference
 * dropped: one allocation for the string, and its free handed to
 * liburcu's call_rcu thread (the string may still be read until a grace
 * period has passed), so the memory goes back on another thread, as it
 * does in a program. The name is written in the loop (16 hex digits, a
 * few nanoseconds): that is part of the figure under either allocator. */
static void bm_intern_new(sysfast_bench_state *st)
{
	static __thread uint64_t next;
	char text[] = "bench.new.0123456789abcdef";
	const size_t len = sizeof(text) - 1;
	uintptr_t acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		bench_hex(text + len - 16, next++);
		sysfast_str *s = lib.sysfast_intern(text, len);
		SYSFAST_BENCH_CONSUME(acc, s == NULL);
		lib.sysfast_str_decref(s);
	}
	sysfast_bench_expect_zero(st, acc != 0, "interning a new string failed");
}

static double bench_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One sysfast_add_audit_hook on a fresh runtime: hooks cannot be removed,
 * so each add gets a runtime of its own (sysfast_fini, sysfast_init,
 * outside the timed part), and the add is timed alone (manual time). The
 * allocation counters cover the whole iteration, runtime included. */
static void bm_add_hook(sysfast_bench_state *st)
{
	size_t n;
	int acc = 0;

	while (sysfast_bench_keep_running(st, &n)) {
		double ns = 0;

		for (size_t i = 0; i < n; i++) {
			double t0;

			lib.sysfast_fini();
			acc |= lib.sysfast_init();
			t0 = bench_now_ns();
			acc |= lib.sysfast_add_audit_hook(bench_hook_noop, NULL);
			ns += bench_now_ns() - t0;
		}
		sysfast_bench_set_batch_time(st, ns * 1e-9);
	}
	sysfast_bench_expect_zero(st, acc, "a fresh runtime or a hook add failed");
}

/* ---- start-up ---- */

BENCH_MALLOC_PROBE(probe_acquire, probe_release)

/* Loads `path` and fills `lib`. Returns false with a message on stderr. */
static bool bench_load(const char *path)
{
	void *handle;

	/* A symbol visible already would mean the library came with the
	 * program, and the rows would measure that instead. */
	if (dlsym(RTLD_DEFAULT, "sysfast_init")) {
		fprintf(stderr, "sysfast-bench-dlopen: libsysfast is loaded before the dlopen: "
		                "this program must not link it\n");
		return false;
	}
	/* As a plugin host or ctypes loads a library: bound now, its symbols
	 * kept out of the global scope. */
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(stderr, "sysfast-bench-dlopen: %s\n", dlerror());
		return false;
	}
#define BENCH_DL_RESOLVE(name)                                                                     \
	lib.name = (__typeof__(lib.name))dlsym(handle, #name);                                     \
	if (!lib.name) {                                                                           \
		fprintf(stderr, "sysfast-bench-dlopen: %s has no %s\n", path, #name);              \
		return false;                                                                      \
	}
	BENCH_DL_FUNCTIONS(BENCH_DL_RESOLVE)
#undef BENCH_DL_RESOLVE
	return true;
}

static void reg(const char *name, sysfast_bench_fn fn, sysfast_bench_fn setup, uintptr_t arg)
{
	sysfast_bench_register(name, fn,
	                       &(sysfast_bench_options){.arg = (const void *)arg, .setup = setup});
}

int main(int argc, char **argv)
{
	const char *path = BENCH_DEFAULT_LIB;
	int out = 1;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			printf("sysfast-bench-dlopen [--lib=PATH] [Google Benchmark flags]\n"
			       "  --lib=PATH: the libsysfast to dlopen (default %s)\n"
			       "  --no-alloc-hooks: no allocation counts (jemalloc's fast path)\n"
			       "  see bench/README.md\n\n",
			       BENCH_DEFAULT_LIB);
		if (strncmp(argv[i], "--lib=", 6) == 0) {
			path = argv[i] + 6;
			continue;
		}
		if (strcmp(argv[i], "--no-alloc-hooks") == 0) {
			sysfast_bench_count_allocations(false);
			continue;
		}
		argv[out++] = argv[i];
	}
	argc = out;
	argv[argc] = NULL;

	if (!bench_load(path))
		return 1;
	if (lib.sysfast_init() != 0) {
		fprintf(stderr, "sysfast-bench-dlopen: sysfast_init: %s\n",
		        lib.sysfast_err_message());
		return 1;
	}
	if (!bench_add_library_context((const void *)lib.sysfast_init, "dlopen"))
		return 1;
	bench_add_malloc_context(probe_acquire, probe_release);
	sysfast_bench_add_context("libsysfast_version", lib.sysfast_version());

	reg("dlopen/audit_args/nohook", bm_audit_prebuilt, setup_hooks, 0);
	reg("dlopen/audit_args/hooks:1", bm_audit_prebuilt, setup_hooks, 1);
	reg("dlopen/audit_args/hooks:8", bm_audit_prebuilt, setup_hooks, 8);
	reg("dlopen/audit_format_fn/hooks:1", bm_audit_format_fn, setup_hooks, 1);
	reg("dlopen/event_intern/known", bm_event_intern, setup_hooks, 0);
	reg("dlopen/intern/known", bm_intern_known, setup_held, 0);
	reg("alloc/intern/new", bm_intern_new, setup_hooks, 0);
	sysfast_bench_register(
	    "alloc/add_audit_hook", bm_add_hook,
	    &(sysfast_bench_options){.setup = setup_hooks, .max_batch = 256, .manual_time = true});

	rc = sysfast_bench_main(argc, argv);
	lib.sysfast_fini();
	return rc;
}
