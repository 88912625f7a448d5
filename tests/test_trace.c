/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracing and profiling (<sysfast/trace.h>) through the public API: the
 * thread's frame chain (kept whether or not anything traces, before
 * sysfast_init and across sysfast_fini), the rules before init, the
 * setters and their audit events, which callback gets which event and in
 * what order, failures, the suspension shared with audit hooks,
 * sysfast_call_tracing, the all-threads setters, and the cost of frame
 * events with nothing set.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* The head of the thread's frame chain, which a case resets. */
#include <sysfast/static/trace.h>

/* ---- a recorder shared by the callbacks ---- */

#define MAX_EVENTS 64

struct rec {
	char who; /* 'T' global tracer, 'L' local tracer, 'P' profiler */
	sysfast_trace_what what;
	const sysfast_frame *frame;
	const sysfast_frame *current; /* sysfast_frame_current() in the callback */
	const sysfast_arg *arg;
	int lineno;
};

static struct rec events[MAX_EVENTS];
static int n_events;
static int n_settrace_events, n_setprofile_events;

/* What the callbacks do besides recording. */
static struct {
	char fail_who; /* fail when this callback gets fail_what */
	sysfast_trace_what fail_what;
	bool fail_without_error; /* return -1 with no error */
	bool zero_with_error;    /* return 0 with an error set */
	bool set_local;          /* the global tracer sets 'L' on call */
	bool saw_error;          /* a callback saw an error pending */
	void (*also)(sysfast_frame *f, sysfast_trace_what what);
} cfg;

static void record(char who, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	if (sysfast_err_occurred())
		cfg.saw_error = true;
	assert_true(n_events < MAX_EVENTS);
	events[n_events++] = (struct rec){who, what, f, sysfast_frame_current(), arg, f->lineno};
}

static int behave(char who, sysfast_frame *f, sysfast_trace_what what)
{
	if (cfg.also)
		cfg.also(f, what);
	if (cfg.fail_who != who || cfg.fail_what != what)
		return 0;
	if (cfg.fail_without_error)
		return -1;
	sysfast_err_set(sysfast_ValueError, "callback refused");
	return cfg.zero_with_error ? 0 : -1;
}

static int local_tracer(void *data, sysfast_frame *f, sysfast_trace_what what,
                        const sysfast_arg *arg)
{
	assert_ptr_equal(data, &events);
	record('L', f, what, arg);
	return behave('L', f, what);
}

static int global_tracer(void *data, sysfast_frame *f, sysfast_trace_what what,
                         const sysfast_arg *arg)
{
	assert_ptr_equal(data, &n_events);
	record('T', f, what, arg);
	if (cfg.set_local)
		sysfast_frame_set_local_tracer(f, local_tracer, &events);
	return behave('T', f, what);
}

static int profiler(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	assert_ptr_equal(data, &cfg);
	record('P', f, what, arg);
	return behave('P', f, what);
}

static int count_set_events(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (!strcmp(name, "sys.settrace"))
		__atomic_fetch_add(&n_settrace_events, 1, __ATOMIC_RELAXED);
	if (!strcmp(name, "sys.setprofile"))
		__atomic_fetch_add(&n_setprofile_events, 1, __ATOMIC_RELAXED);
	return 0;
}

static bool refuse_set;

static int refuse_set_events(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (refuse_set && !strncmp(name, "sys.set", 7)) {
		sysfast_err_format(sysfast_PermissionError, "%s refused", name);
		return -1;
	}
	return 0;
}

/* Every case starts with a fresh runtime, no callback on this thread, no
 * frame entered and the counting hooks in place (sysfast_fini drops every
 * hook). A case that failed half-way (cmocka jumps out of it) leaves its
 * frames entered, pointing into its dead stack: the next case forgets
 * them through the chain's head (trace.h's inline part, not API) and
 * fails, so that a case that leaves a frame entered is caught, and one
 * failure does not spread further. */
static int fresh(void **state)
{
	(void)state;
	if (sysfast_frame_current()) {
		sysfast__frame_top = NULL;
		return -1;
	}
	sysfast_fini();
	if (sysfast_init() < 0 || sysfast_add_audit_hook(count_set_events, NULL) < 0
	    || sysfast_add_audit_hook(refuse_set_events, NULL) < 0)
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	n_events = 0;
	n_settrace_events = n_setprofile_events = 0;
	refuse_set = false;
	return 0;
}

static void expect(int i, char who, sysfast_trace_what what, const sysfast_frame *f)
{
	assert_true(i < n_events);
	assert_int_equal(events[i].who, who);
	assert_int_equal(events[i].what, what);
	assert_ptr_equal(events[i].frame, f);
}

static sysfast_frame frame(const char *name)
{
	sysfast_frame f;

	sysfast_frame_init(&f, name, "t.py", 1);
	return f;
}

/* The thread's frame stack is empty: a new frame has no caller. */
static void assert_frame_stack_empty(void)
{
	sysfast_frame g = frame("g");

	assert_int_equal(sysfast_frame_enter(&g), 0);
	assert_null(g.back);
	assert_int_equal(sysfast_frame_leave(&g, NULL), 0);
}

/* ---- the contract's shapes ---- */

static void test_what_numbers_are_cpythons(void **state)
{
	(void)state;
	assert_int_equal(SYSFAST_TRACE_CALL, 0);
	assert_int_equal(SYSFAST_TRACE_EXCEPTION, 1);
	assert_int_equal(SYSFAST_TRACE_LINE, 2);
	assert_int_equal(SYSFAST_TRACE_RETURN, 3);
	assert_int_equal(SYSFAST_TRACE_C_CALL, 4);
	assert_int_equal(SYSFAST_TRACE_C_EXCEPTION, 5);
	assert_int_equal(SYSFAST_TRACE_C_RETURN, 6);
	assert_int_equal(SYSFAST_TRACE_OPCODE, 7);
}

static void test_frame_init_sets_the_defaults(void **state)
{
	sysfast_frame f;

	(void)state;
	memset(&f, 0xa5, sizeof(f));
	sysfast_frame_init(&f, "fn", "file.py", 7);
	assert_null(f.back);
	assert_string_equal(f.name, "fn");
	assert_string_equal(f.filename, "file.py");
	assert_int_equal(f.lineno, 7);
	assert_true(f.trace_lines);
	assert_false(f.trace_opcodes);
	assert_null(f.local.fn);
	assert_null(f.user);
	assert_int_equal(sysfast_frame_offset(&f), -1);
	assert_no_error();
}

/* ---- before sysfast_init ---- */

static int count_calls(void *data)
{
	++*(int *)data;
	return 0;
}

static void test_setters_getters_and_call_tracing_fail_before_init(void **state)
{
	sysfast_tracer tr;
	int calls = 0;

	(void)state;
	sysfast_fini();
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_setprofile(profiler, &cfg), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_settrace_all_threads(global_tracer, &n_events), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_setprofile_all_threads(profiler, &cfg), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	tr = sysfast_gettrace();
	assert_null(tr.fn);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	tr = sysfast_getprofile();
	assert_null(tr.fn);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(sysfast_call_tracing(count_calls, &calls), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_int_equal(calls, 0);
	assert_int_equal(sysfast_call_tracing(NULL, NULL), -1);
	assert_error(sysfast_SystemError, "sysfast is not initialized");
	assert_false(sysfast_tracing_active());
	assert_no_error();
	/* Nothing was set, and no event was raised. */
	assert_int_equal(sysfast_init(), 0);
	assert_null(sysfast_gettrace().fn);
	assert_null(sysfast_getprofile().fn);
	assert_int_equal(n_settrace_events + n_setprofile_events, 0);
}

static void test_frame_calls_keep_the_chain_and_call_nothing_before_init(void **state)
{
	sysfast_frame a, b;
	sysfast_arg arg = SYSFAST_INT(1);

	(void)state;
	sysfast_fini();
	sysfast_frame_init(&a, "a", "t.py", 1);
	sysfast_frame_init(&b, "b", "t.py", 10);
	assert_null(sysfast_frame_current());
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_null(a.back);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_ptr_equal(b.back, &a);
	assert_ptr_equal(sysfast_frame_current(), &b);
	/* A local tracer is stored but not called: nothing traces yet. */
	sysfast_frame_set_local_tracer(&b, local_tracer, &events);
	assert_ptr_equal(b.local.fn, local_tracer);
	b.trace_opcodes = true;
	assert_int_equal(sysfast_frame_line(&b, 11), 0);
	assert_int_equal(b.lineno, 11);
	assert_int_equal(sysfast_frame_opcode(&b, 6), 0);
	assert_int_equal(sysfast_frame_offset(&b), 6);
	assert_int_equal(sysfast_frame_exception(&b, &arg), 0);
	assert_int_equal(sysfast_frame_c_call(&b, &arg), 0);
	assert_int_equal(sysfast_frame_c_exception(&b, &arg), 0);
	assert_int_equal(sysfast_frame_c_call(&b, &arg), 0);
	assert_int_equal(sysfast_frame_c_return(&b, &arg), 0);
	assert_int_equal(sysfast_frame_leave(&b, &arg), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
	assert_false(sysfast_tracing_active());
	assert_int_equal(n_events, 0);
	assert_no_error();
	assert_int_equal(sysfast_init(), 0);
}

/* Every frame call with a NULL frame fails with class `cls` and a message
 * containing `msg`, and sets nothing else. */
static void assert_null_frame_fails_everywhere(const sysfast_exc_type *cls, const char *msg)
{
	assert_int_equal(sysfast_frame_enter(NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_leave(NULL, NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_line(NULL, 3), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_opcode(NULL, 3), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_offset(NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_exception(NULL, NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_c_call(NULL, NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_c_return(NULL, NULL), -1);
	assert_error(cls, msg);
	assert_int_equal(sysfast_frame_c_exception(NULL, NULL), -1);
	assert_error(cls, msg);
	sysfast_frame_init(NULL, "f", "t.py", 1);
	assert_error(cls, msg);
	sysfast_frame_set_local_tracer(NULL, local_tracer, NULL);
	assert_error(cls, msg);
}

static void test_null_frame_is_a_system_error_before_init(void **state)
{
	(void)state;
	sysfast_fini();
	assert_null_frame_fails_everywhere(sysfast_SystemError, "sysfast is not initialized");
	assert_null(sysfast_frame_current());
	assert_int_equal(sysfast_init(), 0);
}

static void test_frames_entered_before_init_are_the_callers_of_traced_ones(void **state)
{
	sysfast_frame a, b;

	(void)state;
	sysfast_fini();
	sysfast_frame_init(&a, "a", "t.py", 1);
	sysfast_frame_init(&b, "b", "t.py", 1);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_init(), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_int_equal(n_events, 1);
	expect(0, 'T', SYSFAST_TRACE_CALL, &b);
	assert_ptr_equal(events[0].current, &b);
	assert_ptr_equal(b.back, &a);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
}

/* Exit codes of the child below: which step went wrong. */
enum {
	SEAL_OK,
	SEAL_STATE,
	SEAL_CALL,
	SEAL_BEFORE_INIT,
	SEAL_INIT,
	SEAL_AFTER_INIT,
	SEAL_AFTER_REINIT
};

static int seal_child(void)
{
	if (sysfast_is_initialized())
		return SEAL_STATE;
	if (sysfast_audit_seal() != 0 || sysfast_err_occurred())
		return SEAL_CALL;
	if (sysfast_add_audit_hook(count_set_events, NULL) != -1
	    || !sysfast_err_matches(sysfast_PermissionError))
		return SEAL_BEFORE_INIT;
	sysfast_err_clear();
	if (sysfast_init() != 0)
		return SEAL_INIT;
	if (sysfast_add_audit_hook(count_set_events, NULL) != -1
	    || !sysfast_err_matches(sysfast_PermissionError))
		return SEAL_AFTER_INIT;
	sysfast_err_clear();
	sysfast_fini();
	if (sysfast_init() != 0)
		return SEAL_INIT;
	if (sysfast_add_audit_hook(count_set_events, NULL) != -1
	    || !sysfast_err_matches(sysfast_PermissionError))
		return SEAL_AFTER_REINIT;
	return SEAL_OK;
}

/* Run first, before anything has initialised the library in this
 * process; in a child, because a seal lasts for the life of the process. */
static void test_seal_before_init_seals_the_process_at_once_and_for_good(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	assert_false(sysfast_is_initialized());
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(seal_child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), SEAL_OK);
	/* The seal was the child's: the parent is not sealed. */
	assert_int_equal(sysfast_init(), 0);
	assert_int_equal(sysfast_add_audit_hook(count_set_events, NULL), 0);
	sysfast_fini();
}

/* ---- bad input ---- */

static void test_null_frame_gives_value_error_everywhere(void **state)
{
	(void)state;
	assert_null_frame_fails_everywhere(sysfast_ValueError, "frame is NULL");
	/* The same with a tracer set: the slow paths check too. */
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(NULL), -1);
	assert_error(sysfast_ValueError, "frame is NULL");
	assert_int_equal(sysfast_frame_leave(NULL, NULL), -1);
	assert_error(sysfast_ValueError, "frame is NULL");
	assert_int_equal(n_events, 0);
}

static void test_call_tracing_with_null_fn_gives_value_error(void **state)
{
	(void)state;
	assert_int_equal(sysfast_call_tracing(NULL, NULL), -1);
	assert_error(sysfast_ValueError, "fn is NULL");
}

/* ---- setters and their audit events ---- */

static void test_settrace_sets_and_gettrace_returns_it(void **state)
{
	sysfast_tracer tr;

	(void)state;
	tr = sysfast_gettrace();
	assert_null(tr.fn);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	tr = sysfast_gettrace();
	assert_ptr_equal(tr.fn, global_tracer);
	assert_ptr_equal(tr.data, &n_events);
	assert_null(sysfast_getprofile().fn);
	assert_int_equal(sysfast_settrace(NULL, &n_events), 0);
	tr = sysfast_gettrace();
	assert_null(tr.fn);
	assert_null(tr.data);
	assert_no_error();
}

static void test_setters_raise_their_event_also_when_clearing(void **state)
{
	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_settrace(NULL, NULL), 0);
	assert_int_equal(n_settrace_events, 2);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_setprofile(NULL, NULL), 0);
	assert_int_equal(n_setprofile_events, 2);
	assert_int_equal(n_settrace_events, 2);
}

static void test_refused_event_changes_nothing(void **state)
{
	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	refuse_set = true;
	assert_int_equal(sysfast_settrace(NULL, NULL), -1);
	assert_error(sysfast_PermissionError, "sys.settrace refused");
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	assert_int_equal(sysfast_setprofile(NULL, NULL), -1);
	assert_error(sysfast_PermissionError, "sys.setprofile refused");
	assert_ptr_equal(sysfast_getprofile().fn, profiler);
	refuse_set = false;
	assert_int_equal(sysfast_settrace(NULL, NULL), 0);
	assert_int_equal(sysfast_setprofile(NULL, NULL), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	refuse_set = true;
	assert_int_equal(sysfast_settrace(local_tracer, &events), -1);
	assert_error(sysfast_PermissionError, "refused");
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	refuse_set = false;
}

/* ---- which callback gets what ---- */

static void test_call_goes_to_the_global_tracer_the_rest_to_the_local_one(void **state)
{
	sysfast_frame f = frame("f");
	sysfast_arg exc = SYSFAST_STR("boom"), ret = SYSFAST_INT(5);

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_ptr_equal(f.local.fn, local_tracer);
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	assert_int_equal(sysfast_frame_exception(&f, &exc), 0);
	assert_int_equal(sysfast_frame_opcode(&f, 4), 0); /* trace_opcodes is off */
	assert_int_equal(sysfast_frame_leave(&f, &ret), 0);
	assert_int_equal(n_events, 4);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
	assert_null(events[0].arg);
	expect(1, 'L', SYSFAST_TRACE_LINE, &f);
	assert_int_equal(events[1].lineno, 2);
	assert_null(events[1].arg);
	expect(2, 'L', SYSFAST_TRACE_EXCEPTION, &f);
	assert_ptr_equal(events[2].arg, &exc);
	expect(3, 'L', SYSFAST_TRACE_RETURN, &f);
	assert_ptr_equal(events[3].arg, &ret);
}

static void test_without_a_local_tracer_only_call_is_traced(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 1);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
}

static void test_trace_lines_off_skips_line_events_but_stores_the_line(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	f.trace_lines = false;
	assert_int_equal(sysfast_frame_line(&f, 9), 0);
	assert_int_equal(f.lineno, 9);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 2);
	expect(1, 'L', SYSFAST_TRACE_RETURN, &f);
	assert_int_equal(events[1].lineno, 9);
	assert_null(events[1].arg);
}

static void test_line_is_stored_with_nothing_set(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	assert_int_equal(sysfast_frame_line(&f, 42), 0);
	assert_int_equal(f.lineno, 42);
}

static void record_offset(sysfast_frame *f, sysfast_trace_what what)
{
	if (what == SYSFAST_TRACE_OPCODE)
		f->user = (void *)(intptr_t)sysfast_frame_offset(f);
}

static void test_opcode_events_only_with_trace_opcodes_and_offset_is_kept(void **state)
{
	sysfast_frame f, g;

	(void)state;
	/* Initialised in place, not copied from frame(): the thread forgets
	 * a frame's offset at sysfast_frame_init, by the frame's address, and
	 * this stack slot may have held a frame with an offset before. */
	sysfast_frame_init(&f, "f", "t.py", 1);
	sysfast_frame_init(&g, "g", "t.py", 1);
	cfg.set_local = true;
	cfg.also = record_offset;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_opcode(&f, 6), 0);
	assert_int_equal(n_events, 1);
	assert_int_equal(sysfast_frame_offset(&f), 6);
	f.trace_opcodes = true;
	assert_int_equal(sysfast_frame_opcode(&f, 8), 0);
	assert_int_equal(n_events, 2);
	expect(1, 'L', SYSFAST_TRACE_OPCODE, &f);
	assert_null(events[1].arg);
	assert_int_equal((intptr_t)f.user, 8);
	/* Another frame's offsets do not disturb f's. */
	assert_int_equal(sysfast_frame_offset(&g), -1);
	assert_int_equal(sysfast_frame_opcode(&g, 100), 0);
	assert_int_equal(sysfast_frame_offset(&f), 8);
	assert_int_equal(sysfast_frame_offset(&g), 100);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	/* Stored without any tracer too. */
	assert_int_equal(sysfast_settrace(NULL, NULL), 0);
	assert_int_equal(sysfast_frame_opcode(&f, 12), 0);
	assert_int_equal(sysfast_frame_offset(&f), 12);
}

static void test_tracer_runs_before_profiler_on_call_and_return(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 4);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
	expect(1, 'P', SYSFAST_TRACE_CALL, &f);
	expect(2, 'L', SYSFAST_TRACE_RETURN, &f);
	expect(3, 'P', SYSFAST_TRACE_RETURN, &f);
}

static void test_profiler_gets_only_call_return_and_c_events(void **state)
{
	sysfast_frame f = frame("f");
	sysfast_arg func = SYSFAST_STR("divmod"), exc = SYSFAST_STR("ZeroDivisionError");

	(void)state;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_true(sysfast_tracing_active());
	assert_int_equal(sysfast_frame_enter(&f), 0);
	f.trace_opcodes = true;
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	assert_int_equal(sysfast_frame_opcode(&f, 2), 0);
	assert_int_equal(sysfast_frame_c_call(&f, &func), 0);
	assert_int_equal(sysfast_frame_c_exception(&f, &func), 0);
	assert_int_equal(sysfast_frame_exception(&f, &exc), 0);
	assert_int_equal(sysfast_frame_c_call(&f, &func), 0);
	assert_int_equal(sysfast_frame_c_return(&f, &func), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 6);
	expect(0, 'P', SYSFAST_TRACE_CALL, &f);
	expect(1, 'P', SYSFAST_TRACE_C_CALL, &f);
	assert_ptr_equal(events[1].arg, &func);
	expect(2, 'P', SYSFAST_TRACE_C_EXCEPTION, &f);
	expect(3, 'P', SYSFAST_TRACE_C_CALL, &f);
	expect(4, 'P', SYSFAST_TRACE_C_RETURN, &f);
	expect(5, 'P', SYSFAST_TRACE_RETURN, &f);
	assert_null(events[5].arg);
}

static void test_local_tracer_is_called_only_while_a_global_one_is_set(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_settrace(NULL, NULL), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_line(&f, 3), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 2);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
	expect(1, 'P', SYSFAST_TRACE_RETURN, &f);
	assert_ptr_equal(f.local.fn, local_tracer); /* kept, just not called */
}

static void test_c_events_do_nothing_without_a_profiler(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_c_call(&f, NULL), 0);
	assert_int_equal(sysfast_frame_c_return(&f, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 2);
	expect(1, 'L', SYSFAST_TRACE_RETURN, &f);
}

/* ---- failures ---- */

static void test_tracer_failing_on_call_is_unset_and_frame_not_pushed(void **state)
{
	sysfast_frame outer = frame("outer"), f = frame("f");

	(void)state;
	cfg.set_local = true;
	cfg.fail_who = 'T';
	cfg.fail_what = SYSFAST_TRACE_CALL;
	assert_int_equal(sysfast_frame_enter(&outer), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(n_settrace_events, 1);
	assert_int_equal(sysfast_frame_enter(&f), -1);
	assert_error(sysfast_ValueError, "callback refused");
	/* f was current while its tracer ran, and is not pushed now. */
	assert_ptr_equal(events[0].current, &f);
	assert_ptr_equal(sysfast_frame_current(), &outer);
	/* Unset as if cleared: one more event; the local tracer is gone and
	 * the profiler was not called for the failed call. */
	assert_null(sysfast_gettrace().fn);
	assert_int_equal(n_settrace_events, 2);
	assert_null(f.local.fn);
	assert_int_equal(n_events, 1);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
	assert_ptr_equal(sysfast_getprofile().fn, profiler);
	assert_int_equal(sysfast_frame_leave(&outer, NULL), 0);
	assert_null(sysfast_frame_current());
}

static void test_tracer_failing_on_line_is_unset_and_loses_the_local_tracer(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	cfg.fail_who = 'L';
	cfg.fail_what = SYSFAST_TRACE_LINE;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_line(&f, 2), -1);
	assert_error(sysfast_ValueError, "callback refused");
	assert_null(sysfast_gettrace().fn);
	assert_null(f.local.fn);
	assert_int_equal(n_settrace_events, 2);
	assert_false(sysfast_tracing_active());
	assert_int_equal(sysfast_frame_line(&f, 3), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 2);
}

static void test_failing_tracer_on_return_still_pops_and_skips_profiler(void **state)
{
	sysfast_frame outer = frame("outer"), f = frame("f");

	(void)state;
	cfg.set_local = true;
	cfg.fail_who = 'L';
	cfg.fail_what = SYSFAST_TRACE_RETURN;
	assert_int_equal(sysfast_frame_enter(&outer), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), -1);
	assert_error(sysfast_ValueError, "callback refused");
	assert_int_equal(n_events, 3); /* T call, P call, L return */
	expect(2, 'L', SYSFAST_TRACE_RETURN, &f);
	assert_ptr_equal(events[2].current, &f);
	assert_ptr_equal(sysfast_frame_current(), &outer); /* f was popped */
	assert_int_equal(sysfast_frame_leave(&outer, NULL), 0);
	assert_frame_stack_empty();
}

static void test_failing_profiler_is_unset_and_tracer_kept(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.fail_who = 'P';
	cfg.fail_what = SYSFAST_TRACE_RETURN;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), -1);
	assert_error(sysfast_ValueError, "callback refused");
	assert_null(sysfast_getprofile().fn);
	assert_int_equal(n_setprofile_events, 2);
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	assert_frame_stack_empty();
}

static void test_failing_profiler_on_call_does_not_push(void **state)
{
	sysfast_frame outer = frame("outer"), f = frame("f");

	(void)state;
	cfg.fail_who = 'P';
	cfg.fail_what = SYSFAST_TRACE_CALL;
	assert_int_equal(sysfast_frame_enter(&outer), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&f), -1);
	assert_error(sysfast_ValueError, "callback refused");
	assert_ptr_equal(sysfast_frame_current(), &outer);
	assert_int_equal(sysfast_frame_leave(&outer, NULL), 0);
	assert_frame_stack_empty();
}

static void test_minus_one_without_error_is_a_system_error(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.fail_who = 'T';
	cfg.fail_what = SYSFAST_TRACE_CALL;
	cfg.fail_without_error = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), -1);
	assert_error(sysfast_SystemError, "without setting an error");
	assert_null(sysfast_gettrace().fn);
}

static void test_zero_with_an_error_counts_as_failure(void **state)
{
	sysfast_frame f = frame("f");
	sysfast_arg func = SYSFAST_STR("len");

	(void)state;
	cfg.fail_who = 'P';
	cfg.fail_what = SYSFAST_TRACE_C_CALL;
	cfg.zero_with_error = true;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_c_call(&f, &func), -1);
	assert_error(sysfast_SystemError, "callback refused");
	assert_null(sysfast_getprofile().fn);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
}

static void test_unset_refused_by_a_hook_keeps_the_tracer_and_gives_hooks_error(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.fail_who = 'T';
	cfg.fail_what = SYSFAST_TRACE_CALL;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	refuse_set = true;
	assert_int_equal(sysfast_frame_enter(&f), -1);
	assert_error(sysfast_PermissionError, "sys.settrace refused");
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	refuse_set = false;
}

static void test_pending_error_is_hidden_from_callbacks_and_kept(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 3);
	assert_false(cfg.saw_error);
	assert_error(sysfast_KeyboardInterrupt, "pending");
}

/* ---- suspension, call_tracing, current frame ---- */

static sysfast_frame inner;

static void enter_inner(sysfast_frame *f, sysfast_trace_what what)
{
	(void)f;
	if (what != SYSFAST_TRACE_CALL || f == &inner)
		return;
	assert_false(sysfast_tracing_active());
	assert_int_equal(sysfast_frame_enter(&inner), 0);
	assert_int_equal(sysfast_frame_leave(&inner, NULL), 0);
}

static void test_nothing_called_from_a_tracer_is_traced(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	inner = frame("inner");
	cfg.also = enter_inner;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 3); /* T call f, P call f, P return f */
	for (int i = 0; i < n_events; i++)
		assert_ptr_equal(events[i].frame, &f);
	assert_true(sysfast_tracing_active());
}

static int traced_body(void *arg)
{
	assert_true(sysfast_tracing_active());
	assert_int_equal(sysfast_frame_enter(&inner), 0);
	assert_int_equal(sysfast_frame_leave(&inner, NULL), 0);
	sysfast_err_set(sysfast_OverflowError, "from fn");
	return *(int *)arg;
}

static int call_result;

static void call_tracing_inside(sysfast_frame *f, sysfast_trace_what what)
{
	int seven = 7;

	if (what != SYSFAST_TRACE_CALL || f == &inner)
		return;
	call_result = sysfast_call_tracing(traced_body, &seven);
	assert_error(sysfast_OverflowError, "from fn");
	assert_false(sysfast_tracing_active());
}

static void test_call_tracing_traces_fn_and_returns_its_result_and_error(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	inner = frame("inner");
	cfg.also = call_tracing_inside;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(call_result, 7);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	/* call f, then (from inside, resumed) call inner: inner's caller is f
	 * and the current frame follows the callback. */
	assert_int_equal(n_events, 2);
	expect(0, 'T', SYSFAST_TRACE_CALL, &f);
	expect(1, 'T', SYSFAST_TRACE_CALL, &inner);
	assert_ptr_equal(inner.back, &f);
	assert_ptr_equal(events[0].current, &f);
	assert_ptr_equal(events[1].current, &inner);
	/* Outside a tracer, call_tracing just calls. */
	call_result = 0;
	assert_int_equal(sysfast_call_tracing(traced_body, &(int){3}), 3);
	assert_error(sysfast_OverflowError, "from fn");
}

static void test_frame_current_is_the_innermost_frame_inside_callbacks_and_out(void **state)
{
	sysfast_frame a = frame("a"), f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_null(sysfast_frame_current());
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_ptr_equal(sysfast_frame_current(), &f);
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	assert_int_equal(sysfast_frame_c_call(&f, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(n_events, 6);
	for (int i = 0; i < n_events; i++)
		assert_ptr_equal(events[i].current, &f);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
	assert_no_error();
}

/* A tracer that the runtime runs as code of its own enters frames: inside
 * them the current frame is theirs, as sys._getframe() in a Python
 * tracer is the tracer's frame, and their caller is the traced frame. */
static sysfast_frame tracer_frame;
static const sysfast_frame *current_in_tracer_frame, *current_after_tracer_frame;

static void enter_tracer_frame(sysfast_frame *f, sysfast_trace_what what)
{
	if (what != SYSFAST_TRACE_CALL)
		return;
	sysfast_frame_init(&tracer_frame, "tracer", "debugger.py", 1);
	assert_int_equal(sysfast_frame_enter(&tracer_frame), 0);
	assert_ptr_equal(tracer_frame.back, f);
	current_in_tracer_frame = sysfast_frame_current();
	assert_int_equal(sysfast_frame_leave(&tracer_frame, NULL), 0);
	current_after_tracer_frame = sysfast_frame_current();
}

static void test_frames_a_tracer_enters_are_current_inside_it(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.also = enter_tracer_frame;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_ptr_equal(current_in_tracer_frame, &tracer_frame);
	assert_ptr_equal(current_after_tracer_frame, &f);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	assert_int_equal(n_events, 1); /* the tracer's own frame is not traced */
}

/* A runtime that reports an event for a frame other than its innermost
 * one still gives the callback that frame as the current one. */
static void test_frame_current_in_a_callback_is_the_frame_it_was_called_for(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b");

	(void)state;
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_c_call(&a, NULL), 0);
	assert_int_equal(n_events, 1);
	expect(0, 'P', SYSFAST_TRACE_C_CALL, &a);
	assert_ptr_equal(events[0].current, &a);
	assert_ptr_equal(sysfast_frame_current(), &b);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
}

static void test_enter_links_each_frame_to_its_caller(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b"), c = frame("c");

	(void)state;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_null(a.back);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_ptr_equal(b.back, &a);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_int_equal(sysfast_frame_enter(&c), 0);
	assert_ptr_equal(c.back, &a);
	assert_int_equal(sysfast_frame_leave(&c, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_frame_stack_empty();
}

static void test_chain_is_kept_with_nothing_set(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b"), c = frame("c");

	(void)state;
	assert_false(sysfast_tracing_active());
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_null(a.back);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_ptr_equal(b.back, &a);
	assert_ptr_equal(sysfast_frame_current(), &b);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_frame_enter(&c), 0);
	assert_ptr_equal(c.back, &a);
	assert_int_equal(sysfast_frame_leave(&c, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
	assert_no_error();
}

static void test_clearing_and_setting_mid_frame_keeps_the_chain(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b"), c = frame("c");

	(void)state;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	/* Cleared inside b: b leaves unseen, and a is the innermost again;
	 * set again inside a: c's caller is a. */
	assert_int_equal(sysfast_setprofile(NULL, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&c), 0);
	assert_ptr_equal(c.back, &a);
	assert_int_equal(sysfast_frame_leave(&c, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
	/* a's return reached the profiler though its call was not seen. */
	assert_int_equal(n_events, 5);
	expect(4, 'P', SYSFAST_TRACE_RETURN, &a);
}

/* A debugger attaching: frames entered while nothing traced are the
 * callers of the first traced one, and the profiler gets their returns. */
static void test_tracer_set_while_frames_are_entered_sees_their_chain(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b"), c = frame("c");

	(void)state;
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&c), 0);
	assert_int_equal(n_events, 2);
	expect(0, 'T', SYSFAST_TRACE_CALL, &c);
	assert_ptr_equal(events[0].frame->back, &b);
	assert_ptr_equal(events[0].frame->back->back, &a);
	assert_null(events[0].frame->back->back->back);
	assert_int_equal(sysfast_frame_leave(&c, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	expect(3, 'P', SYSFAST_TRACE_RETURN, &b);
	assert_ptr_equal(events[3].current, &b);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
}

static void test_tracing_active_follows_setters_and_suspension(void **state)
{
	(void)state;
	assert_false(sysfast_tracing_active());
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_true(sysfast_tracing_active());
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_settrace(NULL, NULL), 0);
	assert_true(sysfast_tracing_active());
	assert_int_equal(sysfast_setprofile(NULL, NULL), 0);
	assert_false(sysfast_tracing_active());
}

/* Audit rule 7 through the public API: a tracer is not called for frames
 * entered inside a plain hook, and is inside a CANTRACE one. */
static sysfast_frame hook_frame;

static int entering_hook(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)id, (void)a, (void)u;
	if (strcmp(name, "t.enter"))
		return 0;
	hook_frame = frame("in hook");
	if (sysfast_frame_enter(&hook_frame) < 0)
		return -1;
	return sysfast_frame_leave(&hook_frame, NULL);
}

static void test_tracer_is_suspended_in_plain_hooks_only(void **state)
{
	const sysfast_hook_options cantrace = {SYSFAST_HOOK_CANTRACE, NULL, 0};
	sysfast_interp *sub;

	(void)state;
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, entering_hook, NULL, NULL), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_audit("t.enter", NULL), 0);
	assert_int_equal(n_events, 0);
	assert_int_equal(SYSFAST_AUDIT("t.enter"), 0);
	assert_int_equal(n_events, 0);

	/* A fresh interpreter with only the CANTRACE version. */
	sub = sysfast_interp_new();
	assert_non_null(sub);
	assert_non_null(sysfast_interp_enter(sub));
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, entering_hook, NULL, &cantrace), 0);
	assert_int_equal(sysfast_audit("t.enter", NULL), 0);
	assert_int_equal(n_events, 1);
	expect(0, 'T', SYSFAST_TRACE_CALL, &hook_frame);
	assert_int_equal(SYSFAST_AUDIT("t.enter"), 0);
	assert_int_equal(n_events, 2);
	assert_non_null(sysfast_interp_enter(sysfast_interp_main()));
	assert_int_equal(sysfast_interp_destroy(sub), 0);
}

/* The chain is the thread's, like its C stack: frames entered before
 * sysfast_fini are still entered after it, and after the next init. */
static void test_fini_keeps_the_threads_frame_chain(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b"), c = frame("c");

	(void)state;
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	sysfast_fini();
	assert_ptr_equal(sysfast_frame_current(), &b);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_init(), 0);
	assert_ptr_equal(sysfast_frame_current(), &a);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&c), 0);
	expect(n_events - 1, 'T', SYSFAST_TRACE_CALL, &c);
	assert_ptr_equal(c.back, &a);
	assert_int_equal(sysfast_frame_leave(&c, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
	assert_null(sysfast_frame_current());
}

static void test_fini_unsets_every_callback(void **state)
{
	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	sysfast_fini();
	assert_false(sysfast_tracing_active());
	assert_int_equal(sysfast_init(), 0);
	assert_null(sysfast_gettrace().fn);
	assert_null(sysfast_getprofile().fn);
}

/* ---- other threads ---- */

struct worker {
	pthread_t tid;
	pthread_barrier_t *ready, *go, *done;
	sysfast_interp *interp; /* NULL: the main one */
	sysfast_tracer seen_trace, seen_profile;
	bool active;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->interp)
		assert_non_null(sysfast_interp_enter(w->interp));
	else
		(void)sysfast_gettrace(); /* uses the library: set up and bound */
	pthread_barrier_wait(w->ready);
	pthread_barrier_wait(w->go);
	w->seen_trace = sysfast_gettrace();
	w->seen_profile = sysfast_getprofile();
	w->active = sysfast_tracing_active();
	if (w->interp)
		assert_non_null(sysfast_interp_enter(sysfast_interp_main()));
	pthread_barrier_wait(w->done);
	return NULL;
}

static void test_all_threads_setters_reach_every_thread_of_the_interpreter(void **state)
{
	pthread_barrier_t ready, go, done;
	struct worker w[2] = {0};
	sysfast_interp *sub = sysfast_interp_new();

	(void)state;
	assert_non_null(sub);
	pthread_barrier_init(&ready, NULL, 3);
	pthread_barrier_init(&go, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	w[1].interp = sub;
	for (int i = 0; i < 2; i++) {
		w[i].ready = &ready, w[i].go = &go, w[i].done = &done;
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	pthread_barrier_wait(&ready);
	assert_int_equal(sysfast_settrace_all_threads(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile_all_threads(profiler, &cfg), 0);
	/* One event per thread of the main interpreter: this one and w[0]. */
	assert_int_equal(n_settrace_events, 2);
	assert_int_equal(n_setprofile_events, 2);
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	assert_ptr_equal(sysfast_getprofile().fn, profiler);
	pthread_barrier_wait(&go);
	pthread_barrier_wait(&done);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
	assert_ptr_equal(w[0].seen_trace.fn, global_tracer);
	assert_ptr_equal(w[0].seen_trace.data, &n_events);
	assert_ptr_equal(w[0].seen_profile.fn, profiler);
	assert_true(w[0].active);
	assert_null(w[1].seen_trace.fn);
	assert_null(w[1].seen_profile.fn);
	assert_false(w[1].active);
	assert_int_equal(sysfast_interp_destroy(sub), 0);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&done);
}

static void *later_main(void *arg)
{
	struct worker *w = arg;

	w->seen_trace = sysfast_gettrace();
	w->active = sysfast_tracing_active();
	return NULL;
}

static void test_threads_started_later_have_no_tracer(void **state)
{
	struct worker w = {0};

	(void)state;
	assert_int_equal(sysfast_settrace_all_threads(global_tracer, &n_events), 0);
	assert_int_equal(pthread_create(&w.tid, NULL, later_main, &w), 0);
	assert_int_equal(pthread_join(w.tid, NULL), 0);
	assert_null(w.seen_trace.fn);
	assert_false(w.active);
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
}

static void test_all_threads_setter_refused_changes_nothing(void **state)
{
	(void)state;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	refuse_set = true;
	assert_int_equal(sysfast_settrace_all_threads(NULL, NULL), -1);
	assert_error(sysfast_PermissionError, "sys.settrace refused");
	assert_ptr_equal(sysfast_gettrace().fn, global_tracer);
	refuse_set = false;
	assert_int_equal(sysfast_settrace_all_threads(NULL, NULL), 0);
	assert_null(sysfast_gettrace().fn);
}

/* A debugger attaching to a running thread from another one. */
struct attach {
	pthread_barrier_t entered, set;
	sysfast_frame outer, inner;
	const sysfast_frame *seen_back, *seen_current;
	int calls;
};

static int attach_tracer(void *data, sysfast_frame *f, sysfast_trace_what what,
                         const sysfast_arg *arg)
{
	struct attach *a = data;

	(void)what, (void)arg;
	a->seen_back = f->back;
	a->seen_current = sysfast_frame_current();
	a->calls++;
	return 0;
}

static void *attach_main(void *arg)
{
	struct attach *a = arg;

	sysfast_frame_init(&a->outer, "outer", "t.py", 1);
	sysfast_frame_init(&a->inner, "inner", "t.py", 1);
	assert_non_null(sysfast_interp_current()); /* reached by the setter */
	assert_int_equal(sysfast_frame_enter(&a->outer), 0);
	pthread_barrier_wait(&a->entered);
	pthread_barrier_wait(&a->set);
	assert_int_equal(sysfast_frame_enter(&a->inner), 0);
	assert_int_equal(sysfast_frame_leave(&a->inner, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a->outer, NULL), 0);
	assert_null(sysfast_frame_current());
	return NULL;
}

static void test_all_threads_tracer_sees_the_chain_entered_before_it_was_set(void **state)
{
	struct attach a = {0};
	pthread_t tid;

	(void)state;
	pthread_barrier_init(&a.entered, NULL, 2);
	pthread_barrier_init(&a.set, NULL, 2);
	assert_int_equal(pthread_create(&tid, NULL, attach_main, &a), 0);
	pthread_barrier_wait(&a.entered);
	assert_int_equal(sysfast_settrace_all_threads(attach_tracer, &a), 0);
	pthread_barrier_wait(&a.set);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(sysfast_settrace_all_threads(NULL, NULL), 0);
	assert_int_equal(a.calls, 1);
	assert_ptr_equal(a.seen_back, &a.outer);
	assert_ptr_equal(a.seen_current, &a.inner);
	pthread_barrier_destroy(&a.entered);
	pthread_barrier_destroy(&a.set);
}

/* Under TSan: the all-threads setters write a thread's state while it
 * runs frame events and keeps its chain. */
#define STRESS_ROUNDS 2000

static int quiet(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	(void)f, (void)what, (void)arg;
	__atomic_fetch_add((long *)data, 1, __ATOMIC_RELAXED);
	return 0;
}

struct stress {
	pthread_barrier_t started;
	bool stop;
	long calls;
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;
	sysfast_frame outer, f;

	sysfast_frame_init(&outer, "main", "t.py", 1);
	sysfast_frame_init(&f, "loop", "t.py", 1);
	/* Frame events with nothing set do not set a thread up: bind it. */
	assert_non_null(sysfast_interp_current());
	assert_int_equal(sysfast_frame_enter(&outer), 0);
	pthread_barrier_wait(&s->started);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		assert_int_equal(sysfast_frame_enter(&f), 0);
		assert_ptr_equal(f.back, &outer);
		assert_int_equal(sysfast_frame_c_call(&f, NULL), 0);
		assert_ptr_equal(sysfast_frame_current(), &f);
		assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	}
	assert_ptr_equal(sysfast_frame_current(), &outer);
	assert_int_equal(sysfast_frame_leave(&outer, NULL), 0);
	return NULL;
}

static void test_all_threads_setters_race_with_frame_events(void **state)
{
	struct stress s = {.stop = false};
	pthread_t tid;
	long before;

	(void)state;
	pthread_barrier_init(&s.started, NULL, 2);
	assert_int_equal(pthread_create(&tid, NULL, stress_main, &s), 0);
	pthread_barrier_wait(&s.started);
	for (int i = 0; i < STRESS_ROUNDS; i++) {
		assert_int_equal(sysfast_setprofile_all_threads(quiet, &s.calls), 0);
		assert_int_equal(sysfast_settrace_all_threads(i & 1 ? quiet : NULL, &s.calls), 0);
		assert_int_equal(sysfast_setprofile_all_threads(NULL, NULL), 0);
	}
	/* Leave both set until the worker has seen them at least once. */
	assert_int_equal(sysfast_setprofile_all_threads(quiet, &s.calls), 0);
	before = __atomic_load_n(&s.calls, __ATOMIC_RELAXED);
	while (__atomic_load_n(&s.calls, __ATOMIC_RELAXED) == before)
		sched_yield();
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(sysfast_setprofile_all_threads(NULL, NULL), 0);
	assert_int_equal(sysfast_settrace_all_threads(NULL, NULL), 0);
	assert_true(s.calls > 0);
	pthread_barrier_destroy(&s.started);
}

/* ---- cost with nothing set ---- */

#define N_FRAMES 100000

/* ---- the local tracer's delivery off its usual case ---- */

/* The usual case of a local event (no error pending, no callback running,
 * the frame innermost) saves nothing; each way off it must still give
 * the callback its frame as the current one and keep the caller's error. */
static void test_line_for_a_frame_not_innermost_is_current_in_its_tracer(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_int_equal(sysfast_frame_line(&a, 5), 0);
	assert_int_equal(sysfast_frame_line(&b, 6), 0);
	assert_int_equal(n_events, 4);
	expect(2, 'L', SYSFAST_TRACE_LINE, &a);
	assert_ptr_equal(events[2].current, &a);
	assert_int_equal(events[2].lineno, 5);
	expect(3, 'L', SYSFAST_TRACE_LINE, &b);
	assert_ptr_equal(events[3].current, &b);
	assert_ptr_equal(sysfast_frame_current(), &b);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
}

static void test_line_with_an_error_pending_hides_it_and_keeps_it(void **state)
{
	sysfast_frame f = frame("f");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	f.trace_opcodes = true;
	assert_int_equal(sysfast_frame_opcode(&f, 4), 0);
	assert_int_equal(sysfast_frame_exception(&f, NULL), 0);
	assert_int_equal(n_events, 4);
	expect(1, 'L', SYSFAST_TRACE_LINE, &f);
	expect(2, 'L', SYSFAST_TRACE_OPCODE, &f);
	expect(3, 'L', SYSFAST_TRACE_EXCEPTION, &f);
	assert_false(cfg.saw_error);
	assert_error(sysfast_KeyboardInterrupt, "pending");
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
}

/* A profiler called for a frame that is not the innermost one (so `a` is
 * current, with b the chain's head) resumes tracing and reports a line of
 * b, the innermost frame: b's tracer must see b as current, not a. */
static sysfast_frame *line_frame;

static int report_line(void *arg)
{
	(void)arg;
	return sysfast_frame_line(line_frame, 9);
}

static void line_through_call_tracing(sysfast_frame *f, sysfast_trace_what what)
{
	(void)f;
	if (what == SYSFAST_TRACE_C_CALL)
		assert_int_equal(sysfast_call_tracing(report_line, NULL), 0);
}

static void test_line_inside_a_callback_for_another_frame_makes_its_frame_current(void **state)
{
	sysfast_frame a = frame("a"), b = frame("b");

	(void)state;
	cfg.set_local = true;
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_frame_enter(&a), 0);
	assert_int_equal(sysfast_frame_enter(&b), 0);
	assert_int_equal(sysfast_setprofile(profiler, &cfg), 0);
	line_frame = &b;
	cfg.also = line_through_call_tracing;
	assert_int_equal(sysfast_frame_c_call(&a, NULL), 0);
	cfg.also = NULL;
	/* call a, call b (tracer), c_call a (profiler), line b (b's tracer). */
	assert_int_equal(n_events, 4);
	expect(2, 'P', SYSFAST_TRACE_C_CALL, &a);
	assert_ptr_equal(events[2].current, &a);
	expect(3, 'L', SYSFAST_TRACE_LINE, &b);
	assert_ptr_equal(events[3].current, &b);
	assert_int_equal(b.lineno, 9);
	assert_ptr_equal(sysfast_frame_current(), &b);
	assert_int_equal(sysfast_frame_leave(&b, NULL), 0);
	assert_int_equal(sysfast_frame_leave(&a, NULL), 0);
}

static void test_local_tracer_breaking_the_rules_on_line_is_a_system_error(void **state)
{
	for (int zero = 0; zero < 2; zero++) {
		sysfast_frame f = frame("f");

		(void)state;
		assert_int_equal(fresh(NULL), 0);
		cfg.set_local = true;
		cfg.fail_who = 'L';
		cfg.fail_what = SYSFAST_TRACE_LINE;
		cfg.fail_without_error = !zero;
		cfg.zero_with_error = zero;
		assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
		assert_int_equal(sysfast_frame_enter(&f), 0);
		assert_int_equal(sysfast_frame_line(&f, 3), -1);
		if (zero)
			assert_error(
			    sysfast_SystemError,
			    "tracer returned 0 with an error set: ValueError: callback refused");
		else
			assert_error(sysfast_SystemError,
			             "tracer returned -1 without setting an error");
		assert_null(sysfast_gettrace().fn);
		assert_null(f.local.fn);
		assert_false(sysfast_tracing_active());
		assert_int_equal(n_settrace_events, 2);
		/* Nothing is called any more; the line is still stored. */
		assert_int_equal(sysfast_frame_line(&f, 4), 0);
		assert_int_equal(f.lineno, 4);
		assert_int_equal(n_events, 2);
		assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	}
}

/* The setters' events are built in (ids 5 and 6): raising them interns
 * nothing, and hooks get them by those ids and names. */
static sysfast_event_id set_event_ids[2];

static int record_set_ids(sysfast_event_id id, const char *name, const sysfast_args *a, void *u)
{
	(void)a, (void)u;
	if (!strcmp(name, "sys.settrace"))
		set_event_ids[0] = id;
	if (!strcmp(name, "sys.setprofile"))
		set_event_ids[1] = id;
	return 0;
}

static void test_setter_events_are_the_built_in_ids_5_and_6(void **state)
{
	size_t count = sysfast_event_count();

	(void)state;
	assert_int_equal(sysfast_event_find("sys.settrace"), 5);
	assert_int_equal(sysfast_event_find("sys.setprofile"), 6);
	assert_string_equal(sysfast_event_name(5), "sys.settrace");
	assert_string_equal(sysfast_event_name(6), "sys.setprofile");
	assert_int_equal(sysfast_add_audit_hook(record_set_ids, NULL), 0);
	assert_int_equal(sysfast_settrace(global_tracer, &n_events), 0);
	assert_int_equal(sysfast_setprofile(NULL, NULL), 0);
	assert_int_equal(sysfast_settrace_all_threads(NULL, NULL), 0);
	assert_int_equal(set_event_ids[0], 5);
	assert_int_equal(set_event_ids[1], 6);
	assert_int_equal(sysfast_event_count(), count);
}

/* With testutil's heap probe: see testutil.h. */
#ifdef TESTUTIL_HEAP_PROBE
static void test_frame_events_with_nothing_set_do_not_allocate(void **state)
{
	sysfast_frame f = frame("f");
	void *volatile p;

	(void)state;
	assert_true(testutil_heap_available());
	/* The probe sees heap use. */
	testutil_heap_start();
	p = malloc(64);
	free(p);
	assert_true(testutil_heap_stop() > 0);

	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	testutil_heap_start();
	for (int i = 0; i < N_FRAMES; i++) {
		assert_int_equal(sysfast_frame_enter(&f), 0);
		assert_int_equal(sysfast_frame_line(&f, i), 0);
		assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	}
	assert_int_equal(testutil_heap_stop(), 0);
	assert_false(sysfast_tracing_active());
	/* Nor before sysfast_init, where they keep the chain too. */
	sysfast_fini();
	testutil_heap_start();
	for (int i = 0; i < N_FRAMES; i++) {
		assert_int_equal(sysfast_frame_enter(&f), 0);
		assert_int_equal(sysfast_frame_line(&f, i), 0);
		assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	}
	assert_int_equal(testutil_heap_stop(), 0);
	assert_int_equal(sysfast_init(), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    /* First: no runtime has been set up in this process yet. */
	    cmocka_unit_test(test_seal_before_init_seals_the_process_at_once_and_for_good),
	    cmocka_unit_test_setup(test_what_numbers_are_cpythons, fresh),
	    cmocka_unit_test_setup(test_frame_init_sets_the_defaults, fresh),
	    cmocka_unit_test_setup(test_setters_getters_and_call_tracing_fail_before_init, fresh),
	    cmocka_unit_test_setup(test_frame_calls_keep_the_chain_and_call_nothing_before_init,
	                           fresh),
	    cmocka_unit_test_setup(test_null_frame_is_a_system_error_before_init, fresh),
	    cmocka_unit_test_setup(test_frames_entered_before_init_are_the_callers_of_traced_ones,
	                           fresh),
	    cmocka_unit_test_setup(test_null_frame_gives_value_error_everywhere, fresh),
	    cmocka_unit_test_setup(test_call_tracing_with_null_fn_gives_value_error, fresh),
	    cmocka_unit_test_setup(test_settrace_sets_and_gettrace_returns_it, fresh),
	    cmocka_unit_test_setup(test_setters_raise_their_event_also_when_clearing, fresh),
	    cmocka_unit_test_setup(test_refused_event_changes_nothing, fresh),
	    cmocka_unit_test_setup(test_call_goes_to_the_global_tracer_the_rest_to_the_local_one,
	                           fresh),
	    cmocka_unit_test_setup(test_without_a_local_tracer_only_call_is_traced, fresh),
	    cmocka_unit_test_setup(test_trace_lines_off_skips_line_events_but_stores_the_line,
	                           fresh),
	    cmocka_unit_test_setup(test_line_is_stored_with_nothing_set, fresh),
	    cmocka_unit_test_setup(test_opcode_events_only_with_trace_opcodes_and_offset_is_kept,
	                           fresh),
	    cmocka_unit_test_setup(test_tracer_runs_before_profiler_on_call_and_return, fresh),
	    cmocka_unit_test_setup(test_profiler_gets_only_call_return_and_c_events, fresh),
	    cmocka_unit_test_setup(test_local_tracer_is_called_only_while_a_global_one_is_set,
	                           fresh),
	    cmocka_unit_test_setup(test_c_events_do_nothing_without_a_profiler, fresh),
	    cmocka_unit_test_setup(test_tracer_failing_on_call_is_unset_and_frame_not_pushed,
	                           fresh),
	    cmocka_unit_test_setup(test_tracer_failing_on_line_is_unset_and_loses_the_local_tracer,
	                           fresh),
	    cmocka_unit_test_setup(test_failing_tracer_on_return_still_pops_and_skips_profiler,
	                           fresh),
	    cmocka_unit_test_setup(test_failing_profiler_is_unset_and_tracer_kept, fresh),
	    cmocka_unit_test_setup(test_failing_profiler_on_call_does_not_push, fresh),
	    cmocka_unit_test_setup(test_minus_one_without_error_is_a_system_error, fresh),
	    cmocka_unit_test_setup(test_zero_with_an_error_counts_as_failure, fresh),
	    cmocka_unit_test_setup(
	        test_unset_refused_by_a_hook_keeps_the_tracer_and_gives_hooks_error, fresh),
	    cmocka_unit_test_setup(test_pending_error_is_hidden_from_callbacks_and_kept, fresh),
	    cmocka_unit_test_setup(test_nothing_called_from_a_tracer_is_traced, fresh),
	    cmocka_unit_test_setup(test_call_tracing_traces_fn_and_returns_its_result_and_error,
	                           fresh),
	    cmocka_unit_test_setup(
	        test_frame_current_is_the_innermost_frame_inside_callbacks_and_out, fresh),
	    cmocka_unit_test_setup(test_frames_a_tracer_enters_are_current_inside_it, fresh),
	    cmocka_unit_test_setup(test_frame_current_in_a_callback_is_the_frame_it_was_called_for,
	                           fresh),
	    cmocka_unit_test_setup(test_line_for_a_frame_not_innermost_is_current_in_its_tracer,
	                           fresh),
	    cmocka_unit_test_setup(test_line_with_an_error_pending_hides_it_and_keeps_it, fresh),
	    cmocka_unit_test_setup(
	        test_line_inside_a_callback_for_another_frame_makes_its_frame_current, fresh),
	    cmocka_unit_test_setup(test_local_tracer_breaking_the_rules_on_line_is_a_system_error,
	                           fresh),
	    cmocka_unit_test_setup(test_setter_events_are_the_built_in_ids_5_and_6, fresh),
	    cmocka_unit_test_setup(test_enter_links_each_frame_to_its_caller, fresh),
	    cmocka_unit_test_setup(test_chain_is_kept_with_nothing_set, fresh),
	    cmocka_unit_test_setup(test_clearing_and_setting_mid_frame_keeps_the_chain, fresh),
	    cmocka_unit_test_setup(test_tracer_set_while_frames_are_entered_sees_their_chain,
	                           fresh),
	    cmocka_unit_test_setup(test_tracing_active_follows_setters_and_suspension, fresh),
	    cmocka_unit_test_setup(test_tracer_is_suspended_in_plain_hooks_only, fresh),
	    cmocka_unit_test_setup(test_fini_keeps_the_threads_frame_chain, fresh),
	    cmocka_unit_test_setup(test_fini_unsets_every_callback, fresh),
	    cmocka_unit_test_setup(test_all_threads_setters_reach_every_thread_of_the_interpreter,
	                           fresh),
	    cmocka_unit_test_setup(test_threads_started_later_have_no_tracer, fresh),
	    cmocka_unit_test_setup(test_all_threads_setter_refused_changes_nothing, fresh),
	    cmocka_unit_test_setup(test_all_threads_tracer_sees_the_chain_entered_before_it_was_set,
	                           fresh),
	    cmocka_unit_test_setup(test_all_threads_setters_race_with_frame_events, fresh),
#ifdef TESTUTIL_HEAP_PROBE
	    cmocka_unit_test_setup(test_frame_events_with_nothing_set_do_not_allocate, fresh),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
