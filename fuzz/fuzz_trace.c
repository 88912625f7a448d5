/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for tracing and profiling: streams of frame events
 * (enter, line, opcode, exception, leave, c_call, c_return, c_exception)
 * with a global tracer, a profiler and local tracers that fail at chosen
 * calls (with an error, without one, or returning 0 with one), set and
 * cleared between events and from inside callbacks, sys.call_tracing from
 * inside a callback with frames entered there, an audit hook that refuses
 * "sys.settrace"/"sys.setprofile", and a pending caller error.
 *
 * Every operation runs twice: first in a model of CPython 3.11's rules
 * (as API.md's "Tracing" states them), which writes the log of callback
 * calls it expects, then for real, whose callbacks write what they get.
 * The two logs (who was called, for which frame, with which event and
 * argument; the result and error of each frame call; whether tracing is
 * active where call_tracing resumes it) must be equal. Callbacks also
 * check that the caller's error is hidden, that sysfast_frame_current()
 * is their frame and that the frame chain is the harness's stack.
 *
 * The model: a frame call does nothing while nothing is set or tracing is
 * suspended (inside a callback, unless call_tracing resumed it). `call`
 * goes to the global tracer, then the profiler; line (if trace_lines),
 * opcode (if trace_opcodes) and exception to the frame's local tracer
 * while a global one is set; return to the local tracer, then the
 * profiler; c_* to the profiler. A failing callback stops the event,
 * unsets itself as settrace(NULL)/setprofile(NULL) would (a local tracer
 * unsets the global one), and a failing tracer also loses the frame's
 * local tracer; if the hook refuses the unset event, the callback stays
 * set and the hook's error is the call's. enter pushes before the
 * callbacks and pops again on failure; leave always pops.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

/* The callbacks: the global tracer, the profiler and two local tracers. */
enum { G, P, L0, L1, ACTORS, NONE = -1 };
#define TOP_FRAMES 12
#define NEST_MAX 2
#define FRAMES (TOP_FRAMES + NEST_MAX)
#define LOG_MAX 512

struct actor_config {
	unsigned fail_at, fail_kind; /* fail on call number fail_at (1-based) */
	unsigned install;            /* G on call: 0 none, 1 L0, 2 L1 as local */
	unsigned nest_at, nest_mode; /* on call nest_at: frames of its own */
	unsigned clear_at;           /* on call clear_at: clear the other one */
};

static struct actor_config config[ACTORS];
static const sysfast_exc_type *actor_error[ACTORS];

/* One thing that happened, as logged by the model or by the real run. */
enum { E_CALLBACK, E_RESULT, E_ACTIVE, E_CLEAR };
struct entry {
	int kind, actor, what, rc;
	const void *frame, *arg, *err;
};
struct log {
	struct entry e[LOG_MAX];
	size_t n;
	bool overflow;
};

static struct log mlog, rlog;

static void log_add(struct log *l, struct entry e)
{
	if (l->n < LOG_MAX)
		l->e[l->n++] = e;
	else
		l->overflow = true;
}

/* The frames: TOP_FRAMES for the input's own calls, one per nesting level
 * for frames that callbacks enter. */
static sysfast_frame frames[FRAMES];
static sysfast_arg retval_arg, exc_arg, func_arg;

/* The harness's stack of entered frames (the real chain must equal it). */
static sysfast_frame *stack[FRAMES + 1];
static size_t depth;

/* ---- the model ---- */

struct model {
	int tracer, profiler; /* G / P or NONE */
	int local[FRAMES];    /* each frame's local tracer, or NONE */
	unsigned suspended;
	unsigned calls[ACTORS];
	size_t stack[FRAMES + 1];
	size_t depth;
	unsigned nesting;
};

static struct model m;
static unsigned real_calls[ACTORS];
static unsigned real_nesting;
static bool refuse;  /* the hook refuses sys.settrace and sys.setprofile */
static bool pending; /* a caller error is pending at each frame call */

static size_t frame_index(const sysfast_frame *f)
{
	return (size_t)(f - frames);
}

static bool m_active(void)
{
	return (m.tracer != NONE || m.profiler != NONE) && m.suspended == 0;
}

/* settrace(NULL) / setprofile(NULL): 0, or -1 with PermissionError. */
static const sysfast_exc_type *m_unset(int which)
{
	if (refuse)
		return sysfast_PermissionError;
	if (which == G)
		m.tracer = NONE;
	else
		m.profiler = NONE;
	return NULL;
}

static int m_frame_op(unsigned op, size_t fi, bool entered_here);

/* What a callback decides on its `n`-th call. */
static bool decide(int actor, unsigned n, unsigned what_call, unsigned *install, bool *nest,
                   bool *clear)
{
	const struct actor_config *c = &config[actor];

	*install = actor == G && what_call ? c->install : 0;
	*nest = c->nest_at == n;
	*clear = c->clear_at == n;
	return c->fail_at == n;
}

static void m_nested(unsigned mode);

/* A callback of `actor` for frame fi: logs, acts, fails as configured.
 * Returns the error class it fails with, or NULL. */
static const sysfast_exc_type *m_callback(int actor, size_t fi, sysfast_trace_what what,
                                          const void *arg)
{
	unsigned install, n = ++m.calls[actor];
	bool nest, clear, fail;

	log_add(&mlog, (struct entry){E_CALLBACK, actor, what, 0, &frames[fi], arg, NULL});
	fail = decide(actor, n, what == SYSFAST_TRACE_CALL, &install, &nest, &clear);
	if (install)
		m.local[fi] = install == 1 ? L0 : L1;
	if (clear) {
		const sysfast_exc_type *err = m_unset(actor == G ? P : G);

		log_add(&mlog, (struct entry){E_CLEAR, actor, 0, err ? -1 : 0, NULL, NULL, err});
	}
	if (nest && m.nesting < NEST_MAX)
		m_nested(config[actor].nest_mode);
	if (!fail)
		return NULL;
	return config[actor].fail_kind == 0 ? actor_error[actor] : sysfast_SystemError;
}

/* Calls a callback with tracing suspended; on failure unsets it as the
 * library must. Returns the error class of the frame call, or NULL. */
static const sysfast_exc_type *m_invoke(int actor, size_t fi, sysfast_trace_what what,
                                        const void *arg)
{
	const sysfast_exc_type *err, *unset_err;
	bool tracer_role = actor != P;

	m.suspended++;
	err = m_callback(actor, fi, what, arg);
	m.suspended--;
	if (!err)
		return NULL;
	if (tracer_role)
		m.local[fi] = NONE;
	unset_err = m_unset(tracer_role ? G : P);
	return unset_err ? unset_err : err;
}

static const sysfast_exc_type *m_trace_part(size_t fi, sysfast_trace_what what, const void *arg)
{
	if (m.tracer == NONE)
		return NULL;
	if (what == SYSFAST_TRACE_CALL)
		return m_invoke(m.tracer, fi, what, arg);
	if (m.local[fi] == NONE)
		return NULL;
	return m_invoke(m.local[fi], fi, what, arg);
}

static const sysfast_exc_type *m_profile_part(size_t fi, sysfast_trace_what what, const void *arg)
{
	return m.profiler == NONE ? NULL : m_invoke(P, fi, what, arg);
}

/* The frame operations, shared by the model and the real run. */
enum {
	F_ENTER,
	F_LEAVE,
	F_UNWIND,
	F_LINE,
	F_OPCODE,
	F_EXCEPTION,
	F_C_CALL,
	F_C_RETURN,
	F_C_EXCEPTION,
	F_OPS
};

/* The model of one frame call on frame fi (F_ENTER pushes it). Logs the
 * result and returns it. */
static int m_frame_op(unsigned op, size_t fi, bool entered_here)
{
	const sysfast_exc_type *err = NULL;
	sysfast_frame *f = &frames[fi];
	bool active = m_active();

	(void)entered_here;
	switch (op) {
	case F_ENTER:
		m.stack[m.depth++] = fi;
		if (active && !(err = m_trace_part(fi, SYSFAST_TRACE_CALL, NULL)))
			err = m_profile_part(fi, SYSFAST_TRACE_CALL, NULL);
		if (err)
			m.depth--;
		break;
	case F_LEAVE:
	case F_UNWIND: {
		const void *arg = op == F_LEAVE ? &retval_arg : NULL;

		if (active && !(err = m_trace_part(fi, SYSFAST_TRACE_RETURN, arg)))
			err = m_profile_part(fi, SYSFAST_TRACE_RETURN, arg);
		m.depth--;
		break;
	}
	case F_LINE:
		if (active && f->trace_lines)
			err = m_trace_part(fi, SYSFAST_TRACE_LINE, NULL);
		break;
	case F_OPCODE:
		if (active && f->trace_opcodes)
			err = m_trace_part(fi, SYSFAST_TRACE_OPCODE, NULL);
		break;
	case F_EXCEPTION:
		if (active)
			err = m_trace_part(fi, SYSFAST_TRACE_EXCEPTION, &exc_arg);
		break;
	default:
		if (active)
			err = m_profile_part(fi,
			                     op == F_C_CALL     ? SYSFAST_TRACE_C_CALL
			                     : op == F_C_RETURN ? SYSFAST_TRACE_C_RETURN
			                                        : SYSFAST_TRACE_C_EXCEPTION,
			                     &func_arg);
		break;
	}
	log_add(&mlog, (struct entry){E_RESULT, NONE, (int)op, err ? -1 : 0, f, NULL, err});
	return err ? -1 : 0;
}

/* A callback's frames of its own: mode 0 enters, runs a line and leaves a
 * frame with tracing still suspended; mode 1 does it through
 * sysfast_call_tracing, which resumes tracing. */
static void m_nested(unsigned mode)
{
	size_t fi = TOP_FRAMES + m.nesting;
	unsigned saved = m.suspended;

	m.nesting++;
	m.local[fi] = NONE;
	if (mode)
		m.suspended = 0;
	log_add(&mlog, (struct entry){E_ACTIVE, NONE, 0, m_active(), NULL, NULL, NULL});
	if (m_frame_op(F_ENTER, fi, true) == 0) {
		m_frame_op(F_LINE, fi, true);
		m_frame_op(F_LEAVE, fi, true);
	}
	m.suspended = saved;
	m.nesting--;
}

/* ---- the real run ---- */

static void check_chain(void)
{
	const sysfast_frame *f = sysfast_frame_current();

	for (size_t i = depth; i-- > 0; f = f->back)
		CHECK(f == stack[i]);
	CHECK(f == NULL);
}

static int real_frame_op(unsigned op, sysfast_frame *f);

static int nested_body(void *arg)
{
	sysfast_frame *f = arg;

	log_add(&rlog,
	        (struct entry){E_ACTIVE, NONE, 0, sysfast_tracing_active(), NULL, NULL, NULL});
	sysfast_frame_init(f, "nested", "nested.py", 1);
	if (real_frame_op(F_ENTER, f) == 0) {
		real_frame_op(F_LINE, f);
		real_frame_op(F_LEAVE, f);
	}
	return 0;
}

static int actor_cb(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	int actor = (int)(intptr_t)data;
	unsigned install, n = ++real_calls[actor];
	bool nest, clear, fail;

	CHECK(!sysfast_err_occurred());
	CHECK(!sysfast_tracing_active());
	CHECK(sysfast_frame_current() == f && depth && stack[depth - 1] == f);
	check_chain();
	log_add(&rlog, (struct entry){E_CALLBACK, actor, what, 0, f, arg, NULL});
	fail = decide(actor, n, what == SYSFAST_TRACE_CALL, &install, &nest, &clear);
	if (install)
		sysfast_frame_set_local_tracer(f, actor_cb,
		                               (void *)(intptr_t)(install == 1 ? L0 : L1));
	if (clear) {
		int rc = actor == G ? sysfast_setprofile(NULL, NULL) : sysfast_settrace(NULL, NULL);

		log_add(&rlog,
		        (struct entry){E_CLEAR, actor, 0, rc, NULL, NULL, sysfast_err_occurred()});
		sysfast_err_clear();
	}
	if (nest && real_nesting < NEST_MAX) {
		sysfast_frame *nf = &frames[TOP_FRAMES + real_nesting];

		real_nesting++;
		if (config[actor].nest_mode)
			CHECK(sysfast_call_tracing(nested_body, nf) == 0);
		else
			nested_body(nf);
		real_nesting--;
		/* The callback's own frames are gone: its frame is current. */
		CHECK(sysfast_frame_current() == f);
	}
	if (!fail)
		return 0;
	switch (config[actor].fail_kind) {
	case 0:
		sysfast_err_set(actor_error[actor], "callback failed");
		return -1;
	case 1:
		return -1;
	default:
		sysfast_err_set(actor_error[actor], "callback lied");
		return 0;
	}
}

/* One real frame call, keeping the harness's stack; logs the result. */
static int real_frame_op(unsigned op, sysfast_frame *f)
{
	/* The runtime's error, at the input's own calls only: a callback
	 * must not return with one. */
	bool pend = pending && real_nesting == 0;
	int rc;

	if (pend)
		sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	switch (op) {
	case F_ENTER:
		stack[depth++] = f;
		rc = sysfast_frame_enter(f);
		if (rc == 0)
			CHECK(f->back == (depth > 1 ? stack[depth - 2] : NULL));
		else
			depth--;
		break;
	case F_LEAVE:
	case F_UNWIND:
		rc = sysfast_frame_leave(f, op == F_LEAVE ? &retval_arg : NULL);
		depth--;
		break;
	case F_LINE:
		rc = sysfast_frame_line(f, 42);
		CHECK(f->lineno == 42);
		break;
	case F_OPCODE:
		rc = sysfast_frame_opcode(f, 24);
		break;
	case F_EXCEPTION:
		rc = sysfast_frame_exception(f, &exc_arg);
		break;
	case F_C_CALL:
		rc = sysfast_frame_c_call(f, &func_arg);
		break;
	case F_C_RETURN:
		rc = sysfast_frame_c_return(f, &func_arg);
		break;
	default:
		rc = sysfast_frame_c_exception(f, &func_arg);
		break;
	}
	CHECK(rc == 0 || rc == -1);
	if (rc == 0 && pend)
		CHECK(sysfast_err_occurred() == sysfast_KeyboardInterrupt);
	if (rc == 0 && !pend)
		CHECK(!sysfast_err_occurred());
	log_add(&rlog, (struct entry){E_RESULT, NONE, (int)op, rc, f, NULL,
	                              rc ? sysfast_err_occurred() : NULL});
	sysfast_err_clear();
	CHECK(sysfast_frame_current() == (depth ? stack[depth - 1] : NULL));
	check_chain();
	return rc;
}

static void dump(const char *who, const struct log *l)
{
	fprintf(stderr, "%s log:\n", who);
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->e[i];

		fprintf(stderr, "  kind %d actor %d what %d rc %d frame %zd arg %p err %s\n",
		        e->kind, e->actor, e->what, e->rc,
		        e->frame ? (ssize_t)frame_index(e->frame) : (ssize_t)-1, e->arg,
		        e->err ? sysfast_exc_type_name(e->err) : "-");
	}
}

static void compare_logs(void)
{
	bool same = mlog.n == rlog.n && mlog.overflow == rlog.overflow;

	for (size_t i = 0; same && i < mlog.n; i++)
		same = !memcmp(&mlog.e[i], &rlog.e[i], sizeof(mlog.e[i]));
	if (!same) {
		dump("model", &mlog);
		dump("real", &rlog);
	}
	CHECK(same);
	CHECK(!memcmp(m.calls, real_calls, sizeof(real_calls)));
	mlog.n = rlog.n = 0;
	mlog.overflow = rlog.overflow = false;
}

/* ---- setters and the refusing hook ---- */

static int refusing_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id, (void)args, (void)ud;
	if (refuse && (!strcmp(name, "sys.settrace") || !strcmp(name, "sys.setprofile"))) {
		sysfast_err_set(sysfast_PermissionError, "refused");
		return -1;
	}
	return 0;
}

/* settrace / setprofile from the top level, or their all-threads forms
 * (this thread is the only one that uses the library, so they set its
 * own): with the model's prediction. */
static void op_set(int which, bool on, bool all)
{
	sysfast_trace_fn fn = on ? actor_cb : NULL;
	void *data = (void *)(intptr_t)which;
	int rc = which == G ? (all ? sysfast_settrace_all_threads : sysfast_settrace)(fn, data)
	                    : (all ? sysfast_setprofile_all_threads : sysfast_setprofile)(fn, data);
	sysfast_tracer now = which == G ? sysfast_gettrace() : sysfast_getprofile();
	int *slot = which == G ? &m.tracer : &m.profiler;

	if (refuse) {
		CHECK(rc == -1 && sysfast_err_occurred() == sysfast_PermissionError);
	} else {
		CHECK(rc == 0 && !sysfast_err_occurred());
		*slot = on ? which : NONE;
	}
	sysfast_err_clear();
	CHECK(now.fn == (*slot == NONE ? NULL : actor_cb));
	CHECK(now.data == (*slot == NONE ? NULL : data));
}

/* A NULL frame or function: -1 with ValueError, nothing called, the chain
 * as it was. */
static void op_bad_arguments(void)
{
	static const sysfast_arg a = {SYSFAST_ARG_NONE, 0, {0}};
	int (*const calls[])(sysfast_frame *, const sysfast_arg *) = {
	    sysfast_frame_exception, sysfast_frame_c_call, sysfast_frame_c_return,
	    sysfast_frame_c_exception, sysfast_frame_leave};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		CHECK(calls[i](NULL, &a) == -1 && sysfast_err_occurred() == sysfast_ValueError);
		sysfast_err_clear();
	}
	CHECK(sysfast_frame_enter(NULL) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_frame_line(NULL, 1) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_frame_opcode(NULL, 1) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_frame_offset(NULL) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_call_tracing(NULL, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	sysfast_frame_init(NULL, "f", "f.py", 1);
	CHECK(sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	sysfast_frame_set_local_tracer(NULL, actor_cb, NULL);
	CHECK(sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(mlog.n == 0 && rlog.n == 0);
	CHECK(sysfast_frame_current() == (depth ? stack[depth - 1] : NULL));
}

static void reset(void)
{
	refuse = false;
	pending = false;
	sysfast_err_clear();
	CHECK(sysfast_settrace(NULL, NULL) == 0 && sysfast_setprofile(NULL, NULL) == 0);
	/* With nothing set, leaving calls nothing and cannot fail. */
	while (depth) {
		sysfast_frame *f = stack[--depth];

		CHECK(sysfast_frame_leave(f, NULL) == 0);
	}
	CHECK(sysfast_frame_current() == NULL);
	memset(&m, 0, sizeof(m));
	m.tracer = m.profiler = NONE;
	for (size_t i = 0; i < FRAMES; i++)
		m.local[i] = NONE;
	memset(config, 0, sizeof(config));
	memset(real_calls, 0, sizeof(real_calls));
	mlog.n = rlog.n = 0;
	mlog.overflow = rlog.overflow = false;
}

static void frame_op(unsigned op, size_t fi)
{
	m_frame_op(op, fi, false);
	real_frame_op(op, &frames[fi]);
	compare_logs();
	if (op == F_OPCODE)
		CHECK(sysfast_frame_offset(&frames[fi]) == 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_input in = {data, data + size};

	if (!ready) {
		CHECK(sysfast_init() == 0);
		CHECK(sysfast_add_audit_hook(refusing_hook, NULL) == 0);
		actor_error[G] = sysfast_ValueError;
		actor_error[P] = sysfast_OSError;
		actor_error[L0] = sysfast_TypeError;
		actor_error[L1] = sysfast_ArithmeticError;
		retval_arg = SYSFAST_INT(7);
		exc_arg = SYSFAST_STR("ZeroDivisionError");
		func_arg = SYSFAST_STR("len");
		ready = true;
	}
	reset();
	while (fuzz_more(&in)) {
		unsigned op = fuzz_byte(&in), arg = op >> 4;
		size_t top = depth ? frame_index(stack[depth - 1]) : 0;

		switch (op & 15) {
		case 0: { /* enter a new frame: arg's bits are its line and opcode flags */
			size_t fi = depth;

			if (depth >= TOP_FRAMES
			    || (depth && frame_index(stack[depth - 1]) >= TOP_FRAMES))
				break;
			sysfast_frame_init(&frames[fi], "f", "f.py", 1);
			frames[fi].trace_lines = !(arg & 1);
			frames[fi].trace_opcodes = arg & 2;
			m.local[fi] = NONE;
			frame_op(F_ENTER, fi);
			break;
		}
		case 1:
		case 2:
		case 3:
		case 4:
		case 5:
		case 6:
		case 7:
		case 8:
			if (depth)
				frame_op(op & 15, top);
			break;
		case 9:
			op_set(G, arg & 1, arg & 2);
			break;
		case 10:
			op_set(P, arg & 1, arg & 2);
			break;
		case 11: { /* configure a callback */
			struct actor_config *c = &config[arg % ACTORS];

			c->fail_at = fuzz_byte(&in) % 8;
			c->fail_kind = fuzz_byte(&in) % 3;
			c->install = fuzz_byte(&in) % 3;
			c->nest_at = fuzz_byte(&in) % 8;
			c->nest_mode = fuzz_byte(&in) & 1;
			c->clear_at = fuzz_byte(&in) % 8;
			break;
		}
		case 12: /* a local tracer set by the runtime itself */
			if (depth) {
				int which = arg % 3 == 0 ? NONE : arg % 3 == 1 ? L0 : L1;

				sysfast_frame_set_local_tracer(&frames[top],
				                               which == NONE ? NULL : actor_cb,
				                               (void *)(intptr_t)which);
				m.local[top] = which;
			}
			break;
		case 13:
			refuse = arg & 1;
			break;
		case 14:
			if (arg & 2)
				op_bad_arguments();
			else
				pending = arg & 1;
			break;
		default: /* call_tracing from the top level */
			if (depth < TOP_FRAMES) {
				m_nested(1);
				m.nesting = 0;
				real_nesting = 1;
				CHECK(sysfast_call_tracing(nested_body, &frames[TOP_FRAMES]) == 0);
				real_nesting = 0;
				compare_logs();
			}
			break;
		}
	}
	reset();
	return 0;
}
