/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for getsizeof and deepsizeof over object graphs that
 * the input draws: cycles, shared referents, long chains (2^20 nodes
 * in a dedicated three-byte input), sizeof_fn and traverse that fail or break the
 * rules, GC headers, huge sizes, and allocation failures in the walk.
 *
 * Each result is checked against a reference computation over the
 * harness's own picture of the graph (a recursive walk over at most
 * NODES nodes, plus a chain summed in closed form):
 *   - getsizeof gives sizeof_fn's value plus the GC header, or exactly the
 *     error the contract names (TypeError with the type name cut at 100
 *     bytes, the callback's own error, SystemError for a callback that
 *     breaks the rules, ValueError for a negative size or a NULL type),
 *     in its inline form (<sysfast/static/object.h>) as in the function,
 *     with the same message;
 *   - getsizeof_default gives the default exactly where getsizeof gives a
 *     TypeError, keeping the caller's error;
 *   - deepsizeof gives the sum over the reachable set, each object sized
 *     and traversed exactly once; it fails exactly when a reachable object
 *     fails or the sum does not fit in size_t, and then with the error of
 *     one of those; *size is untouched on failure;
 *   - a pending caller error is hidden from callbacks and kept on success;
 *   - an injected allocation failure gives MemoryError or (if it was never
 *     reached) the normal result, and nothing stays allocated either way.
 *
 * Input: operations, one byte each (op in the low 4 bits), followed by
 * their operands; see the switch in LLVMFuzzerTestOneInput.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/static/object.h>
#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

#define NODES 32
#define EDGES 4
/* A chain's length operand b: 4b + 1 nodes; for an input of exactly the
 * three bytes of a chain operation, 0xff is 2^20 nodes (the seed
 * chain-1m), which keeps the mutations that the fuzzer runs fast. */
#define CHAIN_LONG (1u << 20)

/* What sizeof_fn does. */
enum { S_OK, S_FAIL, S_FAIL_NOERR, S_LIE, S_NEGATIVE, S_KINDS };
/* What traverse does. */
enum { T_OK, T_FAIL, T_FAIL_NOERR, T_LIE, T_DUP, T_KINDS };

struct node {
	sysfast_object ob;
	int64_t size;
	uint8_t sb, tb;
	uint8_t n_edges;
	/* Runs during the current deepsizeof. */
	unsigned sized, traversed;
	const sysfast_object *edges[EDGES];
};

static struct node nodes[NODES];
static bool pending; /* set a caller error before each call */

/* 150 bytes: the TypeError message keeps 100 of them. */
#define LONG_NAME                                                                                  \
	"a_type_name_that_is_much_longer_than_the_hundred_bytes_the_message_keeps_"                \
	"0123456789012345678901234567890123456789012345678901234567890123456789012345"

static int node_sizeof(const sysfast_object *self, int64_t *size);
static int node_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg);

/* Index: has sizeof_fn (1), has traverse (2), GC (4). */
static const sysfast_type types[8] = {
    {LONG_NAME, 0, NULL, NULL},
    {"leaf", 0, node_sizeof, NULL},
    {"opaque", 0, NULL, node_traverse},
    {"container", 0, node_sizeof, node_traverse},
    {"gc_" LONG_NAME, SYSFAST_TYPE_GC, NULL, NULL},
    {"gc_leaf", SYSFAST_TYPE_GC, node_sizeof, NULL},
    {"gc_opaque", SYSFAST_TYPE_GC, NULL, node_traverse},
    {"gc_container", SYSFAST_TYPE_GC, node_sizeof, node_traverse},
};

static int node_sizeof(const sysfast_object *self, int64_t *size)
{
	struct node *n = (struct node *)(uintptr_t)self;

	CHECK(!sysfast_err_occurred());
	n->sized++;
	switch (n->sb) {
	case S_FAIL:
		sysfast_err_set(sysfast_RuntimeError, "sizeof failed");
		return -1;
	case S_FAIL_NOERR:
		return -1;
	case S_LIE:
		sysfast_err_set(sysfast_RuntimeError, "sizeof lied");
		*size = n->size;
		return 0;
	case S_NEGATIVE:
		*size = -1 - n->size;
		return 0;
	default:
		*size = n->size;
		return 0;
	}
}

static int node_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	struct node *n = (struct node *)(uintptr_t)self;
	int r;

	CHECK(!sysfast_err_occurred());
	n->traversed++;
	for (unsigned rep = 0; rep < (n->tb == T_DUP ? 2u : 1u); rep++)
		for (unsigned i = 0; i < n->n_edges; i++)
			if ((r = visit(n->edges[i], arg)) != 0)
				return r;
	switch (n->tb) {
	case T_FAIL:
		sysfast_err_set(sysfast_OSError, "traverse failed");
		return -1;
	case T_FAIL_NOERR:
		return 7;
	case T_LIE:
		sysfast_err_set(sysfast_OSError, "traverse lied");
		return 0;
	default:
		return 0;
	}
}

/* ---- the reference ---- */

/* What getsizeof of n must give: the error class (NULL: none) and size. */
static const sysfast_exc_type *expect_one(const struct node *n, size_t *size)
{
	const sysfast_type *tp = n->ob.type;

	if (!tp)
		return sysfast_ValueError;
	if (!tp->sizeof_fn)
		return sysfast_TypeError;
	switch (n->sb) {
	case S_FAIL:
		return sysfast_RuntimeError;
	case S_FAIL_NOERR:
	case S_LIE:
		return sysfast_SystemError;
	case S_NEGATIVE:
		return sysfast_ValueError;
	}
	*size = (size_t)n->size + (tp->flags & SYSFAST_TYPE_GC ? SYSFAST_GC_HEADER_SIZE : 0);
	return NULL;
}

/* The error of n's traverse, if it has one that fails. */
static const sysfast_exc_type *expect_traverse(const struct node *n)
{
	if (!n->ob.type || !n->ob.type->traverse)
		return NULL;
	switch (n->tb) {
	case T_FAIL:
		return sysfast_OSError;
	case T_FAIL_NOERR:
	case T_LIE:
		return sysfast_SystemError;
	}
	return NULL;
}

struct expect {
	bool reach[NODES];
	unsigned __int128 sum;
	/* The errors the call may end with: any reachable failure. */
	const sysfast_exc_type *errs[8];
	size_t n_errs;
};

static void expect_err(struct expect *e, const sysfast_exc_type *t)
{
	for (size_t i = 0; i < e->n_errs; i++)
		if (e->errs[i] == t)
			return;
	e->errs[e->n_errs++] = t;
}

static size_t node_index(const sysfast_object *o)
{
	return (size_t)((const struct node *)(const void *)o - nodes);
}

/* Recursion is fine here: at most NODES deep. */
static void reach(struct expect *e, size_t i)
{
	const struct node *n = &nodes[i];
	const sysfast_exc_type *err;
	size_t size = 0;

	if (e->reach[i])
		return;
	e->reach[i] = true;
	if ((err = expect_one(n, &size)) != NULL) {
		expect_err(e, err);
		return;
	}
	e->sum += size;
	if ((err = expect_traverse(n)) != NULL)
		expect_err(e, err);
	if (!n->ob.type->traverse)
		return;
	for (unsigned k = 0; k < n->n_edges; k++)
		if (n->edges[k])
			reach(e, node_index(n->edges[k]));
}

/* ---- the checks ---- */

static void before_call(void)
{
	sysfast_err_clear();
	if (pending)
		sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
}

static void after_success(void)
{
	if (pending)
		CHECK(sysfast_err_occurred() == sysfast_KeyboardInterrupt
		      && !strcmp(sysfast_err_message(), "pending"));
	else
		CHECK(!sysfast_err_occurred());
	sysfast_err_clear();
}

static void check_type_error_message(const struct node *n)
{
	char want[160];

	snprintf(want, sizeof(want), "Type %.100s doesn't define __sizeof__", n->ob.type->name);
	CHECK(!strcmp(sysfast_err_message(), want));
}

/* Each getsizeof runs in both forms: the library's function, then the
 * inline form (<sysfast/static/object.h>, included without SYSFAST_INLINE
 * so that the name stays the function's), which must give the same
 * result, the same error and the same message. */
static void op_getsizeof(const struct node *n)
{
	char msg[SYSFAST_ERR_MSG_MAX + 1] = "";

	for (int form = 0; form < 2; form++) {
		size_t want = 0, got = 12345;
		const sysfast_exc_type *err = expect_one(n, &want);
		int rc;

		before_call();
		rc = form ? sysfast__getsizeof_inline(&n->ob, &got)
		          : sysfast_getsizeof(&n->ob, &got);
		if (!err) {
			CHECK(rc == 0 && got == want);
			after_success();
			continue;
		}
		CHECK(rc == -1 && got == 12345 && sysfast_err_occurred() == err);
		if (err == sysfast_TypeError)
			check_type_error_message(n);
		if (form)
			CHECK(!strcmp(sysfast_err_message(), msg));
		else
			snprintf(msg, sizeof(msg), "%s", sysfast_err_message());
		sysfast_err_clear();
	}
}

static void op_getsizeof_default(const struct node *n, size_t dflt)
{
	size_t want = 0, got = 12345;
	const sysfast_exc_type *err = expect_one(n, &want);
	int rc;

	before_call();
	rc = sysfast_getsizeof_default(&n->ob, dflt, &got);
	if (!err || err == sysfast_TypeError) {
		CHECK(rc == 0 && got == (err ? dflt : want));
		after_success();
		return;
	}
	CHECK(rc == -1 && got == 12345 && sysfast_err_occurred() == err);
	sysfast_err_clear();
}

static bool expected_error(const struct expect *e, const sysfast_exc_type *t)
{
	for (size_t i = 0; i < e->n_errs; i++)
		if (e->errs[i] == t)
			return true;
	return false;
}

/* deepsizeof from `root` (a graph node or a chain's head) must give
 * `extra` plus what the reference finds from `first`. With `fault_at`, the
 * fault_at-th allocation of the call fails. */
static int check_deep(const sysfast_object *root, size_t first, unsigned __int128 extra,
                      unsigned long fault_at)
{
	struct expect e = {0};
	struct sysfast__alloc_stats before;
	size_t got = 12345;
	int rc;

	reach(&e, first);
	e.sum += extra;
	if (e.sum > SIZE_MAX)
		expect_err(&e, sysfast_OverflowError);
	for (size_t i = 0; i < NODES; i++)
		nodes[i].sized = nodes[i].traversed = 0;
	before_call();
	before = sysfast__alloc_stats();
	sysfast__alloc_fault_set(fault_at, false);
	rc = sysfast_deepsizeof(root, &got);
	/* Everything the walk took is freed before it returns. */
	CHECK(sysfast__alloc_stats().live_blocks == before.live_blocks);
	/* An allocation that failed stops the walk there. */
	if (sysfast__alloc_stats().failures) {
		CHECK(rc == -1 && got == 12345 && sysfast_err_occurred() == sysfast_MemoryError);
		CHECK(!strcmp(sysfast_err_message(), "deepsizeof: out of memory"));
		sysfast_err_clear();
		return rc;
	}
	if (rc == 0) {
		CHECK(e.n_errs == 0 && got == (size_t)e.sum);
		for (size_t i = 0; i < NODES; i++) {
			const struct node *n = &nodes[i];

			CHECK(n->sized == (e.reach[i] && n->ob.type->sizeof_fn));
			CHECK(n->traversed == (e.reach[i] && n->ob.type->traverse));
		}
		after_success();
		return rc;
	}
	CHECK(rc == -1 && got == 12345 && expected_error(&e, sysfast_err_occurred()));
	sysfast_err_clear();
	return rc;
}

/* A chain of `len` leaf-sized containers, the last referring to graph node
 * `tail`: deepsizeof of its head walks all of it. */
static void op_chain(size_t len, size_t tail, int64_t size)
{
	struct node *chain = calloc(len, sizeof(*chain));

	CHECK(chain != NULL);
	for (size_t i = 0; i < len; i++) {
		chain[i] = (struct node){.ob = {&types[3]}, .size = size, .n_edges = 1};
		chain[i].edges[0] = i + 1 < len ? &chain[i + 1].ob : &nodes[tail].ob;
	}
	if (check_deep(&chain[0].ob, tail, (unsigned __int128)len * (uint64_t)size, 0) == 0)
		for (size_t i = 0; i < len; i++)
			CHECK(chain[i].sized == 1 && chain[i].traversed == 1);
	free(chain);
}

static void op_bad_arguments(const struct node *n)
{
	size_t got = 12345;

	before_call();
	CHECK(sysfast_getsizeof(NULL, &got) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast_getsizeof(&n->ob, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast__getsizeof_inline(NULL, &got) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast__getsizeof_inline(&n->ob, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast_getsizeof_default(NULL, 1, &got) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast_deepsizeof(NULL, &got) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	before_call();
	CHECK(sysfast_deepsizeof(&n->ob, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	CHECK(got == 12345);
	sysfast_err_clear();
}

static void set_node(struct node *n, struct fuzz_input *in)
{
	unsigned t = fuzz_byte(in), b = fuzz_byte(in), shift = fuzz_byte(in) % 64;
	uint64_t v = fuzz_u16(in);

	/* 1 in 16 of the nodes has no type at all. */
	n->ob.type = (t & 0xf0) == 0xf0 ? NULL : &types[t & 7];
	n->sb = (uint8_t)(b % S_KINDS);
	n->tb = (uint8_t)(b / S_KINDS % T_KINDS);
	n->size = shift && v >> (63 - shift) ? INT64_MAX : (int64_t)(v << shift);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_input in = {data, data + size};

	if (!ready) {
		CHECK(sysfast_init() == 0);
		/* Count live blocks from here on; fail nothing yet. */
		sysfast__alloc_fault_set(0, false);
		ready = true;
	}
	pending = false;
	for (size_t i = 0; i < NODES; i++)
		nodes[i] =
		    (struct node){.ob = {&types[(i & 3) == 0 ? 1 : 3]}, .size = (int64_t)i * 8};
	while (fuzz_more(&in)) {
		unsigned op = fuzz_byte(&in);
		struct node *n = &nodes[(op >> 4) % NODES];

		switch (op & 15) {
		case 0:
			set_node(n, &in);
			break;
		case 1: { /* an edge; operand 0xff is a NULL referent */
			unsigned slot = fuzz_byte(&in) % EDGES, to = fuzz_byte(&in);

			n->edges[slot] = to == 0xff ? NULL : &nodes[to % NODES].ob;
			if (n->n_edges <= slot)
				n->n_edges = (uint8_t)(slot + 1);
			break;
		}
		case 2:
			op_getsizeof(n);
			break;
		case 3:
			op_getsizeof_default(n, fuzz_u16(&in));
			break;
		case 4:
		case 5:
			check_deep(&n->ob, node_index(&n->ob), 0, 0);
			break;
		case 6:
			pending = !pending;
			break;
		case 7: {
			unsigned b = fuzz_byte(&in);
			size_t len = b == 0xff && size == 3 ? CHAIN_LONG : b * 4 + 1;

			op_chain(len, (op >> 4) % NODES, fuzz_byte(&in));
			break;
		}
		case 8: /* the n-th allocation of the walk fails */
			check_deep(&n->ob, node_index(&n->ob), 0, fuzz_byte(&in) % 16 + 1);
			break;
		case 9:
			op_bad_arguments(n);
			break;
		case 10:
			n->n_edges = 0;
			break;
		default: { /* a node referring to every other node */
			n->ob.type = &types[3 | (op & 4)];
			n->n_edges = EDGES;
			for (unsigned k = 0; k < EDGES; k++)
				n->edges[k] = &nodes[(node_index(&n->ob) + 1 + k) % NODES].ob;
			break;
		}
		}
	}
	sysfast__alloc_fault_clear();
	sysfast_err_clear();
	return 0;
}
