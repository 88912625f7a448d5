/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast-bench: libsysfast's audit dispatch against CPython 3.11 and
 * against reference limits, in one binary and one run. See bench/README.md
 * and docs/benchmarks.md.
 *
 *   sysfast-bench [--threads=1,2,...] [--benchmark_* flags]
 *
 * --threads lists the thread counts of the threaded dispatch benchmark
 * (default 1,2). Everything else goes to Google Benchmark.
 */
/* Python.h first: it sets feature macros for the system headers. */
#include "hooks.h"

#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "loaded.h"
#include "shim.h"
#include "workload.h"

/* The library is linked: its functions are called by name. */
#define BENCH_CALL(name) (name)
#include "lib_calls.h"

BENCH_MALLOC_PROBE(probe_acquire, probe_release)

#define BENCH_MAX_THREAD_COUNTS 16

static size_t bench_parse_threads(const char *list, int *out)
{
	size_t n = 0;
	char *end;

	for (const char *p = list; *p && n < BENCH_MAX_THREAD_COUNTS; p = end) {
		long t = strtol(p, &end, 10);
		if (end == p || t < 1 || t > 1024 || (*end != ',' && *end != '\0'))
			return 0;
		out[n++] = (int)t;
		if (*end == ',')
			end++;
	}
	return n;
}

static void bench_add_machine_context(void)
{
	char line[256], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	const char *je_version = "unknown";
	size_t sz = sizeof(je_version);

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	mallctl("version", &je_version, &sz, NULL, 0);
	sysfast_bench_add_context("cpu_model", model);
	sysfast_bench_add_context("libsysfast_version", sysfast_version());
	sysfast_bench_add_context("cpython_version", Py_GetVersion());
	sysfast_bench_add_context("jemalloc_version", je_version);
	sysfast_bench_add_context("compiler", "gcc/clang " __VERSION__);
}

int main(int argc, char **argv)
{
	int threads[BENCH_MAX_THREAD_COUNTS] = {1, 2};
	size_t n_threads = 2;
	char thread_list[256] = "1,2";
	int rc;
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			printf(
			    "sysfast-bench [--threads=1,2,...] [Google Benchmark flags]\n"
			    "  --threads=LIST: thread counts of the threaded dispatch (default 1,2)\n"
			    "  see docs/benchmarks.md\n\n");
		if (strncmp(argv[i], "--threads=", 10) == 0) {
			n_threads = bench_parse_threads(argv[i] + 10, threads);
			if (n_threads == 0) {
				fprintf(stderr, "sysfast-bench: bad %s (want e.g. 1,2,4)\n",
				        argv[i]);
				return 2;
			}
			snprintf(thread_list, sizeof(thread_list), "%s", argv[i] + 10);
			continue;
		}
		argv[out++] = argv[i];
	}
	argc = out;
	argv[argc] = NULL;

	bench_workload_init();
	/* Before anything starts a thread or initialises libsysfast. */
	if (bench_cpython_start(argv[0]) != 0)
		return 1;

	bench_limits_register();
	bench_audit_register(threads, n_threads);
	bench_audit_call_register();
	bench_workload_register();
	bench_objects_register();
	bench_frames_register();
	bench_cpython_register();
	bench_add_machine_context();
	sysfast_bench_add_context("thread_counts", thread_list);
	/* Which libsysfast.so the dynamic linker chose (the static-TLS
	 * variant this program is linked with, or another one put first by
	 * LD_LIBRARY_PATH), and whose malloc serves it. */
	if (!bench_add_library_context((const void *)sysfast_init, "linked")) {
		bench_cpython_stop();
		return 1;
	}
	if (sysfast_init() != 0) {
		fprintf(stderr, "sysfast-bench: sysfast_init: %s\n", sysfast_err_message());
		bench_cpython_stop();
		return 1;
	}
	bench_add_malloc_context(probe_acquire, probe_release);

	rc = sysfast_bench_main(argc, argv);
	sysfast_fini();
	bench_cpython_stop();
	return rc;
}
