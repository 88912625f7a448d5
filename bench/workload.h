/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The realistic workload: a replay of CPython's real audit events with the
 * frequencies of a real program (workload_events.def), the same sequence in
 * libsysfast and in CPython.
 *
 * Each event is raised from its own call site, as in a real program: a
 * switch over the event generated from the same list, whose cases call
 * SYSFAST_AUDIT("name", ...) or PySys_Audit("name", ...) with a literal
 * name and the event's real number of arguments. Arguments alternate a
 * one-character string and a small integer ("(sisi...)"), which neither
 * library has to allocate.
 */
#ifndef SYSFAST_BENCH_WORKLOAD_H
#define SYSFAST_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

enum bench_workload_event {
#define BENCH_WORKLOAD_EVENT(ident, name, weight, nargs) BENCH_EV_##ident,
#include "workload_events.def"
#undef BENCH_WORKLOAD_EVENT
	BENCH_EV_COUNT
};

/* Events replayed per pass; a power of two. */
#define BENCH_WORKLOAD_LEN 8192u

/* The event sequence, drawn once with a fixed seed (bench_workload_init). */
extern uint16_t bench_workload_seq[BENCH_WORKLOAD_LEN];

/* Draws the sequence; idempotent. Call before any benchmark runs. */
void bench_workload_init(void);

/* Argument lists by arity, for SYSFAST_AUDIT (BENCH_SF_ARGS_n) and for
 * PySys_Audit (BENCH_PY_FMT_n, then BENCH_PY_ARGS_n, which starts with a
 * comma when not empty). */
#define BENCH_SF_S SYSFAST_STR("x")
#define BENCH_SF_I SYSFAST_INT(1)
#define BENCH_SF_ARGS_0
#define BENCH_SF_ARGS_1 BENCH_SF_S
#define BENCH_SF_ARGS_2 BENCH_SF_ARGS_1, BENCH_SF_I
#define BENCH_SF_ARGS_3 BENCH_SF_ARGS_2, BENCH_SF_S
#define BENCH_SF_ARGS_4 BENCH_SF_ARGS_3, BENCH_SF_I
#define BENCH_SF_ARGS_5 BENCH_SF_ARGS_4, BENCH_SF_S
#define BENCH_SF_ARGS_6 BENCH_SF_ARGS_5, BENCH_SF_I
#define BENCH_SF_ARGS_7 BENCH_SF_ARGS_6, BENCH_SF_S
#define BENCH_SF_ARGS_8 BENCH_SF_ARGS_7, BENCH_SF_I
#define BENCH_SF_ARGS_9 BENCH_SF_ARGS_8, BENCH_SF_S

#define BENCH_PY_FMT_0 NULL
#define BENCH_PY_FMT_1 "(s)"
#define BENCH_PY_FMT_2 "(si)"
#define BENCH_PY_FMT_3 "(sis)"
#define BENCH_PY_FMT_4 "(sisi)"
#define BENCH_PY_FMT_5 "(sisis)"
#define BENCH_PY_FMT_6 "(sisisi)"
#define BENCH_PY_FMT_7 "(sisisis)"
#define BENCH_PY_FMT_8 "(sisisisi)"
#define BENCH_PY_FMT_9 "(sisisisis)"
#define BENCH_PY_ARGS_0
#define BENCH_PY_ARGS_1 , "x"
#define BENCH_PY_ARGS_2 BENCH_PY_ARGS_1, 1
#define BENCH_PY_ARGS_3 BENCH_PY_ARGS_2, "x"
#define BENCH_PY_ARGS_4 BENCH_PY_ARGS_3, 1
#define BENCH_PY_ARGS_5 BENCH_PY_ARGS_4, "x"
#define BENCH_PY_ARGS_6 BENCH_PY_ARGS_5, 1
#define BENCH_PY_ARGS_7 BENCH_PY_ARGS_6, "x"
#define BENCH_PY_ARGS_8 BENCH_PY_ARGS_7, 1
#define BENCH_PY_ARGS_9 BENCH_PY_ARGS_8, "x"

#endif /* SYSFAST_BENCH_WORKLOAD_H */
