/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for running out of memory: sequences of hook adds
 * (with and without filter patterns, process-wide and per interpreter),
 * audits, event-name interning, string interning, string creation,
 * interpreter creation and init after fini, with the allocation-fault
 * seam of core/src/alloc.c failing the allocation the input names (once,
 * or that one and every one after it).
 *
 * API.md, "Out of memory": a call whose allocation fails returns -1/NULL
 * with sysfast_MemoryError and leaves everything as it was; a hook whose
 * add failed is never called, not even at fini, and no other hook loses an
 * event; an event name whose intern failed has no id; nothing leaks; a
 * retry behaves as a first try. The model: the set of hooks added, the
 * references held to each interned string, the names interned. After each
 * operation the harness checks the result against it, that a call failed
 * exactly when an injected failure was reached, and, after a failure, that
 * the library holds exactly the blocks and mappings it held before (once
 * deferred frees have run). Dispatching a known event and interning
 * bytes already interned must not allocate at all.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

#define HOOKS 16
#define POOL 6

static uint32_t added;  /* hooks added and not dropped by fini */
static uint32_t called; /* hooks called by the last audit */
static unsigned n_hooks;
static sysfast_str *held[POOL][4];
static unsigned refs[POOL];
static char pool[POOL][16];

static int hook_fn(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	unsigned h = (unsigned)(uintptr_t)ud;

	(void)id, (void)args;
	/* A hook whose add failed is never called, fini's events included. */
	CHECK(added >> h & 1);
	if (!strcmp(name, "fuzz.oom"))
		called |= 1u << h;
	return 0;
}

/* The library's blocks and mappings once deferred frees have run. */
static struct sysfast__alloc_stats settled(void)
{
	urcu_memb_barrier();
	return sysfast__alloc_stats();
}

/* Arms the seam for one call: operand byte b fails attempt b % 8 + 1,
 * and every later one too when b & 8. Returns what was live before. */
static struct sysfast__alloc_stats arm(unsigned b)
{
	struct sysfast__alloc_stats before = settled();

	sysfast__alloc_fault_set(b % 8 + 1, b & 8);
	return before;
}

/* After a call: it failed (`failed`) exactly when an injected failure was
 * reached, with MemoryError; and a failed call left nothing behind. */
static void judge(bool failed, struct sysfast__alloc_stats before)
{
	struct sysfast__alloc_stats now = sysfast__alloc_stats();

	sysfast__alloc_fault_clear();
	if (!failed) {
		CHECK(!sysfast_err_occurred());
		return;
	}
	CHECK(now.failures > 0);
	CHECK(sysfast_err_occurred() == sysfast_MemoryError);
	sysfast_err_clear();
	now = settled();
	CHECK(now.live_blocks == before.live_blocks && now.live_maps == before.live_maps);
}

static void op_add(unsigned arg, unsigned b)
{
	static const char *const one[] = {"fuzz.oom"};
	static const char *const two[] = {"x.y", "fuzz.*"};
	sysfast_hook_options opts = {0, arg & 2 ? two : one, arg & 2 ? 2u : 1u};
	struct sysfast__alloc_stats before;
	void *ud = (void *)(uintptr_t)n_hooks;
	int rc;

	if (n_hooks == HOOKS)
		return;
	before = arm(b);
	if (arg & 1)
		rc = sysfast_interp_add_audit_hook(NULL, hook_fn, ud, arg & 4 ? &opts : NULL);
	else
		rc = sysfast_add_audit_hook_ex(hook_fn, ud, arg & 4 ? &opts : NULL);
	CHECK(rc == 0 || rc == -1);
	judge(rc == -1, before);
	if (rc == 0)
		added |= 1u << n_hooks;
	n_hooks++;
}

/* Raising a known event allocates nothing, and reaches every hook added. */
static void op_audit(void)
{
	called = 0;
	sysfast__alloc_fault_set(1, true);
	CHECK((sysfast_audit)("fuzz.oom", "(si)", "x", 1) == 0);
	CHECK(sysfast__alloc_stats().attempts == 0);
	sysfast__alloc_fault_clear();
	CHECK(called == added);
}

static void op_event(unsigned k, unsigned b)
{
	char name[32];
	sysfast_event_id known, id;
	struct sysfast__alloc_stats before;

	snprintf(name, sizeof(name), "fuzz.oom.n%u", k);
	known = sysfast_event_find(name);
	before = arm(b);
	id = sysfast_event_intern(name);
	judge(id == 0, before);
	if (known)
		CHECK(id == known);
	/* A failed intern leaves no id behind. */
	CHECK(sysfast_event_find(name) == id);
	if (id)
		CHECK(!strcmp(sysfast_event_name(id), name));
}

static size_t model_count(void)
{
	size_t n = 0;

	for (size_t k = 0; k < POOL; k++)
		n += refs[k] > 0;
	return n;
}

static void op_intern(unsigned k, unsigned b)
{
	size_t len = strlen(pool[k]);
	struct sysfast__alloc_stats before = arm(b);
	sysfast_str *s = sysfast_intern(pool[k], len);

	if (refs[k]) {
		/* Already interned: no allocation, the same string. */
		CHECK(s == held[k][0] && sysfast__alloc_stats().attempts == 0);
	}
	judge(s == NULL, before);
	if (s && refs[k] < 4)
		held[k][refs[k]++] = s;
	else
		sysfast_str_decref(s);
	CHECK(sysfast_intern_count() == model_count());
	if (!refs[k])
		CHECK(sysfast_intern_find(pool[k], len) == NULL && !sysfast_err_occurred());
}

static void op_decref(unsigned k)
{
	if (refs[k])
		sysfast_str_decref(held[k][--refs[k]]);
	CHECK(sysfast_intern_count() == model_count());
}

/* API.md's argument rules for strings, which fail before any allocation
 * (or with the MemoryError of one that cannot succeed), and the other ways
 * in: intern_cstr, in-place interning and the string's __sizeof__. */
static void op_string_rules(unsigned k)
{
	sysfast_str *s;
	size_t size = 0;

	CHECK(sysfast_intern(NULL, 5) == NULL && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_str_new(pool[k], SIZE_MAX) == NULL);
	CHECK(sysfast_err_occurred() == sysfast_OverflowError);
	sysfast_err_clear();
	CHECK(sysfast_intern(pool[k], PTRDIFF_MAX) == NULL);
	CHECK(sysfast_err_occurred() == sysfast_MemoryError);
	sysfast_err_clear();
	CHECK(sysfast_intern_find(pool[k], PTRDIFF_MAX) == NULL);
	CHECK(sysfast_err_occurred() == sysfast_MemoryError);
	sysfast_err_clear();
	/* Longer than any interned string, yet allocatable: not found, the
	 * bytes unread. */
	CHECK(sysfast_intern_find(pool[k], (size_t)1 << 40) == NULL && !sysfast_err_occurred());
	CHECK(sysfast_intern_cstr(NULL) == NULL && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(sysfast_intern_in_place(NULL) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();

	s = sysfast_str_new(pool[k], strlen(pool[k]));
	CHECK(s != NULL);
	CHECK(sysfast_getsizeof((const sysfast_object *)s, &size) == 0);
	CHECK(size > strlen(pool[k]) + 1);
	/* In place: the held string if there is one, else s itself. */
	CHECK(sysfast_intern_in_place(&s) == 0 && sysfast_str_is_interned(s));
	if (refs[k])
		CHECK(s == held[k][0]);
	if (refs[k] < 4)
		held[k][refs[k]++] = s;
	else
		sysfast_str_decref(s);
	s = sysfast_intern_cstr(pool[k]);
	CHECK(s == held[k][0]);
	sysfast_str_decref(s);
	CHECK(sysfast_intern_count() == model_count());
}

static void op_str_new(unsigned k, unsigned b)
{
	struct sysfast__alloc_stats before = arm(b);
	sysfast_str *s = sysfast_str_new(pool[k], strlen(pool[k]));

	judge(s == NULL, before);
	if (s)
		CHECK(!sysfast_str_is_interned(s) && !strcmp(sysfast_str_data(s), pool[k]));
	sysfast_str_decref(s);
}

static void op_interp(unsigned b)
{
	struct sysfast__alloc_stats before = arm(b);
	sysfast_interp *p = sysfast_interp_new();

	judge(p == NULL, before);
	if (p)
		CHECK(sysfast_interp_destroy(p) == 0);
}

/* fini, then init with the seam failing until it succeeds: each failed
 * init leaves the runtime down and nothing allocated; hooks added before
 * are gone with the fini. */
static void op_restart(unsigned b)
{
	struct sysfast__alloc_stats before;
	int rc;

	sysfast_fini();
	added = 0;
	for (unsigned nth = b % 8 + 1;; nth++) {
		before = settled();
		sysfast__alloc_fault_set(nth, false);
		rc = sysfast_init();
		CHECK(rc == 0 || rc == -1);
		CHECK(sysfast_is_initialized() == (rc == 0));
		judge(rc == -1, before);
		if (rc == 0)
			break;
	}
	CHECK(sysfast_event_intern("fuzz.oom") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_input in = {data, data + size};

	if (!ready) {
		/* Count live blocks from here on; fail nothing yet. */
		sysfast__alloc_fault_set(0, false);
		for (size_t k = 0; k < POOL; k++)
			snprintf(pool[k], sizeof(pool[k]), "oom-%zu", k);
		ready = true;
	}
	CHECK(sysfast_init() == 0);
	CHECK(sysfast_event_intern("fuzz.oom") != 0);
	added = 0;
	n_hooks = 0;
	while (fuzz_more(&in)) {
		unsigned op = fuzz_byte(&in), arg = op >> 4;

		switch (op & 7) {
		case 0:
			op_add(arg, fuzz_byte(&in));
			break;
		case 1:
			op_audit();
			break;
		case 2:
			op_event(arg, fuzz_byte(&in));
			break;
		case 3:
			op_intern(arg % POOL, fuzz_byte(&in));
			break;
		case 4:
			if (arg & 8)
				op_string_rules(arg % POOL);
			else
				op_decref(arg % POOL);
			break;
		case 5:
			op_str_new(arg % POOL, fuzz_byte(&in));
			break;
		case 6:
			op_interp(fuzz_byte(&in));
			break;
		default:
			op_restart(fuzz_byte(&in));
			break;
		}
	}
	for (size_t k = 0; k < POOL; k++)
		while (refs[k])
			sysfast_str_decref(held[k][--refs[k]]);
	CHECK(sysfast_intern_count() == 0);
	sysfast_fini();
	sysfast_err_clear();
	return 0;
}
