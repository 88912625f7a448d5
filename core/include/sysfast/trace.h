/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - tracing and profiling: the dispatch side of sys.settrace
 * and sys.setprofile (CPython 3.11 rules).
 *
 * A runtime that embeds libsysfast reports its frames and events with the
 * sysfast_frame_* calls; libsysfast calls the thread's tracer and profiler
 * as CPython would. State is per thread. Each thread keeps the chain of
 * the frames it has entered, whether or not anything traces, as CPython
 * keeps its frame stack: sysfast_frame_current() is its innermost frame,
 * like sys._getframe(), and a tracer set while frames are entered sees
 * their whole chain. While a tracer, a profiler or an audit hook without
 * SYSFAST_HOOK_CANTRACE runs, nothing is traced on that thread. See
 * docs/architecture.md, "Tracing and profiling".
 *
 * Before sysfast_init (and between sysfast_fini and the next init) the
 * sysfast_frame_* calls with a valid frame work: they keep the chain and
 * call nothing, as nothing can trace then. The setters, getters and
 * sysfast_call_tracing fail with sysfast_SystemError "sysfast is not
 * initialized", and so does any frame call given a NULL frame.
 */
#ifndef SYSFAST_TRACE_H
#define SYSFAST_TRACE_H

#include <sysfast/args.h>
#include <sysfast/audit.h>
#include <sysfast/common.h>

SYSFAST_BEGIN_DECLS

/* What happened; the same numbers as CPython's PyTrace_* constants. */
typedef enum sysfast_trace_what {
	SYSFAST_TRACE_CALL,
	SYSFAST_TRACE_EXCEPTION,
	SYSFAST_TRACE_LINE,
	SYSFAST_TRACE_RETURN,
	SYSFAST_TRACE_C_CALL,
	SYSFAST_TRACE_C_EXCEPTION,
	SYSFAST_TRACE_C_RETURN,
	SYSFAST_TRACE_OPCODE
} sysfast_trace_what;

typedef struct sysfast_frame sysfast_frame;

/* A tracer or profiler. `arg` is NULL for call, line and opcode, and for
 * return while unwinding; otherwise what the runtime passed (the return
 * value, the exception, the C function). Return 0, or -1 with an error
 * set: the tracer (profiler) is then unset and the sysfast_frame_* call
 * returns -1 with that error. -1 without an error, or 0 with one, fails
 * with sysfast_SystemError. An error pending in the runtime is hidden
 * while it runs. Nothing it calls is traced (see sysfast_call_tracing). */
typedef int (*sysfast_trace_fn)(void *data, sysfast_frame *frame, sysfast_trace_what what,
                                const sysfast_arg *arg);

typedef struct sysfast_tracer {
	sysfast_trace_fn fn; /* NULL: none */
	void *data;
} sysfast_tracer;

/* A frame, owned by the runtime (usually on its stack); libsysfast never
 * allocates one and keeps no pointer to it once it is left. */
struct sysfast_frame {
	/* The thread's innermost entered frame when this one was entered
	 * (its caller); NULL for the outermost. Set by sysfast_frame_enter. */
	sysfast_frame *back;
	const char *name, *filename;
	int lineno;
	bool trace_lines;     /* f_trace_lines, default true */
	bool trace_opcodes;   /* f_trace_opcodes, default false */
	sysfast_tracer local; /* f_trace: the local tracer, none by default */
	void *user;           /* the runtime's */
};

/* Initialises a frame: the names and line given, lines traced, opcodes
 * not, no local tracer, back and user NULL. A pure initialiser: it works
 * at any time, before sysfast_init too. A NULL f sets sysfast_ValueError
 * (sysfast_SystemError before sysfast_init). Never allocates. */
SYSFAST_API void sysfast_frame_init(sysfast_frame *f, const char *name, const char *filename,
                                    int lineno);

/* Sets the calling thread's tracer (sys.settrace); fn NULL clears it (data
 * is then ignored). First raises the audit event "sys.settrace" (no
 * arguments), also when clearing: if a hook fails it, nothing changes and
 * -1 is returned with the hook's error. Returns 0, or -1 with
 * sysfast_SystemError before sysfast_init. Thread-safe; allocates nothing
 * once the thread has used the library. */
SYSFAST_API int sysfast_settrace(sysfast_trace_fn fn, void *data);

/* As sysfast_settrace, for the profiler and "sys.setprofile". */
SYSFAST_API int sysfast_setprofile(sysfast_trace_fn fn, void *data);

/* The calling thread's tracer (profiler), exactly as set; {NULL, NULL}
 * when none. Before sysfast_init: {NULL, NULL} with sysfast_SystemError. */
SYSFAST_API sysfast_tracer sysfast_gettrace(void);
SYSFAST_API sysfast_tracer sysfast_getprofile(void);

/* Sets (fn NULL: clears) the tracer of every live thread that has used the
 * library and is bound to the caller's current interpreter, the caller
 * included. For each such thread the caller raises "sys.settrace" (no
 * arguments) and, if no hook fails it, sets that thread's tracer. A thread
 * whose event fails is left as it was and the others are still done; the
 * call then returns -1 with the first failure's error. Threads set up
 * after the call starts are not affected. Frame events made while
 * nothing is set do not count as using the library (they touch only the
 * thread's frame chain): a runtime should call, e.g.,
 * sysfast_interp_current() when it starts a thread that it wants these
 * setters to reach. Frames that a thread has entered stay entered: its
 * new tracer sees their chain. Returns 0 on success. A thread
 * may still be running a tracer it read before the call returned: keep
 * `data` valid until that cannot be the case. Takes the registry lock
 * (never while a hook runs); allocates nothing. */
SYSFAST_API int sysfast_settrace_all_threads(sysfast_trace_fn fn, void *data);

/* As sysfast_settrace_all_threads, for profilers and "sys.setprofile". */
SYSFAST_API int sysfast_setprofile_all_threads(sysfast_trace_fn fn, void *data);

/* Calls fn(arg) with tracing and profiling resumed on the calling thread
 * (sys.call_tracing): from inside a tracer, what fn runs is traced again.
 * Returns fn's result and leaves fn's error as it is. NULL fn gives -1
 * with sysfast_ValueError; before sysfast_init, sysfast_SystemError. */
SYSFAST_API int sysfast_call_tracing(int (*fn)(void *arg), void *arg);

/* Sets the frame's local tracer (frame.f_trace); fn NULL removes it. Meant
 * for a tracer handling `call` (or any later event of the frame). Local
 * tracers get line, exception, opcode and return, and only while the
 * thread has a global tracer. A pure setter: works at any time. A NULL f
 * sets sysfast_ValueError (sysfast_SystemError before sysfast_init). */
SYSFAST_API void sysfast_frame_set_local_tracer(sysfast_frame *f, sysfast_trace_fn fn, void *data);

/*
 * The runtime's side. Each call returns 0, or -1 when a tracer or profiler
 * failed (it was unset and its error is set). A NULL f gives -1 with
 * sysfast_ValueError (sysfast_SystemError before sysfast_init). With no
 * tracer and no profiler set on the thread, while tracing is suspended,
 * or before sysfast_init, they call nothing and return 0;
 * sysfast_frame_enter and _leave then cost one TLS load and a branch (two
 * and two while tracing is suspended) and the frame chain's push or pop. They never allocate. Call them on the thread
 * that runs the frame; report events for the thread's innermost frame,
 * and leave frames in the reverse order of entering them.
 */

/* A call: the frame starts. Always pushes it on the thread's frame chain
 * (f->back is the innermost entered frame, f becomes the innermost), then
 * calls the global tracer (which may set the local one), then the
 * profiler. On -1 the frame was not pushed (the chain is as before the
 * call): do not call sysfast_frame_leave for it. If the tracer fails the
 * profiler is not called. */
SYSFAST_API int sysfast_frame_enter(sysfast_frame *f);

/* The frame reached line `lineno`: always stored in f->lineno; the local
 * tracer gets `line` if f->trace_lines. */
SYSFAST_API int sysfast_frame_line(sysfast_frame *f, int lineno);

/* The frame is about to run the instruction at `offset`: always stored
 * for sysfast_frame_offset; the local tracer gets `opcode` if
 * f->trace_opcodes. */
SYSFAST_API int sysfast_frame_opcode(sysfast_frame *f, int offset);

/* The offset last given to sysfast_frame_opcode for f on the calling
 * thread, or -1 if none is remembered (none given since
 * sysfast_frame_init, or forgotten: the thread remembers a few frames at
 * a time). A NULL f gives -1 with sysfast_ValueError (sysfast_SystemError
 * before sysfast_init). */
SYSFAST_API int sysfast_frame_offset(const sysfast_frame *f);

/* An exception was raised in the frame; `exc` goes to the local tracer. */
SYSFAST_API int sysfast_frame_exception(sysfast_frame *f, const sysfast_arg *exc);

/* The frame returns `retval` (NULL while unwinding): the local tracer,
 * then the profiler, get `return`. Then always pops the frame (f->back
 * becomes the innermost again), even when a callback failed; if the
 * tracer fails the profiler is not called. */
SYSFAST_API int sysfast_frame_leave(sysfast_frame *f, const sysfast_arg *retval);

/* The frame calls, returned from, or got an exception from the C function
 * `func`: the profiler gets c_call, c_return, c_exception. */
SYSFAST_API int sysfast_frame_c_call(sysfast_frame *f, const sysfast_arg *func);
SYSFAST_API int sysfast_frame_c_return(sysfast_frame *f, const sysfast_arg *func);
SYSFAST_API int sysfast_frame_c_exception(sysfast_frame *f, const sysfast_arg *func);

/* The calling thread's innermost entered frame (sys._getframe()); NULL
 * when none. While a tracer or profiler runs, the frame it was called for
 * (the innermost such, when they nest through sysfast_call_tracing),
 * until it enters frames of its own. Works at any time, before
 * sysfast_init too (frames entered then are on the chain), and sets no
 * error. Never allocates. */
SYSFAST_API sysfast_frame *sysfast_frame_current(void);

/* True when the calling thread has a tracer or a profiler and tracing is
 * not suspended, i.e. when a sysfast_frame_* call may call one. One TLS
 * load when nothing is set, two otherwise. False before sysfast_init. */
SYSFAST_API bool sysfast_tracing_active(void);

SYSFAST_END_DECLS

#ifdef SYSFAST_INLINE
#include <sysfast/static/trace.h>
#endif

#endif /* SYSFAST_TRACE_H */
