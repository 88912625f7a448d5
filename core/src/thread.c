/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - per-thread state.
 *
 * A thread is set up on its first use of the library: it registers with
 * liburcu (read-side critical sections and call_rcu need that), joins the
 * list of threads, and arms a pthread key whose destructor undoes all of it
 * when the thread exits. Users never call anything for this. Set-up takes
 * the registry lock once and allocates nothing: the thread's state,
 * list link included, lives in its initial-exec TLS block.
 */
#include "internal.h"

__thread struct sysfast__thread sysfast__tls;
__thread struct sysfast__audit_thread sysfast__audit_tls;

CDS_LIST_HEAD(sysfast__threads);
uint64_t sysfast__thread_serial;

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_teardown(void *arg)
{
	struct sysfast__thread *t = arg;

	pthread_mutex_lock(&sysfast__lock);
	sysfast__thread_bind(t, NULL);
	cds_list_del(&t->link);
	pthread_mutex_unlock(&sysfast__lock);
	urcu_memb_unregister_thread();
	t->ready = false;
}

static void make_thread_key(void)
{
	/* Without the key, threads would still work; they would only stay
	 * registered with liburcu after exiting. Nothing to report. */
	(void)pthread_key_create(&thread_key, thread_teardown);
}

void sysfast__thread_setup(struct sysfast__thread *t)
{
	pthread_once(&thread_key_once, make_thread_key);
	urcu_memb_register_thread();
	t->hot = &sysfast__audit_tls;
	pthread_mutex_lock(&sysfast__lock);
	t->trace.serial = ++sysfast__thread_serial;
	cds_list_add(&t->link, &sysfast__threads);
	pthread_mutex_unlock(&sysfast__lock);
	(void)pthread_setspecific(thread_key, t);
	t->ready = true;
}

void sysfast__thread_bind(struct sysfast__thread *t, struct sysfast_interp *interp)
{
	struct sysfast_interp *old = __atomic_load_n(&t->interp, __ATOMIC_RELAXED);

	if (old)
		old->bound--;
	if (interp)
		interp->bound++;
	__atomic_store_n(&t->interp, interp, __ATOMIC_RELAXED);
	__atomic_store_n(&t->hot->view, interp ? interp->view : NULL, __ATOMIC_RELAXED);
}

struct sysfast_interp *sysfast__bind_main(struct sysfast__thread *t)
{
	struct sysfast_interp *interp = NULL;

	pthread_mutex_lock(&sysfast__lock);
	if (sysfast__initialized) {
		interp = cds_list_first_entry(&sysfast__interps, struct sysfast_interp, link);
		sysfast__thread_bind(t, interp);
	}
	pthread_mutex_unlock(&sysfast__lock);
	return interp;
}
