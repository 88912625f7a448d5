/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the event name registry.
 *
 * Every distinct event name gets a dense id, 1, 2, 3, ... in the order
 * names are first seen. Dense ids let the audit code keep per-event hook
 * slots in a two-level array indexed by id (see audit.h) instead of a hash
 * lookup per dispatch, and let a call site cache its id in one word.
 *
 * Names are immortal: a node is allocated once and never freed, and an id
 * is never reused, for the life of the process (sysfast_fini() does not
 * touch this table). That is what makes every reader lock-free without
 * reclamation: a pointer to a node, or to its name, stays valid forever.
 *
 * Two indexes point at the same nodes:
 *
 *   name -> node  an RCU-protected hash table of our own (below). Lookups
 *                 of known names take no lock and allocate nothing, which
 *                 audit rule 9 (docs/api.md) requires.
 *   id -> node    a two-level radix table of SYSFAST__SLOT_DIR chunks of
 *                 SYSFAST__SLOT_CHUNK entries. Chunks are allocated on
 *                 demand and never moved or freed, so a reader needs two
 *                 dependent loads and no lock.
 *
 * Writers (new names only) serialise on sysfast__lock. A new name is rare
 * (programs use tens to hundreds), so one lock costs nothing measurable,
 * and it makes id assignment, the audit slots of the new event and the
 * insertions one atomic step as seen by other writers.
 *
 * Out of memory. Everything a new name needs (room in the name index, its
 * node, its id chunk, its hooks' snapshots) is allocated before anything
 * is published; a failure frees what was allocated and the name gets no
 * id. The name index is our own for that reason: liburcu's rculfhash
 * aborts the process when it cannot allocate a bigger bucket table.
 *
 * Memory ordering. The index, the id table and the count are published
 * with C11 __atomic release stores and read with acquire loads, rather
 * than liburcu's rcu_assign_pointer/uatomic: those are inline asm and
 * volatile accesses that ThreadSanitizer cannot see, and it would report
 * every reader as racing with the writer.
 */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "siphash.h"

/* struct sysfast__event_node is in internal.h, so that the dispatch can
 * read a name inline. */
#define event_node sysfast__event_node

/*
 * The name index: open addressing with linear probing over a power of two
 * of node pointers, at most half full. Names are never removed, so a probe
 * ends at the first empty entry, and an entry once set never changes: a
 * reader needs no lock, only an RCU read-side critical section around its
 * probe. Growing builds a table twice as large beside the old one under
 * sysfast__lock, publishes it with one store and frees the old one after a
 * grace period; a reader finishes its probe in whichever it loaded. The
 * growth is an ordinary allocation, made before the new name takes
 * anything else, so a failure costs only that name (MemoryError).
 *
 * 512 entries hold CPython's whole audit event list (about 100 names)
 * plus an application's own without growing. The largest table, for
 * SYSFAST_EVENT_ID_MAX names, has 2^21 entries (16 MiB).
 */
struct name_index {
	struct rcu_head rcu; /* first, for sysfast__defer_free */
	size_t mask;         /* entries - 1 */
	struct event_node *entry[];
};

#define NAME_INDEX_MIN 512u

/* NULL until the first name beyond the built-in ones is interned.
 * Replaced under sysfast__lock; readers load it inside a read-side
 * critical section. */
static struct name_index *event_index;
/* The built-in events (internal.h): static nodes, in the id table from
 * the start and put into the index when it is made. Their hashes depend
 * on the process's key, so they are computed then, once. */
#define BUILTIN_NODE(ev, text)                                                                     \
	static struct event_node builtin_##ev = {.id = ev, .len = sizeof(text) - 1, .name = text};
SYSFAST__BUILTIN_EVENTS(BUILTIN_NODE)
#undef BUILTIN_NODE

static struct event_node *const builtins[] = {
#define BUILTIN_PTR(id, text) &builtin_##id,
    SYSFAST__BUILTIN_EVENTS(BUILTIN_PTR)
#undef BUILTIN_PTR
};
static bool builtins_hashed; /* under sysfast__lock */

/* Ids 1..event_count are valid. Written under sysfast__lock, last of all
 * when a name is added: this store is the moment the name exists for
 * every reader (see insert_locked). */
static uint32_t event_count = SYSFAST__EV_BUILTIN_END - 1;
/* id -> node: event_chunks[id >> SHIFT][id & (CHUNK - 1)]. The first
 * chunk is static, holding the built-in events. */
static struct event_node *first_chunk[SYSFAST__SLOT_CHUNK] = {
#define BUILTIN_SLOT(id, text) [id] = &builtin_##id,
    SYSFAST__BUILTIN_EVENTS(BUILTIN_SLOT)
#undef BUILTIN_SLOT
};
struct event_node **sysfast__event_chunks[SYSFAST__SLOT_DIR] = {first_chunk};
#define event_chunks sysfast__event_chunks

/* ---- validation ---- */

enum name_fault {
	NAME_OK,
	NAME_NULL,
	NAME_EMPTY,
	NAME_TOO_LONG,
	NAME_BAD_START,        /* a byte that cannot start a sequence */
	NAME_BAD_CONTINUATION, /* overlong, surrogate, > U+10FFFF or not 10xxxxxx */
	NAME_TRUNCATED,        /* the name ends inside a sequence */
};

/* The name's length if it is 1..SYSFAST_EVENT_NAME_MAX bytes, else -1 and
 * *fault says why. Reads at most SYSFAST_EVENT_NAME_MAX + 1 bytes. */
static long name_length(const char *name, enum name_fault *fault)
{
	size_t len;

	if (!name) {
		*fault = NAME_NULL;
		return -1;
	}
	len = strnlen(name, SYSFAST_EVENT_NAME_MAX + 1);
	if (len == 0) {
		*fault = NAME_EMPTY;
		return -1;
	}
	if (len > SYSFAST_EVENT_NAME_MAX) {
		*fault = NAME_TOO_LONG;
		return -1;
	}
	return (long)len;
}

/*
 * Strict UTF-8, as Python's decoder and the Unicode standard (table 3-7)
 * define it: the second byte's range depends on the first, which rules out
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
 * code points past U+10FFFF (F4 90.., F5..FF). Returns the offset of the
 * first bad sequence, or -1 when all `len` bytes are valid.
 */
static long utf8_check(const unsigned char *s, size_t len, enum name_fault *fault)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t need, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			*fault = NAME_BAD_START;
			return (long)i;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= len) {
				*fault = NAME_TRUNCATED;
				return (long)i;
			}
			if (s[i + k] < lo || s[i + k] > hi) {
				*fault = NAME_BAD_CONTINUATION;
				return (long)i;
			}
			lo = 0x80;
			hi = 0xbf;
		}
		i += need + 1;
	}
	return -1;
}

/* The length of a valid name, or -1 and *fault, *offset; sets no error. */
static long name_scan(const char *name, enum name_fault *fault, long *offset)
{
	long len = name_length(name, fault);

	if (len < 0)
		return -1;
	*offset = utf8_check((const unsigned char *)name, (size_t)len, fault);
	return *offset < 0 ? len : -1;
}

long sysfast__name_check(const char *name, const char *what)
{
	static const char *const reason[] = {
	    [NAME_BAD_START] = "invalid start byte",
	    [NAME_BAD_CONTINUATION] = "invalid continuation byte",
	    [NAME_TRUNCATED] = "unexpected end of data",
	};
	enum name_fault fault = NAME_OK;
	long offset = -1;
	long len = name_scan(name, &fault, &offset);

	switch (fault) {
	case NAME_OK:
		return len;
	case NAME_NULL:
		sysfast_err_format(sysfast_ValueError, "%s is NULL", what);
		break;
	case NAME_EMPTY:
		sysfast_err_format(sysfast_ValueError, "%s is empty", what);
		break;
	case NAME_TOO_LONG:
		sysfast_err_format(sysfast_ValueError, "%s is longer than %d bytes", what,
		                   SYSFAST_EVENT_NAME_MAX);
		break;
	default:
		/* Python's convention: the first byte of the bad sequence. */
		sysfast_err_format(sysfast_ValueError,
		                   "%s is not valid UTF-8 (byte 0x%02x at offset %ld: %s)", what,
		                   (unsigned char)name[offset], offset, reason[fault]);
		break;
	}
	return -1;
}

/* ---- lookup ---- */

static uint64_t name_hash(const char *name, size_t len)
{
	return sysfast__keyed_hash(name, len);
}

/* The node for `name` in `ix`, or NULL. Call inside an RCU read-side
 * critical section, or with sysfast__lock held. */
static struct event_node *index_find(const struct name_index *ix, const char *name, size_t len,
                                     uint64_t hash)
{
	for (size_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		struct event_node *n = __atomic_load_n(&ix->entry[i], __ATOMIC_ACQUIRE);

		if (!n)
			return NULL;
		if (n->hash == hash && n->len == len && memcmp(n->name, name, len) == 0)
			return n;
	}
}

sysfast_event_id sysfast__event_lookup(const char *name, size_t len)
{
	struct event_node *n;
	sysfast_event_id id;

	/* No index yet: only the built-in names exist, and this thread need
	 * not be set up (lookups before sysfast_init stay free). */
	if (!__atomic_load_n(&event_index, __ATOMIC_ACQUIRE)) {
		for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
			if (builtins[i]->len == len && !memcmp(builtins[i]->name, name, len))
				return builtins[i]->id;
		return 0;
	}
	sysfast__thread_get();
	sysfast__read_lock();
	n = index_find(__atomic_load_n(&event_index, __ATOMIC_ACQUIRE), name, len,
	               name_hash(name, len));
	id = n ? n->id : 0;
	sysfast__read_unlock();
	/* A node past the count is still being added: not there yet. */
	return id <= __atomic_load_n(&event_count, __ATOMIC_ACQUIRE) ? id : 0;
}

/* ---- id table ---- */

/* Stores `n` (may be NULL) as the node of `id`, allocating its chunk if
 * needed. Call with sysfast__lock held. Returns 0, or -1 with MemoryError. */
static int slot_store(sysfast_event_id id, struct event_node *n)
{
	struct event_node ***dir = &event_chunks[id >> SYSFAST__SLOT_SHIFT];
	struct event_node **chunk = *dir;

	if (!chunk) {
		chunk = sysfast__calloc(SYSFAST__SLOT_CHUNK, sizeof(*chunk));
		if (!chunk) {
			sysfast_err_set(sysfast_MemoryError, "out of memory for event names");
			return -1;
		}
		__atomic_store_n(dir, chunk, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&chunk[id & (SYSFAST__SLOT_CHUNK - 1)], n, __ATOMIC_RELEASE);
	return 0;
}

/* ---- insertion ---- */

/* Puts `n` in `ix`, which has room. Under sysfast__lock. */
static void index_put(struct name_index *ix, struct event_node *n)
{
	size_t i = n->hash & ix->mask;

	while (ix->entry[i])
		i = (i + 1) & ix->mask;
	__atomic_store_n(&ix->entry[i], n, __ATOMIC_RELEASE);
}

/* Makes room in the index for `names` names, creating or growing it.
 * Under sysfast__lock. Returns 0, or -1 with MemoryError and the index as
 * it was. */
static int index_reserve(size_t names)
{
	struct name_index *old = event_index, *ix;
	size_t size = old ? old->mask + 1 : NAME_INDEX_MIN;

	if (old && names <= size / 2)
		return 0;
	while (names > size / 2)
		size *= 2;
	ix = sysfast__calloc(1, sizeof(*ix) + size * sizeof(ix->entry[0]));
	if (!ix) {
		sysfast_err_set(sysfast_MemoryError, "out of memory for event names");
		return -1;
	}
	ix->mask = size - 1;
	if (old) {
		for (size_t i = 0; i <= old->mask; i++)
			if (old->entry[i])
				index_put(ix, old->entry[i]);
	} else {
		for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
			if (!builtins_hashed)
				builtins[i]->hash = name_hash(builtins[i]->name, builtins[i]->len);
			index_put(ix, builtins[i]);
		}
		builtins_hashed = true;
	}
	__atomic_store_n(&event_index, ix, __ATOMIC_RELEASE);
	if (old)
		sysfast__defer_free(&old->rcu);
	return 0;
}

/*
 * Adds a valid name that the caller did not find. Call with sysfast__lock
 * held.
 *
 * First everything that can fail, publishing nothing: room in the index,
 * the node, its entry in the id table (which the audit code reads the new
 * name through: the id is not handed out yet, as the count does not cover
 * it), the snapshots of its hooks. A failure undoes these and the count
 * (the next id) is unchanged. Then what cannot fail: the snapshots, the
 * index entry, the count. The count store is the one point where the name
 * appears: readers ignore ids past the count, both in sysfast_event_name()
 * and in a lookup that finds the node in the index early. So an id from
 * find is always valid for sysfast_event_name(), and a name from
 * sysfast_event_name() is always found, with no window in between.
 */
/* Who hears of new names first (data.h); NULL until the audit layer
 * sets it, before any interpreter exists. */
static const struct sysfast__event_observer *observer;

void sysfast__event_observe(const struct sysfast__event_observer *obs)
{
	__atomic_store_n(&observer, obs, __ATOMIC_RELEASE);
}

static sysfast_event_id insert_locked(const char *name, size_t len)
{
	const struct sysfast__event_observer *obs = __atomic_load_n(&observer, __ATOMIC_ACQUIRE);
	void *ctx[SYSFAST__EVENT_OBSERVER_CTX / sizeof(void *)] = {0};
	bool first_index = !event_index;
	sysfast_event_id id;
	struct event_node *n;
	uint64_t hash;

	if (index_reserve((size_t)event_count + 1) < 0)
		return 0;
	hash = name_hash(name, len);
	n = index_find(event_index, name, len, hash);
	if (n) /* interned by another thread while we waited for the lock */
		return n->id;
	if (event_count >= SYSFAST_EVENT_ID_MAX) {
		sysfast_err_format(sysfast_MemoryError, "too many event names (limit %u)",
		                   SYSFAST_EVENT_ID_MAX);
		goto undo_index;
	}
	n = sysfast__malloc(sizeof(*n) + len + 1);
	if (!n) {
		sysfast_err_set(sysfast_MemoryError, "out of memory for event names");
		goto undo_index;
	}
	id = event_count + 1;
	n->hash = hash;
	n->id = id;
	n->len = (uint32_t)len;
	memcpy(n->name, name, len);
	n->name[len] = '\0';

	if (slot_store(id, n) < 0)
		goto free_node;
	if (obs && obs->prepare(id, ctx) < 0) {
		slot_store(id, NULL); /* cannot fail: the chunk exists now */
		goto free_node;
	}

	if (obs)
		obs->commit(ctx);
	index_put(event_index, n);
	__atomic_store_n(&event_count, id, __ATOMIC_RELEASE);
	return id;

free_node:
	sysfast__free(n);
undo_index:
	/* An index this call made holds only the built-in names, which work
	 * without one: dropping it leaves the registry exactly as it was. A
	 * grown one stays, the same names with more room. */
	if (first_index) {
		struct name_index *ix = event_index;

		__atomic_store_n(&event_index, NULL, __ATOMIC_RELEASE);
		sysfast__defer_free(&ix->rcu);
	}
	return 0;
}

/* insert_locked() for a valid name not found, taking sysfast__lock unless
 * the caller holds it. */
static sysfast_event_id insert(const char *name, size_t len, bool locked)
{
	sysfast_event_id id;

	sysfast__thread_get(); /* call_rcu (a grown index, replaced snapshots) needs it */
	if (!locked)
		pthread_mutex_lock(&sysfast__lock);
	id = insert_locked(name, len);
	if (!locked)
		pthread_mutex_unlock(&sysfast__lock);
	return id;
}

sysfast_event_id sysfast__event_intern_len(const char *name, size_t len, bool locked)
{
	sysfast_event_id id = sysfast__event_lookup(name, len);

	return id ? id : insert(name, len, locked);
}

/* ---- public API ---- */

/*
 * A name in the table was valid when it went in, so a name found there
 * needs no UTF-8 check: the fast path of both functions below is a bounded
 * strnlen, one hash and one lookup. Only a name not found is validated.
 */

sysfast_event_id sysfast_event_intern(const char *name)
{
	enum name_fault fault;
	sysfast_event_id id;
	long len;

	if (sysfast__check_initialized() < 0)
		return 0;
	if (name && (id = sysfast__name_cache_get(name)))
		return id;
	len = name_length(name, &fault);
	if (len > 0) {
		id = sysfast__event_lookup(name, (size_t)len);
		if (id)
			goto found;
	}
	len = sysfast__name_check(name, "event name");
	if (len < 0)
		return 0;
	id = insert(name, (size_t)len, false);
	if (!id)
		return 0;
found:
	sysfast__name_cache_put(name, id);
	return id;
}

/* Works before sysfast_init and after sysfast_fini: names are
 * process-wide, and a find has no error to report. */
sysfast_event_id sysfast_event_find(const char *name)
{
	enum name_fault fault;
	sysfast_event_id id;
	long len;

	if (name && (id = sysfast__name_cache_get(name)))
		return id;
	len = name_length(name, &fault);
	if (len < 0)
		return 0;
	return sysfast__event_lookup(name, (size_t)len);
}

/* Works in any state, like sysfast_event_find. Ids past the count read
 * nothing, so any id value is safe. */
const char *sysfast_event_name(sysfast_event_id id)
{
	if (id == 0 || id > __atomic_load_n(&event_count, __ATOMIC_ACQUIRE))
		return NULL;
	return sysfast__event_name_unchecked(id);
}

size_t sysfast_event_count(void)
{
	return __atomic_load_n(&event_count, __ATOMIC_ACQUIRE);
}

size_t sysfast__event_index_blocks(void)
{
	return __atomic_load_n(&event_index, __ATOMIC_ACQUIRE) != NULL;
}
