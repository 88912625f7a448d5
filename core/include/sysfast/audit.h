/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - audit events and hooks (PEP 578).
 *
 * Hooks are kept per interpreter and per event as immutable snapshots
 * published with RCU: a dispatch reads one snapshot pointer and calls the
 * hooks in it, without locks and without allocating. See
 * docs/architecture.md for the design and what each step costs.
 */
#ifndef SYSFAST_AUDIT_H
#define SYSFAST_AUDIT_H

#include <stdarg.h>
/* ssize_t: what the formats' "s#" lengths and 'n' values are. */
#include <sys/types.h>

#include <sysfast/args.h>
#include <sysfast/common.h>
#include <sysfast/error.h>
#include <sysfast/event.h>
#include <sysfast/runtime.h>

SYSFAST_BEGIN_DECLS

/* A hook. `name` is sysfast_event_name(event); `args` is never NULL and is
 * valid only during the call. Return 0 to continue, or -1 with an error set
 * to abort the audited operation (any other value counts as -1). A hook
 * that returns -1 without an error, or 0 with one, fails the call with
 * sysfast_SystemError. An error pending in the caller is hidden while hooks
 * run. Hooks may audit and add hooks themselves. */
typedef int (*sysfast_audit_hook)(sysfast_event_id event, const char *name,
                                  const sysfast_args *args, void *userdata);

/* Tracing and profiling stay on while this hook runs (CPython's
 * __cantrace__). Without it they are suspended on the thread. */
enum { SYSFAST_HOOK_CANTRACE = 1u << 0 };

/* Options for a hook. `events` NULL: every event. Otherwise `n_events`
 * patterns, each an exact event name or a prefix ending in one '*'
 * ("os.*" matches "os." and "os.chdir"; "*" matches every name). The
 * options and the strings are copied. */
typedef struct sysfast_hook_options {
	unsigned flags;
	const char *const *events;
	size_t n_events;
} sysfast_hook_options;

/* Adds a process-wide ("native") hook, like PySys_AddAuditHook. Works
 * before sysfast_init (no event is raised then; the hook is kept). Once
 * initialised, first raises "sys.addaudithook" (no arguments) through the
 * hooks already present in the caller's current interpreter: if one fails
 * it with a sysfast_RuntimeError (or subclass), the error is cleared, the
 * hook is not added and 1 is returned; any other error is returned as -1.
 * Returns 0 when added; -1 with sysfast_ValueError for a NULL fn,
 * sysfast_PermissionError once sealed, sysfast_MemoryError when out of
 * memory. Thread-safe; allocates; may be called from inside a hook. */
SYSFAST_API int sysfast_add_audit_hook(sysfast_audit_hook fn, void *userdata);

/* As sysfast_add_audit_hook, with options (NULL: none). A bad pattern (a
 * '*' anywhere but last, empty, over-long or invalid UTF-8, a NULL entry,
 * or events != NULL with n_events == 0) or a flag other than
 * SYSFAST_HOOK_CANTRACE gives sysfast_ValueError. */
SYSFAST_API int sysfast_add_audit_hook_ex(sysfast_audit_hook fn, void *userdata,
                                          const sysfast_hook_options *opts);

/* Adds a hook to one interpreter (NULL: the caller's current one), like
 * sys.addaudithook. "sys.addaudithook" is raised in the caller's current
 * interpreter, with the same rules and return values as above. Fails with
 * sysfast_SystemError before init, sysfast_ValueError for an interpreter
 * that is not live. */
SYSFAST_API int sysfast_interp_add_audit_hook(sysfast_interp *interp, sysfast_audit_hook fn,
                                              void *userdata, const sysfast_hook_options *opts);

/* Seals the hook lists for the life of the process: every later add
 * returns -1 with sysfast_PermissionError, without raising an event.
 * Sealing twice is fine; sysfast_fini/init do not lift it. Returns 0. */
SYSFAST_API int sysfast_audit_seal(void);

/* Raises `event` with arguments built from `format` (the Py_BuildValue
 * subset used by PySys_Audit; see args.h and docs/api.md, "Formats").
 * Returns 0 when every hook returned 0 (or none runs), -1 with the
 * failing hook's error. With no hook registered at all only `event` !=
 * NULL is checked (sysfast_ValueError). Otherwise an invalid name gives
 * sysfast_ValueError and a bad format sysfast_SystemError, and no hook is
 * called. An ordinary variadic function, never a macro, in C and C++:
 * the library remembers the event and format pointers it saw lately (per
 * thread, each confirmed against the text before use unless it lies in
 * the main program's read-only data), so a call with literals skips the
 * name lookup and the format check. Never allocates
 * once the thread has used the library and the name is known. */
SYSFAST_API int sysfast_audit(const char *event, const char *format, ...);
SYSFAST_API int sysfast_vaudit(const char *event, const char *format, va_list va);

/* Raises an interned event with a pre-built tuple (NULL: no arguments).
 * An unknown id gives sysfast_ValueError when any hook is registered.
 * Never allocates once the thread has used the library. */
SYSFAST_API int sysfast_audit_args(sysfast_event_id event, const sysfast_args *args);

/* True if a dispatch of `event` in the caller's current interpreter would
 * call at least one hook. False for unknown ids and before init. */
SYSFAST_API bool sysfast_audit_active(sysfast_event_id event);

/*
 * SYSFAST_AUDIT(name_literal, args...) - the call-site macro.
 *
 *     int rc = SYSFAST_AUDIT("os.chdir", SYSFAST_STR(path));
 *
 * The name must be a string literal (anything else does not compile):
 * the site keeps, in a static variable, where the library says whether
 * anyone listens to the event. When no hook exists at all the macro costs
 * one load and one predictable branch; when hooks exist but none listens
 * to this event in any interpreter, also the site's pointer and the
 * event's byte; otherwise it asks the library whether a hook listens in
 * the thread's interpreter and, if one does, builds the arguments and
 * calls the library to dispatch. The argument expressions are evaluated
 * only when some hook will run, so they must have no side effects the
 * caller relies on. The value is that of sysfast_audit_args(). Usable
 * from C and C++ (GNU statement expression).
 *
 * Defining SYSFAST_INLINE before including any libsysfast header gives
 * the inline form (<sysfast/static/audit.h>): the dispatch itself runs at
 * the call site. It is faster, and ties the program to this version's
 * internal layouts: such a program must be recompiled with each new
 * version of the library (docs/building.md, "Inline dispatch"). Both
 * forms behave identically.
 */
#define SYSFAST_AUDIT(name_literal, ...)                                                           \
	__extension__({                                                                            \
		(void)sizeof("" name_literal);                                                     \
		static const unsigned char *sysfast__listened = &sysfast__audit_unresolved;        \
		const unsigned char *sysfast__l;                                                   \
		int sysfast__rc = 0;                                                               \
		if (SYSFAST_UNLIKELY(__atomic_load_n(&sysfast__audit_enabled, __ATOMIC_RELAXED))   \
		    && __atomic_load_n(                                                            \
		        (sysfast__l = __atomic_load_n(&sysfast__listened, __ATOMIC_ACQUIRE)),      \
		        __ATOMIC_RELAXED)                                                          \
		    && ((sysfast__l != &sysfast__audit_unresolved                                  \
		         && __atomic_load_n(&sysfast__audit_exact, __ATOMIC_RELAXED))              \
		        || sysfast__audit_listens(&sysfast__listened, (name_literal)))) {          \
			__VA_OPT__(const sysfast_arg sysfast__av[] = {__VA_ARGS__};)               \
			const sysfast_args sysfast__aa = {                                         \
			    0 __VA_OPT__(+sizeof(sysfast__av) / sizeof(sysfast__av[0])),           \
			    __VA_OPT__(sysfast__av)};                                              \
			sysfast__rc =                                                              \
			    sysfast__audit_at(&sysfast__listened, (name_literal), &sysfast__aa);   \
		}                                                                                  \
		sysfast__rc;                                                                       \
	})

/*
 * What the macro above reaches in the library: not API, but ABI (a
 * compiled site holds them), listed in docs/building.md, "ABI and
 * soname".
 * sysfast__audit_enabled is nonzero while any hook is registered. A site
 * keeps a pointer to a byte that is nonzero when some hook may listen to
 * its event: first sysfast__audit_unresolved (always 1), then, once the
 * library has resolved the name, the event's byte in its process-wide
 * filter. sysfast__audit_listens resolves the name on the first call and
 * stores that pointer (release); it tells whether a hook would run in the
 * thread's interpreter (true for a bad name, which the dispatch reports),
 * so that the arguments are evaluated only then. While
 * sysfast__audit_exact is nonzero (no sub-interpreter since sysfast_init)
 * a resolved site's byte already tells that, and the site skips the call
 *. sysfast__audit_at
 * dispatches.
 */
SYSFAST_API extern unsigned sysfast__audit_enabled;
SYSFAST_API extern const unsigned char sysfast__audit_unresolved;
SYSFAST_API extern unsigned sysfast__audit_exact;
SYSFAST_API SYSFAST_NOPLT bool sysfast__audit_listens(const unsigned char **listened,
                                                      const char *name);
SYSFAST_API SYSFAST_NOPLT int sysfast__audit_at(const unsigned char **listened, const char *name,
                                                const sysfast_args *args);

SYSFAST_END_DECLS

#ifdef SYSFAST_INLINE
#include <sysfast/static/audit.h>
#endif

#endif /* SYSFAST_AUDIT_H */
