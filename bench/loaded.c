/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the process loaded; see loaded.h. */
#include "loaded.h"

#include <dlfcn.h>
#include <elf.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "shim.h"

/* Whether the object's dynamic section carries DF_STATIC_TLS: the linker
 * sets it when any TLS access in the object is initial-exec. */
static bool has_static_tls(const struct link_map *map)
{
	for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_FLAGS)
			return (d->d_un.d_val & DF_STATIC_TLS) != 0;
	return false;
}

bool bench_add_library_context(const void *fn, const char *how)
{
	Dl_info info;
	struct link_map *map = NULL;
	char path[PATH_MAX];

	if (!dladdr1(fn, &info, (void **)&map, RTLD_DL_LINKMAP) || !map || !info.dli_fname) {
		fprintf(stderr, "bench: no loaded object holds libsysfast's functions\n");
		return false;
	}
	sysfast_bench_add_context("libsysfast_file",
	                          realpath(info.dli_fname, path) ? path : info.dli_fname);
	sysfast_bench_add_context("libsysfast_tls",
	                          has_static_tls(map) ? "initial-exec" : "descriptors");
	sysfast_bench_add_context("libsysfast_loaded", how);
	return true;
}

typedef int (*bench_mallctl_fn)(const char *, void *, size_t *, void *, size_t);

/* jemalloc's running total of bytes this thread allocated, or 0 where
 * jemalloc does not serve malloc. Looked up at run time: jemalloc is
 * linked into sysfast-bench and preloaded, or not, into
 * sysfast-bench-dlopen. */
static uint64_t jemalloc_thread_allocated(bench_mallctl_fn ctl)
{
	uint64_t v = 0;
	size_t sz = sizeof(v);

	if (!ctl || ctl("thread.allocated", &v, &sz, NULL, 0) != 0)
		return 0;
	return v;
}

void bench_add_malloc_context(void (*acquire)(void), void (*release)(void))
{
	bench_mallctl_fn ctl = (bench_mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
	const char *je_version = NULL;
	size_t sz = sizeof(je_version);
	uint64_t je_before = jemalloc_thread_allocated(ctl);
	long glibc_before = (long)mallinfo2().uordblks;
	uint64_t je_moved;
	long glibc_moved;
	char what[128], proof[256];

	acquire();
	je_moved = jemalloc_thread_allocated(ctl) - je_before;
	glibc_moved = (long)mallinfo2().uordblks - glibc_before;
	release();

	if (ctl && je_moved > 0 && ctl("version", &je_version, &sz, NULL, 0) == 0)
		snprintf(what, sizeof(what), "jemalloc %s", je_version);
	else if (glibc_moved > 0)
		snprintf(what, sizeof(what), "glibc %s", gnu_get_libc_version());
	else
		snprintf(what, sizeof(what), "unknown");
	snprintf(proof, sizeof(proof),
	         "allocating through libsysfast moved jemalloc's thread.allocated by %llu B%s "
	         "and glibc's mallinfo2 in-use bytes by %ld B",
	         (unsigned long long)je_moved, ctl ? "" : " (jemalloc absent)", glibc_moved);
	sysfast_bench_add_context("malloc", what);
	sysfast_bench_add_context("malloc_proof", proof);
}
