/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the live interpreters and the threads bound to them.
 *
 * Every live interpreter is on sysfast__interps (main first), under the
 * registry lock. A thread is bound to one interpreter, the main one on its
 * first use after sysfast_init; binding also points the thread's hot state
 * at the interpreter's audit view, which the dispatch reads. Creating and
 * destroying interpreters, which also concerns their hooks, is
 * runtime.c's.
 */
#include "interp.h"

CDS_LIST_HEAD(sysfast__interps);
struct sysfast_interp sysfast__main_interp;

/* A thread that exits leaves its interpreter. */
static void unbind_on_exit(struct sysfast__thread *t)
{
	sysfast__thread_bind(t, NULL);
}

void sysfast__thread_bind(struct sysfast__thread *t, struct sysfast_interp *interp)
{
	struct sysfast_interp *old = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	if (old)
		old->bound--;
	if (interp) {
		interp->bound++;
		sysfast__thread_on_exit(unbind_on_exit);
	}
	__atomic_store_n(&t->interp, interp, __ATOMIC_RELAXED);
	__atomic_store_n(&t->hot->view, interp ? interp->view : NULL, __ATOMIC_RELAXED);
}

struct sysfast_interp *sysfast__bind_main(struct sysfast__thread *t)
{
	struct sysfast_interp *interp = NULL;

	pthread_mutex_lock(&sysfast__lock);
	if (sysfast__initialized) {
		interp = &sysfast__main_interp;
		sysfast__thread_bind(t, interp);
	}
	pthread_mutex_unlock(&sysfast__lock);
	return interp;
}

bool sysfast__interp_is_live(const struct sysfast_interp *interp)
{
	struct sysfast_interp *it;

	cds_list_for_each_entry(it, &sysfast__interps, link)
		if (it == interp)
			return true;
	return false;
}

sysfast_interp *sysfast_interp_main(void)
{
	return sysfast__is_initialized() ? &sysfast__main_interp : NULL;
}

sysfast_interp *sysfast_interp_current(void)
{
	if (!sysfast__is_initialized())
		return NULL;
	return sysfast__current_interp(sysfast__thread_get());
}
