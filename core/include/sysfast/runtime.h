/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the runtime, interpreters and threads.
 *
 * A process has one runtime (sysfast_init .. sysfast_fini) with a main
 * interpreter and any number of sub-interpreters. Each thread is bound to
 * one interpreter, the main one unless it called sysfast_interp_enter.
 * Threads need no registration: a thread is set up (registered with
 * liburcu, bound to the main interpreter) on its first use of the library
 * and torn down when it exits.
 *
 * The library may be linked or loaded with dlopen(), from any thread;
 * docs/building.md ("Loading libsysfast") says what each way costs.
 */
#ifndef SYSFAST_RUNTIME_H
#define SYSFAST_RUNTIME_H

#include <sysfast/common.h>

SYSFAST_BEGIN_DECLS

typedef struct sysfast_interp sysfast_interp;

/* Starts the runtime and creates the main interpreter. Idempotent: returns
 * 0 if already initialised. Process-wide audit hooks added before init are
 * kept. Returns -1 with sysfast_MemoryError if out of memory, or
 * sysfast_RuntimeError if called while sysfast_fini() runs. Thread-safe. */
SYSFAST_API int sysfast_init(void);

/* Finalises the runtime like Py_FinalizeEx: raises
 * "cpython.PyInterpreterState_Clear" in each live interpreter (errors from
 * hooks are cleared), drops interpreter hooks, raises
 * "cpython._PySys_ClearAuditHooks" to the process-wide hooks only, drops
 * them and destroys every interpreter. Afterwards audit calls return 0 and
 * call nothing, and sysfast_init() may start a fresh runtime. A no-op when
 * not initialised. No other thread may be using the library while it runs
 * (as with Py_FinalizeEx); threads bound to a sub-interpreter are rebound
 * to none. A pending error of the caller is kept. */
SYSFAST_API void sysfast_fini(void);

/* True between a successful sysfast_init() and the end of sysfast_fini(). */
SYSFAST_API bool sysfast_is_initialized(void);

/* True while sysfast_fini() runs. */
SYSFAST_API bool sysfast_is_finalizing(void);

/* The main interpreter, or NULL (no error) when not initialised. */
SYSFAST_API sysfast_interp *sysfast_interp_main(void);

/* Creates a sub-interpreter. First raises "cpython.PyInterpreterState_New"
 * (no arguments) in the caller's current interpreter; if a hook fails it,
 * returns NULL with the hook's error. NULL with sysfast_MemoryError if out
 * of memory, sysfast_SystemError if not initialised. Allocates. */
SYSFAST_API sysfast_interp *sysfast_interp_new(void);

/* Destroys a sub-interpreter: raises "cpython.PyInterpreterState_Clear" as
 * if from inside it (its hooks and the process-wide ones see it; their
 * errors are cleared), then drops its hooks and frees it once no dispatch
 * can still see it. Returns -1 with sysfast_ValueError for NULL, the main
 * interpreter or a pointer that is not a live interpreter, and
 * sysfast_RuntimeError "interpreter is in use" when some thread is bound to
 * it; those failures raise no event. */
SYSFAST_API int sysfast_interp_destroy(sysfast_interp *interp);

/* The calling thread's interpreter (the main one by default), or NULL (no
 * error) when not initialised. */
SYSFAST_API sysfast_interp *sysfast_interp_current(void);

/* Binds the calling thread to `interp` and returns the previous binding.
 * NULL with sysfast_ValueError for NULL or a pointer that is not a live
 * interpreter, sysfast_RuntimeError for one being destroyed; the binding is
 * then unchanged. */
SYSFAST_API sysfast_interp *sysfast_interp_enter(sysfast_interp *interp);

SYSFAST_END_DECLS

#endif /* SYSFAST_RUNTIME_H */
