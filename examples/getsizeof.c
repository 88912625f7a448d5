/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Example: sys.getsizeof for C structs.
 *
 * A struct becomes an object by starting with a sysfast_object. Its type
 * says how big an instance is (sizeof_fn, like __sizeof__), whether it
 * carries a GC header, and what it refers to (traverse), which is all
 * sysfast_deepsizeof needs to size a whole graph, cycles included.
 *
 *     cc getsizeof.c $(pkg-config --cflags --libs sysfast) -o getsizeof
 */
#include <stdio.h>

#include <sysfast/sysfast.h>

/* A list cell: a value and the next cell (the last points at the first). */
struct cell {
	sysfast_object base;
	long value;
	struct cell *next;
};

static int cell_sizeof(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = sizeof(struct cell);
	return 0;
}

static int cell_traverse(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	const struct cell *c = (const struct cell *)self;

	return c->next ? visit(&c->next->base, arg) : 0;
}

static const sysfast_type cell_type = {"cell", SYSFAST_TYPE_GC, cell_sizeof, cell_traverse};

/* A type with no __sizeof__. */
static const sysfast_type opaque_type = {"opaque", 0, NULL, NULL};

int main(void)
{
	struct cell cells[3];
	sysfast_object opaque = {&opaque_type};
	size_t one, all, guess;

	if (sysfast_init() < 0)
		return 1;
	for (int i = 0; i < 3; i++)
		cells[i] = (struct cell){{&cell_type}, i, &cells[(i + 1) % 3]};

	/* One cell: sizeof(struct cell) plus the GC header. */
	if (sysfast_getsizeof(&cells[0].base, &one) < 0)
		return 1;
	/* The ring: each cell once, although every path leads back. */
	if (sysfast_deepsizeof(&cells[0].base, &all) < 0)
		return 1;
	printf("one cell: %zu bytes, the ring: %zu bytes\n", one, all);

	/* No __sizeof__: TypeError, or the default if one is given. */
	if (sysfast_getsizeof(&opaque, &guess) < 0) {
		printf("%s: %s\n", sysfast_exc_type_name(sysfast_err_occurred()),
		       sysfast_err_message());
		sysfast_err_clear();
	}
	if (sysfast_getsizeof_default(&opaque, 64, &guess) == 0)
		printf("opaque, with a default: %zu bytes\n", guess);

	sysfast_fini();
	return all == 3 * one ? 0 : 1;
}
