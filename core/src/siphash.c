/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the per-process key of the tables' hash (see siphash.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include "siphash.h"

struct sysfast__sipkey sysfast__hash_key;
bool sysfast__hash_key_ready;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* Fills buf from the kernel's pool without blocking; false if it could
 * not (no entropy yet at early boot, or no getrandom). */
static bool random_bytes(void *buf, size_t len)
{
	ssize_t got;

	do {
		got = getrandom(buf, len, GRND_NONBLOCK);
	} while (got < 0 && errno == EINTR);
	return got == (ssize_t)len;
}

/* The fallback: the clocks and some ASLR'd addresses, spread over 128
 * bits by SipHash itself under two fixed keys. Guessable in principle,
 * but only where the kernel has no entropy to give. */
static void weak_key(struct sysfast__sipkey *key)
{
	struct {
		struct timespec mono, real;
		uintptr_t stack, code, data;
	} mix;

	clock_gettime(CLOCK_MONOTONIC, &mix.mono);
	clock_gettime(CLOCK_REALTIME, &mix.real);
	mix.stack = (uintptr_t)&mix;
	mix.code = (uintptr_t)&weak_key;
	mix.data = (uintptr_t)&sysfast__hash_key;
	key->k0 = sysfast__siphash13(&(struct sysfast__sipkey){0, 1}, &mix, sizeof(mix));
	key->k1 = sysfast__siphash13(&(struct sysfast__sipkey){1, 0}, &mix, sizeof(mix));
}

static void key_make(void)
{
	if (!random_bytes(&sysfast__hash_key, sizeof(sysfast__hash_key)))
		weak_key(&sysfast__hash_key);
	__atomic_store_n(&sysfast__hash_key_ready, true, __ATOMIC_RELEASE);
}

void sysfast__hash_key_init(void)
{
	pthread_once(&key_once, key_make);
}
