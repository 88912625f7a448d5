/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for interned strings: runs a sequence of operations
 * decoded from the input on a small pool of byte strings and checks the
 * table against a model, the references the harness holds.
 *
 * The harness is the only user of the table and a last decref removes a
 * string at once, so the model is exact: a string is found exactly when
 * the harness holds an interned string with those bytes, intern and find
 * return that very pointer, and the count is the number of distinct
 * interned strings held. Each input ends by dropping everything, after
 * which nothing may be found.
 *
 * Input: a sequence of operations, one byte each, `op | slot << 3`, where
 * slot picks one of POOL byte strings (or one of the held references).
 * SET also takes a length byte and that many bytes, which become the
 * slot's string (embedded NULs included).
 *
 * COUNT with slot 28 to 31 also works a crowd, so that the table grows
 * past its first 256 slots, fills with tombstones, empties clusters and
 * shrinks (intern.c): 28 and 29 intern 64 and 192 new strings
 * ("crowd.N", held in a second model array), 30 and 31 drop every 2nd
 * and every 5th of them, often their last reference.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"

#define POOL 8
#define MAX_HELD 64
#define MAX_CROWD 1024
#define MAX_SERIAL 65536

enum { OP_SET, OP_INTERN, OP_FIND, OP_NEW, OP_IN_PLACE, OP_INCREF, OP_DECREF, OP_COUNT };

struct bytes {
	size_t len;
	char data[256];
};

static struct bytes pool[POOL];
static sysfast_str *held[MAX_HELD];
static size_t n_held;
/* Interned strings of distinct bytes, "crowd.N", apart from the held
 * ones: crowd[] lists their serials N, by_serial[N] is the string. */
static unsigned crowd[MAX_CROWD];
static size_t n_crowd;
static unsigned crowd_serial;
static sysfast_str *by_serial[MAX_SERIAL];

/* The crowd's string with b's bytes, or NULL: b must read "crowd.N"
 * exactly, N in decimal without leading zeros. */
static sysfast_str *crowd_find(const struct bytes *b)
{
	char text[32];
	unsigned n = 0;
	size_t i;

	if (b->len < 7 || b->len > 12 || memcmp(b->data, "crowd.", 6) != 0)
		return NULL;
	for (i = 6; i < b->len && b->data[i] >= '0' && b->data[i] <= '9'; i++)
		n = n * 10 + (unsigned)(b->data[i] - '0');
	if (i != b->len || n >= MAX_SERIAL)
		return NULL;
	snprintf(text, sizeof(text), "crowd.%u", n);
	return strlen(text) == b->len && memcmp(text, b->data, b->len) == 0 ? by_serial[n] : NULL;
}

static int same_bytes(const sysfast_str *s, const struct bytes *b)
{
	return sysfast_str_len(s) == b->len && memcmp(sysfast_str_data(s), b->data, b->len) == 0
	       && sysfast_str_data(s)[b->len] == '\0';
}

/* The held interned string with b's bytes, or NULL. */
static sysfast_str *model_find(const struct bytes *b)
{
	for (size_t i = 0; i < n_held; i++)
		if (sysfast_str_is_interned(held[i]) && same_bytes(held[i], b))
			return held[i];
	return crowd_find(b);
}

static size_t model_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < n_held; i++) {
		size_t j;

		if (!sysfast_str_is_interned(held[i]))
			continue;
		for (j = 0; j < i && held[j] != held[i]; j++)
			;
		n += j == i;
	}
	/* The crowd's bytes are distinct; a crowd string the pool interned
	 * too is held as well, and counted there. */
	n += n_crowd;
	for (size_t i = 0; i < n_held; i++) {
		struct bytes b = {.len = sysfast_str_len(held[i])};
		size_t j;

		if (!sysfast_str_is_interned(held[i]) || b.len > 12)
			continue;
		for (j = 0; j < i && held[j] != held[i]; j++)
			;
		memcpy(b.data, sysfast_str_data(held[i]), b.len);
		n -= j == i && crowd_find(&b) == held[i];
	}
	return n;
}

static void hold(sysfast_str *s)
{
	if (n_held < MAX_HELD)
		held[n_held++] = s;
	else
		sysfast_str_decref(s);
}

static void drop(size_t i)
{
	sysfast_str_decref(held[i]);
	held[i] = held[--n_held];
}

static void op_intern(const struct bytes *b)
{
	sysfast_str *expect = model_find(b);
	sysfast_str *s = sysfast_intern(b->data, b->len);

	CHECK(s && !sysfast_err_occurred());
	CHECK(same_bytes(s, b) && sysfast_str_is_interned(s));
	CHECK(!expect || s == expect);
	hold(s);
}

static void op_find(const struct bytes *b)
{
	sysfast_str *expect = model_find(b);
	sysfast_str *s = sysfast_intern_find(b->data, b->len);

	CHECK(!sysfast_err_occurred());
	CHECK(s == expect);
	sysfast_str_decref(s);
}

/* A string's __sizeof__ is a fixed header plus its length plus 1, the
 * header learnt from the first string measured. */
static void check_sizeof(const sysfast_str *s)
{
	static size_t header;
	size_t size = 0, len = sysfast_str_len(s);
	void *block;

	CHECK(sysfast_getsizeof((const sysfast_object *)s, &size) == 0 && size > len + 1);
	if (!header)
		header = size - len - 1;
	CHECK(size == header + len + 1);
	CHECK(sysfast_getsizeof_default((const sysfast_object *)s, 1, NULL) == -1);
	CHECK(sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	/* The allocator's own figure, for a block of the string's size. */
	block = malloc(size);
	CHECK(block && sysfast_alloc_usable_size(block) == malloc_usable_size(block));
	free(block);
	CHECK(sysfast_alloc_usable_size(NULL) == 0);
}

static void crowd_grow(unsigned n)
{
	struct bytes b;

	for (unsigned i = 0; i < n && n_crowd < MAX_CROWD && crowd_serial < MAX_SERIAL; i++) {
		sysfast_str *expect, *s;

		b.len = (size_t)snprintf(b.data, sizeof(b.data), "crowd.%u", crowd_serial++);
		expect = model_find(&b);
		s = sysfast_intern(b.data, b.len);
		CHECK(s && !sysfast_err_occurred());
		CHECK(same_bytes(s, &b) && sysfast_str_is_interned(s));
		CHECK(!expect || s == expect);
		by_serial[crowd_serial - 1] = s;
		crowd[n_crowd++] = crowd_serial - 1;
	}
}

static void crowd_thin(unsigned stride)
{
	for (size_t i = n_crowd; i-- > 0;)
		if (i % stride == 0) {
			sysfast_str_decref(by_serial[crowd[i]]);
			by_serial[crowd[i]] = NULL;
			crowd[i] = crowd[--n_crowd];
		}
}

static void op_new(const struct bytes *b)
{
	sysfast_str *s = sysfast_str_new(b->data, b->len);

	CHECK(s && same_bytes(s, b) && !sysfast_str_is_interned(s));
	check_sizeof(s);
	if (model_find(b))
		CHECK(sysfast_str_hash(s) == sysfast_str_hash(model_find(b)));
	hold(s);
}

static void op_in_place(size_t i)
{
	sysfast_str *orig = held[i];
	struct bytes b = {.len = sysfast_str_len(orig)};
	sysfast_str *expect;

	memcpy(b.data, sysfast_str_data(orig), b.len);
	expect = sysfast_str_is_interned(orig) ? orig : model_find(&b);
	CHECK(sysfast_intern_in_place(&held[i]) == 0);
	CHECK(held[i] == (expect ? expect : orig));
	CHECK(sysfast_str_is_interned(held[i]) && same_bytes(held[i], &b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	size_t pos = 0;

	if (!ready) {
		CHECK(sysfast_init() == 0);
		ready = 1;
	}
	memset(pool, 0, sizeof(pool));
	crowd_serial = 0;
	while (pos < size) {
		unsigned op = data[pos] & 7, slot = data[pos] >> 3;
		struct bytes *b = &pool[slot % POOL];

		pos++;
		switch (op) {
		case OP_SET:
			if (pos >= size)
				break;
			b->len = data[pos++];
			if (b->len > size - pos)
				b->len = size - pos;
			memcpy(b->data, data + pos, b->len);
			pos += b->len;
			break;
		case OP_INTERN:
			op_intern(b);
			break;
		case OP_FIND:
			op_find(b);
			break;
		case OP_NEW:
			op_new(b);
			break;
		case OP_IN_PLACE:
			if (n_held)
				op_in_place(slot % n_held);
			break;
		case OP_INCREF:
			if (n_held)
				hold(sysfast_str_incref(held[slot % n_held]));
			break;
		case OP_DECREF:
			if (n_held)
				drop(slot % n_held);
			break;
		default:
			if (slot == 28 || slot == 29)
				crowd_grow(slot == 28 ? 64 : 192);
			else if (slot == 30 || slot == 31)
				crowd_thin(slot == 30 ? 2 : 5);
			CHECK(sysfast_intern_count() == model_count());
			break;
		}
	}
	CHECK(sysfast_intern_count() == model_count());
	while (n_held)
		drop(n_held - 1);
	while (n_crowd) {
		n_crowd--;
		sysfast_str_decref(by_serial[crowd[n_crowd]]);
		by_serial[crowd[n_crowd]] = NULL;
	}
	CHECK(sysfast_intern_count() == 0);
	for (size_t k = 0; k < POOL; k++)
		CHECK(sysfast_intern_find(pool[k].data, pool[k].len) == NULL);
	CHECK(!sysfast_err_occurred());
	return 0;
}
