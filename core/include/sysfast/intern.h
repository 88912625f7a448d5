/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - immutable strings and interning (sys.intern).
 *
 * A sysfast_str is an immutable byte string (embedded NULs allowed, always
 * followed by a NUL that is not part of it) and an object: it starts with a
 * sysfast_object whose type is named "str", so `(sysfast_object *)s` is
 * valid. Its __sizeof__ (the type's sizeof_fn) reports the header, that is
 * the fixed part of the string object in front of its bytes, plus the
 * length plus 1 for the trailing NUL, as CPython's bytes objects do.
 *
 * Strings are reference counted. Every function that returns a
 * `sysfast_str *` hands the caller a new reference (noted "new reference"
 * below), which the caller drops with sysfast_str_decref(). Counts are
 * atomic: references may be taken and dropped from any thread.
 *
 * Interning follows CPython 3.11: interned strings are mortal. The table of
 * interned strings holds no reference of its own, so when the last
 * reference to an interned string goes, the string leaves the table and is
 * freed, after an RCU grace period, so that a concurrent lookup never reads
 * freed memory. While any reference to an interned string is held, every
 * intern of equal bytes, from any thread, returns that same pointer. A
 * string whose last reference is gone is never returned again, even before
 * its memory is reclaimed. Hashes are SipHash-1-3 (CPython's str hash)
 * keyed with a per-process random 128-bit key, so that nobody without the
 * key can choose strings that share a bucket of the table (hash flooding).
 * Looking up a string that is already interned takes no lock;
 * interning a new one takes the intern table's own lock.
 *
 * Runtime state. Creating or looking up strings (sysfast_str_new,
 * sysfast_intern, sysfast_intern_cstr, sysfast_intern_in_place,
 * sysfast_intern_find) needs the runtime: before sysfast_init() and after
 * sysfast_fini() they fail with sysfast_SystemError "sysfast is not
 * initialized", as every call does then (docs/api.md, "Conventions"). Functions on a string the
 * caller already holds (data, len, hash, incref, decref, is_interned) and
 * sysfast_intern_count() work in any state: strings belong to the user and
 * stay valid across sysfast_fini(). The table itself outlives
 * sysfast_fini(), so after a new sysfast_init() interning bytes whose
 * string is still held returns that string.
 */
#ifndef SYSFAST_INTERN_H
#define SYSFAST_INTERN_H

#include <sysfast/common.h>
#include <sysfast/object.h>

SYSFAST_BEGIN_DECLS

typedef struct sysfast_str sysfast_str;

/*
 * Argument rules shared by sysfast_str_new, sysfast_intern and
 * sysfast_intern_find, checked in this order before any byte is read:
 *   - `s` NULL with `len` 0 is the empty string; NULL with len > 0 gives
 *     sysfast_ValueError;
 *   - a `len` for which the object size (header + len + 1) overflows size_t
 *     gives sysfast_OverflowError;
 *   - a `len` no allocation can satisfy (an object larger than PTRDIFF_MAX
 *     bytes, or malloc failing) gives sysfast_MemoryError. A length longer
 *     than any interned string is allocated before its bytes are read, so
 *     a huge `len` with a short buffer fails cleanly; sysfast_intern_find
 *     returns NULL without an error for such a length, unread, since no
 *     interned string can have it.
 */

/* A new string holding a copy of the `len` bytes at `s`, not interned.
 * Returns a new reference (refcount 1), or NULL with an error (see the
 * argument rules; sysfast_SystemError when not initialised). Allocates;
 * takes no lock. Thread-safe. */
SYSFAST_API sysfast_str *sysfast_str_new(const char *s, size_t len);

/* The string's bytes, followed by a NUL, valid while the caller holds a
 * reference. NULL (no error) for NULL. Never fails, any runtime state. */
SYSFAST_API const char *sysfast_str_data(const sysfast_str *s);

/* The string's length in bytes (not counting the trailing NUL); 0 for
 * NULL. Never fails, any runtime state. */
SYSFAST_API size_t sysfast_str_len(const sysfast_str *s);

/* The string's hash: SipHash-1-3 of its bytes under a per-process random
 * 128-bit key (the algorithm of CPython's str hash, not its value: the
 * key differs), so equal bytes hash equal within a process and
 * differently (with overwhelming probability) across processes. The
 * table of interned strings uses it; a caller may too, and showing it to
 * others does not reveal the key. Computed once at creation. 0 (no error)
 * for NULL. Never fails, any runtime state. */
SYSFAST_API uint64_t sysfast_str_hash(const sysfast_str *s);

/* Takes one more reference to `s` and returns `s`; NULL for NULL. The
 * caller must already hold a reference. Never fails, never blocks, any
 * runtime state, any thread. */
SYSFAST_API sysfast_str *sysfast_str_incref(sysfast_str *s);

/* Drops one reference to `s`; NULL is ignored. On the last reference a
 * string that is not interned is freed at once; an interned one is removed
 * from the table (lock-free) and freed after an RCU grace period (call_rcu:
 * never waits, so it may be called anywhere, audit hooks included). The
 * caller must not use `s` afterwards. Never fails, any runtime state, any
 * thread (the thread is registered with liburcu on first use). */
SYSFAST_API void sysfast_str_decref(sysfast_str *s);

/* The canonical (interned) string equal to the `len` bytes at `s`,
 * interning a copy if there is none. Returns a new reference, or NULL with
 * an error (see the argument rules; sysfast_SystemError when not
 * initialised); a failure leaves the table and the count as they were. If
 * equal bytes are already interned and alive, takes no lock and allocates
 * nothing; otherwise allocates the copy and takes the table's lock.
 * Thread-safe. */
SYSFAST_API sysfast_str *sysfast_intern(const char *s, size_t len);

/* sysfast_intern(s, strlen(s)). NULL gives sysfast_ValueError. */
SYSFAST_API sysfast_str *sysfast_intern_cstr(const char *s);

/*
 * Makes *p canonical, like PyUnicode_InternInPlace. The caller owns one
 * reference in *p, and that reference is transferred: if a live interned
 * string equal to *p exists (and is not *p), *p is replaced by a new
 * reference to it and the caller's old reference to the original is
 * dropped (which may free the original); otherwise *p itself becomes the
 * interned string, with its count unchanged. Either way the caller ends up
 * owning exactly one reference, in *p. An *p that is already interned is
 * left alone. Other references to the original string stay valid.
 *
 * Returns 0, or -1 with sysfast_ValueError for a NULL `p` or `*p`,
 * sysfast_SystemError when not initialised; on failure *p is unchanged.
 * Takes no lock when an equal string is already interned; otherwise takes
 * the table's lock. Never allocates (the table is made by sysfast_init),
 * so it cannot run out of memory. Thread-safe.
 */
SYSFAST_API int sysfast_intern_in_place(sysfast_str **p);

/* The live interned string equal to the `len` bytes at `s`, as a new
 * reference, or NULL without an error if there is none. Never inserts,
 * never allocates, takes no lock. NULL with an error for bad arguments
 * (see the argument rules) and sysfast_SystemError when not initialised.
 * Thread-safe. */
SYSFAST_API sysfast_str *sysfast_intern_find(const char *s, size_t len);

/* True if `s` is interned (it is the canonical string for its bytes; this
 * stays true until it is freed). False for NULL. Never fails. */
SYSFAST_API bool sysfast_str_is_interned(const sysfast_str *s);

/* How many interned strings the table holds. May lag: a string whose last
 * reference is being dropped on another thread may still be counted for a
 * moment. Never fails, any runtime state. */
SYSFAST_API size_t sysfast_intern_count(void);

SYSFAST_END_DECLS

#endif /* SYSFAST_INTERN_H */
