/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the keyed hash of the intern and event tables.
 *
 * SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), written from the paper's description: four 64-bit words of state
 * initialised from a 128-bit key, c rounds per 8-byte little-endian word
 * of input, a last word holding the remaining bytes and the length modulo
 * 256 in its top byte, then d rounds of finalisation.
 *
 * The tables use SipHash-1-3, the variant CPython hashes str with since
 * 3.11, keyed with a 128-bit per-process random key. A keyed PRF is what
 * makes the tables resist hash flooding: without the key, which never
 * leaves the process, nobody can choose many inputs that share a bucket.
 * A seeded fast hash is not enough: seeded XXH3, used here before, has
 * input pairs that collide for a fraction of all seeds far above 2^-64
 * (xxHash issue #1127). tests/test_hash_flood.c shows the difference;
 * bench/bench_objects.c measures the cost.
 *
 * Inline: the hashed strings are short (event names, identifiers), and a
 * call would cost a noticeable part of hashing one.
 */
#ifndef SYSFAST_SIPHASH_H
#define SYSFAST_SIPHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sysfast/common.h>

struct sysfast__sipkey {
	uint64_t k0, k1; /* the key's first and last 8 bytes, little-endian */
};

static inline uint64_t sysfast__sip_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Eight bytes at p as a little-endian word. */
static inline uint64_t sysfast__sip_le64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The last 1-7 bytes of an input, as the low bytes of a little-endian
 * word. An input of 8 bytes or more is read as the 8 bytes that end it,
 * shifted: one load, where a copy of a variable length would call
 * memcpy. */
static inline uint64_t sysfast__sip_tail(const unsigned char *p, size_t r, size_t len)
{
	uint64_t w = 0;

	if (len >= 8)
		return sysfast__sip_le64(p + r - 8) >> (64 - 8 * r);
	switch (r) {
	case 7:
		w |= (uint64_t)p[6] << 48;
		__attribute__((fallthrough));
	case 6:
		w |= (uint64_t)p[5] << 40;
		__attribute__((fallthrough));
	case 5:
		w |= (uint64_t)p[4] << 32;
		__attribute__((fallthrough));
	case 4:
		w |= (uint64_t)p[3] << 24;
		__attribute__((fallthrough));
	case 3:
		w |= (uint64_t)p[2] << 16;
		__attribute__((fallthrough));
	case 2:
		w |= (uint64_t)p[1] << 8;
		__attribute__((fallthrough));
	default:
		w |= p[0];
	}
	return w;
}

/* SipRound: the paper's ARX network over the four state words. */
#define SYSFAST__SIPROUND(v0, v1, v2, v3)                                                          \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = sysfast__sip_rotl(v1, 13);                                                    \
		v1 ^= v0;                                                                          \
		v0 = sysfast__sip_rotl(v0, 32);                                                    \
		v2 += v3;                                                                          \
		v3 = sysfast__sip_rotl(v3, 16);                                                    \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = sysfast__sip_rotl(v3, 21);                                                    \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = sysfast__sip_rotl(v1, 17);                                                    \
		v1 ^= v2;                                                                          \
		v2 = sysfast__sip_rotl(v2, 32);                                                    \
	} while (0)

/* SipHash-c-d of len bytes at data. Always inlined into the two variants
 * below, where the round counts are constants and the loops unroll. */
static inline __attribute__((always_inline)) uint64_t
sysfast__siphash(const struct sysfast__sipkey *key, const void *data, size_t len, int c, int d)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0 = key->k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = key->k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = key->k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = key->k1 ^ UINT64_C(0x7465646279746573);
	uint64_t m;

	for (; p != end; p += 8) {
		m = sysfast__sip_le64(p);
		v3 ^= m;
		for (int i = 0; i < c; i++)
			SYSFAST__SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = (uint64_t)len << 56;
	if (len & 7)
		m |= sysfast__sip_tail(p, len & 7, len);
	v3 ^= m;
	for (int i = 0; i < c; i++)
		SYSFAST__SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (int i = 0; i < d; i++)
		SYSFAST__SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-1-3: the tables' hash. */
static inline uint64_t sysfast__siphash13(const struct sysfast__sipkey *key, const void *data,
                                          size_t len)
{
	return sysfast__siphash(key, data, len, 1, 3);
}

/* SipHash-2-4, the paper's recommended variant. Unused by the tables: it
 * is here so that the tests can check the code both variants share
 * against the paper's published test vector. */
static inline uint64_t sysfast__siphash24(const struct sysfast__sipkey *key, const void *data,
                                          size_t len)
{
	return sysfast__siphash(key, data, len, 2, 4);
}

/* The process's key: random, made once on first use, never changed. */
extern struct sysfast__sipkey sysfast__hash_key;
extern bool sysfast__hash_key_ready; /* set (release) once the key is */

/* Makes sysfast__hash_key (once, whatever the number of callers).
 * getrandom() without blocking: at early boot, before the kernel's pool
 * is ready, a weaker key is better than a process that hangs (CPython's
 * hash secret makes the same choice). Never fails, never allocates. */
void sysfast__hash_key_init(void);

/* SipHash-1-3 of the bytes under the process's key: the hash of every
 * interned string and event name. Thread-safe; never allocates. */
static inline uint64_t sysfast__keyed_hash(const void *data, size_t len)
{
	if (SYSFAST_UNLIKELY(!__atomic_load_n(&sysfast__hash_key_ready, __ATOMIC_ACQUIRE)))
		sysfast__hash_key_init();
	return sysfast__siphash13(&sysfast__hash_key, data, len);
}

#endif /* SYSFAST_SIPHASH_H */
