/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the runtime and its interpreters.
 *
 * One registry lock (sysfast__lock) serialises every change of shape: init
 * and fini, interpreters coming and going, threads binding, hooks being
 * added, new event names. Readers never take it, and it is never held while
 * a hook runs, so hooks may do anything, adding hooks and creating
 * interpreters included.
 *
 * The main interpreter is a static object: threads point at it from their
 * TLS and keep doing so across sysfast_fini and sysfast_init, which only
 * empty and refill it. Sub-interpreters are allocated and, once destroyed,
 * freed after an RCU grace period, as a dispatch may still be reading them.
 */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"

/* An interpreter with its rcu_head first, as sysfast__defer_free wants. */
struct interp_block {
	struct rcu_head rcu;
	struct sysfast_interp interp;
};

/* Interpreters come and go only outside sysfast_fini: its walk over them
 * must not see the list change under it (a hook may try). */
static int check_not_finalizing(const char *what)
{
	if (!__atomic_load_n(&sysfast__finalizing, __ATOMIC_ACQUIRE))
		return 0;
	sysfast_err_format(sysfast_RuntimeError, "%s while sysfast_fini runs", what);
	return -1;
}

int sysfast_init(void)
{
	int rc = 0;

	sysfast__thread_get();
	pthread_mutex_lock(&sysfast__lock);
	/* Checked first: while fini runs the runtime still looks initialised,
	 * but it will not be once fini returns. */
	if (sysfast__finalizing) {
		sysfast_err_set(sysfast_RuntimeError,
		                "sysfast_init called while sysfast_fini runs");
		rc = -1;
		goto out;
	}
	if (sysfast__initialized)
		goto out;
	/* liburcu creates its default call_rcu worker on the first call_rcu
	 * and aborts the process when it cannot (its allocation and its
	 * thread). Created here, no later call of ours can be that first
	 * one; a failure here still aborts, inside liburcu
	 * (docs/robustness.md). */
	(void)urcu_memb_get_default_call_rcu_data();
	if (sysfast__intern_init() < 0) {
		rc = -1;
		goto out;
	}
	/* Last of what can fail: it fails leaving nothing mapped, and a
	 * failure after it would have to unmap the view again. */
	memset(&sysfast__main_interp, 0, sizeof(sysfast__main_interp));
	sysfast__main_interp.is_main = true;
	if (sysfast__interp_audit_init(&sysfast__main_interp) < 0) {
		rc = -1;
		goto out;
	}
	cds_list_add(&sysfast__main_interp.link, &sysfast__interps);
	__atomic_store_n(&sysfast__initialized, true, __ATOMIC_RELEASE);
	sysfast__audit_update_enabled();
out:
	pthread_mutex_unlock(&sysfast__lock);
	return rc;
}

bool sysfast_is_initialized(void)
{
	return __atomic_load_n(&sysfast__initialized, __ATOMIC_ACQUIRE);
}

bool sysfast_is_finalizing(void)
{
	return __atomic_load_n(&sysfast__finalizing, __ATOMIC_ACQUIRE);
}

sysfast_interp *sysfast_interp_new(void)
{
	struct sysfast__thread *t = sysfast__thread_get();
	struct interp_block *b;

	if (sysfast__check_initialized() < 0
	    || check_not_finalizing("cannot create an interpreter"))
		return NULL;
	if (sysfast_audit_args(SYSFAST__EV_INTERP_NEW, NULL) < 0)
		return NULL;
	(void)t;
	b = sysfast__calloc(1, sizeof(*b));
	if (!b) {
		sysfast_err_set(sysfast_MemoryError, "out of memory creating an interpreter");
		return NULL;
	}
	pthread_mutex_lock(&sysfast__lock);
	if (!sysfast__initialized || sysfast__finalizing) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast__free(b);
		if (sysfast__check_initialized() == 0)
			check_not_finalizing("cannot create an interpreter");
		return NULL;
	}
	if (sysfast__interp_audit_init(&b->interp) < 0) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast__free(b);
		return NULL;
	}
	cds_list_add_tail(&b->interp.link, &sysfast__interps);
	pthread_mutex_unlock(&sysfast__lock);
	return &b->interp;
}

/* Unlinks and frees a sub-interpreter. Call with sysfast__lock held. */
static void interp_release(struct sysfast_interp *interp)
{
	struct interp_block *b = caa_container_of(interp, struct interp_block, interp);

	cds_list_del(&interp->link);
	sysfast__interp_audit_free(interp);
	sysfast__defer_free(&b->rcu);
}

int sysfast_interp_destroy(sysfast_interp *interp)
{
	sysfast__thread_get();
	if (sysfast__check_initialized() < 0)
		return -1;
	if (!interp) {
		sysfast_err_set(sysfast_ValueError, "interpreter is NULL");
		return -1;
	}
	pthread_mutex_lock(&sysfast__lock);
	if (sysfast__finalizing) {
		pthread_mutex_unlock(&sysfast__lock);
		return check_not_finalizing("cannot destroy an interpreter");
	}
	if (!sysfast__interp_is_live(interp) || interp->dying) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast_err_set(sysfast_ValueError, "not a live interpreter");
		return -1;
	}
	if (interp->is_main) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast_err_set(sysfast_ValueError, "cannot destroy the main interpreter");
		return -1;
	}
	if (interp->bound) {
		/* Read under the lock: threads enter and leave meanwhile. */
		unsigned long bound = interp->bound;

		pthread_mutex_unlock(&sysfast__lock);
		sysfast_err_format(sysfast_RuntimeError,
		                   "interpreter is in use (%lu thread%s bound to it)", bound,
		                   bound == 1 ? "" : "s");
		return -1;
	}
	/* From here on nobody may bind to it, and no second destroy starts. */
	interp->dying = true;
	pthread_mutex_unlock(&sysfast__lock);

	sysfast__audit_lifecycle(interp, SYSFAST__EV_INTERP_CLEAR);

	pthread_mutex_lock(&sysfast__lock);
	interp_release(interp);
	pthread_mutex_unlock(&sysfast__lock);
	return 0;
}

sysfast_interp *sysfast_interp_enter(sysfast_interp *interp)
{
	struct sysfast__thread *t = sysfast__thread_get();
	struct sysfast_interp *prev;

	if (sysfast__check_initialized() < 0)
		return NULL;
	if (!interp) {
		sysfast_err_set(sysfast_ValueError, "interpreter is NULL");
		return NULL;
	}
	prev = sysfast__current_interp(t);
	pthread_mutex_lock(&sysfast__lock);
	if (!sysfast__interp_is_live(interp)) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast_err_set(sysfast_ValueError, "not a live interpreter");
		return NULL;
	}
	if (interp->dying) {
		pthread_mutex_unlock(&sysfast__lock);
		sysfast_err_set(sysfast_RuntimeError, "interpreter is being destroyed");
		return NULL;
	}
	sysfast__thread_bind(t, interp);
	pthread_mutex_unlock(&sysfast__lock);
	return prev;
}

void sysfast_fini(void)
{
	struct sysfast__thread *t = sysfast__thread_get();
	struct sysfast_interp *interp, *tmp;
	struct sysfast__thread *it;
	struct sysfast__error saved;

	pthread_mutex_lock(&sysfast__lock);
	if (!sysfast__initialized || sysfast__finalizing) {
		pthread_mutex_unlock(&sysfast__lock);
		return;
	}
	__atomic_store_n(&sysfast__finalizing, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&sysfast__lock);

	sysfast__err_save(&saved);
	/* Like Py_FinalizeEx: each interpreter is cleared (sub-interpreters in
	 * creation order, the main one last), then its hooks go; the
	 * process-wide hooks see one last event and go too. Hooks cannot
	 * create or destroy interpreters meanwhile (check_not_finalizing), so
	 * the list keeps its shape. An interpreter whose destroy is under way
	 * (fini called from its Clear hook) is left to that destroy. */
	cds_list_for_each_entry_safe(interp, tmp, &sysfast__interps, link) {
		if (!interp->is_main && !interp->dying)
			sysfast__audit_lifecycle(interp, SYSFAST__EV_INTERP_CLEAR);
	}
	sysfast__audit_lifecycle(&sysfast__main_interp, SYSFAST__EV_INTERP_CLEAR);

	/* Dropped by clearing slots, not by building new snapshots: fini
	 * allocates nothing, so it finishes, and does all it promises,
	 * however short memory is. */
	pthread_mutex_lock(&sysfast__lock);
	sysfast__audit_drop_own_hooks();
	pthread_mutex_unlock(&sysfast__lock);

	sysfast__audit_clear_hooks_event(&sysfast__main_interp);

	pthread_mutex_lock(&sysfast__lock);
	sysfast__audit_drop_global();
	cds_list_for_each_entry(it, &sysfast__threads, link)
		sysfast__thread_bind(it, NULL);
	sysfast__trace_reset_all();
	cds_list_for_each_entry_safe(interp, tmp, &sysfast__interps, link) {
		if (interp->is_main) {
			cds_list_del(&interp->link);
			sysfast__interp_audit_free(interp);
		} else if (!interp->dying) {
			interp_release(interp);
		}
	}
	__atomic_store_n(&sysfast__initialized, false, __ATOMIC_RELEASE);
	__atomic_store_n(&sysfast__finalizing, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&sysfast__lock);
	sysfast__err_restore(&saved);
	(void)t;
}
