/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - immutable strings and the table of interned ones.
 *
 * The table is an RCU lock-free hash table (liburcu's rculfhash, memb
 * flavour) keyed by the bytes, hashed with SipHash-1-3 under a per-process
 * random 128-bit key (siphash.h). Like CPython 3.11's interned dict, it
 * holds no reference: interned strings are mortal and leave it when their
 * last reference goes.
 *
 * The protocol, and why no reader ever touches freed memory:
 *
 *  - A reader (intern of known bytes, find) runs inside an RCU read-side
 *    critical section: it looks the bytes up and takes a reference only if
 *    the count is not zero (get_unless_zero). A count of zero means the
 *    string is dying: it is treated as absent and can never come back, so
 *    "a string whose last reference is gone is never returned again".
 *  - Writers (a new interned string) serialise on intern_lock, look again
 *    under it and then either find a live string, replace a dying node with
 *    equal bytes (cds_lfht_replace: one atomic swap, no moment without a
 *    node), or add. So the table never holds two nodes with equal bytes.
 *  - The last decref of an interned string removes exactly its own node
 *    (cds_lfht_del on the node, not on the key: if a writer already
 *    replaced it, the delete finds it removed and touches nothing else) and
 *    hands it to call_rcu. The memory goes back only after every read-side
 *    section that could have found the node has ended. The dying path takes
 *    no lock and never waits for a grace period.
 *  - A string becomes interned only while its creator holds a reference,
 *    and its `interned` flag is set just before it enters the table, so
 *    every string a lookup can return reads as interned, and whoever drops
 *    the last reference sees the flag and takes the deferred path. A string
 *    that was never interned was never visible to a reader and is freed at
 *    once.
 *
 * Nothing here ever waits for a grace period while holding intern_lock (or
 * at all): an intern from inside an audit hook, which runs in a read-side
 * section, must not deadlock. Growing the table waits for none either.
 *
 * A caller's bytes are read only for a length that some interned string
 * already has or had (intern_max_len): a longer one cannot be in the
 * table, so it is allocated first, and a length that cannot be allocated
 * fails with MemoryError before a byte of a possibly short buffer is read.
 *
 * The table is made by sysfast__intern_init (from sysfast_init) and never
 * freed; sysfast_fini does not touch it: its strings belong to the user.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/rculfhash.h>

#include "data.h"
#include "siphash.h"

#ifdef SYSFAST__TSAN
#include <sanitizer/tsan_interface.h>
#endif

struct sysfast_str {
	sysfast_object ob;
	size_t refcnt; /* atomic; 0 means dying */
	uint64_t hash;
	size_t len;
	bool interned;             /* atomic; set once, just before insertion */
	struct cds_lfht_node node; /* in the table while interned and alive */
	struct rcu_head rcu;       /* interned strings are freed through call_rcu */
	char data[];               /* len bytes, then a NUL */
};

/* The "header" of sizeof: everything in front of the bytes. */
#define STR_HEADER offsetof(struct sysfast_str, data)

/* What a lookup compares a node against. */
struct str_key {
	const char *data;
	size_t len;
	uint64_t hash;
};

/*
 * The table's buckets: 256 at first, which hold the strings of a small
 * program, doubled on the insert path whenever the strings outnumber them
 * (load factor at most 1), never shrunk and never by liburcu's auto-resize
 * thread, whose hand-off ThreadSanitizer cannot follow. Shrinking would
 * wait for grace periods, which the insert path must not.
 *
 * All TABLE_MAX_BUCKETS are allocated when the table is made, because
 * liburcu 0.13 aborts the process when a bucket allocation fails, and
 * growing would otherwise allocate. With min_nr_alloc_buckets ==
 * max_nr_buckets liburcu's default (mmap) backend takes its "small table"
 * path: one calloc of every bucket at creation, after which growth only
 * links buckets in. A calloc that large comes from fresh anonymous memory
 * (glibc's mmap threshold, jemalloc's huge extents) that the kernel backs
 * page by page as buckets come into use: the 16 MiB of 2^20 buckets add
 * about 250 kB to sysfast_init's resident memory (measured with VmRSS).
 * Past 2^20 live strings the table stops growing and chains lengthen (a
 * mean of n/2^20 nodes per bucket).
 */
#define TABLE_INIT_BUCKETS 256ul
#define TABLE_MAX_BUCKETS (1ul << 20)

/* Serialises insertions and the table's growth. Readers and the dying
 * path never take it. */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
/* NULL until sysfast__intern_init; published with a release store before
 * sysfast_init reports the runtime up, and never freed. */
static struct cds_lfht *intern_table;
/* Bucket count; under intern_lock. */
static unsigned long intern_buckets;
/* Nodes in the table, dying ones included until they are deleted. Atomic:
 * added to under the lock, taken from by the lock-free dying path. */
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

/* ---- ThreadSanitizer annotations ---- */

/*
 * A node reaches readers through rculfhash and is freed by liburcu's
 * call_rcu thread: hand-offs made with atomics inside liburcu that
 * ThreadSanitizer cannot see. These tell it what they guarantee; they
 * compile to nothing otherwise.
 */
static inline void tsan_publish(const struct sysfast_str *s)
{
#ifdef SYSFAST__TSAN
	__tsan_release((void *)s);
#else
	(void)s;
#endif
}

static inline void tsan_consume(const struct sysfast_str *s)
{
#ifdef SYSFAST__TSAN
	__tsan_acquire((void *)s);
#else
	(void)s;
#endif
}

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
	str->refcnt = 1;
	str->len = len;
	str->interned = false;
	cds_lfht_node_init(&str->node);
	if (len)
		memcpy(str->data, s, len);
	str->data[len] = '\0';
	str->hash = bytes_hash(str->data, len);
	return str;
}

/* Takes a reference unless the count already reached zero (the string is
 * dying and must be treated as gone). */
static bool str_get_unless_zero(struct sysfast_str *s)
{
	size_t n = __atomic_load_n(&s->refcnt, __ATOMIC_RELAXED);

	do {
		if (n == 0)
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

static int str_match(struct cds_lfht_node *ht_node, const void *key)
{
	const struct sysfast_str *s = caa_container_of(ht_node, struct sysfast_str, node);
	const struct str_key *k = key;

	tsan_consume(s);
	return s->hash == k->hash && s->len == k->len && memcmp(s->data, k->data, k->len) == 0;
}

/* The node with the key's bytes, live or dying, or NULL; `iter` is left on
 * it. Call inside a read-side critical section. */
static struct sysfast_str *table_lookup(struct cds_lfht *ht, const struct str_key *key,
                                        struct cds_lfht_iter *iter)
{
	struct cds_lfht_node *found;

	cds_lfht_lookup(ht, (unsigned long)key->hash, str_match, key, iter);
	found = cds_lfht_iter_get_node(iter);
	return found ? caa_container_of(found, struct sysfast_str, node) : NULL;
}

/* The live interned string with the key's bytes, as a new reference, or
 * NULL. Lock-free. */
static struct sysfast_str *table_find_live(const struct str_key *key)
{
	struct cds_lfht *ht = __atomic_load_n(&intern_table, __ATOMIC_ACQUIRE);
	struct cds_lfht_iter iter;
	struct sysfast_str *s;

	sysfast__thread_get();
	sysfast__read_lock();
	s = table_lookup(ht, key, &iter);
	if (s && !str_get_unless_zero(s))
		s = NULL;
	sysfast__read_unlock();
	return s;
}

/* Doubles the buckets once the strings outnumber them. Call with
 * intern_lock held. Growing only adds buckets and waits for no grace
 * period; liburcu forbids it inside a read-side section (an intern from an
 * audit hook), where the next insert made outside one grows instead. */
static void table_grow_locked(struct cds_lfht *ht)
{
	if (__atomic_load_n(&intern_live, __ATOMIC_RELAXED) <= intern_buckets
	    || intern_buckets >= TABLE_MAX_BUCKETS || sysfast__in_read_side())
		return;
	intern_buckets *= 2;
	/* Allocates no bucket memory (see TABLE_MAX_BUCKETS). */
	cds_lfht_resize(ht, intern_buckets);
}

/*
 * The canonical string for `cand`'s bytes, as a new reference. `cand` is a
 * string the caller holds a reference to. If a live interned string with
 * equal bytes exists (possibly cand itself, interned by another thread
 * meanwhile), returns it; otherwise interns cand (replacing a dying node
 * with equal bytes, if any) and returns it. Either way the caller then
 * drops its reference to cand. Never fails.
 */
static struct sysfast_str *table_publish(struct sysfast_str *cand)
{
	struct str_key key = {cand->data, cand->len, cand->hash};
	struct sysfast_str *old, *canon = cand;
	struct cds_lfht *ht = intern_table;
	struct cds_lfht_iter iter;

	sysfast__thread_get();
	pthread_mutex_lock(&intern_lock);
	sysfast__read_lock();
	old = table_lookup(ht, &key, &iter);
	if (old && str_get_unless_zero(old)) {
		canon = old;
	} else {
		sysfast_str_incref(cand);
		/* Before the node is visible, so that a find of this length
		 * looks for it (relaxed: see sysfast_intern_find). */
		if (key.len > intern_max_len)
			__atomic_store_n(&intern_max_len, key.len, __ATOMIC_RELAXED);
		/* Before the node is visible: a reader that finds it must
		 * see an interned string. */
		__atomic_store_n(&cand->interned, true, __ATOMIC_RELEASE);
		tsan_publish(cand);
		/* A dying node is swapped out in one step. The replace fails
		 * only if its owner's delete got there first, and then the
		 * key is free. Only an add makes the table one node larger. */
		if (!old
		    || cds_lfht_replace(ht, &iter, (unsigned long)key.hash, str_match, &key,
		                        &cand->node)
		           != 0) {
			cds_lfht_add(ht, (unsigned long)key.hash, &cand->node);
			__atomic_add_fetch(&intern_live, 1, __ATOMIC_RELAXED);
		}
	}
	sysfast__read_unlock();
	table_grow_locked(ht);
	pthread_mutex_unlock(&intern_lock);
	return canon;
}

/* The last reference to an interned string is gone: take its node out of
 * the table (unless a writer already replaced it) and free it once no
 * reader can hold it. Lock-free; never waits. */
static void str_retire(struct sysfast_str *s)
{
	struct cds_lfht *ht = __atomic_load_n(&intern_table, __ATOMIC_ACQUIRE);

	sysfast__thread_get();
	sysfast__read_lock();
	if (cds_lfht_del(ht, &s->node) == 0)
		__atomic_sub_fetch(&intern_live, 1, __ATOMIC_RELAXED);
	sysfast__read_unlock();
#ifdef SYSFAST__TSAN
	__tsan_release(&s->rcu);
#endif
	urcu_memb_call_rcu(&s->rcu, str_free_rcu);
}

/* ---- set-up ---- */

int sysfast__intern_init(void)
{
	const size_t bucket_bytes = TABLE_MAX_BUCKETS * sizeof(struct cds_lfht_node);
	struct cds_lfht *ht = NULL;
	void *probe;

	pthread_mutex_lock(&intern_lock);
	if (intern_table) {
		pthread_mutex_unlock(&intern_lock);
		return 0;
	}
	/*
	 * liburcu 0.13 aborts instead of returning NULL when its own
	 * allocations fail (cds_lfht_new_flavor returns NULL only for bad
	 * sizes). Its one large allocation is the calloc of the bucket
	 * array: a mapping of the same size made and returned just before
	 * checks that the address space (and, under strict overcommit, the
	 * commit charge) is there, turning the likely failure into a clean
	 * MemoryError. A mapping rather than a malloc: a freed malloc block
	 * can come back to liburcu's calloc from the allocator's cache, which
	 * must then zero it, touching every page. The rest (the small table header, memory running out
	 * between the two) can still abort; docs/robustness.md says so.
	 */
	probe = sysfast__map(bucket_bytes);
	if (probe) {
		sysfast__unmap(probe, bucket_bytes);
		ht = cds_lfht_new_flavor(TABLE_INIT_BUCKETS, TABLE_MAX_BUCKETS, TABLE_MAX_BUCKETS,
		                         0, &urcu_memb_flavor, NULL);
	}
	if (!ht) {
		pthread_mutex_unlock(&intern_lock);
		sysfast_err_set(sysfast_MemoryError, "out of memory for the intern table");
		return -1;
	}
	intern_buckets = TABLE_INIT_BUCKETS;
	__atomic_store_n(&intern_table, ht, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&intern_lock);
	return 0;
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
	if (__atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
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
		found = table_find_live(&(struct str_key){len ? s : "", len, bytes_hash(s, len)});
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
	canon = table_find_live(&(struct str_key){s->data, s->len, s->hash});
	if (!canon)
		canon = table_publish(s);
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
	return table_find_live(&(struct str_key){len ? s : "", len, bytes_hash(s, len)});
}

size_t sysfast_intern_count(void)
{
	return __atomic_load_n(&intern_live, __ATOMIC_RELAXED);
}
