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
 *
 * Also here, at the bottom of the library's layers, what every layer
 * above shares: the registry lock, the runtime's state flags (written by
 * runtime.c's init and fini) and the deferred free after an RCU grace
 * period.
 */
#include "thread.h"

__thread struct sysfast__thread sysfast__tls;
__thread struct sysfast__audit_thread sysfast__audit_tls;

pthread_mutex_t sysfast__lock = PTHREAD_MUTEX_INITIALIZER;
bool sysfast__initialized;
bool sysfast__finalizing;

#ifdef SYSFAST__TSAN
char sysfast__rcu_tsan_sync;
#endif

static void (*on_exit_fn)(struct sysfast__thread *t);

void sysfast__thread_on_exit(void (*fn)(struct sysfast__thread *t))
{
	on_exit_fn = fn;
}

CDS_LIST_HEAD(sysfast__threads);
uint64_t sysfast__thread_serial;

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_teardown(void *arg)
{
	struct sysfast__thread *t = arg;

	pthread_mutex_lock(&sysfast__lock);
	if (on_exit_fn)
		on_exit_fn(t);
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

static void free_after_grace_period(struct rcu_head *head)
{
#ifdef SYSFAST__TSAN
	__tsan_acquire(&sysfast__rcu_tsan_sync);
	__tsan_acquire(head);
#endif
	sysfast__free(head);
}

void sysfast__defer_free(struct rcu_head *head)
{
#ifdef SYSFAST__TSAN
	__tsan_release(head);
#endif
	urcu_memb_call_rcu(head, free_after_grace_period);
}
