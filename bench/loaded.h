/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the process under measurement actually loaded, recorded in the
 * JSON context so that a report labels each run by the facts rather than
 * by how it was started: which libsysfast file serves the calls, whether
 * that file is the static-TLS variant, and whose malloc serves the
 * library's allocations. Used by sysfast-bench and sysfast-bench-dlopen.
 */
#ifndef SYSFAST_BENCH_LOADED_H
#define SYSFAST_BENCH_LOADED_H

#include <stdbool.h>

/* Adds "libsysfast_file" (the real path of the object that holds `fn`, a
 * function of libsysfast), "libsysfast_tls" ("initial-exec" when that
 * object carries the STATIC_TLS flag, "descriptors" otherwise) and
 * "libsysfast_loaded" (`how`: "linked" or "dlopen"). Returns false, with a
 * message on stderr, when `fn` lies in no loaded object. */
bool bench_add_library_context(const void *fn, const char *how);

/* Adds "malloc" (jemalloc with its version, glibc, or unknown) and
 * "malloc_proof": `acquire` must allocate through libsysfast and keep the
 * memory, `release` give it back; the allocator whose statistics moved in
 * between (jemalloc's thread.allocated, glibc's mallinfo2) is the one that
 * serves the library. */
void bench_add_malloc_context(void (*acquire)(void), void (*release)(void));

#endif /* SYSFAST_BENCH_LOADED_H */
