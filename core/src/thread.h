/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - per-thread state, the registry lock, the runtime's
 * state flags and the RCU helpers (thread.c).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_THREAD_H
#define SYSFAST_THREAD_H

#include <pthread.h>

#include <urcu/list.h>
#include <urcu/urcu-memb.h>

#include <sysfast/error.h>
#include <sysfast/static/thread.h>
#include <sysfast/trace.h>

#include "base.h"

/* A thread's error message, kept here with the rest of the thread's
 * state; error.c owns what it means. The live indicator's type is
 * sysfast__audit_tls.err (the inline dispatch reads it); `type` here is
 * used only in saved copies (sysfast__err_save). */
struct sysfast__error {
	const sysfast_exc_type *type; /* NULL: clear */
	size_t len;
	char msg[SYSFAST_ERR_MSG_MAX + 1];
};

/* Entries of the per-thread name cache: a power of two. 64 covers the
 * call sites a thread keeps hitting (CPython raises about ten distinct
 * events in most of its audit traffic) for 512 bytes of TLS. */
#define SYSFAST__NAME_CACHE 64

/* Frames whose last opcode offset a thread remembers (trace.c): a power
 * of two. A tracer reads the offset of the frame it is called for, which
 * is nearly always the last one given; a few more slots keep the callers'
 * offsets across a call. */
#define SYSFAST__OFFSET_CACHE 8

/* A thread's tracing state (trace.c). `lock` guards tracer and profiler,
 * which other threads write (the all-threads setters, sysfast_fini); the
 * rest is the owning thread's alone. The frame chain is not here: its
 * head is sysfast__frame_top (trace.h), which trace.h's inline paths
 * reach and no other thread touches; nor is the frame a callback runs
 * for, which they read too (sysfast__audit_tls.current). */
struct sysfast__trace {
	unsigned char lock; /* a spinlock: held for a few stores at a time */
	/* Even when tracer and profiler are stable, odd while a writer (who
	 * holds `lock`) changes them: the owner reads them without the lock,
	 * as a sequence lock's reader. */
	unsigned seq;
	sysfast_tracer tracer, profiler;
	struct {
		const sysfast_frame *frame;
		int offset;
	} offsets[SYSFAST__OFFSET_CACHE];
	/* Unique per set-up (under sysfast__lock): tells a live thread from
	 * a later one at the same TLS address. */
	uint64_t serial;
};

/* Everything libsysfast keeps per thread, in initial-exec TLS. The error
 * indicator works without set-up; the rest is valid once `ready`. */
struct sysfast__thread {
	struct sysfast__error err;
	bool ready;
	/* Bound interpreter; NULL until the thread's first use after
	 * sysfast_init (sysfast_fini resets it). Read with relaxed atomics:
	 * sysfast_fini writes it from another thread. */
	struct sysfast_interp *interp;
	/* Names this thread resolved lately, by the name's address (see
	 * sysfast__name_cache_get). */
	const struct sysfast__event_node *name_cache[SYSFAST__NAME_CACHE];
	/* This thread's sysfast__audit_tls (the error type, the tracing
	 * counter and set bits, the frame a callback runs for and the interpreter's view),
	 * so that sysfast_fini can reset the view of other threads and the
	 * setters can write which callbacks another thread has. */
	struct sysfast__audit_thread *hot;
	struct sysfast__trace trace;
	/* On sysfast__threads, under sysfast__lock. */
	struct cds_list_head link;
};

extern __thread struct sysfast__thread sysfast__tls;

/* Registers the calling thread with liburcu and the thread list. */
void sysfast__thread_setup(struct sysfast__thread *t);

/* The calling thread's state, set up (registered with liburcu, on the
 * thread list, destructor armed) on first use. Never fails and never
 * allocates. */
static inline struct sysfast__thread *sysfast__thread_get(void)
{
	struct sysfast__thread *t = &sysfast__tls;

	if (SYSFAST_UNLIKELY(!t->ready))
		sysfast__thread_setup(t);
	return t;
}

/* Every set-up thread, under sysfast__lock. */
extern struct cds_list_head sysfast__threads;
/* The last serial handed to a thread set-up, under sysfast__lock. */
extern uint64_t sysfast__thread_serial;

/* One lock serialises every writer: new event names, hook adds,
 * interpreter creation and destruction, init and fini. Readers never take
 * it. It is never held while a hook runs. */
extern pthread_mutex_t sysfast__lock;

/* Runtime state, written under sysfast__lock, read with atomic loads. */
extern bool sysfast__initialized;
extern bool sysfast__finalizing;

/* True while the runtime is initialised: sysfast_is_initialized() for the
 * layers below runtime.c. */
static inline bool sysfast__is_initialized(void)
{
	return __atomic_load_n(&sysfast__initialized, __ATOMIC_ACQUIRE);
}

/* Called by a thread's teardown (its exit) with the registry lock held,
 * once set by sysfast__thread_on_exit: the interpreter layer unbinds the
 * thread there. */
void sysfast__thread_on_exit(void (*fn)(struct sysfast__thread *t));

/* ---- reclamation ---- */

/* Frees a malloc'd block that starts with a struct rcu_head once every
 * RCU reader that might see it is done (call_rcu: never blocks, so it is
 * safe on any path a hook can reach). */
void sysfast__defer_free(struct rcu_head *head);

/*
 * Publishing and reading RCU-protected pointers. liburcu's primitives are
 * volatile accesses and inline assembly that ThreadSanitizer cannot see, so
 * sanitizer builds use the equivalent C11 release store and acquire load
 * (which TSan understands); other builds use liburcu's. On x86-64 both
 * compile to plain moves.
 */
#if defined(__SANITIZE_THREAD__)
#define SYSFAST__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SYSFAST__TSAN 1
#endif
#endif

#ifdef SYSFAST__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define sysfast__rcu_publish(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define sysfast__rcu_load(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
/* One synchronisation address stands for "a read-side critical section
 * ended": every unlock releases it, every reclamation acquires it, which is
 * the happens-before edge a grace period provides. */
/* Exported: the inline dispatch (<sysfast/static/audit.h>) releases it
 * too, in ThreadSanitizer builds. */
SYSFAST_API extern char sysfast__rcu_tsan_sync;
#define sysfast__read_lock() urcu_memb_read_lock()
#define sysfast__read_unlock()                                                                     \
	do {                                                                                       \
		__tsan_release(&sysfast__rcu_tsan_sync);                                           \
		urcu_memb_read_unlock();                                                           \
	} while (0)
#else
#define sysfast__rcu_publish(p, v) rcu_assign_pointer((p), (v))
#define sysfast__rcu_load(p) rcu_dereference((p))
#define sysfast__read_lock() urcu_memb_read_lock()
#define sysfast__read_unlock() urcu_memb_read_unlock()
#endif

#endif /* SYSFAST_THREAD_H */
