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

#include <sysfast/args.h>
#include <sysfast/common.h>
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
 * or events != NULL with n_events == 0) gives sysfast_ValueError. */
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
 * subset used by PySys_Audit; see args.h and docs). Returns 0 when every
 * hook returned 0 (or none runs), -1 with the failing hook's error.
 * With no hook registered at all only `event` != NULL is checked
 * (sysfast_ValueError). Otherwise an invalid name gives sysfast_ValueError
 * and a bad format sysfast_SystemError, and no hook is called. Never
 * allocates once the thread has used the library and the name is known. */
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
 * The event id is cached in a static variable at the call site. When no
 * hook exists at all the macro costs one load and one predictable branch;
 * when hooks exist but none listens to this event in the thread's
 * interpreter, the cached id and two dependent loads (the thread's bitmap,
 * the word) and no call (after the first call at the site on each
 * thread, which resolves the name out of line). The argument expressions
 * are evaluated only when some hook will run, so they must have no side
 * effects the caller relies on. The value is that of sysfast_audit_args().
 * Usable from C and C++ (GNU statement expression).
 */
#define SYSFAST_AUDIT(name_literal, ...)                                                           \
	__extension__({                                                                            \
		static sysfast_event_id sysfast__site;                                             \
		int sysfast__rc = 0;                                                               \
		if (SYSFAST_UNLIKELY(__atomic_load_n(&sysfast__audit_enabled, __ATOMIC_RELAXED))   \
		    && sysfast__audit_listening(&sysfast__site, (name_literal))) {                 \
			const sysfast_arg sysfast__av[] = {SYSFAST_NONE(), ##__VA_ARGS__};         \
			const sysfast_args sysfast__aa = {                                         \
			    sizeof(sysfast__av) / sizeof(sysfast__av[0]) - 1, sysfast__av + 1};    \
			sysfast__rc =                                                              \
			    sysfast__audit_site(&sysfast__site, (name_literal), &sysfast__aa);     \
		}                                                                                  \
		sysfast__rc;                                                                       \
	})

/* ---- Internals of the fast path; not API, layout may change. ---- */

#define SYSFAST__SLOT_SHIFT 10
#define SYSFAST__SLOT_CHUNK (1u << SYSFAST__SLOT_SHIFT)
#define SYSFAST__SLOT_DIR ((SYSFAST_EVENT_ID_MAX >> SYSFAST__SLOT_SHIFT) + 1)

/* What the fast path reads of an interpreter: one bit per event id, set
 * exactly when some hook listens to that event there. Flat and never
 * moved while the interpreter lives (128 KiB of address space, touched
 * only where ids are), so the test below is two dependent loads (the
 * thread's pointer, the word) and needs no read-side critical section. */
#define SYSFAST__BITS_WORDS ((SYSFAST_EVENT_ID_MAX + 1u) / 64u)
struct sysfast__audit_bits {
	uint64_t word[SYSFAST__BITS_WORDS];
};

/* Nonzero while any hook is registered in the running runtime. */
SYSFAST_API extern unsigned sysfast__audit_enabled;
/* The calling thread's interpreter's bits; NULL until the thread is set up. */
SYSFAST_API extern __thread const struct sysfast__audit_bits *sysfast__audit_tls
    __attribute__((tls_model("initial-exec")));

SYSFAST_API SYSFAST_NOPLT int sysfast__audit_site(sysfast_event_id *site, const char *name,
                                                  const sysfast_args *args);
/* Out of line, for a thread not yet set up or an id not yet cached: sets
 * both up and tells whether a hook would run (true on a bad name, so that
 * the dispatch reports it). */
SYSFAST_API SYSFAST_NOPLT bool sysfast__audit_resolve(sysfast_event_id *site, const char *name);

static inline bool sysfast__audit_listening(sysfast_event_id *site, const char *name)
{
	const struct sysfast__audit_bits *bits =
	    __atomic_load_n(&sysfast__audit_tls, __ATOMIC_RELAXED);
	sysfast_event_id id = __atomic_load_n(site, __ATOMIC_RELAXED);

	if (SYSFAST_UNLIKELY(!bits || id == 0))
		return sysfast__audit_resolve(site, name);
	return (__atomic_load_n(&bits->word[id >> 6], __ATOMIC_RELAXED) >> (id & 63)) & 1;
}

SYSFAST_END_DECLS

#endif /* SYSFAST_AUDIT_H */
