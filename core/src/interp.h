/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - interpreters and the threads bound to them (interp.c).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_INTERP_H
#define SYSFAST_INTERP_H

#include "data.h"

/* A list of hooks in the order they were added; under sysfast__lock. */
struct sysfast__hooklist {
	struct sysfast__hook **items;
	size_t n, cap;
};

struct sysfast_interp {
	/* What a dispatch reads, inline or not: the snapshot per event (see
	 * <sysfast/static/audit.h>). Mapped by sysfast__interp_audit_init;
	 * NULL before. */
	struct sysfast__audit_view *view;
	/* Everything below is under sysfast__lock. */
	struct cds_list_head link; /* on the live list */
	unsigned long bound;       /* threads bound to it */
	bool is_main;
	bool dying; /* being destroyed: no new bindings */
	struct sysfast__hooklist hooks;
	/* The snapshot shared by every event that no filtered hook matches
	 * (the unfiltered process-wide hooks, then the unfiltered own ones);
	 * NULL when there are none. */
	struct sysfast__hookvec *defvec;
};

/* The calling thread's interpreter, binding it to the main one on first
 * use; NULL when not initialised. */
struct sysfast_interp *sysfast__bind_main(struct sysfast__thread *t);
static inline struct sysfast_interp *sysfast__current_interp(struct sysfast__thread *t)
{
	struct sysfast_interp *interp = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	return SYSFAST_LIKELY(interp) ? interp : sysfast__bind_main(t);
}

/* The calling thread's interpreter, setting the thread up and binding it
 * on first use; NULL when not initialised. A bound thread is always set
 * up, so the common case is one TLS load and a branch. */
static inline struct sysfast_interp *sysfast__thread_interp(struct sysfast__thread **tp)
{
	struct sysfast__thread *t = &sysfast__tls;
	struct sysfast_interp *interp = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	*tp = t;
	if (SYSFAST_LIKELY(interp))
		return interp;
	return sysfast__bind_main(sysfast__thread_get());
}

/* Sets the thread's binding (NULL: none) and its fast-path pointer.
 * Call with sysfast__lock held. */
void sysfast__thread_bind(struct sysfast__thread *t, struct sysfast_interp *interp);

/* Every live interpreter, main first, under sysfast__lock. */
extern struct cds_list_head sysfast__interps;

/* The main interpreter: a static object that threads keep pointing at
 * across sysfast_fini and sysfast_init, which empty and refill it. */
extern struct sysfast_interp sysfast__main_interp;

/* True if `interp` is on the live list. Call with sysfast__lock held. */
bool sysfast__interp_is_live(const struct sysfast_interp *interp);

#endif /* SYSFAST_INTERP_H */
