/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the bottom layer: the allocator and short-string helpers
 * (alloc.c; siphash.h is its neighbour).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_BASE_H
#define SYSFAST_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sysfast/sysfast.h>

/* ---- alloc.c ---- */

/* The library's allocator: every block and mapping it owns comes from
 * these and goes back to them (never to malloc/free directly). Each
 * returns NULL on failure and sets no error: the caller says what it was
 * allocating. */
void *sysfast__malloc(size_t size);
void *sysfast__calloc(size_t n, size_t size);
void *sysfast__realloc(void *p, size_t size);
void sysfast__free(void *p);
/* `size` bytes of zeroed, private, anonymous memory, committed on first
 * touch; NULL on failure. */
void *sysfast__map(size_t size);
void sysfast__unmap(void *p, size_t size);

/* Fault injection for the tests (reached through the static library).
 * sysfast__alloc_fault_set arms the counters and fails the `nth`
 * allocation attempt from now on (1-based; 0: none), and with
 * `persistent` every attempt after it too. Mappings count as
 * allocations. Blocks and mappings are counted live from the first
 * arming on: arm before the first allocation you want counted. */
void sysfast__alloc_fault_set(unsigned long nth, bool persistent);
/* Stops failing; the counters go on. */
void sysfast__alloc_fault_clear(void);
struct sysfast__alloc_stats {
	unsigned long attempts; /* since the last fault_set */
	unsigned long failures; /* injected since the last fault_set */
	long live_blocks;       /* allocated and not yet freed */
	long live_maps;         /* mapped and not yet unmapped */
};
struct sysfast__alloc_stats sysfast__alloc_stats(void);

/* ---- short strings ---- */

/*
 * strcmp for the short strings of the hot paths (event names), inline,
 * like sysfast__short_strlen (data.h). A call to libc's goes through the PLT to an
 * IFUNC-selected routine: an indirect jump, which on some machines costs
 * more than the whole comparison (on the benchmark machine, the loop took
 * 14 ns off a 47 ns call; docs/benchmarks.md). Past 32 bytes, libc's.
 */
static inline bool sysfast__streq(const char *a, const char *b)
{
	for (size_t n = 0; n < 32; n++) {
		if (a[n] != b[n])
			return false;
		if (!a[n])
			return true;
	}
	return strcmp(a + 32, b + 32) == 0;
}

/*
 * Short strings kept as 64-bit words (zero-padded past the NUL) and
 * compared with a candidate a word at a time: the per-thread memo of
 * sysfast_audit confirms with them that the text at a remembered address
 * is still the text it remembered. Byte by byte, that compare cost more
 * than the rest of a call (a quarter of sysfast_audit with one hook).
 * A word load may read past the candidate's NUL, never past its page
 * (a candidate near a page's end is compared byte by byte), so it cannot
 * fault, and the bytes past the stored NUL are masked off. AddressSanitizer
 * and ThreadSanitizer would report those reads, so their builds compare
 * byte by byte throughout.
 */
#define SYSFAST__TEXT_WORDS_MAX 5

struct sysfast__text {
	uint8_t n_words; /* 0: not kept */
	uint8_t len;     /* bytes before the NUL */
	uint64_t last_mask;
	uint64_t w[SYSFAST__TEXT_WORDS_MAX];
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYSFAST__TEXT_BYTEWISE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SYSFAST__TEXT_BYTEWISE 1
#endif
#endif

/* Keeps `s` (`len` bytes and its NUL) in *t, if it fits in `max_words`
 * words (at most SYSFAST__TEXT_WORDS_MAX); false if not. */
static inline bool sysfast__text_keep(struct sysfast__text *t, const char *s, size_t len,
                                      size_t max_words)
{
	unsigned char mask[8] = {0};
	size_t n = len / 8 + 1;

	if (n > max_words)
		return false;
	memset(t->w, 0, sizeof(t->w));
	memcpy(t->w, s, len + 1);
	memset(mask, 0xff, (len + 1) - 8 * (n - 1));
	memcpy(&t->last_mask, mask, 8);
	t->len = (uint8_t)len;
	t->n_words = (uint8_t)n;
	return true;
}

static inline bool sysfast__text_eq_bytes(const char *s, const struct sysfast__text *t)
{
	const char *k = (const char *)t->w;

	/* The kept text has no NUL before its end, so a shorter candidate
	 * differs at its own NUL and the loop stops there. */
	for (size_t i = 0; i <= t->len; i++)
		if (s[i] != k[i])
			return false;
	return true;
}

/* Whether `s` holds exactly the text kept in *t. */
static inline bool sysfast__text_eq(const char *s, const struct sysfast__text *t)
{
#ifdef SYSFAST__TEXT_BYTEWISE
	return sysfast__text_eq_bytes(s, t);
#else
	size_t n = t->n_words;
	uint64_t diff, v;

	if (SYSFAST_UNLIKELY(((uintptr_t)s & 4095) > 4096 - 8 * n))
		return sysfast__text_eq_bytes(s, t);
	memcpy(&v, s + 8 * (n - 1), 8);
	diff = (v ^ t->w[n - 1]) & t->last_mask;
	for (size_t i = 0; i + 1 < n; i++) {
		memcpy(&v, s + 8 * i, 8);
		diff |= v ^ t->w[i];
	}
	return diff == 0;
#endif
}

#endif /* SYSFAST_BASE_H */
