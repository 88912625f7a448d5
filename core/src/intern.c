/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - immutable strings and the table of interned ones.
 *
 * The table is a hash table of our own (below), RCU-protected (liburcu,
 * memb flavour): lookups take no lock. Keys are the bytes, hashed with
 * SipHash-1-3 under a per-process random 128-bit key (siphash.h). Like
 * CPython 3.11's interned dict, it holds no reference: interned strings
 * are mortal and leave it when their last reference goes.
 *
 * The protocol, and why no reader ever touches freed memory:
 *
 *  - A reader (intern of known bytes, find) runs inside an RCU read-side
 *    critical section: it looks the bytes up and takes a reference only if
 *    the count is not zero (get_unless_zero). A count of zero means the
 *    string is dying: it is treated as absent and can never come back, so
 *    "a string whose last reference is gone is never returned again".
 *  - Writers serialise on intern_lock: a new interned string, and the
 *    removal of a dying one. An insert looks again under the lock and then
 *    either finds a live string, puts the new node in the slot of a dying
 *    node with equal bytes (one store, no moment without a node), or adds
 *    it. So the table never holds two nodes with equal bytes.
 *  - The last decref of an interned string takes intern_lock, removes
 *    exactly its own node (found by address, not by bytes: if a writer
 *    already put a new node with equal bytes in its slot, the removal
 *    finds nothing and touches nothing) and hands it to call_rcu. The memory goes
 *    back only after every read-side section that could have found the
 *    node has ended.
 *  - A string becomes interned only while its creator holds a reference,
 *    and its `interned` flag is set just before it enters the table, so
 *    every string a lookup can return reads as interned, and whoever drops
 *    the last reference sees the flag and takes the deferred path. A string
 *    that was never interned was never visible to a reader and is freed at
 *    once.
 *
 * Nothing here ever waits for a grace period, under intern_lock or
 * anywhere: an intern or a last decref from inside an audit hook, which
 * runs in a read-side section, must not deadlock, and a writer holding
 * the lock may itself be inside one. Growing the table waits for none
 * either: the old slot array is handed to call_rcu.
 *
 * A caller's bytes are read only for a length that some interned string
 * already has or had (intern_max_len): a longer one cannot be in the
 * table, so it is allocated first, and a length that cannot be allocated
 * fails with MemoryError before a byte of a possibly short buffer is read.
 * A lookup compares at most `len` bytes of the caller's buffer.
 *
 * The table lives for the process, starting from a static array (no
 * allocation at init); sysfast_fini does not touch it: its strings belong
 * to the user.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "siphash.h"

/*
 * A string. The header is 40 bytes so that a string of up to 23 bytes
 * (header, bytes and NUL: at most 64) takes a 64-byte block, which
 * jemalloc aligns to 64 (glibc's malloc, to 16): a hit on a short string
 * then reads one cache line of its node. To get there, the link that
 * call_rcu needs shares its 16 bytes with the type and the `interned`
 * flag: both are read only through a reference, and a string handed to
 * call_rcu has none left (readers still inside a read-side section read
 * only refcnt, len and data, which stay intact).
 */
struct sysfast_str {
	union {
		struct {
			sysfast_object ob; /* first: (sysfast_object *)s is valid */
			bool interned;     /* atomic; set once, just before insertion */
		};
		struct rcu_head rcu; /* interned strings are freed through call_rcu */
	};
	size_t refcnt; /* atomic; 0 means dying */
	uint64_t hash;
	size_t len;
	char data[]; /* len bytes, then a NUL */
};

/* The "header" of sizeof: everything in front of the bytes. */
#define STR_HEADER offsetof(struct sysfast_str, data)

/*
 * The table: open addressing with linear probing over a power of two of
 * slots, each the string's hash beside its node, so that a probe that
 * passes other strings compares 64-bit hashes in the slot array and
 * touches no node; a hit reads the node once, for its length and bytes.
 * Four slots share a cache line.
 *
 * A slot is empty (node NULL), holds a node, or is a tombstone (node
 * TOMBSTONE: a string was removed there and probes must go on past it).
 * There is always at least one empty slot, so every probe ends. Writers
 * change slots under intern_lock, in an order readers can follow without
 * it:
 *
 *  - an insert into an empty or tombstone slot stores the hash, then the
 *    node with a release store; into the slot of a dying node with equal
 *    bytes, only the node;
 *  - a removal stores TOMBSTONE, or NULL when the next slot is empty (no
 *    probe can need to pass it then: a string further on would have been
 *    put here or before), and then turns the tombstones before it to
 *    NULL, last first, for the same reason. Clusters of dead strings so
 *    go back to empty slots without a rehash.
 *
 * A reader loads the hash, then the node (acquire). The two may come from
 * different moments of a slot being reused, so a hash match is confirmed
 * on the node (length and bytes) and a node is taken only with
 * get_unless_zero; a live string's slot does not change while it is
 * held, so a reader never misses one that was interned before it began.
 *
 * Growing: when an insert would fill more than 3/4 of the slots
 * (tombstones included), the writer allocates an array with at least
 * twice as many slots as strings (so the load is at most 1/2 after it),
 * copies the nodes over with their hashes (dying ones too: their owners
 * remove them from the new array), publishes it with one release store
 * and hands the old array to call_rcu; a reader finishes its probe in
 * whichever array it loaded. The old array is never written again. If
 * that allocation fails, the insert goes on in the old array while a slot
 * is left beside the one that must stay empty; only a full array (which
 * needs that many strings, and every allocation failing) makes an insert
 * fail, with MemoryError and nothing changed. No allocation failure
 * anywhere aborts.
 *
 * The array never shrinks on a removal (the dying path never allocates);
 * the next rehash sizes it by the strings then in it.
 */
struct intern_slot {
	uint64_t hash;            /* atomic (relaxed); meaningful while node is a string */
	struct sysfast_str *node; /* atomic: NULL, TOMBSTONE or a string */
};

struct intern_slots {
	struct rcu_head rcu;      /* first, for sysfast__defer_free */
	size_t mask;              /* slots - 1 */
	struct intern_slot *slot; /* just after this header, or initial_slots */
};

/*
 * The first array is static: 256 slots (4 KiB of zeroes, in .bss) hold a
 * small program's 192 strings without growing, and sysfast_init has
 * nothing to allocate for the table, so nothing to undo when it fails.
 * A rehash away from it leaves it be.
 */
#define TABLE_MIN_SLOTS 256u
static struct intern_slot initial_slots[TABLE_MIN_SLOTS];
static struct intern_slots initial_table = {.mask = TABLE_MIN_SLOTS - 1, .slot = initial_slots};

/* Marks a slot whose string was removed. Never dereferenced. */
static char tombstone_mark;
#define TOMBSTONE ((struct sysfast_str *)(void *)&tombstone_mark)

/* Serialises insertions, removals and rehashes. Readers never take it, and
 * no holder ever waits for a grace period. */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
/* Replaced under intern_lock (release), read with an acquire load inside a
 * read-side section. */
static struct intern_slots *intern_table = &initial_table;
/* Slots that are not empty (strings and tombstones); under intern_lock. */
static size_t intern_used;
/* Strings in the table, dying ones included until they are removed.
 * Written under intern_lock, read with relaxed loads. */
static size_t intern_live;
/* The longest length ever interned. Only grows, under intern_lock, before
 * the node that has it is added; read with relaxed loads. No string in the
 * table is longer. */
static size_t intern_max_len;

/* ---- the "str" type ---- */

static int str_sizeof(const sysfast_object *self, int64_t *size)
{
	if (!self || !size) {
		sysfast_err_set(sysfast_ValueError, "str.__sizeof__: NULL argument");
		return -1;
	}
	/* A length was checked to keep the whole object under PTRDIFF_MAX. */
	*size = (int64_t)(STR_HEADER + ((const struct sysfast_str *)self)->len + 1);
	return 0;
}

static const sysfast_type str_type = {
    .name = "str",
    .flags = 0,
    .sizeof_fn = str_sizeof,
    .traverse = NULL,
};

/* ---- strings ---- */

/* (NULL, 0) is the empty string. */
static uint64_t bytes_hash(const char *s, size_t len)
{
	return sysfast__keyed_hash(len ? s : "", len);
}

/* The argument rules of intern.h, in order, before a byte is read.
 * Returns 0, or -1 with the error set. */
static int bytes_check(const char *s, size_t len)
{
	if (!s && len > 0) {
		sysfast_err_format(sysfast_ValueError, "NULL string with length %zu", len);
		return -1;
	}
	if (len > SIZE_MAX - STR_HEADER - 1) {
		sysfast_err_format(sysfast_OverflowError,
		                   "string length %zu overflows the object size", len);
		return -1;
	}
	/* What CPython's PyBytes_FromStringAndSize checks too: no object may
	 * exceed PTRDIFF_MAX, which is also what keeps __sizeof__ in range. */
	if (len > (size_t)PTRDIFF_MAX - STR_HEADER - 1) {
		sysfast_err_format(sysfast_MemoryError, "cannot allocate a string of %zu bytes",
		                   len);
		return -1;
	}
	return 0;
}

/* A new, uninterned string with one reference, hashed from its own copy
 * of the bytes: s is read only once the memory for them exists. NULL with
 * MemoryError. */
static struct sysfast_str *str_alloc(const char *s, size_t len)
{
	struct sysfast_str *str = sysfast__malloc(STR_HEADER + len + 1);

	if (!str) {
		sysfast_err_format(sysfast_MemoryError, "cannot allocate a string of %zu bytes",
		                   len);
		return NULL;
	}
	str->ob.type = &str_type;
	str->interned = false;
	str->refcnt = 1;
	str->len = len;
	if (len)
		memcpy(str->data, s, len);
	str->data[len] = '\0';
	str->hash = bytes_hash(str->data, len);
	return str;
}

/* Takes a reference unless the count already reached zero (the string is
 * dying and must be treated as gone). */
static inline bool str_get_unless_zero(struct sysfast_str *s)
{
	size_t n = __atomic_load_n(&s->refcnt, __ATOMIC_RELAXED);

	do {
		if (SYSFAST_UNLIKELY(n == 0))
			return false;
	} while (!__atomic_compare_exchange_n(&s->refcnt, &n, n + 1, true, __ATOMIC_ACQUIRE,
	                                      __ATOMIC_RELAXED));
	return true;
}

static void str_free_rcu(struct rcu_head *head)
{
#ifdef SYSFAST__TSAN
	__tsan_acquire(&sysfast__rcu_tsan_sync);
	__tsan_acquire(head);
#endif
	sysfast__free(caa_container_of(head, struct sysfast_str, rcu));
}

/* ---- the table ---- */

static inline uint64_t load8(const char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline uint32_t load4(const char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

/* memcmp(a, b, len) == 0, inline for the short strings of the hit path
 * (libc's memcmp is a call through the PLT to an IFUNC-selected routine).
 * Reads only bytes [0, len) of each: overlapping words, never past the
 * end. */
/* Out of line: a call inside the lookup would make its caller save every
 * callee-saved register on the hit path. */
static __attribute__((noinline)) bool bytes_equal_long(const char *a, const char *b, size_t len)
{
	return memcmp(a, b, len) == 0;
}

static inline bool bytes_equal(const char *a, const char *b, size_t len)
{
	if (len >= 8) {
		if (SYSFAST_UNLIKELY(len > 32))
			return bytes_equal_long(a, b, len);
		for (size_t i = 0; i + 8 < len; i += 8)
			if (load8(a + i) != load8(b + i))
				return false;
		return load8(a + len - 8) == load8(b + len - 8);
	}
	if (len >= 4)
		return load4(a) == load4(b) && load4(a + len - 4) == load4(b + len - 4);
	if (len == 0)
		return true;
	return a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1];
}

static inline struct sysfast_str *slot_node(const struct intern_slot *slot)
{
	return __atomic_load_n(&slot->node, __ATOMIC_ACQUIRE);
}

/* The node with these bytes in `t`, live or dying, or NULL. Lock-free:
 * call inside a read-side critical section or under intern_lock. */
static inline struct sysfast_str *table_lookup(const struct intern_slots *t, const char *s,
                                               size_t len, uint64_t hash)
{
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		uint64_t h = __atomic_load_n(&t->slot[i].hash, __ATOMIC_RELAXED);
		struct sysfast_str *n = slot_node(&t->slot[i]);

		if (!n)
			return NULL;
		if (h == hash && n != TOMBSTONE && n->len == len && bytes_equal(n->data, s, len))
			return n;
	}
}

/* The live interned string with these bytes, as a new reference, or NULL.
 * Lock-free. Inline in the hit paths (intern, find): no call, no frame. */
static inline __attribute__((always_inline)) struct sysfast_str *
table_find_live(const char *s, size_t len, uint64_t hash)
{
	struct intern_slots *t;
	struct sysfast_str *n;

	sysfast__thread_get();
	sysfast__read_lock();
	t = sysfast__rcu_load(intern_table);
	n = table_lookup(t, s, len, hash);
	if (n && !str_get_unless_zero(n))
		n = NULL;
	sysfast__read_unlock();
	return n;
}

/* Puts a node and its hash into the empty slot the probe reaches in an
 * array no reader can see yet. */
static void slots_put_unpublished(struct intern_slots *t, struct sysfast_str *n, uint64_t hash)
{
	size_t i = hash & t->mask;

	while (t->slot[i].node)
		i = (i + 1) & t->mask;
	t->slot[i].hash = hash;
	t->slot[i].node = n;
}

/*
 * Replaces the array by one sized for the strings in the table (at least
 * twice as many slots, so at most half full), without tombstones. Reads
 * the slot arrays only, no node: at millions of strings, a node read per
 * string would be a cache miss per string under the lock. Dying strings
 * move too; their owners remove them from the new array. Call with
 * intern_lock held. Returns the new array, or NULL if it cannot be
 * allocated, with nothing changed. Waits for no grace period: safe inside
 * a read-side section.
 */
static struct intern_slots *table_rehash_locked(struct intern_slots *old)
{
	size_t live = intern_live, slots = TABLE_MIN_SLOTS;
	struct intern_slots *t;

	while (slots / 2 < live + 1) {
		if (slots > (SIZE_MAX - sizeof(*t)) / sizeof(t->slot[0]) / 2)
			return NULL;
		slots *= 2;
	}
	t = sysfast__calloc(1, sizeof(*t) + slots * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	t->mask = slots - 1;
	t->slot = (struct intern_slot *)(t + 1);
	for (size_t i = 0; i <= old->mask; i++) {
		struct sysfast_str *n = old->slot[i].node;

		if (n && n != TOMBSTONE)
			slots_put_unpublished(t, n, old->slot[i].hash);
	}
	intern_used = live;
	sysfast__rcu_publish(intern_table, t);
	if (old != &initial_table)
		sysfast__defer_free(&old->rcu);
	return t;
}

/* Stores n into an empty or tombstone slot, for readers: the hash first,
 * the node last. Under intern_lock. */
static void slot_fill(struct intern_slot *slot, struct sysfast_str *n)
{
	__atomic_store_n(&slot->hash, n->hash, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->node, n, __ATOMIC_RELEASE);
}

/*
 * Puts `cand` (which the caller holds a reference to, and whose bytes are
 * not live in the table) into the table: into the slot of `dying` if not
 * NULL (a node with equal bytes whose count reached zero, still in the
 * table), else into the first tombstone or the empty slot its probe
 * reaches, growing the table first when that would fill more than 3/4 of
 * it. Under intern_lock. Returns 0, or -1 if the table cannot grow and
 * has no slot to spare (nothing changed).
 */
static int table_insert_locked(struct sysfast_str *cand, struct sysfast_str *dying)
{
	struct intern_slots *t = intern_table;
	size_t i, tomb = SIZE_MAX;

	for (i = cand->hash & t->mask;; i = (i + 1) & t->mask) {
		struct sysfast_str *n = t->slot[i].node;

		if (!n || n == dying)
			break;
		if (n == TOMBSTONE && tomb == SIZE_MAX)
			tomb = i;
	}
	if (dying) {
		/* The same hash, and the dying node's removal will find
		 * nothing: one store swaps them. */
		__atomic_store_n(&t->slot[i].node, cand, __ATOMIC_RELEASE);
		return 0;
	}
	if (tomb != SIZE_MAX) {
		slot_fill(&t->slot[tomb], cand);
	} else {
		if (intern_used + 1 > (t->mask + 1) / 4 * 3) {
			struct intern_slots *bigger = table_rehash_locked(t);

			if (bigger) {
				t = bigger;
				for (i = cand->hash & t->mask; t->slot[i].node;
				     i = (i + 1) & t->mask)
					;
			} else if (intern_used + 2 > t->mask + 1) {
				/* One slot must stay empty, for the probes to end. */
				return -1;
			}
		}
		slot_fill(&t->slot[i], cand);
		intern_used++;
	}
	__atomic_store_n(&intern_live, intern_live + 1, __ATOMIC_RELAXED);
	return 0;
}

/* Takes the node out of slot i. Under intern_lock. */
static void slot_clear_locked(struct intern_slots *t, size_t i)
{
	__atomic_store_n(&intern_live, intern_live - 1, __ATOMIC_RELAXED);
	if (t->slot[(i + 1) & t->mask].node) {
		__atomic_store_n(&t->slot[i].node, TOMBSTONE, __ATOMIC_RELEASE);
		return;
	}
	/* The next slot is empty: no probe needs to pass this one, nor the
	 * tombstones right before it. */
	do {
		__atomic_store_n(&t->slot[i].node, NULL, __ATOMIC_RELEASE);
		intern_used--;
		i = (i - 1) & t->mask;
	} while (t->slot[i].node == TOMBSTONE);
}

/*
 * The canonical string for `cand`'s bytes, as a new reference. `cand` is a
 * string the caller holds a reference to. If a live interned string with
 * equal bytes exists (possibly cand itself, interned by another thread
 * meanwhile), returns it; otherwise interns cand (in the slot of a dying
 * node with equal bytes, if any) and returns it. Either way the caller
 * then drops its reference to cand. NULL with MemoryError only when the
 * table is full and cannot grow; cand is then as it was.
 */
static struct sysfast_str *table_publish(struct sysfast_str *cand)
{
	struct sysfast_str *old, *canon = cand;
	size_t max_len;

	sysfast__thread_get();
	pthread_mutex_lock(&intern_lock);
	/* Under the lock no node in the table is freed: its owner's removal
	 * waits for the lock before handing it to call_rcu. */
	old = table_lookup(intern_table, cand->data, cand->len, cand->hash);
	if (old && str_get_unless_zero(old)) {
		canon = old;
	} else {
		max_len = intern_max_len;
		sysfast_str_incref(cand);
		/* Before the node is visible, so that a find of this length
		 * looks for it (relaxed: see sysfast_intern_find). */
		if (cand->len > max_len)
			__atomic_store_n(&intern_max_len, cand->len, __ATOMIC_RELAXED);
		/* Before the node is visible: a reader that finds it must
		 * see an interned string. */
		__atomic_store_n(&cand->interned, true, __ATOMIC_RELEASE);
		if (table_insert_locked(cand, old) < 0) {
			/* Never visible: undone as if never tried. */
			__atomic_store_n(&cand->interned, false, __ATOMIC_RELAXED);
			__atomic_store_n(&intern_max_len, max_len, __ATOMIC_RELAXED);
			__atomic_sub_fetch(&cand->refcnt, 1, __ATOMIC_RELAXED);
			canon = NULL;
		}
	}
	pthread_mutex_unlock(&intern_lock);
	if (!canon)
		sysfast_err_set(sysfast_MemoryError,
		                "out of memory: the intern table is full and cannot grow");
	return canon;
}

/* The last reference to an interned string is gone: take its node out of
 * the table (unless a writer already put a new node with equal bytes in
 * its slot) and free it once no reader can hold it. Waits for no grace
 * period and allocates nothing. */
static void str_retire(struct sysfast_str *s)
{
	struct intern_slots *t;

	sysfast__thread_get();
	pthread_mutex_lock(&intern_lock);
	t = intern_table;
	for (size_t i = s->hash & t->mask;; i = (i + 1) & t->mask) {
		struct sysfast_str *n = t->slot[i].node;

		if (!n)
			break;
		if (n == s) {
			slot_clear_locked(t, i);
			break;
		}
	}
	pthread_mutex_unlock(&intern_lock);
#ifdef SYSFAST__TSAN
	__tsan_release(&s->rcu);
#endif
	urcu_memb_call_rcu(&s->rcu, str_free_rcu);
}

/* ---- set-up ---- */

int sysfast__intern_init(void)
{
	/* The table starts as initial_table: nothing to make. */
	return 0;
}

struct sysfast__intern_stats sysfast__intern_stats(void)
{
	struct sysfast__intern_stats st = {0, 0, 0};

	pthread_mutex_lock(&intern_lock);
	st.slots = intern_table->mask + 1;
	st.used = intern_used;
	st.live = intern_live;
	pthread_mutex_unlock(&intern_lock);
	return st;
}

/* ---- public API ---- */

sysfast_str *sysfast_str_new(const char *s, size_t len)
{
	if (sysfast__check_initialized() < 0 || bytes_check(s, len) < 0)
		return NULL;
	return str_alloc(s, len);
}

const char *sysfast_str_data(const sysfast_str *s)
{
	return s ? s->data : NULL;
}

size_t sysfast_str_len(const sysfast_str *s)
{
	return s ? s->len : 0;
}

uint64_t sysfast_str_hash(const sysfast_str *s)
{
	return s ? s->hash : 0;
}

sysfast_str *sysfast_str_incref(sysfast_str *s)
{
	if (s)
		__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	return s;
}

void sysfast_str_decref(sysfast_str *s)
{
	if (!s)
		return;
	/* Release: this thread's uses of s happen before the free; acquire:
	 * the freeing thread sees everyone else's. */
	if (SYSFAST_LIKELY(__atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) != 0))
		return;
	if (__atomic_load_n(&s->interned, __ATOMIC_ACQUIRE))
		str_retire(s);
	else
		sysfast__free(s);
}

bool sysfast_str_is_interned(const sysfast_str *s)
{
	return s && __atomic_load_n(&s->interned, __ATOMIC_ACQUIRE);
}

sysfast_str *sysfast_intern(const char *s, size_t len)
{
	struct sysfast_str *found, *fresh, *canon;

	if (sysfast__check_initialized() < 0 || bytes_check(s, len) < 0)
		return NULL;
	/* A longer string than any interned cannot be found: it is
	 * allocated before its bytes are read. */
	if (len <= __atomic_load_n(&intern_max_len, __ATOMIC_RELAXED)) {
		found = table_find_live(len ? s : "", len, bytes_hash(s, len));
		if (found)
			return found;
	}
	fresh = str_alloc(s, len);
	if (!fresh)
		return NULL;
	canon = table_publish(fresh);
	/* Frees fresh unless it became the canonical string. */
	sysfast_str_decref(fresh);
	return canon;
}

sysfast_str *sysfast_intern_cstr(const char *s)
{
	if (sysfast__check_initialized() < 0)
		return NULL;
	if (!s) {
		sysfast_err_set(sysfast_ValueError, "sysfast_intern_cstr: NULL string");
		return NULL;
	}
	return sysfast_intern(s, strlen(s));
}

int sysfast_intern_in_place(sysfast_str **p)
{
	struct sysfast_str *s, *canon;

	if (sysfast__check_initialized() < 0)
		return -1;
	if (!p || !*p) {
		sysfast_err_set(sysfast_ValueError, p ? "sysfast_intern_in_place: *p is NULL"
		                                      : "sysfast_intern_in_place: p is NULL");
		return -1;
	}
	s = *p;
	if (sysfast_str_is_interned(s))
		return 0;
	canon = table_find_live(s->data, s->len, s->hash);
	if (!canon)
		canon = table_publish(s);
	/* A full table that cannot grow: *p stays the caller's. */
	if (!canon)
		return -1;
	/* canon is a new reference (to s itself if s became canonical): it
	 * takes the place of the caller's reference to s. */
	*p = canon;
	sysfast_str_decref(s);
	return 0;
}

sysfast_str *sysfast_intern_find(const char *s, size_t len)
{
	if (sysfast__check_initialized() < 0 || bytes_check(s, len) < 0)
		return NULL;
	/* No interned string is longer, and the bytes of a length nobody
	 * could allocate are never read. A relaxed load: a string interned
	 * before this call (by this thread, or by one that handed over since)
	 * has its length seen here; one interned concurrently may be missed,
	 * as if this find had run just before it. */
	if (len > __atomic_load_n(&intern_max_len, __ATOMIC_RELAXED))
		return NULL;
	return table_find_live(len ? s : "", len, bytes_hash(s, len));
}

size_t sysfast_intern_count(void)
{
	return __atomic_load_n(&intern_live, __ATOMIC_RELAXED);
}
