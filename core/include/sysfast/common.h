/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - shared definitions for every public header.
 *
 * SYSFAST_API marks the symbols the shared library exports; everything else
 * is hidden (the library is built with -fvisibility=hidden).
 */
#ifndef SYSFAST_COMMON_H
#define SYSFAST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(SYSFAST_BUILDING_LIBRARY)
#define SYSFAST_API __attribute__((visibility("default")))
#else
#define SYSFAST_API
#endif

#ifdef __cplusplus
#define SYSFAST_BEGIN_DECLS extern "C" {
#define SYSFAST_END_DECLS }
#else
#define SYSFAST_BEGIN_DECLS
#define SYSFAST_END_DECLS
#endif

/* For the out-of-line halves of call-site macros: called through the GOT
 * directly rather than through a PLT entry (one jump fewer; the static
 * linker turns it into a direct call). GCC only; clang has no such
 * attribute. */
#if defined(__GNUC__) && !defined(__clang__)
#define SYSFAST_NOPLT __attribute__((noplt))
#else
#define SYSFAST_NOPLT
#endif

#define SYSFAST_LIKELY(x) __builtin_expect(!!(x), 1)
#define SYSFAST_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif /* SYSFAST_COMMON_H */
