/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - audit hooks and their dispatch (PEP 578).
 *
 * Data layout. Every interpreter has a flat table of slots indexed by event
 * id (struct sysfast__audit_view, in audit.h; mapped lazily). A slot holds
 * the snapshot of hooks that a dispatch of that event in that interpreter
 * must call: the
 * process-wide hooks whose filters match, then the interpreter's own, each
 * in the order they were added. A snapshot is immutable once published.
 * Events that no filtered hook matches share one snapshot per interpreter
 * (its `defvec`); an event some filtered hook matches has its own. A slot
 * is NULL when nothing listens: the SYSFAST_AUDIT macro tests that without
 * a call and without a critical section (it does not follow the pointer).
 *
 * Readers. A dispatch runs inside an RCU read-side critical section, loads
 * its slot once and calls the hooks in the snapshot it got. It takes no
 * lock, allocates nothing and writes only the thread's own state, so any
 * number of threads dispatch at once and hooks may re-enter freely.
 *
 * Writers. Everything that changes a slot (adding a hook, a new event name,
 * a new interpreter, fini) runs under sysfast__lock. Nothing here waits for
 * a grace period, so a hook that adds a hook cannot deadlock on its own
 * read-side critical section.
 *
 * A change that needs memory happens in two phases, so that running out
 * of it changes nothing (docs/robustness.md). Prepare builds every
 * snapshot the change needs, for every slot of every interpreter it
 * touches, into a change set (struct sysfast__audit_changes), and
 * publishes nothing: on any failure the set is dropped and the caller
 * returns MemoryError with the slots as they were. Commit publishes the
 * set, each snapshot with one pointer store, and hands the replaced ones
 * to call_rcu; no step of it can fail. sysfast_fini needs no memory at
 * all: it only clears slots (sysfast__audit_drop_own_hooks).
 */
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"

unsigned sysfast__audit_enabled;

/* The process-wide filter: one byte per event id, nonzero once some
 * interpreter's slot for it has held a snapshot; call sites keep a
 * pointer to their event's byte (struct sysfast__site). 1 MiB of zero
 * pages, of which only those of ids in use are touched. Cleared only by
 * sysfast_fini, when every hook goes: until then a byte left at 1 by an
 * interpreter that is gone costs its event the thread's view check. */
static unsigned char audit_listened[SYSFAST_EVENT_ID_MAX + 1];
const unsigned char sysfast__audit_unresolved = 1;
/* Nonzero while every byte of that filter is exact for every thread: set
 * up with the main interpreter, cleared when the first sub-interpreter is
 * made and not set again before the next sysfast_init (a byte that a
 * sub-interpreter's hook set stays set after that interpreter is gone).
 * Then a byte of 1 means that a hook runs in the thread's interpreter,
 * and a default-form SYSFAST_AUDIT site needs no call to ask. */
unsigned sysfast__audit_exact;

/* One filter pattern of a hook: an exact name or a prefix (`len` bytes of
 * text, before the '*'; "" for "*"). Exact names are compared as text,
 * not interned: an add that fails must leave no new event name behind. */
struct pattern {
	bool prefix;
	size_t len;
	char *text;
};

/* A hook as added; owned by its list, read and written under the lock. */
struct sysfast__hook {
	sysfast_audit_hook fn;
	void *userdata;
	unsigned flags;
	size_t n_patterns; /* 0: every event */
	struct pattern patterns[];
};

static struct sysfast__hooklist global_hooks;
static bool sealed;

static const sysfast_args no_args = {0, NULL};

/* ---- snapshots and slots ---- */

/* What a snapshot (struct sysfast__hookvec, audit.h) carries just in
 * front of it, out of the inline dispatch's sight: the rcu_head that
 * frees the block (sysfast__defer_free wants it first), and how many of
 * its entries, which come first, are process-wide hooks. */
struct vec_head {
	struct rcu_head rcu;
	size_t n_global;
};

_Static_assert(sizeof(struct vec_head) % _Alignof(struct sysfast__hookvec) == 0,
               "a snapshot must stay aligned behind its header");

/* Room for n entries and the NULL one that ends them. */
static struct sysfast__hookvec *vec_alloc(size_t n)
{
	struct vec_head *head = sysfast__malloc(sizeof(*head) + sizeof(struct sysfast__hookvec)
	                                        + (n + 1) * sizeof(struct sysfast__hook_entry));

	return head ? (struct sysfast__hookvec *)(head + 1) : NULL;
}

static struct vec_head *vec_head(const struct sysfast__hookvec *vec)
{
	return (struct vec_head *)vec - 1;
}

/* Whether every hook of `vec` is process-wide. */
static bool vec_is_global(const struct sysfast__hookvec *vec)
{
	return vec_head(vec)->n_global == vec->n;
}

/* Frees `vec` once no reader can see it. */
static void vec_free(struct sysfast__hookvec *vec)
{
	sysfast__defer_free(&vec_head(vec)->rcu);
}

/* Frees a snapshot that was never published. */
static void vec_discard(struct sysfast__hookvec *vec)
{
	sysfast__free(vec_head(vec));
}

/* The snapshot for `id`; call inside a read-side critical section or with
 * the lock held. */
static struct sysfast__hookvec *slot_get(const struct sysfast_interp *interp, sysfast_event_id id)
{
	return sysfast__rcu_load(interp->view->slot[id]);
}

/* Publishes `vec` for `id` and returns the snapshot it replaced. Under the
 * lock. */
static struct sysfast__hookvec *slot_set(struct sysfast_interp *interp, sysfast_event_id id,
                                         struct sysfast__hookvec *vec)
{
	struct sysfast__hookvec *old = interp->view->slot[id];

	/* Unchanged slots are not written: a page of the view is committed
	 * only once some slot in it holds a snapshot. */
	if (vec != old)
		sysfast__rcu_publish(interp->view->slot[id], vec);
	if (vec && !audit_listened[id])
		__atomic_store_n(&audit_listened[id], 1, __ATOMIC_RELAXED);
	return old;
}

/*
 * The view is 8 MiB of slots, of which a program uses the first few
 * pages. It is mapped, not allocated: the kernel hands out zeroed pages
 * on first touch and never touches the rest, where calloc may clear (and
 * so commit) the whole block when its allocator reuses memory. The
 * mapping starts with the rcu_head that unmaps it.
 */
struct view_map {
	struct rcu_head rcu;
	struct sysfast__audit_view view;
};

/* LeakSanitizer scans the heap, globals, stacks and TLS for pointers, not
 * mappings: without this, every live snapshot would look leaked. */
#if defined(__SANITIZE_ADDRESS__)
#define SYSFAST__LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYSFAST__LSAN 1
#endif
#endif
#ifdef SYSFAST__LSAN
#include <sanitizer/lsan_interface.h>
#else
#define __lsan_register_root_region(p, size) ((void)(p), (void)(size))
#define __lsan_unregister_root_region(p, size) ((void)(p), (void)(size))
#endif

static struct sysfast__audit_view *view_map(void)
{
	struct view_map *m = sysfast__map(sizeof(*m));

	if (!m)
		return NULL;
	__lsan_register_root_region(m, sizeof(*m));
	return &m->view;
}

/* Unmaps a view that was never published, at once. */
static void view_discard(struct sysfast__audit_view *view)
{
	struct view_map *m = caa_container_of(view, struct view_map, view);

	__lsan_unregister_root_region(m, sizeof(*m));
	sysfast__unmap(m, sizeof(*m));
}

static void unmap_after_grace_period(struct rcu_head *head)
{
	struct view_map *m = caa_container_of(head, struct view_map, rcu);

#ifdef SYSFAST__TSAN
	__tsan_acquire(&sysfast__rcu_tsan_sync);
#endif
	__lsan_unregister_root_region(m, sizeof(*m));
	sysfast__unmap(m, sizeof(*m));
}

/* Unmaps `view` once no reader can be in it. */
static void view_unmap(struct sysfast__audit_view *view)
{
	urcu_memb_call_rcu(&caa_container_of(view, struct view_map, view)->rcu,
	                   unmap_after_grace_period);
}

/* ---- matching and snapshots (all under the lock) ---- */

static bool hook_is_filtered(const struct sysfast__hook *h)
{
	return h->n_patterns != 0;
}

static bool hook_matches(const struct sysfast__hook *h, sysfast_event_id id)
{
	const char *name;
	size_t len;

	if (!hook_is_filtered(h))
		return true;
	name = sysfast__event_name_unchecked(id);
	len = sysfast__event_len_unchecked(id);
	for (size_t i = 0; i < h->n_patterns; i++) {
		const struct pattern *p = &h->patterns[i];

		if ((p->prefix ? len >= p->len : len == p->len) && !memcmp(name, p->text, p->len))
			return true;
	}
	return false;
}

/* Does any filtered hook, process-wide or of `interp`, match `id`? */
static bool event_has_filtered_match(const struct sysfast_interp *interp, sysfast_event_id id)
{
	const struct sysfast__hooklist *lists[2] = {&global_hooks, &interp->hooks};

	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (hook_is_filtered(lists[l]->items[i])
			    && hook_matches(lists[l]->items[i], id))
				return true;
	return false;
}

/* Builds the snapshot of the hooks of `interp` that match `id` (id 0: the
 * unfiltered ones only, i.e. its defvec). Sets *vec to NULL when there are
 * none. Returns -1 with MemoryError. */
static int build_vec(const struct sysfast_interp *interp, sysfast_event_id id,
                     struct sysfast__hookvec **vec)
{
	const struct sysfast__hooklist *lists[2] = {&global_hooks, &interp->hooks};
	struct sysfast__hookvec *v;
	size_t n = 0;

	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct sysfast__hook *h = lists[l]->items[i];
			n += id ? hook_matches(h, id) : !hook_is_filtered(h);
		}
	*vec = NULL;
	if (n == 0)
		return 0;
	v = vec_alloc(n);
	if (!v) {
		sysfast_err_set(sysfast_MemoryError, "out of memory updating audit hooks");
		return -1;
	}
	v->n = 0;
	v->any_cantrace = false;
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct sysfast__hook *h = lists[l]->items[i];

			if (id ? hook_matches(h, id) : !hook_is_filtered(h)) {
				v->e[v->n++] =
				    (struct sysfast__hook_entry){h->fn, h->userdata, h->flags};
				v->any_cantrace |= (h->flags & SYSFAST_HOOK_CANTRACE) != 0;
			}
		}
		if (l == 0)
			vec_head(v)->n_global = v->n;
	}
	v->e[v->n] = (struct sysfast__hook_entry){NULL, NULL, 0};
	*vec = v;
	return 0;
}

/* ---- change sets (all under the lock) ---- */

/* Snapshots built for a change of the audit slots and not yet published
 * (prepare, then commit). Zero-initialise. */
struct sysfast__audit_change;
struct sysfast__audit_changes {
	struct sysfast__audit_change *items;
	size_t n, cap;
};

/* One change of a set: `vec` is to replace what the slot of `id` in
 * `interp` holds, or its defvec when `id` is 0. `built`: `vec` was built
 * for this set (the set owns it until it is published); otherwise it is
 * a snapshot that another entry owns, or NULL. */
struct sysfast__audit_change {
	struct sysfast_interp *interp;
	sysfast_event_id id;
	bool built;
	struct sysfast__hookvec *vec;
};

/* Adds a change to `c`. On failure discards `vec` if built, and returns
 * -1 with MemoryError. */
static int changes_push(struct sysfast__audit_changes *c, struct sysfast_interp *interp,
                        sysfast_event_id id, struct sysfast__hookvec *vec, bool built)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct sysfast__audit_change *items =
		    sysfast__realloc(c->items, cap * sizeof(*items));

		if (!items) {
			if (built && vec)
				vec_discard(vec);
			sysfast_err_set(sysfast_MemoryError, "out of memory updating audit hooks");
			return -1;
		}
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = (struct sysfast__audit_change){interp, id, built, vec};
	return 0;
}

/* Frees what a set owns, publishing nothing. */
static void changes_drop(struct sysfast__audit_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].built && c->items[i].vec)
			vec_discard(c->items[i].vec);
	sysfast__free(c->items);
	memset(c, 0, sizeof(*c));
}

/* Prepares the slot of `id` in `interp` as the hook lists say, with
 * `def` as the interpreter's defvec. A slot that stays as it is takes no
 * entry. */
static int prepare_slot(struct sysfast__audit_changes *c, struct sysfast_interp *interp,
                        sysfast_event_id id, struct sysfast__hookvec *def)
{
	struct sysfast__hookvec *vec = def;

	if (!event_has_filtered_match(interp, id))
		return vec == slot_get(interp, id) ? 0 : changes_push(c, interp, id, vec, false);
	if (build_vec(interp, id, &vec) < 0)
		return -1;
	return changes_push(c, interp, id, vec, true);
}

/* Prepares a new defvec for `interp` and every slot from the lists. */
static int prepare_all(struct sysfast__audit_changes *c, struct sysfast_interp *interp)
{
	size_t count = sysfast_event_count();
	struct sysfast__hookvec *def;

	/* The defvec's entry comes first: the set owns it before any slot
	 * shares it. */
	if (build_vec(interp, 0, &def) < 0 || changes_push(c, interp, 0, def, true) < 0)
		return -1;
	for (sysfast_event_id id = 1; id <= count; id++)
		if (prepare_slot(c, interp, id, def) < 0)
			return -1;
	return 0;
}

/* Prepares the slots of `interp` for the hook `h`, already last in its
 * list: all of them for a hook without a filter, else those of the
 * events it matches. */
static int prepare_hook(struct sysfast__audit_changes *c, struct sysfast_interp *interp,
                        const struct sysfast__hook *h)
{
	size_t count = sysfast_event_count();

	if (!hook_is_filtered(h))
		return prepare_all(c, interp);
	for (sysfast_event_id id = 1; id <= count; id++)
		if (hook_matches(h, id) && prepare_slot(c, interp, id, interp->defvec) < 0)
			return -1;
	return 0;
}

static void audit_commit(struct sysfast__audit_changes *c)
{
	/* Slots first, while each interpreter's defvec is still the one
	 * that its other slots share: a replaced snapshot other than that
	 * one belonged to its slot alone. A set that replaces a defvec
	 * replaces every slot that shared it. */
	for (size_t i = 0; i < c->n; i++) {
		struct sysfast__audit_change *ch = &c->items[i];
		struct sysfast__hookvec *old;

		if (!ch->id)
			continue;
		old = slot_set(ch->interp, ch->id, ch->vec);
		if (old && old != ch->vec && old != ch->interp->defvec)
			vec_free(old);
	}
	for (size_t i = 0; i < c->n; i++) {
		struct sysfast__audit_change *ch = &c->items[i];
		struct sysfast__hookvec *old = ch->interp->defvec;

		if (ch->id)
			continue;
		ch->interp->defvec = ch->vec;
		if (old && old != ch->vec)
			vec_free(old);
	}
	sysfast__free(c->items);
	memset(c, 0, sizeof(*c));
}

/* The event layer's observer (data.h): a new event gets its hooks in
 * every live interpreter before its id is handed out. */
static int event_prepare(sysfast_event_id id, void *ctx)
{
	struct sysfast__audit_changes *c = ctx;
	struct sysfast_interp *interp;

	cds_list_for_each_entry(interp, &sysfast__interps, link) {
		if (prepare_slot(c, interp, id, interp->defvec) < 0) {
			changes_drop(c);
			return -1;
		}
	}
	return 0;
}

static void event_commit(void *ctx)
{
	audit_commit(ctx);
}

_Static_assert(sizeof(struct sysfast__audit_changes) <= SYSFAST__EVENT_OBSERVER_CTX,
               "a change set must fit in the event layer's room for it");

static const struct sysfast__event_observer event_observer = {event_prepare, event_commit};

int sysfast__interp_audit_init(struct sysfast_interp *interp)
{
	struct sysfast__audit_changes c = {0};

	/* Before the first interpreter exists: from now on new names get
	 * their hooks. */
	sysfast__event_observe(&event_observer);
	/* Before the interpreter is handed out (the caller's lock orders
	 * it before any thread can enter it). */
	if (!interp->is_main)
		__atomic_store_n(&sysfast__audit_exact, 0, __ATOMIC_RELAXED);

	interp->view = view_map();
	if (!interp->view) {
		sysfast_err_set(sysfast_MemoryError,
		                "out of memory mapping an interpreter's hooks");
		return -1;
	}
	if (prepare_all(&c, interp) < 0) {
		changes_drop(&c);
		view_discard(interp->view);
		interp->view = NULL;
		return -1;
	}
	audit_commit(&c);
	if (interp->is_main)
		__atomic_store_n(&sysfast__audit_exact, 1, __ATOMIC_RELAXED);
	return 0;
}

static void hooklist_clear(struct sysfast__hooklist *list)
{
	for (size_t i = 0; i < list->n; i++) {
		struct sysfast__hook *h = list->items[i];

		for (size_t p = 0; p < h->n_patterns; p++)
			sysfast__free(h->patterns[p].text);
		sysfast__free(h);
	}
	sysfast__free(list->items);
	memset(list, 0, sizeof(*list));
}

/* ---- finalisation: no memory needed ---- */

/* The snapshot that sysfast_fini's last event goes through when dropping
 * main's own hooks cleared its slot: kept from being freed until that
 * event was raised. Under the lock; read by sysfast_fini's thread. */
static struct sysfast__hookvec *final_vec;

/*
 * Drops every interpreter's own hooks without building anything, so that
 * sysfast_fini finishes however short memory is. A slot whose snapshot
 * holds none of them stays; another becomes the defvec when the defvec
 * holds none of them and no process-wide filter matches the event, else
 * NULL: those events reach the process-wide hooks again only through a
 * hook added later, and fini drops those hooks next anyway.
 */
void sysfast__audit_drop_own_hooks(void)
{
	size_t count = sysfast_event_count();
	struct sysfast_interp *interp;

	cds_list_for_each_entry(interp, &sysfast__interps, link) {
		struct sysfast__hookvec *def = interp->defvec;
		struct sysfast__hookvec *keep = def && vec_is_global(def) ? def : NULL;

		hooklist_clear(&interp->hooks);
		for (sysfast_event_id id = 1; id <= count; id++) {
			struct sysfast__hookvec *vec = slot_get(interp, id);

			if (!vec || vec_is_global(vec))
				continue;
			slot_set(interp, id, event_has_filtered_match(interp, id) ? NULL : keep);
			if (interp->is_main && id == SYSFAST__EV_CLEAR_HOOKS)
				final_vec = vec;
			else if (vec != def)
				vec_free(vec);
		}
		if (def != keep) {
			interp->defvec = NULL;
			if (def != final_vec)
				vec_free(def);
		}
	}
}

void sysfast__interp_audit_free(struct sysfast_interp *interp)
{
	struct sysfast__audit_view *view = interp->view;

	if (view) {
		size_t count = sysfast_event_count();

		/* Threads bound to the interpreter read the view without a
		 * critical section: none is left (the callers unbound them),
		 * but the slots still empty first, and the snapshots and the
		 * mapping go after a grace period. */
		for (sysfast_event_id id = 1; id <= count; id++) {
			struct sysfast__hookvec *vec = slot_set(interp, id, NULL);

			if (vec && vec != interp->defvec)
				vec_free(vec);
		}
		interp->view = NULL;
		view_unmap(view);
	}
	if (interp->defvec)
		vec_free(interp->defvec);
	interp->defvec = NULL;
	hooklist_clear(&interp->hooks);
}

void sysfast__audit_drop_global(void)
{
	size_t count = sysfast_event_count();

	hooklist_clear(&global_hooks);
	if (final_vec)
		vec_free(final_vec);
	final_vec = NULL;
	__atomic_store_n(&sysfast__audit_enabled, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sysfast__audit_exact, 0, __ATOMIC_RELAXED);
	/* Every hook is gone: nobody listens to anything, and a runtime
	 * started next begins with a clean filter. */
	for (sysfast_event_id id = 1; id <= count; id++)
		if (audit_listened[id])
			__atomic_store_n(&audit_listened[id], 0, __ATOMIC_RELAXED);
}

void sysfast__audit_update_enabled(void)
{
	struct sysfast_interp *interp;
	unsigned any = global_hooks.n != 0;

	cds_list_for_each_entry(interp, &sysfast__interps, link)
		any |= interp->hooks.n != 0;
	__atomic_store_n(&sysfast__audit_enabled, any && sysfast__initialized, __ATOMIC_RELAXED);
}

/* ---- dispatch ---- */

static int unknown_id(sysfast_event_id id)
{
	sysfast_err_format(sysfast_ValueError, "unknown audit event id %u", (unsigned)id);
	return -1;
}

static bool id_is_valid(sysfast_event_id id)
{
	return id != 0 && id <= sysfast_event_count();
}

/* Turns a hook's bad return into the call's error. */
static int hook_failed(int r, const char *name)
{
	const sysfast_exc_type *err = sysfast__audit_tls.err;

	if (r != 0 && !err) {
		sysfast_err_format(sysfast_SystemError,
		                   "audit hook returned %d without setting an error (event '%s')",
		                   r, name);
	} else if (r == 0) {
		/* Keep what the hook left as part of the message. */
		sysfast_err_format(sysfast_SystemError,
		                   "audit hook returned 0 with an error set (event '%s'): %s: %s",
		                   name, err->name, sysfast__tls.err.msg);
	}
	return -1;
}

/* Calls the hooks of one snapshot in order; the first failure stops it
 * (docs/api.md, audit rule 3). Tracing is suspended across the hooks and
 * lifted only around those flagged CANTRACE (rule 7): the thread's counter goes from `outer`
 * to outer + 1 and back, so nesting composes. */
static inline __attribute__((always_inline)) int call_hooks(struct sysfast__audit_thread *th,
                                                            const struct sysfast__hook_entry *e,
                                                            sysfast_event_id id, const char *name,
                                                            const sysfast_args *args,
                                                            unsigned outer, const bool cantrace)
{
	sysfast_audit_hook fn;

	/* The snapshot ends with a NULL hook. */
	for (; (fn = e->fn) != NULL; e++) {
		int r;

		if (cantrace && SYSFAST_UNLIKELY(e->flags & SYSFAST_HOOK_CANTRACE)) {
			sysfast__tracing_resume(th, outer);
			r = fn(id, name, args, e->userdata);
			sysfast__tracing_suspend(th, outer);
		} else {
			r = fn(id, name, args, e->userdata);
		}
		/* One test for both ways a hook fails. */
		if (SYSFAST_UNLIKELY((uintptr_t)(unsigned)r | (uintptr_t)th->err))
			return hook_failed(r, name);
	}
	return 0;
}

static inline __attribute__((always_inline)) int
run_hooks_at(struct sysfast__audit_thread *th, const struct sysfast__hookvec *vec,
             sysfast_event_id id, const char *name, const sysfast_args *args, unsigned outer)
{
	int rc;

	sysfast__tracing_suspend(th, outer);
	/* Snapshots without CANTRACE hooks (nearly all) get a loop that does
	 * not look at the flags. */
	if (SYSFAST_LIKELY(!vec->any_cantrace))
		rc = call_hooks(th, vec->e, id, name, args, outer, false);
	else
		rc = call_hooks(th, vec->e, id, name, args, outer, true);
	sysfast__tracing_resume(th, outer);
	return rc;
}

/* The usual case, outside any tracer or hook, gets its own copy with the
 * counter's values as constants: back-to-back dispatches then do not wait
 * on each other through the counter (a load that feeds a store would chain
 * them through store-to-load forwarding). */
static inline __attribute__((always_inline)) int run_hooks(struct sysfast__audit_thread *th,
                                                           const struct sysfast__hookvec *vec,
                                                           sysfast_event_id id, const char *name,
                                                           const sysfast_args *args)
{
	unsigned outer = sysfast__tracing_depth(th);

	if (SYSFAST_LIKELY(outer == 0))
		return run_hooks_at(th, vec, id, name, args, 0);
	return run_hooks_at(th, vec, id, name, args, outer);
}

/* run_hooks with an error pending in the caller: hooks must not see it,
 * and it comes back after a successful dispatch (docs/api.md, audit rule 6). Out of line, so
 * that the common case carries no saved-error buffer in its frame. */
static __attribute__((noinline)) int run_hooks_keeping_error(struct sysfast__audit_thread *th,
                                                             const struct sysfast__hookvec *vec,
                                                             sysfast_event_id id, const char *name,
                                                             const sysfast_args *args)
{
	struct sysfast__error saved;
	int rc;

	sysfast__err_save(&saved);
	rc = run_hooks(th, vec, id, name, args);
	if (rc == 0)
		sysfast__err_restore(&saved);
	return rc;
}

/*
 * The dispatch proper, on a thread that is set up, in the interpreter
 * whose `view` it is. Like the kernel's __DO_TRACE: one read-side critical
 * section, the snapshot pointer read exactly once (docs/api.md,
 * "Dispatch"), the hooks called from it. The snapshot cannot be freed
 * before the critical section ends, whatever writers do meanwhile. `name`
 * is the event's interned name, or NULL for the dispatch to look it up
 * (only once a hook runs: `id` may be unknown).
 */
static inline __attribute__((always_inline)) int dispatch(const struct sysfast__audit_view *view,
                                                          sysfast_event_id id, const char *name,
                                                          const sysfast_args *args)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	const struct sysfast__hookvec *vec;
	int rc;

	sysfast__read_lock();
	vec = sysfast__rcu_load(view->slot[id]);
	if (!vec) {
		sysfast__read_unlock();
		/* Nobody listens, or no such event: only now is it worth
		 * telling the two apart. */
		return SYSFAST_LIKELY(id_is_valid(id)) ? 0 : unknown_id(id);
	}
	if (!name)
		name = sysfast__event_name_unchecked(id);
	if (SYSFAST_LIKELY(!th->err))
		rc = run_hooks(th, vec, id, name, args);
	else
		rc = run_hooks_keeping_error(th, vec, id, name, args);
	sysfast__read_unlock();
	return rc;
}

/*
 * dispatch for the usual case, as the inline form in <sysfast/static/audit.h>
 * runs it: no error pending, tracing not suspended, no CANTRACE hook, every
 * hook returns 0. Anything else goes to dispatch, which behaves the same
 * in every case. `name` is the event's interned name, or NULL for the
 * dispatch to look it up (`id` may then be unknown: its slot is empty).
 */
static inline __attribute__((always_inline)) int
dispatch_hot(const struct sysfast__audit_view *view, sysfast_event_id id, const char *name,
             const sysfast_args *args)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	const struct sysfast__hookvec *vec;
	const struct sysfast__hook_entry *e;
	sysfast_audit_hook fn;

	/* An error pending or tracing suspended: one test for both. */
	if (SYSFAST_UNLIKELY((uintptr_t)th->err | (uintptr_t)sysfast__tracing_depth(th)))
		return dispatch(view, id, name, args);
	sysfast__read_lock();
	vec = sysfast__rcu_load(view->slot[id]);
	if (SYSFAST_UNLIKELY(!vec || vec->any_cantrace)) {
		sysfast__read_unlock();
		return dispatch(view, id, name, args);
	}
	if (!name)
		name = sysfast__event_name_unchecked(id);
	sysfast__tracing_suspend(th, 0);
	/* A published snapshot holds at least one hook (an event nobody
	 * listens to has a NULL slot), so the first is called unchecked. */
	e = vec->e;
	fn = e->fn;
	do {
		int r = fn(id, name, args, e->userdata);

		if (SYSFAST_UNLIKELY((uintptr_t)(unsigned)r | (uintptr_t)th->err)) {
			sysfast__tracing_resume(th, 0);
			sysfast__read_unlock();
			return hook_failed(r, name);
		}
		fn = (++e)->fn;
	} while (fn);
	sysfast__tracing_resume(th, 0);
	sysfast__read_unlock();
	return 0;
}

static bool audit_enabled(void)
{
	return __atomic_load_n(&sysfast__audit_enabled, __ATOMIC_RELAXED) != 0;
}

/* The thread's view of its interpreter's slots, binding the thread to the
 * main interpreter on its first call; NULL while the runtime is down. */
static inline const struct sysfast__audit_view *thread_view(void)
{
	const struct sysfast__audit_view *view =
	    __atomic_load_n(&sysfast__audit_tls.view, __ATOMIC_RELAXED);
	struct sysfast__thread *t;
	struct sysfast_interp *interp;

	if (SYSFAST_LIKELY(view))
		return view;
	interp = sysfast__thread_interp(&t);
	return interp ? interp->view : NULL;
}

int sysfast_audit_args(sysfast_event_id id, const sysfast_args *args)
{
	const struct sysfast__audit_view *view;

	if (SYSFAST_LIKELY(!audit_enabled()))
		return 0;
	view = thread_view();
	if (SYSFAST_UNLIKELY(!view))
		return 0;
	/* Ids past the table cannot be looked up; smaller unknown ids find
	 * an empty slot and are told apart there. */
	if (SYSFAST_UNLIKELY(id > SYSFAST_EVENT_ID_MAX))
		return unknown_id(id);
	if (!args)
		return dispatch(view, id, NULL, &no_args);
	/* Hooks read items[0..n): a hook must never be handed NULL for them. */
	if (SYSFAST_UNLIKELY(!args->items && args->n)) {
		sysfast_err_format(sysfast_ValueError,
		                   "audit arguments: items is NULL with n = %zu", args->n);
		return -1;
	}
	return dispatch_hot(view, id, NULL, args);
}

/* resolve_name for a name that is not in the thread's name cache. */
static __attribute__((noinline)) sysfast_event_id resolve_name_slow(const char *name)
{
	long len = sysfast__name_check(name, "event name");
	sysfast_event_id id;

	if (len < 0)
		return 0;
	id = sysfast__event_lookup(name, (size_t)len);
	if (!id)
		id = sysfast__event_intern_len(name, (size_t)len, false);
	if (id)
		sysfast__name_cache_put(name, id);
	return id;
}

/* The id of a valid event name, interning it on first use. 0 with
 * ValueError (bad name) or MemoryError. Inline down to the cache hit: the
 * rest is for the first call from a name's address. */
static inline sysfast_event_id resolve_name(const char *name)
{
	sysfast_event_id id = sysfast__name_cache_get(name);

	return SYSFAST_LIKELY(id) ? id : resolve_name_slow(name);
}

/* Whether some hook in `interp` listens to `id`, from the bit that mirrors
 * its slot: one load where the slot takes two. It only decides whether the
 * arguments are worth building; the dispatch reads the slot itself. */
static bool listened(const struct sysfast_interp *interp, sysfast_event_id id)
{
	return __atomic_load_n(&interp->view->slot[id], __ATOMIC_RELAXED) != NULL;
}

/*
 * sysfast_audit's per-thread memo. A call names its event and format by
 * address, and a program nearly always passes the same literals from the
 * same place; the memo keeps, per pair of addresses, the event's id and
 * interned name and what each value of the format is, so that a call that
 * hits it skips the name lookup and the format's first pass. A remembered
 * address may hold other text by now (a buffer on the stack, reused), so a
 * hit is confirmed against copies of both texts (struct audit_memo): equal
 * text is a valid name and a valid format, whatever the address. Keying
 * on the addresses alone, or caching only addresses inside read-only
 * segments, would skip that compare but could not tell a library unloaded
 * and another loaded at the same address.
 *
 * The compare reads whole 16-byte blocks from the caller's text: up to 31
 * bytes of name and 15 of format, masked past the NUL, so it costs the
 * same few instructions whatever the lengths, with no loop. A block read
 * may pass the text's NUL, never its page (a text near a page's end is
 * compared byte by byte), so it cannot fault. AddressSanitizer and
 * ThreadSanitizer would report those reads, so their builds compare byte
 * by byte throughout.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEMO_BYTEWISE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MEMO_BYTEWISE 1
#endif
#endif

/* Entries of the memo: a power of two. A thread keeps hitting a few call
 * sites (CPython raises about ten distinct events in most of its audit
 * traffic); 16 entries take 2 KiB of TLS. */
#define MEMO_ENTRIES 16
/* Longest name and format the memo keeps, with their NUL: CPython's event
 * names are nearly all under 32 bytes and its formats under 16. Longer
 * ones take the general path every time. */
#define MEMO_NAME 32
#define MEMO_FORMAT 16

/* A 16-byte block of text, or its mask, as two words. */
struct memo_block {
	uint64_t w[2];
};

/* What a value of a remembered format is, in one byte: the two codes of
 * nearly every audit format are built inline, any other through args.c
 * from its offset in the format (MEMO_AT + offset). */
enum { MEMO_INT, MEMO_STR, MEMO_AT };

/* What the memo knows of an entry as a whole, fixed when it is filled. */
enum {
	/* Both texts lie in the main program's read-only data (in_main_ro):
	 * a call that passes the same two addresses passes the same texts,
	 * so its hit needs no compare. Decided once, at the fill. */
	MEMO_TRUSTED = 1,
	/* The name takes two blocks of the compare, not one. */
	MEMO_LONG_NAME = 2,
};

/* One entry, 128 bytes: what the hit path reads comes first. */
struct audit_memo {
	/* The call's pointers; event NULL: the entry is empty. */
	const char *event, *format;
	/* The interned name handed to hooks, and its id. */
	const char *ename;
	sysfast_event_id id;
	uint8_t n;                       /* values */
	uint8_t flags;                   /* MEMO_TRUSTED, MEMO_LONG_NAME */
	uint8_t len, fmt_len;            /* bytes before the NUL */
	uint8_t code[SYSFAST__PLAN_MAX]; /* each value's, above */
	/* When every value is MEMO_INT or MEMO_STR and there are at most
	 * six, 49 - 8 * n: memo_build_direct reads the values from the
	 * saved argument registers when the call's va_list is at a smaller
	 * gp_offset. 0 otherwise, which no offset is below. */
	uint8_t gp_limit;
	/* The text of the name and of the format, zero past their NUL, and
	 * masks with 0xff over each byte of the last block up to and
	 * including the NUL (every byte of a name's first block of two
	 * counts). */
	struct memo_block name[MEMO_NAME / 16], name_mask;
	struct memo_block fmt, fmt_mask;
};

_Static_assert(sizeof(struct audit_memo) == 128, "a memo entry is two cache lines");

static __thread struct audit_memo audit_memo[MEMO_ENTRIES];

static unsigned memo_slot(const char *event, const char *format)
{
	uintptr_t e = (uintptr_t)event, f = (uintptr_t)format;

	/* Literals sit at least a few bytes apart: bits 4 and up tell the
	 * call sites of a program apart. */
	return (unsigned)((e ^ f) >> 4) & (MEMO_ENTRIES - 1);
}

/* Copies `len` bytes and the NUL of `s` into the `blocks` blocks at
 * `text`, zero past the NUL, and sets `mask` for the last of them. */
static void memo_keep(struct memo_block *text, struct memo_block *mask, size_t blocks,
                      const char *s, size_t len)
{
	memset(text, 0, blocks * sizeof(*text));
	memset(mask, 0, sizeof(*mask));
	memcpy(text, s, len + 1);
	memset(mask, 0xff, len + 1 - 16 * (blocks - 1));
}

/* Whether the `len` bytes and NUL at `s` are `text`, byte by byte: the
 * kept text has no NUL before its end, so a shorter candidate differs at
 * its own NUL and the loop stops there. */
static bool memo_text_eq_bytes(const char *s, const struct memo_block *text, size_t len)
{
	for (size_t i = 0; i <= len; i++)
		if (s[i] != ((const char *)text)[i])
			return false;
	return true;
}

#ifndef MEMO_BYTEWISE
/* The bits in which the 16 bytes at `s` differ from `text` where `mask`
 * is set. */
static inline uint64_t memo_block_diff(const char *s, const struct memo_block *text,
                                       const struct memo_block *mask)
{
	struct memo_block v;

	memcpy(&v, s, 16);
	return ((v.w[0] ^ text->w[0]) & mask->w[0]) | ((v.w[1] ^ text->w[1]) & mask->w[1]);
}

/* Whether reading `bytes` from `s` would pass the end of its page. */
static inline bool memo_near_page_end(const char *s, size_t bytes)
{
	return ((uintptr_t)s & 4095) > 4096 - bytes;
}
#endif

/*
 * The main program's read-only data. A string literal cannot change (C
 * forbids writing one) and the main program is never unloaded, so a text
 * at an address inside the program's non-writable segments is the text
 * the memo saw there: a hit on such addresses needs no compare, and
 * whether an entry's addresses are such is decided once, when it is
 * filled (MEMO_TRUSTED), since the hit compares the addresses. Texts
 * anywhere else (shared objects, which can be unloaded and replaced at the
 * same address; the stack; the heap) are compared. [main_ro, main_ro +
 * main_ro_len) is the longest run of adjacent non-writable PT_LOAD pages
 * of the main program, found once by need_main_ro (empty
 * until then, and where the program has none).
 */
static uintptr_t main_ro, main_ro_len;

static int find_main_ro(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = 0, end = 0;

	(void)size;
	(void)data;
	/* Program headers in address order (the ELF rule for PT_LOAD). */
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo, hi;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
		if (lo != end)
			start = lo;
		end = hi;
		if (end - start > main_ro_len) {
			main_ro = start;
			main_ro_len = end - start;
		}
	}
	/* The first object is the main program: stop there. */
	return 1;
}

static void find_main_ro_once(void)
{
	dl_iterate_phdr(find_main_ro, NULL);
}

/* Finds the main program's read-only data, once per process. Every thread
 * calls it before it first fills its memo (from audit_format_slow), the
 * one place that reads the two words, which orders them before that
 * thread's reads. */
static void need_main_ro(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, find_main_ro_once);
}

/* Whether `s` lies in the main program's read-only data (NULL does not). */
static inline bool in_main_ro(const char *s)
{
	return (uintptr_t)s - main_ro < main_ro_len;
}

/* Whether the texts at `event` and `format` are those `m` kept. */
static inline bool memo_texts_eq(const struct audit_memo *m, const char *event, const char *format)
{
#ifndef MEMO_BYTEWISE
	/* One test for both texts and either length of name: the offset
	 * of each in its page is at most that of their OR (which is near a
	 * page's end a little more often than either: those calls compare
	 * byte by byte). */
	if (SYSFAST_LIKELY(!memo_near_page_end((const char *)((uintptr_t)event | (uintptr_t)format),
	                                       MEMO_NAME))) {
		uint64_t diff;

		if (SYSFAST_LIKELY(!(m->flags & MEMO_LONG_NAME))) {
			diff = memo_block_diff(event, &m->name[0], &m->name_mask);
		} else {
			static const struct memo_block all = {{UINT64_MAX, UINT64_MAX}};

			diff = memo_block_diff(event, &m->name[0], &all)
			       | memo_block_diff(event + 16, &m->name[1], &m->name_mask);
		}
		if (format)
			diff |= memo_block_diff(format, &m->fmt, &m->fmt_mask);
		return diff == 0;
	}
#endif
	return memo_text_eq_bytes(event, m->name, m->len)
	       && (!format || memo_text_eq_bytes(format, &m->fmt, m->fmt_len));
}

static inline const struct audit_memo *memo_find(const char *event, const char *format)
{
	const struct audit_memo *m = &audit_memo[memo_slot(event, format)];

	/* Computed once: without this, compilers rebuild a thread-local
	 * address from the thread pointer at each use (several instructions
	 * each, on a path of about 200). */
	__asm__("" : "+r"(m));
	if (SYSFAST_LIKELY(m->event == event && m->format == format
	                   && ((m->flags & MEMO_TRUSTED) || memo_texts_eq(m, event, format))))
		return m;
	return NULL;
}

/* Remembers a call whose name resolved to `id` and whose format is valid,
 * when both are short and the format of a common shape. */
static void memo_fill(const char *event, const char *format, sysfast_event_id id)
{
	struct audit_memo *m = &audit_memo[memo_slot(event, format)];
	size_t len = sysfast__event_len_unchecked(id);
	size_t fmt_len = format ? strlen(format) : 0;
	struct sysfast__format_plan plan;
	bool direct = true;

	m->event = NULL; /* matches nothing until whole */
	if (len >= MEMO_NAME || fmt_len >= MEMO_FORMAT || !sysfast__format_plan(format, &plan))
		return;
	m->flags = len < 16 ? 0 : MEMO_LONG_NAME;
	m->gp_limit = 0;
	if (in_main_ro(event) && (!format || in_main_ro(format)))
		m->flags |= MEMO_TRUSTED;
	memo_keep(m->name, &m->name_mask, len < 16 ? 1 : 2, event, len);
	memo_keep(&m->fmt, &m->fmt_mask, 1, format ? format : "", fmt_len);
	m->len = (uint8_t)len;
	m->fmt_len = (uint8_t)fmt_len;
	m->n = plan.n;
	for (size_t k = 0; k < plan.n; k++) {
		const char *p = format + plan.off[k];

		/* The format is under MEMO_FORMAT bytes: its offsets fit. */
		m->code[k] = *p == 'i'                  ? MEMO_INT
		             : *p == 's' && p[1] != '#' ? MEMO_STR
		                                        : MEMO_AT + plan.off[k];
		direct &= m->code[k] < MEMO_AT;
	}
	if (direct && plan.n <= 6)
		m->gp_limit = (uint8_t)(49 - 8 * plan.n);
	m->id = id;
	m->ename = sysfast__event_name_unchecked(id);
	m->format = format;
	m->event = event;
}

/* A value of a remembered call: MEMO_STR or MEMO_INT, from its argument. */
static inline sysfast_arg memo_value(uint8_t code, const char *s, int i)
{
	return code == MEMO_STR ? sysfast__text_arg(s) : SYSFAST_INT(i);
}

/*
 * The System V AMD64 ABI's va_list (x86-64 psABI, "Variable Argument
 * Lists"): a variadic function's prologue stores the six integer argument
 * registers in a register save area, and va_arg reads an integer or
 * pointer argument from there at gp_offset (then moves gp_offset on by 8)
 * until gp_offset reaches 48, and from overflow_arg_area after. Each
 * va_arg is thus a load, a compare, an add and a store of gp_offset, each
 * depending on the last. When all of a call's values are integers or
 * pointers and all of them are still in the save area (for
 * sysfast_audit, whose two named arguments take two registers, up to
 * four values), memo_build_direct reads each at its offset instead,
 * with no chain from one to the next.
 * This is the layout GCC and Clang implement; other targets take va_arg.
 */
#if defined(__x86_64__) && defined(__LP64__) && (defined(__GNUC__) || defined(__clang__))
#define MEMO_SYSV_VA 1

struct sysv_va_list {
	unsigned gp_offset, fp_offset;
	const char *overflow_arg_area, *reg_save_area;
};

_Static_assert(sizeof(va_list) == sizeof(struct sysv_va_list), "the psABI's va_list");

/* memo_build for an entry whose values may all be in the save area
 * (gp_limit); false, reading nothing, when some value of the call is
 * past it or is of another code. It leaves `*va` as it was: nothing
 * reads it after. */
static inline __attribute__((always_inline)) bool memo_build_direct(const struct audit_memo *m,
                                                                    sysfast_arg *slot, va_list *va)
{
	struct sysv_va_list v;
	const char *reg;

	memcpy(&v, *va, sizeof(v));
	if (SYSFAST_UNLIKELY(v.gp_offset >= m->gp_limit))
		return false;
	reg = v.reg_save_area + v.gp_offset;
	for (size_t k = 0; k < m->n; k++, reg += 8) {
		const char *s;
		int i;

		/* Little-endian: an int passed in a register is the low half of
		 * its 8 bytes. */
		memcpy(&s, reg, sizeof(s));
		memcpy(&i, reg, sizeof(i));
		slot[k] = memo_value(m->code[k], s, i);
	}
	return true;
}
#endif

/* Builds the values of a remembered call from `*va`. Fails only on a bad
 * value ('O' or 'S' with NULL, 'C' out of range), through args.c. */
static inline __attribute__((always_inline)) int memo_build(const struct audit_memo *m,
                                                            const char *format,
                                                            struct sysfast__argbuf *buf,
                                                            va_list *va, sysfast_args *out)
{
	sysfast_arg *slot = buf->slots;
	const uint8_t *code = m->code, *end = code + m->n;

	out->n = m->n;
	out->items = buf->slots;
#ifdef MEMO_SYSV_VA
	if (SYSFAST_LIKELY(memo_build_direct(m, slot, va)))
		return 0;
#endif
	for (; code != end; code++, slot++) {
		if (*code == MEMO_STR) {
			*slot = memo_value(MEMO_STR, va_arg(*va, const char *), 0);
		} else if (*code == MEMO_INT) {
			*slot = memo_value(MEMO_INT, NULL, va_arg(*va, int));
		} else if (sysfast__args_build_value(buf, format, format + (*code - MEMO_AT),
		                                     (size_t)(slot - buf->slots), va)
		           < 0) {
			return -1;
		}
	}
	return 0;
}

/* Every call that the memo does not answer, or made before the thread is
 * set up: resolves the name, checks the format and raises the event as
 * the memo's path does, then remembers what it learnt. */
static __attribute__((noinline)) int audit_format_slow(const char *event, const char *format,
                                                       va_list *va)
{
	struct sysfast__thread *t;
	struct sysfast_interp *interp = sysfast__thread_interp(&t);
	struct sysfast__argbuf buf;
	sysfast_args args;
	sysfast_event_id id;

	if (SYSFAST_UNLIKELY(!interp))
		return 0;
	need_main_ro();
	id = resolve_name(event);
	if (!id)
		return -1;
	/* Nobody listens: only check the format, read no argument. */
	if (!listened(interp, id)) {
		if (sysfast__format_check(format, NULL) < 0)
			return -1;
		memo_fill(event, format, id);
		return 0;
	}
	if (sysfast__args_build(&buf, format, va, &args) < 0)
		return -1;
	memo_fill(event, format, id);
	return dispatch(interp->view, id, NULL, &args);
}

/* The body of sysfast_audit and sysfast_vaudit, inline in each so that
 * sysfast_audit passes its own va_list by address: no va_copy and no
 * call to sysfast_vaudit on the common path. The thread's view of its
 * interpreter is NULL until the thread is set up and bound: the slow
 * path does both. */
static inline __attribute__((always_inline)) int audit_format(const char *event, const char *format,
                                                              va_list *va)
{
	const struct sysfast__audit_view *view;
	const struct audit_memo *m;
	struct sysfast__argbuf buf;
	sysfast_args args;

	if (SYSFAST_UNLIKELY(!event)) {
		sysfast_err_set(sysfast_ValueError, "audit event name is NULL");
		return -1;
	}
	if (SYSFAST_LIKELY(!audit_enabled()))
		return 0;
	view = __atomic_load_n(&sysfast__audit_tls.view, __ATOMIC_RELAXED);
	m = memo_find(event, format);
	if (SYSFAST_UNLIKELY(!view || !m))
		return audit_format_slow(event, format, va);
	if (!__atomic_load_n(&view->slot[m->id], __ATOMIC_RELAXED))
		return 0;
	if (memo_build(m, format, &buf, va, &args) < 0)
		return -1;
	/* A remembered name is never NULL: let the dispatch skip its test. */
	if (!m->ename)
		__builtin_unreachable();
	return dispatch_hot(view, m->id, m->ename, &args);
}

int sysfast_vaudit(const char *event, const char *format, va_list va)
{
	va_list copy;
	int rc;

	/* A va_list parameter cannot be passed on by address portably. */
	va_copy(copy, va);
	rc = audit_format(event, format, &copy);
	va_end(copy);
	return rc;
}

int sysfast_audit(const char *event, const char *format, ...)
{
	va_list va;
	int rc;

	va_start(va, format);
	rc = audit_format(event, format, &va);
	va_end(va);
	return rc;
}

/* The id of the event whose filter byte a default-form site points at. */
static inline sysfast_event_id site_id(const unsigned char *listened_byte)
{
	return (sysfast_event_id)(listened_byte - audit_listened);
}

/* A default-form site's first call, or one whose name is bad: resolves
 * the name into *id and stores where the event's byte is. Returns 1, or
 * 0 while the runtime is down (nothing to raise), or -1 with the name's
 * error. */
static __attribute__((noinline)) int site_resolve(const unsigned char **site, const char *name,
                                                  sysfast_event_id *id)
{
	if (!name) {
		sysfast_err_set(sysfast_ValueError, "audit event name is NULL");
		return -1;
	}
	if (!sysfast__is_initialized())
		return 0;
	*id = resolve_name(name);
	if (!*id)
		return -1;
	/* Ids never change, so racing stores write the same value. */
	__atomic_store_n(site, &audit_listened[*id], __ATOMIC_RELEASE);
	return 1;
}

bool sysfast__audit_listens(const unsigned char **site, const char *name)
{
	const unsigned char *l = __atomic_load_n(site, __ATOMIC_ACQUIRE);
	const struct sysfast__audit_view *view;
	sysfast_event_id id;

	if (SYSFAST_UNLIKELY(l == &sysfast__audit_unresolved)) {
		struct sysfast__error saved;
		int r;

		/* A bad name: let the dispatch report it, with the error set
		 * there, not here. */
		sysfast__err_save(&saved);
		r = site_resolve(site, name, &id);
		sysfast__err_restore(&saved);
		if (r <= 0)
			return r < 0;
	} else {
		id = site_id(l);
	}
	view = thread_view();
	return view && __atomic_load_n(&view->slot[id], __ATOMIC_RELAXED) != NULL;
}

int sysfast__audit_at(const unsigned char **site, const char *name, const sysfast_args *args)
{
	const unsigned char *l = __atomic_load_n(site, __ATOMIC_ACQUIRE);
	const struct sysfast__audit_view *view;
	sysfast_event_id id;

	if (SYSFAST_UNLIKELY(l == &sysfast__audit_unresolved)) {
		int r = site_resolve(site, name, &id);

		if (r <= 0)
			return r;
	} else {
		id = site_id(l);
	}
	/* The macro built the tuple: n values at items, never NULL with n > 0. */
	view = thread_view();
	if (SYSFAST_UNLIKELY(!view))
		return 0;
	return dispatch_hot(view, id, NULL, args);
}

/* Caches `id`, its name and its filter byte at a call site. Ids never
 * change, so racing stores write the same values; the id goes last (see
 * audit.h). */
static void site_store(struct sysfast__site *site, sysfast_event_id id)
{
	__atomic_store_n(&site->name, sysfast__event_name_unchecked(id), __ATOMIC_RELAXED);
	__atomic_store_n(&site->listened, &audit_listened[id], __ATOMIC_RELAXED);
	__atomic_store_n(&site->id, id, __ATOMIC_RELEASE);
}

int sysfast__audit_site(struct sysfast__site *site, const char *name, const sysfast_args *args)
{
	sysfast_event_id id = __atomic_load_n(&site->id, __ATOMIC_RELAXED);
	const struct sysfast__audit_view *view;

	if (SYSFAST_UNLIKELY(!id)) {
		if (!name) {
			sysfast_err_set(sysfast_ValueError, "audit event name is NULL");
			return -1;
		}
		if (!sysfast__is_initialized())
			return 0;
		id = resolve_name(name);
		if (!id)
			return -1;
		site_store(site, id);
	}
	/* The macro only calls here when some hook exists, so go straight to
	 * the dispatch; the id came from interning and is valid. */
	view = thread_view();
	if (SYSFAST_UNLIKELY(!view))
		return 0;
	return dispatch(view, id, NULL, args);
}

bool sysfast__audit_resolve(struct sysfast__site *site, const char *name)
{
	sysfast_event_id id = __atomic_load_n(&site->id, __ATOMIC_RELAXED);

	if (!sysfast__is_initialized())
		return false;
	if (!id) {
		struct sysfast__error saved;

		/* A bad name: let the dispatch report it, with the error set
		 * there, not here. */
		sysfast__err_save(&saved);
		id = name ? resolve_name(name) : 0;
		sysfast__err_restore(&saved);
		if (!id)
			return true;
		site_store(site, id);
	}
	return sysfast_audit_active(id);
}

int sysfast__audit_failed(int r, const char *name)
{
	/* The inline dispatch runs only with the counter at 0. */
	sysfast__tracing_resume(&sysfast__audit_tls, 0);
	sysfast__read_unlock();
	return hook_failed(r, name);
}

int sysfast__audit_unlock_site(struct sysfast__site *site, const char *name,
                               const sysfast_args *args)
{
	sysfast__read_unlock();
	return sysfast__audit_site(site, name, args);
}

bool sysfast_audit_active(sysfast_event_id id)
{
	struct sysfast__thread *t;
	struct sysfast_interp *interp;

	if (!audit_enabled() || !id_is_valid(id))
		return false;
	t = sysfast__thread_get();
	interp = sysfast__current_interp(t);
	return interp && listened(interp, id);
}

void sysfast__audit_lifecycle(struct sysfast_interp *interp, sysfast_event_id id)
{
	struct sysfast__thread *t = sysfast__thread_get();
	struct sysfast__error saved;

	if (!audit_enabled())
		return;
	if (!interp)
		interp = sysfast__current_interp(t);
	if (!interp)
		return;
	/* Hooks may fail these events but cannot stop what they announce. */
	sysfast__err_save(&saved);
	(void)dispatch(interp->view, id, NULL, &no_args);
	sysfast__err_restore(&saved);
}

/* Calls the process-wide hooks of `vec` (its first entries), as
 * run_hooks calls them all. */
static int call_global_hooks(struct sysfast__audit_thread *th, const struct sysfast__hookvec *vec,
                             sysfast_event_id id)
{
	const char *name = sysfast__event_name_unchecked(id);
	unsigned outer = sysfast__tracing_depth(th);
	int rc = 0;

	for (size_t i = 0; i < vec_head(vec)->n_global && rc == 0; i++) {
		const struct sysfast__hook_entry *e = &vec->e[i];
		int r;

		if (e->flags & SYSFAST_HOOK_CANTRACE)
			sysfast__tracing_resume(th, outer);
		else
			sysfast__tracing_suspend(th, outer);
		r = e->fn(id, name, &no_args, e->userdata);
		if (r != 0 || th->err)
			rc = hook_failed(r, name);
	}
	sysfast__tracing_resume(th, outer);
	return rc;
}

void sysfast__audit_clear_hooks_event(struct sysfast_interp *main_interp)
{
	struct sysfast__audit_thread *th = &sysfast__audit_tls;
	const struct sysfast__hookvec *vec;
	struct sysfast__error saved;

	sysfast__thread_get();
	if (!audit_enabled())
		return;
	/* Hooks may fail it but cannot stop what it announces. */
	sysfast__err_save(&saved);
	sysfast__read_lock();
	/* A slot that sysfast__audit_drop_own_hooks kept, or that a hook
	 * added since filled, holds the process-wide hooks first; a cleared
	 * one left its snapshot in final_vec. */
	vec = slot_get(main_interp, SYSFAST__EV_CLEAR_HOOKS);
	if (!vec)
		vec = final_vec;
	if (vec)
		(void)call_global_hooks(th, vec, SYSFAST__EV_CLEAR_HOOKS);
	sysfast__read_unlock();
	sysfast__err_restore(&saved);
}

/* ---- adding hooks ---- */

/* Validates options; returns the number of patterns, or -1 (ValueError). */
static long check_options(const sysfast_hook_options *opts)
{
	/* A flag this version does not know would be silently ignored, and
	 * the caller would believe it in force. */
	if (opts && (opts->flags & ~(unsigned)SYSFAST_HOOK_CANTRACE)) {
		sysfast_err_format(sysfast_ValueError, "hook options: unknown flags 0x%x",
		                   opts->flags & ~(unsigned)SYSFAST_HOOK_CANTRACE);
		return -1;
	}
	if (!opts || !opts->events)
		return 0;
	if (opts->n_events == 0) {
		sysfast_err_set(sysfast_ValueError,
		                "hook options: events is set but n_events is 0");
		return -1;
	}
	for (size_t i = 0; i < opts->n_events; i++) {
		const char *p = opts->events[i];
		const char *star;
		long len;

		if (!p) {
			sysfast_err_format(sysfast_ValueError, "hook options: events[%zu] is NULL",
			                   i);
			return -1;
		}
		star = strchr(p, '*');
		if (star && star[1] == '\0' && star == p)
			continue; /* "*" */
		if (star && star[1] != '\0') {
			sysfast_err_format(
			    sysfast_ValueError,
			    "hook options: events[%zu]: '*' is allowed only at the end", i);
			return -1;
		}
		len = sysfast__name_check(p, "event pattern");
		if (len < 0)
			return -1;
	}
	return (long)opts->n_events;
}

static void hook_free(struct sysfast__hook *h)
{
	for (size_t p = 0; p < h->n_patterns; p++)
		sysfast__free(h->patterns[p].text);
	sysfast__free(h);
}

/* Copies a hook and its patterns. */
static struct sysfast__hook *hook_new(sysfast_audit_hook fn, void *userdata,
                                      const sysfast_hook_options *opts, size_t n_patterns)
{
	struct sysfast__hook *h =
	    sysfast__calloc(1, sizeof(*h) + n_patterns * sizeof(h->patterns[0]));

	if (!h)
		goto oom;
	h->fn = fn;
	h->userdata = userdata;
	h->flags = opts ? opts->flags : 0;
	h->n_patterns = n_patterns;
	for (size_t i = 0; i < n_patterns; i++) {
		const char *p = opts->events[i];
		size_t len = strlen(p);
		struct pattern *pat = &h->patterns[i];

		pat->prefix = p[len - 1] == '*';
		pat->len = pat->prefix ? len - 1 : len;
		pat->text = sysfast__malloc(len + 1);
		if (!pat->text)
			goto oom;
		memcpy(pat->text, p, len + 1);
	}
	return h;
oom:
	if (h)
		hook_free(h);
	sysfast_err_set(sysfast_MemoryError, "out of memory adding an audit hook");
	return NULL;
}

/* Makes room in `list` for one more hook. */
static int hooklist_reserve(struct sysfast__hooklist *list)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct sysfast__hook **items = sysfast__realloc(list->items, cap * sizeof(*items));

		if (!items) {
			sysfast_err_set(sysfast_MemoryError, "out of memory adding an audit hook");
			return -1;
		}
		list->items = items;
		list->cap = cap;
	}
	return 0;
}

/* Gives back the room of a list left empty by a failed add: an empty
 * list holds no memory. */
static void hooklist_unreserve(struct sysfast__hooklist *list)
{
	if (list->n == 0)
		hooklist_clear(list);
}

static bool is_sealed(void)
{
	return __atomic_load_n(&sealed, __ATOMIC_ACQUIRE);
}

static int sealed_error(void)
{
	sysfast_err_set(sysfast_PermissionError, "audit hooks are sealed");
	return -1;
}

/* Adds `h` to its list (`target` NULL: the process-wide one) and to every
 * slot it belongs in, or on failure (MemoryError) changes nothing. Under
 * the lock. */
static int link_hook(struct sysfast_interp *target, struct sysfast__hook *h)
{
	struct sysfast__hooklist *list = target ? &target->hooks : &global_hooks;
	struct sysfast__audit_changes c = {0};
	struct sysfast_interp *interp;
	int rc = 0;

	if (hooklist_reserve(list) < 0)
		return -1;
	/* Listed while its snapshots are built, as they are built from the
	 * lists; only writers read the lists, and they wait for the lock. */
	list->items[list->n++] = h;
	if (target) {
		rc = prepare_hook(&c, target, h);
	} else {
		cds_list_for_each_entry(interp, &sysfast__interps, link)
			if ((rc = prepare_hook(&c, interp, h)) < 0)
				break;
	}
	if (rc < 0) {
		list->n--;
		hooklist_unreserve(list);
		changes_drop(&c);
		return -1;
	}
	audit_commit(&c);
	return 0;
}

/* Raises "sys.addaudithook" (docs/api.md, audit rule 4). Returns 0 to go on adding, 1 when a
 * hook refused the add with a RuntimeError (suppressed: the caller's
 * pending error, if any, is back as it was, since the add did not fail),
 * or -1 with the hook's error. */
static int raise_addaudithook(void)
{
	struct sysfast__error saved;
	int rc;

	/* Saved here too, not only inside the dispatch: a suppressed refusal
	 * must give the caller's error back, which the dispatch does only on
	 * success. */
	sysfast__err_save(&saved);
	rc = sysfast_audit_args(SYSFAST__EV_ADDAUDITHOOK, NULL);
	if (rc < 0 && !sysfast_err_matches(sysfast_RuntimeError))
		return -1;
	sysfast__err_restore(&saved);
	return rc < 0 ? 1 : 0;
}

/*
 * Common body of the three adds. `target` is the interpreter (NULL with
 * `global` for a process-wide hook). Audit rule 4 (docs/api.md): the "sys.addaudithook" event
 * goes through the hooks already present, in the caller's interpreter,
 * before the new hook exists.
 */
static int add_hook(bool global, struct sysfast_interp *target, sysfast_audit_hook fn,
                    void *userdata, const sysfast_hook_options *opts)
{
	struct sysfast__hook *h;
	long n_patterns;
	int rc;

	sysfast__thread_get();
	if (!fn) {
		sysfast_err_set(sysfast_ValueError, "audit hook function is NULL");
		return -1;
	}
	n_patterns = check_options(opts);
	if (n_patterns < 0)
		return -1;
	if (is_sealed())
		return sealed_error();
	if (!global && sysfast__check_initialized() < 0)
		return -1;
	if (sysfast__is_initialized() && (rc = raise_addaudithook()) != 0)
		return rc;
	h = hook_new(fn, userdata, opts, (size_t)n_patterns);
	if (!h)
		return -1;

	pthread_mutex_lock(&sysfast__lock);
	if (is_sealed()) {
		rc = sealed_error();
	} else if (!global && !sysfast__initialized) {
		sysfast_err_set(sysfast_SystemError, "sysfast is not initialized");
		rc = -1;
	} else if (!global && (!sysfast__interp_is_live(target) || target->dying)) {
		sysfast_err_set(sysfast_ValueError, "not a live interpreter");
		rc = -1;
	} else {
		rc = link_hook(global ? NULL : target, h);
		sysfast__audit_update_enabled();
	}
	pthread_mutex_unlock(&sysfast__lock);
	if (rc != 0)
		hook_free(h);
	return rc;
}

int sysfast_add_audit_hook(sysfast_audit_hook fn, void *userdata)
{
	return add_hook(true, NULL, fn, userdata, NULL);
}

int sysfast_add_audit_hook_ex(sysfast_audit_hook fn, void *userdata,
                              const sysfast_hook_options *opts)
{
	return add_hook(true, NULL, fn, userdata, opts);
}

int sysfast_interp_add_audit_hook(sysfast_interp *interp, sysfast_audit_hook fn, void *userdata,
                                  const sysfast_hook_options *opts)
{
	if (sysfast__check_initialized() < 0)
		return -1;
	if (!interp)
		interp = sysfast__current_interp(sysfast__thread_get());
	return add_hook(false, interp, fn, userdata, opts);
}

int sysfast_audit_seal(void)
{
	__atomic_store_n(&sealed, true, __ATOMIC_RELEASE);
	return 0;
}
