/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast's interning, getsizeof and tracing benchmarks. Their CPython
 * counterparts (bench_cpython.c) do the same work through CPython 3.11's
 * C API:
 *
 * sysfast/intern/known: sysfast_intern() of a name that is already
 * interned (a reference is held for the whole run, so it stays so), then
 * the reference is dropped again. The lookup path: what a runtime pays to
 * turn an identifier it has just read into its canonical string. CPython:
 * PyUnicode_InternFromString() of the same name, then Py_DECREF.
 *
 * sysfast/intern/find: sysfast_intern_find() of the same name, and the
 * reference dropped. CPython has no lookup that never inserts; no baseline.
 *
 * sysfast/getsizeof/str: sysfast_getsizeof() of that interned string,
 * the library's function (the default form). CPython: _PySys_GetSizeOf()
 * (the body of sys.getsizeof) of its str.
 *
 * sysfast/getsizeof_inline/str: the same call in its SYSFAST_INLINE form
 * (<sysfast/static/object.h>): the checks and the call to the type's
 * sizeof_fn at the call site.
 *
 * sysfast/trace/enter_leave/none: sysfast_frame_enter() and
 * sysfast_frame_leave() of one frame with no tracer and no profiler: what
 * every call of a runtime that embeds libsysfast pays while nobody
 * traces (one load and a branch each). .../profiler: the same with a
 * no-op profiler set, which gets 'call' and 'return'. CPython reports
 * these events from inside its eval loop, with no C entry point to time
 * alone: no baseline.
 *
 * sysfast/trace/line/local: sysfast_frame_line() of an entered frame
 * whose no-op local tracer gets the `line` event (a global tracer set):
 * one delivered event, in the inline form. .../local_call: the same
 * through the exported function. CPython's counterpart is inside its
 * eval loop too; bench_scale.c's trace/overhead compares the two.
 *
 * The hash of the intern and event tables (SipHash-1-3 under a per-process
 * key; XXH3 with a per-process seed before):
 *
 * sysfast/intern/known/8, /32, /200: sysfast_intern() of a held string of
 * that many bytes, as sysfast/intern/known; the hash is most of the
 * difference between lengths.
 *
 * sysfast/hash/siphash13/N and sysfast/hash/xxh3/N: the bare functions on
 * N bytes, side by side in one run (XXH3 seeded, inline as the library
 * had it; SipHash-1-3 from core/src/siphash.h, the library's own inline
 * code).
 *
 * sysfast/intern/flood/random, /pairs, /zero: sysfast_intern_find() of
 * each of 100000 interned 32-byte keys in turn, per key: random keys, the
 * pairs of xxHash issue #1127 (w1 = ~w0, and the pair complemented) and
 * XXH3's zero-product family for a fixed seed. In the real table all three
 * should cost the same.
 *
 * sysfast/hash/flood_model/xxh3/zero and /siphash13/zero: a lookup of each
 * key of the zero family in a plain chained table of 131072 buckets hashed
 * with XXH3 under the seed the family was made for (a seed that leaked) or
 * with SipHash-1-3 under a key: what a known seed costs every lookup.
 *
 * The loop and the dead-code guard are those of bench_limits.c.
 */
/* The inline forms of SYSFAST_AUDIT and of the frame calls: what these
 * rows measure (docs/building.md, "Inline dispatch"). */
#define SYSFAST_INLINE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Both hashes inline, as the library compiles them. The bench links the
 * shared library, whose internal symbols are hidden; siphash.h is all
 * inline, so the bench runs the very code the tables do. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../core/src/siphash.h"
#include "bench.h"
#include "hooks.h"
#include "shim.h"

/* The library is linked: its functions are called by name. */
#define BENCH_CALL(name) (name)
#include "lib_calls.h"

/* The string every benchmark here works on: held for the whole run. */
static sysfast_str *bench_held;

static void setup_held(sysfast_bench_state *st)
{
	sysfast_fini();
	if (sysfast_init() != 0) {
		sysfast_bench_skip(st, sysfast_err_message());
		return;
	}
	if (!bench_held)
		bench_held = sysfast_intern_cstr(BENCH_INTERN_NAME);
	if (!bench_held)
		sysfast_bench_skip(st, sysfast_err_message());
}

BENCH_INTERN_BODY(bm_intern_known, sysfast_intern, bench_held, "interning gave another string")
BENCH_INTERN_BODY(bm_intern_find, sysfast_intern_find, bench_held, "the lookup gave another string")

/* One loop for both forms: GETSIZEOF is the function or the inline form. */
#define BENCH_GETSIZEOF_BODY(bm_name, GETSIZEOF)                                                   \
	static void bm_name(sysfast_bench_state *st)                                               \
	{                                                                                          \
		const sysfast_object *o = (const sysfast_object *)bench_held;                      \
		size_t want = 0;                                                                   \
		uintptr_t acc = 0;                                                                 \
                                                                                                   \
		if ((sysfast_getsizeof)(o, &want) != 0)                                            \
			sysfast_bench_skip(st, sysfast_err_message());                             \
		SYSFAST_BENCH_LOOP(st)                                                             \
		{                                                                                  \
			size_t size = 0;                                                           \
			int rc = GETSIZEOF(o, &size);                                              \
                                                                                                   \
			SYSFAST_BENCH_CONSUME(acc, (uintptr_t)(unsigned)rc | (size ^ want));       \
		}                                                                                  \
		sysfast_bench_expect_zero(st, acc != 0, "getsizeof failed or changed");            \
	}

/* The library's function: the parentheses keep the inline form's macro
 * from expanding. */
BENCH_GETSIZEOF_BODY(bm_getsizeof_str, (sysfast_getsizeof))
BENCH_GETSIZEOF_BODY(bm_getsizeof_inline_str, sysfast_getsizeof)

static int bench_profile_noop(void *data, sysfast_frame *frame, sysfast_trace_what what,
                              const sysfast_arg *arg)
{
	(void)frame, (void)arg;
	*(volatile unsigned *)data += (unsigned)what;
	return 0;
}

static void setup_profiler(sysfast_bench_state *st)
{
	static unsigned events;

	setup_held(st);
	if (sysfast_setprofile(bench_profile_noop, &events) != 0)
		sysfast_bench_skip(st, sysfast_err_message());
}

static void bm_enter_leave(sysfast_bench_state *st)
{
	sysfast_frame f;
	int acc = 0;

	sysfast_frame_init(&f, "f", "bench.py", 1);
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = sysfast_frame_enter(&f);

		rc |= sysfast_frame_leave(&f, NULL);
		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	sysfast_bench_expect_zero(st, acc, "a frame event failed");
}

static int bench_trace_noop(void *data, sysfast_frame *frame, sysfast_trace_what what,
                            const sysfast_arg *arg)
{
	(void)arg;
	*(volatile unsigned *)data += (unsigned)what;
	if (what == SYSFAST_TRACE_CALL)
		sysfast_frame_set_local_tracer(frame, bench_trace_noop, data);
	return 0;
}

static void setup_tracer(sysfast_bench_state *st)
{
	static unsigned events;

	setup_held(st);
	if (sysfast_settrace(bench_trace_noop, &events) != 0)
		sysfast_bench_skip(st, sysfast_err_message());
}

/* One `line` event delivered to the frame's no-op local tracer: inline
 * (this file's SYSFAST_INLINE form), or through the exported function
 * when the argument is set. */
static void bm_line_local(sysfast_bench_state *st)
{
	bool exported = sysfast_bench_arg(st) != NULL;
	sysfast_frame f;
	int acc, line = 0;

	sysfast_frame_init(&f, "f", "bench.py", 1);
	acc = sysfast_frame_enter(&f);
	SYSFAST_BENCH_LOOP(st)
	{
		int rc = exported ? (sysfast_frame_line)(&f, ++line & 1023)
		                  : sysfast_frame_line(&f, ++line & 1023);

		SYSFAST_BENCH_CONSUME(acc, rc);
	}
	acc |= sysfast_frame_leave(&f, NULL);
	sysfast_bench_expect_zero(st, acc || f.local.fn == NULL, "a line event failed");
}

/* ---- the tables' hash ---- */

/* Identifier-like bytes, as long as the longest string measured. */
static const char hash_text[] = "module.submodule.ClassName.method_name.attribute_and_more_"
                                "text_to_make_two_hundred_bytes_of_an_identifier_like_string_"
                                "that_a_runtime_might_intern_when_it_reads_long_names_from_"
                                "source_files_and_other_places";

static const size_t hash_len_8 = 8, hash_len_32 = 32, hash_len_200 = 200;

/* The string of sysfast_bench_arg()'s length, held for the whole run. */
static sysfast_str *held_by_len[201];

static void setup_held_len(sysfast_bench_state *st)
{
	size_t len = *(const size_t *)sysfast_bench_arg(st);

	setup_held(st);
	if (!held_by_len[len])
		held_by_len[len] = sysfast_intern(hash_text, len);
	if (!held_by_len[len])
		sysfast_bench_skip(st, sysfast_err_message());
}

static void bm_intern_known_len(sysfast_bench_state *st)
{
	size_t len = *(const size_t *)sysfast_bench_arg(st);
	sysfast_str *held = held_by_len[len];
	uintptr_t acc = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		sysfast_str *s = sysfast_intern(hash_text, len);

		SYSFAST_BENCH_CONSUME(acc, (uintptr_t)s ^ (uintptr_t)held);
		sysfast_str_decref(s);
	}
	sysfast_bench_expect_zero(st, acc != 0, "interning gave another string");
}

static const struct sysfast__sipkey bench_key = {UINT64_C(0x0706050403020100),
                                                 UINT64_C(0x0f0e0d0c0b0a0908)};
static const uint64_t bench_seed = UINT64_C(0x5eed);

static void bm_hash_siphash13(sysfast_bench_state *st)
{
	size_t len = *(const size_t *)sysfast_bench_arg(st);

	SYSFAST_BENCH_LOOP(st)
	{
		uint64_t h = sysfast__siphash13(&bench_key, hash_text, len);

		SYSFAST_BENCH_DO_NOT_OPTIMIZE(h);
	}
}

static void bm_hash_xxh3(sysfast_bench_state *st)
{
	size_t len = *(const size_t *)sysfast_bench_arg(st);

	SYSFAST_BENCH_LOOP(st)
	{
		uint64_t h = XXH3_64bits_withSeed(hash_text, len, bench_seed);

		SYSFAST_BENCH_DO_NOT_OPTIMIZE(h);
	}
}

/* ---- flooding ---- */

#define FLOOD_KEYS 100000
#define FLOOD_LEN 32
#define FLOOD_BUCKETS 131072u
/* Keys are visited in this stride (a prime that does not divide
 * FLOOD_KEYS, so every key comes up once per cycle): a run that does not
 * reach the end of the cycle still samples the whole set. */
#define FLOOD_STRIDE 7919

enum flood_family { FLOOD_RANDOM, FLOOD_PAIRS, FLOOD_ZERO };

static const enum flood_family family_random = FLOOD_RANDOM, family_pairs = FLOOD_PAIRS,
                               family_zero = FLOOD_ZERO;

struct flood_keys {
	unsigned char (*bytes)[FLOOD_LEN];
	sysfast_str **held; /* each key interned, for the whole process */
};

static struct flood_keys flood_sets[3];

static void put_le64(unsigned char *p, uint64_t w)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(w >> (8 * i));
}

/* The keys of a family, made once: random words from a fixed xorshift64,
 * then the family's structure on the first two words (see the test
 * program tests/test_hash_flood.c, which checks what they do). */
static unsigned char (*flood_make(enum flood_family f))[FLOOD_LEN]
{
	unsigned char(*k)[FLOOD_LEN] = calloc(FLOOD_KEYS, FLOOD_LEN);
	uint64_t x = 0x1127;

	for (size_t i = 0; k && i < FLOOD_KEYS; i++) {
		for (size_t j = 0; j < FLOOD_LEN; j += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			put_le64(k[i] + j, x);
		}
		if (f == FLOOD_PAIRS && i % 2 == 0) {
			uint64_t w0 = sysfast__sip_le64(k[i]);

			put_le64(k[i] + 8, ~w0);
		} else if (f == FLOOD_PAIRS) {
			uint64_t w0 = sysfast__sip_le64(k[i - 1]);

			memcpy(k[i], k[i - 1], FLOOD_LEN);
			put_le64(k[i], ~w0);
			put_le64(k[i] + 8, w0);
		} else if (f == FLOOD_ZERO) {
			put_le64(k[i], sysfast__sip_le64(XXH3_kSecret) + bench_seed);
			put_le64(k[i] + 8, i);
			memcpy(k[i] + 16, "sixteen more byt", 16);
		}
	}
	return k;
}

static void setup_flood(sysfast_bench_state *st)
{
	enum flood_family f = *(const enum flood_family *)sysfast_bench_arg(st);
	struct flood_keys *set = &flood_sets[f];

	setup_held(st);
	if (set->held)
		return;
	set->bytes = flood_make(f);
	set->held = calloc(FLOOD_KEYS, sizeof(*set->held));
	if (!set->bytes || !set->held) {
		sysfast_bench_skip(st, "out of memory for the keys");
		return;
	}
	for (size_t i = 0; i < FLOOD_KEYS; i++) {
		set->held[i] = sysfast_intern((const char *)set->bytes[i], FLOOD_LEN);
		if (!set->held[i]) {
			sysfast_bench_skip(st, sysfast_err_message());
			return;
		}
	}
}

static void bm_intern_flood(sysfast_bench_state *st)
{
	const struct flood_keys *set =
	    &flood_sets[*(const enum flood_family *)sysfast_bench_arg(st)];
	uintptr_t acc = 0;
	size_t i = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		sysfast_str *s = sysfast_intern_find((const char *)set->bytes[i], FLOOD_LEN);

		SYSFAST_BENCH_CONSUME(acc, (uintptr_t)s ^ (uintptr_t)set->held[i]);
		sysfast_str_decref(s);
		i = (i + FLOOD_STRIDE) % FLOOD_KEYS;
	}
	sysfast_bench_expect_zero(st, acc != 0, "the lookup gave another string");
}

/* A plain chained table over the zero family's keys: bucket heads and
 * next links as key indexes (-1 ends a chain), each key's hash kept. */
struct flood_model {
	unsigned char (*keys)[FLOOD_LEN];
	int32_t head[FLOOD_BUCKETS];
	int32_t next[FLOOD_KEYS];
	uint64_t hash[FLOOD_KEYS];
};

/* [0]: SipHash-1-3, [1]: XXH3; made once. */
static struct flood_model *flood_models[2];

static uint64_t model_hash(bool xxh3, const unsigned char *p)
{
	return xxh3 ? XXH3_64bits_withSeed(p, FLOOD_LEN, bench_seed)
	            : sysfast__siphash13(&bench_key, p, FLOOD_LEN);
}

static void setup_model(sysfast_bench_state *st)
{
	bool xxh3 = *(const bool *)sysfast_bench_arg(st);
	struct flood_model *m = flood_models[xxh3];

	if (m)
		return;
	m = malloc(sizeof(*m));
	if (!m || !(m->keys = flood_make(FLOOD_ZERO))) {
		free(m);
		sysfast_bench_skip(st, "out of memory for the model table");
		return;
	}
	memset(m->head, -1, sizeof(m->head));
	for (int32_t k = 0; k < FLOOD_KEYS; k++) {
		uint32_t b =
		    (uint32_t)(m->hash[k] = model_hash(xxh3, m->keys[k])) & (FLOOD_BUCKETS - 1);

		m->next[k] = m->head[b];
		m->head[b] = k;
	}
	flood_models[xxh3] = m;
}

static void bm_flood_model(sysfast_bench_state *st)
{
	bool xxh3 = *(const bool *)sysfast_bench_arg(st);
	const struct flood_model *m = flood_models[xxh3];
	uintptr_t acc = 0;
	size_t i = 0;

	SYSFAST_BENCH_LOOP(st)
	{
		uint64_t h = model_hash(xxh3, m->keys[i]);
		int32_t k = m->head[h & (FLOOD_BUCKETS - 1)];

		while (k >= 0
		       && (m->hash[k] != h || memcmp(m->keys[k], m->keys[i], FLOOD_LEN) != 0))
			k = m->next[k];
		SYSFAST_BENCH_CONSUME(acc, (uintptr_t)k ^ i);
		i = (i + FLOOD_STRIDE) % FLOOD_KEYS;
	}
	sysfast_bench_expect_zero(st, acc != 0, "the model lookup found another key");
}

static const bool model_xxh3 = true, model_siphash = false;

static void reg(const char *name, sysfast_bench_fn fn)
{
	sysfast_bench_register(name, fn, &(sysfast_bench_options){.setup = setup_held});
}

void bench_objects_register(void)
{
	reg("sysfast/intern/known", bm_intern_known);
	reg("sysfast/intern/find", bm_intern_find);
	reg("sysfast/getsizeof/str", bm_getsizeof_str);
	reg("sysfast/getsizeof_inline/str", bm_getsizeof_inline_str);
	reg("sysfast/trace/enter_leave/none", bm_enter_leave);
	sysfast_bench_register("sysfast/trace/enter_leave/profiler", bm_enter_leave,
	                       &(sysfast_bench_options){.setup = setup_profiler});
	sysfast_bench_register("sysfast/trace/line/local", bm_line_local,
	                       &(sysfast_bench_options){.setup = setup_tracer});
	sysfast_bench_register("sysfast/trace/line/local_call", bm_line_local,
	                       &(sysfast_bench_options){.setup = setup_tracer, .arg = "exported"});

	static const struct {
		const char *suffix;
		const size_t *len;
	} lens[] = {{"8", &hash_len_8}, {"32", &hash_len_32}, {"200", &hash_len_200}};
	char name[64];

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		snprintf(name, sizeof(name), "sysfast/intern/known/%s", lens[i].suffix);
		sysfast_bench_register(
		    name, bm_intern_known_len,
		    &(sysfast_bench_options){.arg = lens[i].len, .setup = setup_held_len});
		snprintf(name, sizeof(name), "sysfast/hash/siphash13/%s", lens[i].suffix);
		sysfast_bench_register(name, bm_hash_siphash13,
		                       &(sysfast_bench_options){.arg = lens[i].len});
		snprintf(name, sizeof(name), "sysfast/hash/xxh3/%s", lens[i].suffix);
		sysfast_bench_register(name, bm_hash_xxh3,
		                       &(sysfast_bench_options){.arg = lens[i].len});
	}
	sysfast_bench_register(
	    "sysfast/intern/flood/random", bm_intern_flood,
	    &(sysfast_bench_options){.arg = &family_random, .setup = setup_flood});
	sysfast_bench_register(
	    "sysfast/intern/flood/pairs", bm_intern_flood,
	    &(sysfast_bench_options){.arg = &family_pairs, .setup = setup_flood});
	sysfast_bench_register("sysfast/intern/flood/zero", bm_intern_flood,
	                       &(sysfast_bench_options){.arg = &family_zero, .setup = setup_flood});
	sysfast_bench_register("sysfast/hash/flood_model/xxh3/zero", bm_flood_model,
	                       &(sysfast_bench_options){.arg = &model_xxh3, .setup = setup_model});
	sysfast_bench_register(
	    "sysfast/hash/flood_model/siphash13/zero", bm_flood_model,
	    &(sysfast_bench_options){.arg = &model_siphash, .setup = setup_model});
}
