/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the inline form of SYSFAST_AUDIT. NOT API.
 *
 * Everything here may change in any release, without a soname change:
 * the layouts of the library's snapshots and thread state, and the inline
 * dispatch that reads them. A program gets it by defining SYSFAST_INLINE
 * before including any libsysfast header, and so promises to be
 * recompiled against each new version of the library, as liburcu's
 * _LGPL_SOURCE users do with liburcu's static headers. Without SYSFAST_INLINE, a
 * SYSFAST_AUDIT site only checks whether anyone listens and calls the
 * library (<sysfast/audit.h>), and none of this is compiled into the
 * program. Including this header directly gives the layouts (the tests
 * peek at the thread's state) without switching SYSFAST_AUDIT.
 */
#ifndef SYSFAST_STATIC_AUDIT_H
#define SYSFAST_STATIC_AUDIT_H

#include <sysfast/audit.h>
#include <sysfast/static/thread.h>

SYSFAST_BEGIN_DECLS

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
#define SYSFAST__SITE_INIT                                                                         \
	{                                                                                          \
		0, 0, &sysfast__audit_unresolved                                                   \
	}

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

#ifndef __cplusplus
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
 * read once (docs/api.md, "Dispatch") inside one read-side critical section, as in the
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
	                     || ((uintptr_t)th->err | (uintptr_t)sysfast__tracing_depth(th))))
		return sysfast__audit_site(site, name, args);
	ename = __atomic_load_n(&site->name, __ATOMIC_RELAXED);
	_urcu_memb_read_lock();
	vec = __atomic_load_n(&view->slot[id], __ATOMIC_CONSUME);
	if (SYSFAST_UNLIKELY(!vec || vec->any_cantrace))
		return sysfast__audit_unlock_site(site, name, args);
	sysfast__tracing_suspend(th, 0);
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
	sysfast__tracing_resume(th, 0);
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

#ifdef SYSFAST_INLINE
/*
 * SYSFAST_AUDIT, inline (see <sysfast/audit.h> for what it does). The
 * site caches the event's id and name as well as its filter byte; when a
 * hook listens, the dispatch runs here (in C; C++ calls the library, as
 * liburcu's thread-local reader state costs a call per access there).
 */
#undef SYSFAST_AUDIT
#define SYSFAST_AUDIT(name_literal, ...)                                                           \
	__extension__({                                                                            \
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
#endif

SYSFAST_END_DECLS

#endif /* SYSFAST_STATIC_AUDIT_H */
