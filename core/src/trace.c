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
 * all-threads setters write them from other threads. In
 * sysfast__audit_tls sit two 32-bit words side by side: the suspension
 * counter that the audit dispatch already keeps (CPython's
 * tstate->tracing) and `trace_set`, which of tracer and profiler are set.
 * "Is there anything to call?" is one 64-bit load of both: set bits and a
 * zero counter. With nothing to call, a frame event is that load and the
 * chain's push or pop; the audit dispatch, which only writes the counter,
 * is unchanged.
 *
 * Memory ordering: `trace_set` is written with relaxed atomic stores under
 * the owner's spinlock, together with the tracer and profiler, and read by
 * the owner with a relaxed atomic load, outside the lock. A stale read
 * only delays the owner's view by an event or two. Whenever the word says
 * "set", the owner reads the tracer and profiler as the reader of a
 * sequence lock (`seq`, odd while a writer is at work: retry if it was odd
 * or changed), so a pair (fn, data) is never torn and an event costs no
 * atomic read-modify-write to read them. See docs/architecture.md,
 * "Tracing and profiling".
 */
#include <sched.h>

#include "dispatch.h"

_Static_assert(offsetof(struct sysfast__audit_thread, trace_set)
                       == offsetof(struct sysfast__audit_thread, tracing) + sizeof(unsigned)
                   && offsetof(struct sysfast__audit_thread, tracing) % 8 == 0
                   && sizeof(unsigned) == 4,
               "tracing and trace_set must form one aligned 64-bit word");

enum { TRACER = 1u, PROFILER = 2u };

/* Tracing is active on the calling thread: trace.h's test (one load of
 * the counter and the set bits), which the call sites inline too. */
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
	__atomic_store_n(&t->hot->trace_set, set, __ATOMIC_RELAXED);
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

static const char *event_of(unsigned which)
{
	return which == TRACER ? "sys.settrace" : "sys.setprofile";
}

/* settrace / setprofile on the calling thread, the audit event first. */
static int set_own(struct sysfast__thread *t, unsigned which, sysfast_trace_fn fn, void *data)
{
	if (sysfast_audit(event_of(which), NULL) < 0)
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
		if (sysfast_audit(event_of(which), NULL) < 0) {
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
	outer = th->tracing;
	th->tracing = 0;
	r = fn(arg);
	th->tracing = outer;
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
	const struct sysfast__trace *s = &sysfast__tls.trace;

	/* The frame whose callback runs, unless the callback has entered
	 * frames of its own since it started (a tracer the runtime runs as
	 * code of its own): then, as sys._getframe() in a tracer, theirs. */
	if (s->current && sysfast__frame_top == s->current_top)
		return s->current;
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

/* Calls one tracer or profiler for f: tracing suspended, the caller's
 * pending error hidden and kept on success, f current. Returns 0, or -1
 * with the callback's error (made a SystemError if it broke the rules). */
static int invoke(struct sysfast__thread *t, sysfast_tracer cb, sysfast_frame *f,
                  sysfast_trace_what what, const sysfast_arg *arg, const char *role)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	struct sysfast__trace *s = &t->trace;
	sysfast_frame *prev = s->current, *prev_top = s->current_top;
	struct sysfast__error saved;
	bool pending = th->err != NULL;
	const sysfast_exc_type *err;
	int r;

	if (pending)
		sysfast__err_save(&saved);
	s->current = f;
	s->current_top = sysfast__frame_top;
	th->tracing++;
	r = cb.fn(cb.data, f, what, arg);
	th->tracing--;
	s->current = prev;
	s->current_top = prev_top;
	err = th->err;
	if (SYSFAST_LIKELY(r == 0 && !err)) {
		if (pending)
			sysfast__err_restore(&saved);
		return 0;
	}
	if (!err)
		sysfast_err_format(sysfast_SystemError, "%s returned %d without setting an error",
		                   role, r);
	else if (r == 0)
		sysfast_err_format(sysfast_SystemError, "%s returned 0 with an error set: %s: %s",
		                   role, err->name, sysfast__tls.err.msg);
	return -1;
}

/* A failed callback is unset as sysfast_settrace(NULL) / _setprofile(NULL)
 * would do it, event included; the callback's error stays unless a hook
 * refuses the event (then the hook's error replaces it and the callback
 * stays set, as in CPython). A failing tracer loses f's local tracer. */
static int call_or_unset(struct sysfast__thread *t, unsigned which, sysfast_tracer cb,
                         sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	if (SYSFAST_LIKELY(!invoke(t, cb, f, what, arg, which == TRACER ? "tracer" : "profiler")))
		return 0;
	if (which == TRACER)
		f->local = (sysfast_tracer){NULL, NULL};
	(void)set_own(t, which, NULL, NULL);
	return -1;
}

/* The tracer's part of an event: the global tracer on call, else the
 * frame's local tracer while a global one is set. */
static int trace_part(struct sysfast__thread *t, sysfast_frame *f, sysfast_trace_what what,
                      const sysfast_arg *arg)
{
	sysfast_tracer global = state_get(t, TRACER);

	if (!global.fn)
		return 0;
	if (what == SYSFAST_TRACE_CALL)
		return call_or_unset(t, TRACER, global, f, what, arg);
	if (!f->local.fn)
		return 0;
	return call_or_unset(t, TRACER, f->local, f, what, arg);
}

static int profile_part(struct sysfast__thread *t, sysfast_frame *f, sysfast_trace_what what,
                        const sysfast_arg *arg)
{
	sysfast_tracer prof = state_get(t, PROFILER);

	if (!prof.fn)
		return 0;
	return call_or_unset(t, PROFILER, prof, f, what, arg);
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
	if (trace_part(t, f, SYSFAST_TRACE_CALL, NULL) < 0
	    || profile_part(t, f, SYSFAST_TRACE_CALL, NULL) < 0) {
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
	rc = trace_part(t, f, SYSFAST_TRACE_RETURN, retval);
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
	if (SYSFAST_LIKELY(!active()) || !f->trace_lines)
		return 0;
	return trace_part(&sysfast__tls, f, SYSFAST_TRACE_LINE, NULL);
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
	if (SYSFAST_LIKELY(!active()) || !f->trace_opcodes)
		return 0;
	return trace_part(&sysfast__tls, f, SYSFAST_TRACE_OPCODE, NULL);
}

int sysfast_frame_exception(sysfast_frame *f, const sysfast_arg *exc)
{
	if (!f)
		return bad_frame();
	if (SYSFAST_LIKELY(!active()))
		return 0;
	return trace_part(&sysfast__tls, f, SYSFAST_TRACE_EXCEPTION, exc);
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
