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
#include <string.h>

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
 * subset used by PySys_Audit; see args.h and docs). Returns 0 when every
 * hook returned 0 (or none runs), -1 with the failing hook's error.
 * With no hook registered at all only `event` != NULL is checked
 * (sysfast_ValueError). Otherwise an invalid name gives sysfast_ValueError
 * and a bad format sysfast_SystemError, and no hook is called. Never
 * allocates once the thread has used the library and the name is known. */
SYSFAST_API int sysfast_audit(const char *event, const char *format, ...);
SYSFAST_API int sysfast_vaudit(const char *event, const char *format, va_list va);

/*
 * In C, sysfast_audit is also a macro. When both `event` and `format` are
 * constants (string literals, or NULL), the call site evaluates its
 * arguments into variables of its own and keeps, in a static
 * variable, the event's id and what it learnt of the format, so later
 * calls skip the name lookup and the format check. When the format is one
 * code per argument ("(si)", "iOd": no '#', no 'c' or 'C', no separators
 * or inner tuples), the values are built and the hooks called right
 * there, as SYSFAST_AUDIT does. The call behaves as the function does:
 * the arguments are evaluated once, always, and every error is reported
 * on every call. Two differences, both where the function's behaviour is
 * undefined: a format that reads more arguments than the call passes
 * fails with sysfast_SystemError, and an argument of the wrong kind for
 * its code (an integer for 'd', a double for 'i') reads as 0 instead of
 * as whatever the function would find.
 *
 * A site binds on the first call that finds hooks registered, and only to
 * the event and format pointers it saw then: a site reached with other
 * pointers (a macro inside a static inline function inlined with
 * different literals) takes the general path for those. Each argument
 * must be a scalar (an integer, a floating-point value or a pointer), and
 * a site takes at most 64 arguments. The macro handles its arguments one
 * by one, so an argument with a comma outside parentheses (a compound
 * literal such as &(struct point){1, 2}) needs parentheses around it.
 *
 * The site is a static variable, so GCC warns in a non-static inline
 * function. There, or wherever the function itself is wanted, write
 * (sysfast_audit)(...), or define SYSFAST_NO_AUDIT_SITES before including
 * this header. &sysfast_audit is the function.
 */
#if !defined(__cplusplus) && !defined(SYSFAST_NO_AUDIT_SITES) && !defined(SYSFAST_BUILDING_LIBRARY)
#define sysfast_audit(event, ...)                                                                  \
	(__builtin_constant_p(event) && __builtin_constant_p(SYSFAST__FIRST(__VA_ARGS__, 0))       \
	     ? SYSFAST__FMT_SITE((event), __VA_ARGS__)                                             \
	     : (sysfast_audit)((event), __VA_ARGS__))
#define SYSFAST__FIRST(first, ...) first
#endif

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
 * The event id is cached in a static variable at the call site, so the
 * name must be a string literal (anything else does not compile). When no
 * hook exists at all the macro costs one load and one predictable branch;
 * when hooks exist but none listens to this event in any interpreter,
 * the cached id and the event's byte in a process-wide filter; when only
 * other interpreters listen, also the thread's view and the event's slot;
 * never a call (after the first call at the site on each thread, which
 * resolves the name out of line). The argument expressions
 * are evaluated only when some hook will run, so they must have no side
 * effects the caller relies on. The value is that of sysfast_audit_args().
 * Usable from C and C++ (GNU statement expression).
 *
 * In C, when hooks listen, the dispatch itself is inline at the call site
 * (like the kernel's tracepoints): one RCU read-side critical section
 * (liburcu's memb read lock, which liburcu keeps under LGPL's ten-line
 * limit for this use), one load of the event's snapshot, and the calls.
 * Anything unusual (an error pending, tracing suspended, a CANTRACE hook,
 * a failing hook) goes to the library. Define SYSFAST_NO_INLINE_DISPATCH
 * before including this header to always call the library instead; C++
 * always does (liburcu's thread-local reader state goes through a call
 * per access there). The two behave identically.
 */
#define SYSFAST_AUDIT(name_literal, ...)                                                           \
	__extension__({                                                                            \
		/* The name must be a string literal: the site caches its id. */                   \
		(void)sizeof("" name_literal);                                                     \
		static struct sysfast__site sysfast__site = SYSFAST__SITE_INIT;                    \
		sysfast_event_id sysfast__id;                                                      \
		int sysfast__rc = 0;                                                               \
		if (SYSFAST_UNLIKELY(__atomic_load_n(&sysfast__audit_enabled, __ATOMIC_RELAXED))   \
		    && (sysfast__id = sysfast__audit_listening(&sysfast__site, (name_literal)))) { \
			__VA_OPT__(const sysfast_arg sysfast__av[] = {__VA_ARGS__};)               \
			const sysfast_args sysfast__aa = {                                         \
			    0 __VA_OPT__(+sizeof(sysfast__av) / sizeof(sysfast__av[0])),           \
			    __VA_OPT__(sysfast__av)};                                              \
			sysfast__rc = sysfast__audit_fast(&sysfast__site, sysfast__id,             \
			                                  (name_literal), &sysfast__aa);           \
		}                                                                                  \
		sysfast__rc;                                                                       \
	})

/* ---- Internals of the fast path; not API, layout may change. ---- */

/* A call site's cache: the event's id, sysfast_event_name(id) and the
 * event's byte in the library's process-wide filter (nonzero once some
 * interpreter may have a hook for the event; cleared by sysfast_fini). Until the id
 * is known, `listened` points at a byte that is always 1, so that the
 * site goes on to resolve it. The name and the byte are stored before the
 * id, so a reader that sees the id (acquire) sees both. */
struct sysfast__site {
	sysfast_event_id id;
	const char *name;
	const unsigned char *listened;
};
SYSFAST_API extern const unsigned char sysfast__audit_unresolved;
#define SYSFAST__SITE_INIT                                                                         \
	{                                                                                          \
		0, 0, &sysfast__audit_unresolved                                                   \
	}

/* A sysfast_audit() call site (the macro above). `state` goes 0 (unbound)
 * -> 1 (one thread is binding it) -> 2 (bound: the other fields are set
 * and never change again). */
struct sysfast__fmt_site {
	unsigned state;
	/* The format is one simple code per argument: built at the site. */
	bool simple;
	struct sysfast__site site;
	const char *event;
	const char *format;
};

/* One argument of a sysfast_audit() call site, stored before anything
 * else happens: an integer or a pointer as its bits in `u`, a
 * floating-point value in `f`. */
struct sysfast__raw {
	unsigned long long u;
	double f;
};

/* sysfast_audit at a call site of the macro, reading raw[0..n_raw): every
 * call that the inline part below does not finish. */
SYSFAST_API SYSFAST_NOPLT int sysfast__audit_raw(struct sysfast__fmt_site *site, const char *event,
                                                 const char *format, const struct sysfast__raw *raw,
                                                 size_t n_raw);

/* One hook in a snapshot. */
struct sysfast__hook_entry {
	sysfast_audit_hook fn;
	void *userdata;
	unsigned flags;
};

/* An immutable snapshot of the hooks one event calls in one interpreter,
 * in order: e[0..n), then an entry whose fn is NULL. Published with
 * rcu_assign_pointer, freed after a grace period (the library keeps the
 * rcu_head in front of it). */
struct sysfast__hookvec {
	size_t n;
	bool any_cantrace; /* some entry has SYSFAST_HOOK_CANTRACE */
	struct sysfast__hook_entry e[];
};

/* What sysfast__audit_listening returns when a hook would run but the site
 * has no id yet (a bad name): the library's dispatch reports it. */
#define SYSFAST__ID_SLOW UINT32_MAX

/* What the fast path reads of an interpreter: the snapshot of each event
 * id, NULL when no hook listens to it there. One flat table indexed by id
 * (8 MiB of address space per interpreter, mapped lazily: only the pages
 * of ids in use are ever touched), so that "does anyone listen?" is one
 * load without a read-side critical section (the pointer is tested, not
 * followed), and the dispatch loads the same slot again inside one. */
struct sysfast__audit_view {
	struct sysfast__hookvec *slot[SYSFAST_EVENT_ID_MAX + 1];
};

/* What the fast path reads of the calling thread. */
struct sysfast__audit_thread {
	/* The bound interpreter's view; NULL until the thread is set up
	 * (registered with liburcu) and bound. */
	const struct sysfast__audit_view *view;
	/* The pending error's type (the error indicator); NULL when clear. */
	const sysfast_exc_type *err;
	/* >0 while tracing and profiling are suspended (inside a tracer, a
	 * profiler or a hook without SYSFAST_HOOK_CANTRACE). */
	unsigned tracing;
	/* Which of the thread's tracer (1) and profiler (2) are set. Right
	 * after `tracing`, 8-byte aligned with it, so that trace.c tells
	 * "set and not suspended" from one 64-bit load of both. Other
	 * threads write it too (the all-threads setters), atomically; the
	 * dispatch above never reads it. */
	unsigned trace_set;
};

/* Nonzero while any hook is registered in the running runtime. */
SYSFAST_API extern unsigned sysfast__audit_enabled;
SYSFAST_API extern __thread struct sysfast__audit_thread sysfast__audit_tls;

SYSFAST_API SYSFAST_NOPLT int sysfast__audit_site(struct sysfast__site *site, const char *name,
                                                  const sysfast_args *args);
/* Out of line, for a thread not yet set up or an id not yet cached: sets
 * both up and tells whether a hook would run (true on a bad name, so that
 * the dispatch reports it). */
SYSFAST_API SYSFAST_NOPLT bool sysfast__audit_resolve(struct sysfast__site *site, const char *name);
/* The inline dispatch's ways out, inside its read-side critical section;
 * both end it. _failed: a hook returned `r` != 0 or left an error; sets
 * the call's error, lifts the suspension and returns -1. _unlock_site:
 * the snapshot needs the library (none, or a CANTRACE hook); dispatches
 * there. */
SYSFAST_API SYSFAST_NOPLT int sysfast__audit_failed(int r, const char *name);
SYSFAST_API SYSFAST_NOPLT int
sysfast__audit_unlock_site(struct sysfast__site *site, const char *name, const sysfast_args *args);

/* The site's id when some hook listens to it in the thread's interpreter
 * (SYSFAST__ID_SLOW: ask the library), 0 when none does. */
static inline sysfast_event_id sysfast__audit_listening(struct sysfast__site *site,
                                                        const char *name)
{
	const struct sysfast__audit_view *view;
	sysfast_event_id id;

	/* Nobody, in any interpreter: the usual answer, with no thread-local
	 * access. */
	if (!__atomic_load_n(__atomic_load_n(&site->listened, __ATOMIC_RELAXED), __ATOMIC_RELAXED))
		return 0;
	id = __atomic_load_n(&site->id, __ATOMIC_ACQUIRE);
	view = __atomic_load_n(&sysfast__audit_tls.view, __ATOMIC_RELAXED);
	if (SYSFAST_UNLIKELY(!view || id == 0))
		return sysfast__audit_resolve(site, name) ? SYSFAST__ID_SLOW : 0;
	return __atomic_load_n(&view->slot[id], __ATOMIC_RELAXED) ? id : 0;
}

#if !defined(__cplusplus) && !defined(SYSFAST_NO_INLINE_DISPATCH)
#define SYSFAST__INLINE_DISPATCH 1
#endif

#ifdef SYSFAST__INLINE_DISPATCH
SYSFAST_END_DECLS
#include <urcu/static/urcu-memb.h>
SYSFAST_BEGIN_DECLS

#if defined(__SANITIZE_THREAD__)
#define SYSFAST__INLINE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SYSFAST__INLINE_TSAN 1
#endif
#endif
#ifdef SYSFAST__INLINE_TSAN
/* liburcu's read side is inline assembly that ThreadSanitizer cannot see:
 * tell it that the critical section ends before memory is reclaimed (the
 * library acquires this address before every free after a grace period). */
void __tsan_release(void *addr);
SYSFAST_API extern char sysfast__rcu_tsan_sync;
#define SYSFAST__TSAN_READ_END() __tsan_release(&sysfast__rcu_tsan_sync)
#else
#define SYSFAST__TSAN_READ_END() ((void)0)
#endif

/*
 * The dispatch, inline. The usual case - no error pending, tracing not
 * suspended, no CANTRACE hook, every hook returns 0 - runs here; every
 * other case is the library's, which behaves the same. The snapshot is
 * read once (rule 5) inside one read-side critical section, as in the
 * library's dispatch. The ways out leave the critical section in the
 * library, so that the call site has a single, inlined unlock.
 */
static inline __attribute__((always_inline)) int sysfast__audit_fast(struct sysfast__site *site,
                                                                     sysfast_event_id id,
                                                                     const char *name,
                                                                     const sysfast_args *args)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	/* The argument expressions ran since the check: look again. */
	const struct sysfast__audit_view *view = th->view;
	const char *ename;
	const struct sysfast__hookvec *vec;
	const struct sysfast__hook_entry *e;
	sysfast_audit_hook fn;

	/* An error pending or tracing suspended: one test for both. */
	if (SYSFAST_UNLIKELY(id == SYSFAST__ID_SLOW || !view
	                     || ((uintptr_t)th->err | (uintptr_t)th->tracing)))
		return sysfast__audit_site(site, name, args);
	ename = __atomic_load_n(&site->name, __ATOMIC_RELAXED);
	_urcu_memb_read_lock();
	vec = __atomic_load_n(&view->slot[id], __ATOMIC_CONSUME);
	if (SYSFAST_UNLIKELY(!vec || vec->any_cantrace))
		return sysfast__audit_unlock_site(site, name, args);
	th->tracing = 1;
	/* A published snapshot holds at least one hook (an event nobody
	 * listens to has a NULL slot), so the first is called unchecked. */
	e = vec->e;
	fn = e->fn;
	do {
		int r = fn(id, ename, args, e->userdata);

		/* Both ways a hook fails, in one branch. */
		if (SYSFAST_UNLIKELY((uintptr_t)(unsigned)r | (uintptr_t)th->err))
			return sysfast__audit_failed(r, ename);
		fn = (++e)->fn;
	} while (fn);
	th->tracing = 0;
	SYSFAST__TSAN_READ_END();
	_urcu_memb_read_unlock();
	return 0;
}
#else
static inline int sysfast__audit_fast(struct sysfast__site *site, sysfast_event_id id,
                                      const char *name, const sysfast_args *args)
{
	(void)id;
	return sysfast__audit_site(site, name, args);
}
#endif

/* strlen for the short strings of the hot paths (audit arguments), inline:
 * libc's goes through the PLT to an IFUNC-selected routine, an indirect
 * jump that on some machines costs more than the whole loop (on the
 * benchmark machine, 14 ns of a 47 ns call; docs/benchmarks.md). Past 32
 * bytes, libc's. */
static inline size_t sysfast__strlen(const char *s)
{
	/* A literal's length is a constant. */
	if (__builtin_constant_p(__builtin_strlen(s)))
		return __builtin_strlen(s);
	for (size_t n = 0; n < 32; n++)
		if (!s[n])
			return n;
	/* Again from the start: s + 32 would be out of bounds of any object
	 * shorter than that, which compilers warn about even where this line
	 * is never reached. */
	return strlen(s);
}

/*
 * The sysfast_audit() call site. Each argument becomes a struct
 * sysfast__raw variable of its own (SYSFAST__RAW): its bits, or its value
 * as a double. Only the branch of a _Generic that its type selects is
 * evaluated, and each argument appears as itself in exactly one selected
 * branch, so it is evaluated once (the comma keeps -Wbad-function-cast
 * quiet about a call that returns a pointer). Separate variables, not an
 * array, so that the compiler keeps them in registers: only the library
 * paths put them in an array, on their own branch.
 *
 * SYSFAST__EACH(op, args...) expands op(name, index, arg) for each
 * argument, with names sysfast__r_, sysfast__r__, ... and indexes 0,
 * 0 + 1, ...: constant expressions. It recurses: each step leaves the
 * next one behind an unexpanded SYSFAST__EACH_AGAIN, which one more scan
 * of SYSFAST__EXPAND turns into the step again. SYSFAST__EXPAND rescans
 * 64 times, hence at most 64 arguments (a longer list leaves
 * SYSFAST__EACH_AGAIN in the code and does not compile).
 */
#define SYSFAST__FMT_SITE(event, format, ...)                                                      \
	__extension__({                                                                            \
		static struct sysfast__fmt_site sysfast__fsite;                                    \
		const char *const sysfast__fmt = (format);                                         \
		SYSFAST__EACH(SYSFAST__RAW_DECL, __VA_ARGS__)                                      \
		enum { sysfast__n = SYSFAST__EACH(SYSFAST__ONE, __VA_ARGS__) 0 };                  \
		sysfast_arg sysfast__vals[sysfast__n + 1];                                         \
		int sysfast__next =                                                                \
		    sysfast__audit_fmt_begin(&sysfast__fsite, (event), sysfast__fmt);              \
		int sysfast__rc = 0;                                                               \
		if (sysfast__next == SYSFAST__FMT_BUILD                                            \
		    && (1 SYSFAST__EACH(SYSFAST__VALUE, __VA_ARGS__))) {                           \
			sysfast__rc = sysfast__audit_fmt_call(&sysfast__fsite, (event),            \
			                                      sysfast__vals, sysfast__n);          \
		} else if (sysfast__next != SYSFAST__FMT_DONE) {                                   \
			const struct sysfast__raw sysfast__rv[] = {                                \
			    SYSFAST__EACH(SYSFAST__RAW_NAME, __VA_ARGS__){0, 0}};                  \
			sysfast__rc = sysfast__audit_raw(&sysfast__fsite, (event), sysfast__fmt,   \
			                                 sysfast__rv, sysfast__n);                 \
		}                                                                                  \
		sysfast__rc;                                                                       \
	})
/* clang-format off */
#define SYSFAST__RAW(x) {SYSFAST__RAW_BITS(x), SYSFAST__RAW_FLOAT(x)}
#define SYSFAST__RAW_BITS(x)                                                                       \
	(unsigned long long)(__UINTPTR_TYPE__)_Generic((x),                                        \
		float: 0, double: 0, long double: 0, default: ((void)0, (x)))
#define SYSFAST__RAW_FLOAT(x)                                                                      \
	(double)_Generic((x), float: (x), double: (x), long double: (x), default: 0)
/* clang-format on */
/* The operations SYSFAST__FMT_SITE applies to each argument. */
#define SYSFAST__RAW_DECL(name, k, x) const struct sysfast__raw name = SYSFAST__RAW(x);
#define SYSFAST__RAW_NAME(name, k, x) name,
#define SYSFAST__ONE(name, k, x) 1 +
#define SYSFAST__VALUE(name, k, x)                                                                 \
	&&sysfast__fmt_value(sysfast__fmt, k, name, SYSFAST__IS_PTR(x), &sysfast__vals[k])
/* Whether an argument is a pointer (or an array or a function): a
 * constant; the argument is not evaluated. */
/* clang-format off */
#define SYSFAST__IS_PTR(x)                                                                         \
	_Generic((x), _Bool: 0, char: 0, signed char: 0, unsigned char: 0, short: 0,               \
		unsigned short: 0, int: 0, unsigned: 0, long: 0, unsigned long: 0, long long: 0,   \
		unsigned long long: 0, float: 0, double: 0, long double: 0, default: 1)
/* clang-format on */
/* SYSFAST__RAW applied to each argument, as initialisers: a raw array. */
#define SYSFAST__RAWS(...) SYSFAST__EACH(SYSFAST__RAW_INIT, __VA_ARGS__)
#define SYSFAST__RAW_INIT(name, k, x) SYSFAST__RAW(x),

#define SYSFAST__EACH(op, ...)                                                                     \
	__VA_OPT__(SYSFAST__EXPAND(SYSFAST__EACH_STEP(op, sysfast__r_, 0, __VA_ARGS__)))
#define SYSFAST__EACH_STEP(op, name, k, x, ...)                                                    \
	op(name, k, x)                                                                             \
	    __VA_OPT__(SYSFAST__EACH_AGAIN SYSFAST__PARENS(op, name##_, k + 1, __VA_ARGS__))
#define SYSFAST__EACH_AGAIN() SYSFAST__EACH_STEP
#define SYSFAST__PARENS ()
#define SYSFAST__EXPAND(...)                                                                       \
	SYSFAST__EXPAND16(SYSFAST__EXPAND16(SYSFAST__EXPAND16(SYSFAST__EXPAND16(__VA_ARGS__))))
#define SYSFAST__EXPAND16(...)                                                                     \
	SYSFAST__EXPAND4(SYSFAST__EXPAND4(SYSFAST__EXPAND4(SYSFAST__EXPAND4(__VA_ARGS__))))
#define SYSFAST__EXPAND4(...)                                                                      \
	SYSFAST__EXPAND1(SYSFAST__EXPAND1(SYSFAST__EXPAND1(SYSFAST__EXPAND1(__VA_ARGS__))))
#define SYSFAST__EXPAND1(...) __VA_ARGS__

/*
 * Value k of a simple format (struct sysfast__fmt_site) from the call
 * site's argument k, as the library's builder makes it (args.c). With a
 * literal format and a constant k, the switch folds to its one case.
 * False, building nothing, on a value the library must report ('O' or
 * 'S' with NULL), and for text from an argument that is not a pointer
 * (`is_ptr`, a constant at a call site): that call is wrong anyway, and
 * this keeps the compiler from following a constant integer as a string
 * in code that the site's binding makes dead.
 */
static inline __attribute__((always_inline)) bool sysfast__fmt_value(const char *format, size_t k,
                                                                     struct sysfast__raw raw,
                                                                     bool is_ptr, sysfast_arg *out)
{
	const char *codes = format ? format + (format[0] == '(') : "";
	unsigned long long u = raw.u;
	const void *ptr = (const void *)(__UINTPTR_TYPE__)u;

	/* Never past the format's end, even in code that the site's binding
	 * makes dead (the compiler cannot know). */
	if (!format || k >= __builtin_strlen(codes))
		return true;
	switch (codes[k]) {
	case 's':
	case 'z':
		if (!is_ptr)
			return false;
		*out = ptr ? SYSFAST_STRN((const char *)ptr, sysfast__strlen((const char *)ptr))
		           : SYSFAST_NONE();
		return true;
	case 'y':
		if (!is_ptr)
			return false;
		*out =
		    ptr ? SYSFAST_BYTES(ptr, sysfast__strlen((const char *)ptr)) : SYSFAST_NONE();
		return true;
	case 'l':
		*out = SYSFAST_INT((long)u);
		return true;
	case 'L':
		*out = SYSFAST_INT((long long)u);
		return true;
	case 'n':
		*out = SYSFAST_INT((long long)(__INTPTR_TYPE__)u);
		return true;
	case 'B':
	case 'H':
	case 'I':
		*out = SYSFAST_UINT((unsigned)u);
		return true;
	case 'k':
		*out = SYSFAST_UINT((unsigned long)u);
		return true;
	case 'K':
		*out = SYSFAST_UINT(u);
		return true;
	case 'd':
	case 'f':
		*out = SYSFAST_FLOAT(raw.f);
		return true;
	case 'p':
		*out = SYSFAST_BOOL((int)u != 0);
		return true;
	case 'P':
		*out = SYSFAST_PTR(ptr);
		return true;
	case 'O':
	case 'S':
		if (!ptr)
			return false;
		*out = SYSFAST_OBJ((const struct sysfast_object *)ptr);
		return true;
	default: /* 'b' 'h' 'i' */
		*out = SYSFAST_INT((int)u);
		return true;
	}
}

/* The values of a simple format, raw[0..n) to vals[0..n). */
static inline bool sysfast__fmt_values(const char *format, const struct sysfast__raw *raw, size_t n,
                                       sysfast_arg *vals)
{
	for (size_t k = 0; k < n; k++)
		if (!sysfast__fmt_value(format, k, raw[k], true, &vals[k]))
			return false;
	return true;
}

/* What a sysfast_audit() call site does next. */
enum {
	SYSFAST__FMT_DONE,   /* nothing: no hook listens */
	SYSFAST__FMT_BUILD,  /* build the values here and dispatch */
	SYSFAST__FMT_LIBRARY /* sysfast__audit_raw does it all */
};

/*
 * The usual case - hooks registered, the site bound to this event and a
 * simple format, the thread set up - is decided here; then, if some hook
 * listens, the site builds the values and calls sysfast__audit_fmt_call.
 * Every other case is sysfast__audit_raw's, which behaves the same.
 */
static inline __attribute__((always_inline)) int
sysfast__audit_fmt_begin(struct sysfast__fmt_site *site, const char *event, const char *format)
{
	const struct sysfast__audit_view *view;
	sysfast_event_id id;

	/* With no hook at all only the name is checked; it is a constant. */
	if (SYSFAST_LIKELY(!__atomic_load_n(&sysfast__audit_enabled, __ATOMIC_RELAXED)) && event)
		return SYSFAST__FMT_DONE;
	if (SYSFAST_UNLIKELY(__atomic_load_n(&site->state, __ATOMIC_ACQUIRE) != 2
	                     || site->event != event || site->format != format || !site->simple))
		return SYSFAST__FMT_LIBRARY;
	id = site->site.id;
	if (!__atomic_load_n(site->site.listened, __ATOMIC_RELAXED))
		return SYSFAST__FMT_DONE;
	view = __atomic_load_n(&sysfast__audit_tls.view, __ATOMIC_RELAXED);
	if (SYSFAST_UNLIKELY(!view))
		return SYSFAST__FMT_LIBRARY;
	if (!__atomic_load_n(&view->slot[id], __ATOMIC_RELAXED))
		return SYSFAST__FMT_DONE;
	return SYSFAST__FMT_BUILD;
}

static inline __attribute__((always_inline)) int
sysfast__audit_fmt_call(struct sysfast__fmt_site *site, const char *event, const sysfast_arg *vals,
                        size_t n)
{
	const sysfast_args args = {n, vals};

	return sysfast__audit_fast(&site->site, site->site.id, event, &args);
}

/* What SYSFAST__FMT_SITE does, for a raw array: the tests' way in. */
static inline int sysfast__audit_fmt(struct sysfast__fmt_site *site, const char *event,
                                     const char *format, const struct sysfast__raw *raw,
                                     size_t n_raw, sysfast_arg *vals)
{
	int next = sysfast__audit_fmt_begin(site, event, format);

	if (next == SYSFAST__FMT_BUILD && sysfast__fmt_values(format, raw, n_raw, vals))
		return sysfast__audit_fmt_call(site, event, vals, n_raw);
	if (next != SYSFAST__FMT_DONE)
		return sysfast__audit_raw(site, event, format, raw, n_raw);
	return 0;
}

SYSFAST_END_DECLS

#endif /* SYSFAST_AUDIT_H */
