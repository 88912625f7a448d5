/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - tracing and profiling (sys.settrace, sys.setprofile).
 *
 * Per thread: the frame chain, a tracer and a profiler. The chain is the
 * thread's own, like CPython's frame stack: sysfast_frame_enter links
 * every frame to the innermost one and _leave unlinks it, whether or not
 * anything traces, before sysfast_init and across sysfast_fini too. Its
 * head, sysfast__frame_top, is a thread-local pointer that only its
 * thread touches, so pushing and popping take no lock and trace.h does
 * them inline.
 *
 * The tracer and profiler are guarded by a small spinlock, as the
 * all-threads setters write them from other threads. The thread layer's
 * hot state (<sysfast/static/thread.h>) holds the suspension counter
 * that the audit dispatch already keeps (CPython's tstate->tracing) and
 * `trace_set`, which of tracer and profiler are set; "is there anything
 * to call?" is a test of both, through the thread layer's accessors. With
 * nothing to call, a frame event is that test and the chain's push or
 * pop.
 *
 * The events that go to the frame's local tracer (line, opcode,
 * exception, return) need no more than that test: whether a global
 * tracer is set is in `trace_set`, and the local tracer is in the frame. They are
 * delivered by sysfast__frame_local_event (<sysfast/static/trace.h>),
 * which the inline sysfast_frame_line runs too; `call` and the profiler's
 * events read the callbacks themselves.
 *
 * Memory ordering: `trace_set` is written with relaxed atomic stores under
 * the owner's spinlock, together with the tracer and profiler, and read by
 * the owner with a relaxed atomic load, outside the lock. A stale read
 * only delays the owner's view by an event or two. Whenever `trace_set`
 * says "set", the owner reads the tracer or profiler it calls as the reader of a
 * sequence lock (`seq`, odd while a writer is at work: retry if it was odd
 * or changed), so a pair (fn, data) is never torn and an event costs no
 * atomic read-modify-write to read them. See docs/architecture.md,
 * "Tracing and profiling".
 */
#include <sched.h>

#include <sysfast/static/trace.h>

#include "dispatch.h"

enum { TRACER = SYSFAST__TRACE_SET_TRACER, PROFILER = SYSFAST__TRACE_SET_PROFILER };

/* Tracing is active on the calling thread: trace.h's test (the counter
 * and the set bits), which the call sites inline too. */
static inline bool active(void)
{
	return sysfast__thread_trace_active();
}

bool sysfast_tracing_active(void)
{
	return active();
}

/* ---- the per-thread state ---- */

static void state_lock(struct sysfast__trace *s)
{
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED))
			sched_yield();
}

static void state_unlock(struct sysfast__trace *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

static sysfast_tracer *slot(struct sysfast__trace *s, unsigned which)
{
	return which == TRACER ? &s->tracer : &s->profiler;
}

/* Sets one of the callbacks of thread `t` (any thread, live: the caller
 * is `t` or holds sysfast__lock). */
static void state_set(struct sysfast__thread *t, unsigned which, sysfast_trace_fn fn, void *data)
{
	struct sysfast__trace *s = &t->trace;
	unsigned set, q;

	state_lock(s);
	/* The sequence lock's writer: odd, then the stores, then even. The
	 * release fence keeps the stores after the odd count. */
	q = s->seq;
	__atomic_store_n(&s->seq, q + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&slot(s, which)->fn, fn, __ATOMIC_RELAXED);
	__atomic_store_n(&slot(s, which)->data, fn ? data : NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, q + 2, __ATOMIC_RELEASE);
	set = (s->tracer.fn ? TRACER : 0) | (s->profiler.fn ? PROFILER : 0);
	sysfast__tracing_store_set(t->hot, set);
	state_unlock(s);
}

/* One of the calling thread's callbacks, never torn: the sequence lock's
 * reader. Writers hold the spinlock for a few stores, so a retry is rare
 * and short. */
static sysfast_tracer state_get(struct sysfast__thread *t, unsigned which)
{
	struct sysfast__trace *s = &t->trace;
	const sysfast_tracer *cell = slot(s, which);
	sysfast_tracer cb;
	unsigned q;

	for (;;) {
		q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		cb.fn = __atomic_load_n(&cell->fn, __ATOMIC_RELAXED);
		cb.data = __atomic_load_n(&cell->data, __ATOMIC_RELAXED);
		/* The loads above happen before the count is read again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(q & 1) && __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == q)
			return cb;
		sched_yield();
	}
}

void sysfast__trace_reset_all(void)
{
	struct sysfast__thread *it;

	cds_list_for_each_entry(it, &sysfast__threads, link) {
		state_set(it, TRACER, NULL, NULL);
		state_set(it, PROFILER, NULL, NULL);
	}
}

/* ---- setters ---- */

/* The audit event of a setter: built in (data.h), so raising it interns
 * nothing and cannot fail for want of memory. */
static int audit_setter(unsigned which)
{
	return sysfast_audit_args(which == TRACER ? SYSFAST__EV_SETTRACE : SYSFAST__EV_SETPROFILE,
	                          NULL);
}

/* settrace / setprofile on the calling thread, the audit event first. */
static int set_own(struct sysfast__thread *t, unsigned which, sysfast_trace_fn fn, void *data)
{
	if (audit_setter(which) < 0)
		return -1;
	state_set(t, which, fn, data);
	return 0;
}

int sysfast_settrace(sysfast_trace_fn fn, void *data)
{
	struct sysfast__thread *t = sysfast__thread_get();

	if (sysfast__check_initialized() < 0)
		return -1;
	return set_own(t, TRACER, fn, data);
}

int sysfast_setprofile(sysfast_trace_fn fn, void *data)
{
	struct sysfast__thread *t = sysfast__thread_get();

	if (sysfast__check_initialized() < 0)
		return -1;
	return set_own(t, PROFILER, fn, data);
}

static sysfast_tracer get_own(unsigned which)
{
	struct sysfast__thread *t = sysfast__thread_get();

	if (sysfast__check_initialized() < 0)
		return (sysfast_tracer){NULL, NULL};
	return state_get(t, which);
}

sysfast_tracer sysfast_gettrace(void)
{
	return get_own(TRACER);
}

sysfast_tracer sysfast_getprofile(void)
{
	return get_own(PROFILER);
}

/* The set-up thread bound to `interp` with the smallest serial in
 * (after, upto]; NULL when none. A thread not bound yet will be bound to
 * the main interpreter on its next use: it counts as bound there. Call
 * with sysfast__lock held. */
static struct sysfast__thread *next_thread(const struct sysfast_interp *interp, uint64_t after,
                                           uint64_t upto)
{
	const struct sysfast_interp *main_interp = sysfast_interp_main();
	struct sysfast__thread *it, *best = NULL;

	cds_list_for_each_entry(it, &sysfast__threads, link) {
		uint64_t serial = it->trace.serial;
		const struct sysfast_interp *bound = __atomic_load_n(&it->interp, __ATOMIC_RELAXED);

		if (!bound)
			bound = main_interp;
		if (serial <= after || serial > upto || bound != interp)
			continue;
		if (!best || serial < best->trace.serial)
			best = it;
	}
	return best;
}

/*
 * The all-threads setters. The registry lock cannot be held while hooks
 * run, and a thread may exit while its event is raised, so each step
 * finds its target again by serial, under the lock: a thread that exited
 * meanwhile is simply gone, and a new thread at the same TLS address has
 * a larger serial than any the call visits.
 */
static int set_all(unsigned which, sysfast_trace_fn fn, void *data)
{
	struct sysfast__thread *self = sysfast__thread_get();
	struct sysfast_interp *interp;
	struct sysfast__error first;
	uint64_t done = 0, upto;
	bool failed = false;

	if (sysfast__check_initialized() < 0)
		return -1;
	interp = sysfast__current_interp(self);
	if (!interp) {
		sysfast_err_set(sysfast_SystemError, "sysfast is not initialized");
		return -1;
	}
	pthread_mutex_lock(&sysfast__lock);
	upto = sysfast__thread_serial;
	pthread_mutex_unlock(&sysfast__lock);

	for (;;) {
		struct sysfast__thread *t;

		pthread_mutex_lock(&sysfast__lock);
		t = next_thread(interp, done, upto);
		pthread_mutex_unlock(&sysfast__lock);
		if (!t)
			break;
		done = t->trace.serial;
		if (audit_setter(which) < 0) {
			if (!failed)
				sysfast__err_save(&first);
			else
				sysfast_err_clear();
			failed = true;
			continue;
		}
		pthread_mutex_lock(&sysfast__lock);
		t = next_thread(interp, done - 1, done);
		if (t)
			state_set(t, which, fn, data);
		pthread_mutex_unlock(&sysfast__lock);
	}
	if (!failed)
		return 0;
	sysfast__err_restore(&first);
	return -1;
}

int sysfast_settrace_all_threads(sysfast_trace_fn fn, void *data)
{
	return set_all(TRACER, fn, data);
}

int sysfast_setprofile_all_threads(sysfast_trace_fn fn, void *data)
{
	return set_all(PROFILER, fn, data);
}

int sysfast_call_tracing(int (*fn)(void *arg), void *arg)
{
	struct sysfast__audit_thread *th;
	unsigned outer;
	int r;

	sysfast__thread_get();
	if (sysfast__check_initialized() < 0)
		return -1;
	if (!fn) {
		sysfast_err_set(sysfast_ValueError, "call_tracing: fn is NULL");
		return -1;
	}
	th = &sysfast__audit_tls;
	outer = sysfast__tracing_depth(th);
	sysfast__tracing_resume(th, 0);
	r = fn(arg);
	sysfast__tracing_resume(th, outer);
	return r;
}

/* ---- frames ---- */

__thread sysfast_frame *sysfast__frame_top;

/* A NULL frame: the one bad input of the frame calls. Before init it is
 * "everything else" of the contract's general rule. */
static __attribute__((noinline)) int bad_frame(void)
{
	if (sysfast__check_initialized() < 0)
		return -1;
	sysfast_err_set(sysfast_ValueError, "frame is NULL");
	return -1;
}

static unsigned offset_slot(const sysfast_frame *f)
{
	uintptr_t a = (uintptr_t)f;

	return (unsigned)((a >> 4) ^ (a >> 10)) & (SYSFAST__OFFSET_CACHE - 1);
}

static void offset_forget(const sysfast_frame *f)
{
	struct sysfast__trace *s = &sysfast__tls.trace;
	unsigned i = offset_slot(f);

	if (s->offsets[i].frame == f)
		s->offsets[i].frame = NULL;
}

void sysfast_frame_init(sysfast_frame *f, const char *name, const char *filename, int lineno)
{
	if (!f) {
		(void)bad_frame();
		return;
	}
	*f = (sysfast_frame){
	    .name = name, .filename = filename, .lineno = lineno, .trace_lines = true};
	/* A frame at the address of one left earlier has no offset yet. */
	offset_forget(f);
}

void sysfast_frame_set_local_tracer(sysfast_frame *f, sysfast_trace_fn fn, void *data)
{
	if (!f) {
		(void)bad_frame();
		return;
	}
	f->local = (sysfast_tracer){fn, fn ? data : NULL};
}

sysfast_frame *sysfast_frame_current(void)
{
	const struct sysfast__audit_thread *th = &sysfast__audit_tls;

	/* The frame whose callback runs, unless the callback has entered
	 * frames of its own since it started (a tracer the runtime runs as
	 * code of its own): then, as sys._getframe() in a tracer, theirs.
	 * `current` is NULL also while a callback runs for the innermost
	 * frame outside any other (invoke): the head is that frame. */
	if (th->current && sysfast__frame_top == th->current_top)
		return th->current;
	return sysfast__frame_top;
}

int sysfast_frame_offset(const sysfast_frame *f)
{
	struct sysfast__trace *s = &sysfast__tls.trace;
	unsigned i;

	if (!f)
		return bad_frame();
	i = offset_slot(f);
	return s->offsets[i].frame == f ? s->offsets[i].offset : -1;
}

/* A callback returned r, and r is not 0 or an error is set: -1, with the
 * callback's error, made a SystemError if it broke the rules. */
static __attribute__((noinline, cold)) int callback_failed(int r, const char *role)
{
	const sysfast_exc_type *err = sysfast__audit_tls.err;

	if (!err)
		sysfast_err_format(sysfast_SystemError, "%s returned %d without setting an error",
		                   role, r);
	else if (r == 0)
		sysfast_err_format(sysfast_SystemError, "%s returned 0 with an error set: %s: %s",
		                   role, err->name, sysfast__tls.err.msg);
	return -1;
}

/* invoke's general case: the caller's pending error hidden and kept on
 * success, f made current (and an outer callback's current frame kept),
 * the counter raised from wherever it is. */
static __attribute__((noinline)) int invoke_slow(sysfast_tracer cb, sysfast_frame *f,
                                                 sysfast_trace_what what, const sysfast_arg *arg,
                                                 const char *role)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	sysfast_frame *prev = th->current, *prev_top = th->current_top;
	unsigned outer = sysfast__tracing_depth(th);
	struct sysfast__error saved;
	bool pending = th->err != NULL;
	int r;

	if (pending)
		sysfast__err_save(&saved);
	th->current = f;
	th->current_top = sysfast__frame_top;
	sysfast__tracing_suspend(th, outer);
	r = cb.fn(cb.data, f, what, arg);
	sysfast__tracing_resume(th, outer);
	th->current = prev;
	th->current_top = prev_top;
	if (SYSFAST_LIKELY(r == 0 && !th->err)) {
		if (pending)
			sysfast__err_restore(&saved);
		return 0;
	}
	return callback_failed(r, role);
}

/* Calls one tracer or profiler for f: tracing suspended, the caller's
 * pending error hidden and kept on success, f current. Returns 0, or -1
 * with the callback's error (made a SystemError if it broke the rules).
 * Called only while tracing is active, so the counter is 0. The usual
 * case (no error pending, no callback running, f the innermost frame)
 * saves nothing: see sysfast__frame_local_event, which is this for the
 * local tracer. */
static inline int invoke(sysfast_tracer cb, sysfast_frame *f, sysfast_trace_what what,
                         const sysfast_arg *arg, const char *role)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	int r;

	if (SYSFAST_UNLIKELY((uintptr_t)th->err | (uintptr_t)th->current
	                     | ((uintptr_t)f ^ (uintptr_t)sysfast__frame_top)))
		return invoke_slow(cb, f, what, arg, role);
	sysfast__tracing_suspend(th, 0);
	r = cb.fn(cb.data, f, what, arg);
	sysfast__tracing_resume(th, 0);
	if (SYSFAST_UNLIKELY((uintptr_t)(unsigned)r | (uintptr_t)th->err))
		return callback_failed(r, role);
	return 0;
}

/* A failed callback is unset as sysfast_settrace(NULL) / _setprofile(NULL)
 * would do it, event included; the callback's error stays unless a hook
 * refuses the event (then the hook's error replaces it and the callback
 * stays set, as in CPython). A failing tracer loses f's local tracer. */
static __attribute__((noinline, cold)) int unset_failed(unsigned which, sysfast_frame *f)
{
	if (which == TRACER)
		f->local = (sysfast_tracer){NULL, NULL};
	(void)set_own(&sysfast__tls, which, NULL, NULL);
	return -1;
}

static int call_or_unset(unsigned which, sysfast_tracer cb, sysfast_frame *f,
                         sysfast_trace_what what, const sysfast_arg *arg)
{
	if (SYSFAST_LIKELY(!invoke(cb, f, what, arg, which == TRACER ? "tracer" : "profiler")))
		return 0;
	return unset_failed(which, f);
}

int sysfast__frame_local_slow(sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	if (SYSFAST_LIKELY(!invoke_slow(f->local, f, what, arg, "tracer")))
		return 0;
	return unset_failed(TRACER, f);
}

int sysfast__frame_local_failed(sysfast_frame *f, int r)
{
	(void)callback_failed(r, "tracer");
	return unset_failed(TRACER, f);
}

/* The tracer's part of `call`: the global tracer. */
static int trace_call(struct sysfast__thread *t, sysfast_frame *f)
{
	sysfast_tracer global;

	if (!(sysfast__thread_trace_set() & TRACER))
		return 0;
	global = state_get(t, TRACER);
	if (!global.fn)
		return 0;
	return call_or_unset(TRACER, global, f, SYSFAST_TRACE_CALL, NULL);
}

/* An event for f's local tracer, a tracer set and not suspended. Out of
 * line, and reached by a tail call: the frame calls' untraced paths then
 * save no registers. */
static __attribute__((noinline)) int local_event(sysfast_frame *f, sysfast_trace_what what,
                                                 const sysfast_arg *arg)
{
	return sysfast__frame_local_event(f, what, arg);
}

/* The tracer's part of every other event: the frame's local tracer, while
 * a global one is set (`trace_set` says so: the tracer itself is not read)
 * and tracing is not suspended. */
static inline int trace_local(sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	if (!sysfast__thread_tracer_active())
		return 0;
	return local_event(f, what, arg);
}

/* The profiler's part of an event. */
static int profile_part(struct sysfast__thread *t, sysfast_frame *f, sysfast_trace_what what,
                        const sysfast_arg *arg)
{
	sysfast_tracer prof;

	if (!(sysfast__thread_trace_set() & PROFILER))
		return 0;
	prof = state_get(t, PROFILER);
	if (!prof.fn)
		return 0;
	return call_or_unset(PROFILER, prof, f, what, arg);
}

/* The chain's push and pop: trace.h's inline paths do the same. */
static inline void push(sysfast_frame *f)
{
	f->back = sysfast__frame_top;
	sysfast__frame_top = f;
}

static inline void pop(const sysfast_frame *f)
{
	sysfast__frame_top = f->back;
}

static __attribute__((noinline)) int enter_slow(sysfast_frame *f)
{
	struct sysfast__thread *t = &sysfast__tls;

	if (!f)
		return bad_frame();
	/* Pushed first: the callbacks see f as the innermost frame and its
	 * callers through f->back. */
	push(f);
	if (trace_call(t, f) < 0 || profile_part(t, f, SYSFAST_TRACE_CALL, NULL) < 0) {
		pop(f);
		return -1;
	}
	return 0;
}

int sysfast_frame_enter(sysfast_frame *f)
{
	if (SYSFAST_LIKELY(f && !active())) {
		push(f);
		return 0;
	}
	return enter_slow(f);
}

static __attribute__((noinline)) int leave_slow(sysfast_frame *f, const sysfast_arg *retval)
{
	struct sysfast__thread *t = &sysfast__tls;
	int rc;

	if (!f)
		return bad_frame();
	rc = trace_local(f, SYSFAST_TRACE_RETURN, retval);
	if (rc == 0)
		rc = profile_part(t, f, SYSFAST_TRACE_RETURN, retval);
	pop(f);
	return rc;
}

int sysfast_frame_leave(sysfast_frame *f, const sysfast_arg *retval)
{
	if (SYSFAST_LIKELY(f && !active())) {
		pop(f);
		return 0;
	}
	return leave_slow(f, retval);
}

int sysfast_frame_line(sysfast_frame *f, int lineno)
{
	if (!f)
		return bad_frame();
	f->lineno = lineno;
	if (SYSFAST_LIKELY(!sysfast__thread_tracer_active()) || !f->trace_lines)
		return 0;
	return local_event(f, SYSFAST_TRACE_LINE, NULL);
}

int sysfast_frame_opcode(sysfast_frame *f, int offset)
{
	struct sysfast__trace *s = &sysfast__tls.trace;
	unsigned i;

	if (!f)
		return bad_frame();
	i = offset_slot(f);
	s->offsets[i].frame = f;
	s->offsets[i].offset = offset;
	if (SYSFAST_LIKELY(!sysfast__thread_tracer_active()) || !f->trace_opcodes)
		return 0;
	return local_event(f, SYSFAST_TRACE_OPCODE, NULL);
}

int sysfast_frame_exception(sysfast_frame *f, const sysfast_arg *exc)
{
	if (!f)
		return bad_frame();
	return trace_local(f, SYSFAST_TRACE_EXCEPTION, exc);
}

static int c_event(sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *func)
{
	if (!f)
		return bad_frame();
	if (SYSFAST_LIKELY(!active()))
		return 0;
	return profile_part(&sysfast__tls, f, what, func);
}

int sysfast_frame_c_call(sysfast_frame *f, const sysfast_arg *func)
{
	return c_event(f, SYSFAST_TRACE_C_CALL, func);
}

int sysfast_frame_c_return(sysfast_frame *f, const sysfast_arg *func)
{
	return c_event(f, SYSFAST_TRACE_C_RETURN, func);
}

int sysfast_frame_c_exception(sysfast_frame *f, const sysfast_arg *func)
{
	return c_event(f, SYSFAST_TRACE_C_EXCEPTION, func);
}
