/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast_audit is an ordinary variadic function (docs/api.md, "Raising
 * events"); what it learns of a call - the event's id, the format's
 * shape - it keeps per thread, keyed by the event and format pointers and
 * confirmed against their text (audit.c). These cases show that a call
 * the memo answers behaves exactly as the first one, that what is wrong is
 * reported on every call (a bad call is never remembered), that an
 * address reused for other text is never taken for the old one, and that
 * any number of arguments compiles and works.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

/* What the recording hook saw last, and how often it ran. */
static struct {
	int calls;
	const char *name;
	size_t n;
	sysfast_arg items[6];
	/* The first bytes of each text item: 'c' and 'C' text lives in the
	 * call's own buffer, gone once it returns. */
	char text[6][16];
	int fail; /* return -1 with sysfast_PermissionError */
} seen;

static int rec_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id;
	(void)ud;
	/* Only this program's events, not sys.addaudithook or the
	 * runtime's own. */
	if (strncmp(name, "site.", 5) != 0)
		return 0;
	__atomic_fetch_add(&seen.calls, 1, __ATOMIC_RELAXED);
	seen.name = name;
	seen.n = args->n;
	for (size_t i = 0; i < args->n && i < 6; i++) {
		const sysfast_arg *a = &args->items[i];

		seen.items[i] = *a;
		if (a->kind == SYSFAST_ARG_STR || a->kind == SYSFAST_ARG_BYTES)
			memcpy(seen.text[i], a->v.s, a->len < 16 ? a->len : 16);
	}
	if (seen.fail) {
		sysfast_err_set(sysfast_PermissionError, "refused by the test hook");
		return -1;
	}
	return 0;
}

static int fresh_runtime(void **state)
{
	(void)state;
	sysfast_fini();
	sysfast_err_clear();
	memset(&seen, 0, sizeof(seen));
	return sysfast_init();
}

static void add_hook(void)
{
	assert_int_equal(sysfast_add_audit_hook(rec_hook, NULL), 0);
}

/* Each case below calls a site several times: the first call binds it,
 * the later ones take the bound path. */
#define ROUNDS 3

static void test_site_passes_the_arguments_its_format_builds(void **state)
{
	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("site.args", "(si)", "x", 7 + r), 0);
		assert_int_equal(seen.calls, r + 1);
		assert_string_equal(seen.name, "site.args");
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_STR);
		assert_int_equal(seen.items[0].len, 1);
		assert_memory_equal(seen.items[0].v.s, "x", 1);
		assert_int_equal(seen.items[1].kind, SYSFAST_ARG_INT);
		assert_int_equal(seen.items[1].v.i, 7 + r);
	}
}

static void test_site_measures_long_strings_whole(void **state)
{
	char s[200];

	(void)state;
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	add_hook();
	/* Lengths around the inline scan's 32 bytes, and past it. */
	for (int r = 0; r < 5; r++) {
		static const size_t lens[] = {0, 31, 32, 33, 199};
		size_t len = lens[r];

		assert_int_equal(sysfast_audit("site.long", "s", s + sizeof(s) - 1 - len), 0);
		assert_int_equal(seen.items[0].len, len);
		assert_int_equal(sysfast_audit("site.long", "s", s), 0);
		assert_int_equal(seen.items[0].len, 199);
	}
}

/* Text values of every length around the 32 bytes sysfast_audit's loop
 * measures itself, beside NULL (None) and an int, each call remembered
 * from the second round on: the lengths are those of the texts. */
static void test_text_values_of_any_length_and_null_are_built_whole(void **state)
{
	char text[48];

	(void)state;
	add_hook();
	for (size_t len = 0; len <= 40; len++) {
		memset(text, 'x', len);
		text[len] = '\0';
		for (int r = 0; r < 3; r++) {
			assert_int_equal(
			    sysfast_audit("site.text", "(sis)", text, (int)len, (const char *)NULL),
			    0);
			assert_int_equal(seen.n, 3);
			assert_int_equal(seen.items[0].kind, SYSFAST_ARG_STR);
			assert_int_equal(seen.items[0].len, len);
			assert_int_equal(seen.items[1].kind, SYSFAST_ARG_INT);
			assert_int_equal(seen.items[1].v.i, (int64_t)len);
			assert_int_equal(seen.items[2].kind, SYSFAST_ARG_NONE);
		}
	}
}

static void test_site_builds_every_flat_code(void **state)
{
	static const char bytes[] = "by";
	static const int obj = 0;

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("site.codes", "s#, y z", "abc", (ssize_t)2, bytes,
		                               (const char *)NULL),
		                 0);
		assert_int_equal(seen.n, 3);
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_STR);
		assert_int_equal(seen.items[0].len, 2);
		assert_int_equal(seen.items[1].kind, SYSFAST_ARG_BYTES);
		assert_int_equal(seen.items[1].len, 2);
		assert_int_equal(seen.items[2].kind, SYSFAST_ARG_NONE);

		assert_int_equal(sysfast_audit("site.codes", "(cCpK)", 'q', 0xe9, 5, 1ULL << 63),
		                 0);
		assert_int_equal(seen.n, 4);
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_BYTES);
		assert_memory_equal(seen.items[0].v.s, "q", 1);
		assert_int_equal(seen.items[1].kind, SYSFAST_ARG_STR);
		assert_int_equal(seen.items[1].len, 2); /* U+00E9 in UTF-8 */
		assert_int_equal(seen.items[2].kind, SYSFAST_ARG_BOOL);
		assert_true(seen.items[2].v.b);
		assert_int_equal(seen.items[3].kind, SYSFAST_ARG_UINT);
		assert_true(seen.items[3].v.u == 1ULL << 63);

		assert_int_equal(sysfast_audit("site.codes", "d:P:O", 2.5, (void *)bytes,
		                               (const struct sysfast_object *)&obj),
		                 0);
		assert_int_equal(seen.n, 3);
		assert_true(seen.items[0].kind == SYSFAST_ARG_FLOAT && seen.items[0].v.f == 2.5);
		assert_true(seen.items[1].kind == SYSFAST_ARG_PTR && seen.items[1].v.p == bytes);
		assert_true(seen.items[2].kind == SYSFAST_ARG_OBJECT
		            && seen.items[2].v.o == (const struct sysfast_object *)&obj);

		assert_int_equal(sysfast_audit("site.codes", NULL), 0);
		assert_int_equal(seen.n, 0);
		assert_int_equal(sysfast_audit("site.codes", ""), 0);
		assert_int_equal(seen.n, 0);
	}
}

static void test_site_with_a_nested_format_builds_it_too(void **state)
{
	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("site.nested", "((si)i)", "x", 1, 2), 0);
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_TUPLE);
		assert_int_equal(seen.items[0].len, 2);
		assert_int_equal(seen.items[0].v.items[1].v.i, 1);
		assert_int_equal(seen.items[1].v.i, 2);
	}
}

static void test_site_with_a_bad_format_fails_every_call(void **state)
{
	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("site.badfmt", "(si", "x", 1), -1);
		assert_error(sysfast_SystemError, "format");
		assert_int_equal(sysfast_audit("site.badfmt", "(s!)", "x"), -1);
		assert_error(sysfast_SystemError, "'!'");
	}
	assert_int_equal(seen.calls, 0);
}

static void test_site_with_a_bad_name_fails_every_call(void **state)
{
	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("", "i", 1), -1);
		assert_error(sysfast_ValueError, NULL);
		assert_int_equal(sysfast_audit(NULL, "i", 1), -1);
		assert_error(sysfast_ValueError, "NULL");
		assert_int_equal(sysfast_audit("bad\xff", "i", 1), -1);
		assert_error(sysfast_ValueError, "UTF-8");
	}
	assert_int_equal(seen.calls, 0);
}

static void test_site_reports_bad_values_on_every_call(void **state)
{
	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(
		    sysfast_audit("site.badval", "(sO)", "x", (const struct sysfast_object *)NULL),
		    -1);
		assert_error(sysfast_SystemError, "NULL object");
		assert_int_equal(sysfast_audit("site.badval", "C", 0x110000), -1);
		assert_error(sysfast_ValueError, "code point");
	}
	assert_int_equal(seen.calls, 0);
}

static void test_site_passes_on_a_failing_hooks_error(void **state)
{
	(void)state;
	add_hook();
	seen.fail = 1;
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit("site.fail", "(si)", "x", 1), -1);
		assert_error(sysfast_PermissionError, "refused by the test hook");
	}
	assert_int_equal(seen.calls, ROUNDS);
}

static int raise_no_hooks_then_hook(void)
{
	return sysfast_audit("site.late", "(i)", 1);
}

static void test_site_called_before_any_hook_works_once_one_is_added(void **state)
{
	(void)state;
	assert_int_equal(raise_no_hooks_then_hook(), 0);
	assert_int_equal(raise_no_hooks_then_hook(), 0);
	add_hook();
	assert_int_equal(raise_no_hooks_then_hook(), 0);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.name, "site.late");
}

/* A stack buffer that holds one event name, then another: each call
 * raises the event its text names, never the one remembered for the
 * address. */
static void test_a_reused_name_buffer_raises_what_it_holds(void **state)
{
	char name[32];

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		strcpy(name, "site.first");
		assert_int_equal(sysfast_audit(name, "(i)", 1), 0);
		assert_string_equal(seen.name, "site.first");
		strcpy(name, "site.firsT");
		assert_int_equal(sysfast_audit(name, "(i)", 2), 0);
		assert_string_equal(seen.name, "site.firsT");
		/* Shorter: the old text's tail is still in the buffer. */
		name[6] = '\0';
		assert_int_equal(sysfast_audit(name, "(i)", 3), 0);
		assert_string_equal(seen.name, "site.f");
		/* A bad name at a remembered address is reported. */
		memcpy(name, "site.\xff", 7);
		assert_int_equal(sysfast_audit(name, "(i)", 4), -1);
		assert_error(sysfast_ValueError, NULL);
	}
	assert_int_equal(seen.calls, 3 * ROUNDS);
}

/* Names of every length around the memo's blocks (16 bytes, and the 32 it
 * keeps at most), in one reused buffer: a difference in any byte, the
 * last one before the NUL included, raises the event the text names. */
static void test_a_reused_buffer_of_any_name_length_raises_what_it_holds(void **state)
{
	const size_t prefix = strlen("site.");
	char name[48], want[48];
	int calls = 0;

	(void)state;
	add_hook();
	for (size_t len = prefix + 1; len <= 40; len++) {
		for (size_t at = prefix; at < len; at++) {
			memcpy(name, "site.", prefix);
			memset(name + prefix, 'a', len - prefix);
			name[len] = '\0';
			assert_int_equal(sysfast_audit(name, "(i)", 1), 0);
			assert_string_equal(seen.name, name);
			/* The same address, one byte changed: a new name. */
			name[at] = 'b';
			strcpy(want, name);
			assert_int_equal(sysfast_audit(name, "(i)", 2), 0);
			assert_string_equal(seen.name, want);
			assert_int_equal(seen.items[0].v.i, 2);
			calls += 2;
		}
		/* One byte shorter at the same address. */
		name[len - 1] = '\0';
		assert_int_equal(sysfast_audit(name, "(i)", 3), 0);
		assert_string_equal(seen.name, name);
		calls++;
	}
	assert_int_equal(seen.calls, calls);
}

/* The same with the format: each call builds what its format's text says,
 * and a bad format at a remembered address fails, reading no argument. */
static void test_a_reused_format_buffer_builds_what_it_holds(void **state)
{
	char format[16];

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		strcpy(format, "(si)");
		assert_int_equal(sysfast_audit("site.fmt", format, "x", 5), 0);
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.items[1].kind, SYSFAST_ARG_INT);
		strcpy(format, "(sd)");
		assert_int_equal(sysfast_audit("site.fmt", format, "x", 2.5), 0);
		assert_int_equal(seen.items[1].kind, SYSFAST_ARG_FLOAT);
		assert_true(seen.items[1].v.f == 2.5);
		format[2] = ')';
		format[3] = '\0';
		assert_int_equal(sysfast_audit("site.fmt", format, "y"), 0);
		assert_int_equal(seen.n, 1);
		strcpy(format, "(s!)");
		assert_int_equal(sysfast_audit("site.fmt", format, "x"), -1);
		assert_error(sysfast_SystemError, "bad format char '!'");
	}
	assert_int_equal(seen.calls, 3 * ROUNDS);
}

/* A name and a format that end just before an unmapped page: the memo's
 * word compare must not read past the page (it compares those byte by
 * byte), and still tells them from other text at the same address. */
static void test_texts_at_the_end_of_a_page_are_compared_safely(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *name, *format;

	(void)state;
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	name = map + page - sizeof("site.edge");
	memcpy(name, "site.edge", sizeof("site.edge"));
	format = name - sizeof("(i)");
	memcpy(format, "(i)", sizeof("(i)"));
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(sysfast_audit(name, format, 7), 0);
		assert_string_equal(seen.name, "site.edge");
		assert_int_equal(seen.items[0].v.i, 7);
	}
	name[8] = 'E';
	assert_int_equal(sysfast_audit(name, format, 8), 0);
	assert_string_equal(seen.name, "site.edgE");
	assert_int_equal(seen.calls, ROUNDS + 1);
	munmap(map, (size_t)page * 2);
}

/* A format made at run time of `n` codes `code`. */
static const char *codes(char *buf, size_t n, char code)
{
	memset(buf, code, n);
	buf[n] = '\0';
	return buf;
}

#define A10(x) x, x, x, x, x, x, x, x, x, x
#define A100(x) A10(x), A10(x), A10(x), A10(x), A10(x), A10(x), A10(x), A10(x), A10(x), A10(x)

/* sysfast_audit is a plain variadic function: any number of arguments
 * compiles (C allows at least 127), with the format in a variable. A
 * format reads what it reads; arguments past it are ignored, as by
 * printf; a format of more than SYSFAST_ARGS_MAX values fails without
 * calling a hook. */
static void test_any_number_of_arguments_compiles_and_works(void **state)
{
	char fmt[400];
	int calls;

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		calls = seen.calls;
		assert_int_equal(sysfast_audit("site.n0", codes(fmt, 0, 'i')), 0);
		assert_int_equal(seen.n, 0);
		assert_int_equal(
		    sysfast_audit("site.n9", codes(fmt, 9, 'i'), 1, 2, 3, 4, 5, 6, 7, 8, 9), 0);
		assert_int_equal(seen.n, 9);
		assert_int_equal(seen.items[3].v.i, 4);
		assert_int_equal(sysfast_audit("site.n64", codes(fmt, 32, 'i'), A10(7), A10(7),
		                               A10(7), A10(7), A10(7), A10(7), 7, 7, 7, 7),
		                 0);
		assert_int_equal(seen.n, 32);
		assert_int_equal(seen.items[3].v.i, 7);
		assert_int_equal(sysfast_audit("site.n127", codes(fmt, 5, 's'), A100("t"), A10("t"),
		                               A10("t"), "t", "t", "t", "t", "t", "t", "t"),
		                 0);
		assert_int_equal(seen.n, 5);
		assert_int_equal(seen.items[3].kind, SYSFAST_ARG_STR);
		assert_int_equal(
		    sysfast_audit("site.n300", codes(fmt, 1, 'd'), A100(1.5), A100(1.5), A100(1.5)),
		    0);
		assert_int_equal(seen.n, 1);
		assert_true(seen.items[0].v.f == 1.5);
		assert_int_equal(seen.calls, calls + 5);
		/* More values than a tuple holds: an error, whatever follows. */
		assert_int_equal(
		    sysfast_audit("site.n300", codes(fmt, 300, 'i'), A100(1), A100(1), A100(1)),
		    -1);
		assert_error(sysfast_SystemError, "too many values");
		assert_int_equal(seen.calls, calls + 5);
	}
}

#undef A100
#undef A10

/* Wrappers that hand sysfast_vaudit a va_list whose values begin after
 * 0 to 4 named ints: on x86-64 the first values are then in the saved
 * argument registers, some or none of them, and the rest on the stack,
 * which sysfast_audit's memo reads in two different ways (audit.c,
 * memo_build_direct). */
static int vaudit_after(int named_sum, const char *event, const char *format, va_list va)
{
	(void)named_sum;
	return sysfast_vaudit(event, format, va);
}

#define VAUDIT_AFTER(k, last, sum, ...)                                                            \
	static int vaudit_after_##k(const char *event, const char *format, __VA_ARGS__, ...)       \
	{                                                                                          \
		va_list va;                                                                        \
		int rc;                                                                            \
		va_start(va, last);                                                                \
		rc = vaudit_after(sum, event, format, va);                                         \
		va_end(va);                                                                        \
		return rc;                                                                         \
	}
VAUDIT_AFTER(1, a, a, int a)
VAUDIT_AFTER(2, b, a + b, int a, int b)
VAUDIT_AFTER(3, c, a + b + c, int a, int b, int c)
VAUDIT_AFTER(4, d, a + b + c + d, int a, int b, int c, int d)
#undef VAUDIT_AFTER

static const int six_ints[] = {-1, -3, INT32_MIN};

/* The same six values, an int and a text in turn, after `named` named
 * arguments (0: sysfast_audit itself); the format reads the first few. */
static int audit_six_after(int named, const char *event, const char *format, int r)
{
	static const char *const text[] = {"v1", "v3", "v5"};

#define SIX six_ints[0] + r, text[0], six_ints[1] + r, text[1], six_ints[2] + r, text[2]
	switch (named) {
	case 0:
		return sysfast_audit(event, format, SIX);
	case 1:
		return vaudit_after_1(event, format, 1, SIX);
	case 2:
		return vaudit_after_2(event, format, 1, 2, SIX);
	case 3:
		return vaudit_after_3(event, format, 1, 2, 3, SIX);
	default:
		return vaudit_after_4(event, format, 1, 2, 3, 4, SIX);
	}
#undef SIX
}

/* What the hook saw of audit_six_after's first `n` values, in round `r`. */
static void assert_six_seen(size_t n, int r)
{
	assert_int_equal(seen.n, n);
	for (size_t k = 0; k < n; k++) {
		const sysfast_arg *a = &seen.items[k];

		if (k % 2 == 0) {
			assert_int_equal(a->kind, SYSFAST_ARG_INT);
			assert_int_equal(a->v.i, six_ints[k / 2] + r);
		} else {
			assert_int_equal(a->kind, SYSFAST_ARG_STR);
			assert_int_equal(a->len, 2);
			assert_int_equal(seen.text[k][0], 'v');
			assert_int_equal(seen.text[k][1], '0' + (int)k);
		}
	}
}

/* Every count of values from 1 to 6, with the values starting at each
 * argument register in turn: whatever part of them is in registers and
 * whatever on the stack, each value arrives in its place, on the call
 * that fills the memo and on those it answers. The formats are literals
 * (trusted by address) and copies on the stack (compared). */
static void test_values_arrive_in_order_wherever_the_abi_put_them(void **state)
{
	static const char *const formats[] = {"i", "(is)", "(isi)", "isis", "(isisi)", "(isisis)"};
	char copy[16];

	(void)state;
	add_hook();
	for (int named = 0; named <= 4; named++) {
		for (size_t f = 0; f < sizeof(formats) / sizeof(*formats); f++) {
			strcpy(copy, formats[f]);
			for (int r = 0; r < ROUNDS; r++) {
				seen.n = 0;
				assert_int_equal(audit_six_after(named, "site.abi", formats[f], r),
				                 0);
				assert_six_seen(f + 1, r);
				seen.n = 0;
				assert_int_equal(audit_six_after(named, "site.abi", copy, r), 0);
				assert_six_seen(f + 1, r);
			}
		}
	}
}

/* `a` and its text, as recorded in seen.text, against seen's first item. */
static void assert_same_arg(const sysfast_arg *a, const char *a_text)
{
	const sysfast_arg *b = &seen.items[0];

	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->len, b->len);
	if (a->kind == SYSFAST_ARG_FLOAT)
		assert_true(a->v.f == b->v.f);
	else if (a->kind == SYSFAST_ARG_STR || a->kind == SYSFAST_ARG_BYTES)
		assert_memory_equal(a_text, seen.text[0], a->len < 16 ? a->len : 16);
	else
		assert_true(a->v.u == b->v.u);
}

/* One value through a site (bound from the second round on) and through
 * the function: the same argument. */
#define ASSERT_SITE_BUILDS_AS_FUNCTION(format, ...)                                                \
	do {                                                                                       \
		for (int r_ = 0; r_ < ROUNDS; r_++) {                                              \
			sysfast_arg by_site;                                                       \
			char text[16];                                                             \
			assert_int_equal(sysfast_audit("site.same", format, __VA_ARGS__), 0);      \
			by_site = seen.items[0];                                                   \
			memcpy(text, seen.text[0], sizeof(text));                                  \
			assert_int_equal((sysfast_audit)("site.same", format, __VA_ARGS__), 0);    \
			assert_same_arg(&by_site, text);                                           \
		}                                                                                  \
	} while (0)

static void test_site_builds_each_simple_code_as_the_function_does(void **state)
{
	static const int obj = 0;
	const struct sysfast_object *o = (const struct sysfast_object *)&obj;

	(void)state;
	add_hook();
	ASSERT_SITE_BUILDS_AS_FUNCTION("s", "text");
	ASSERT_SITE_BUILDS_AS_FUNCTION("(s)", (const char *)NULL);
	ASSERT_SITE_BUILDS_AS_FUNCTION("z", (const char *)NULL);
	ASSERT_SITE_BUILDS_AS_FUNCTION("z", "t");
	ASSERT_SITE_BUILDS_AS_FUNCTION("y", "by");
	ASSERT_SITE_BUILDS_AS_FUNCTION("y", (const char *)NULL);
	ASSERT_SITE_BUILDS_AS_FUNCTION("b", -3);
	ASSERT_SITE_BUILDS_AS_FUNCTION("h", 300);
	ASSERT_SITE_BUILDS_AS_FUNCTION("i", INT32_MIN);
	ASSERT_SITE_BUILDS_AS_FUNCTION("(i)", -1);
	ASSERT_SITE_BUILDS_AS_FUNCTION("l", (long)INT64_MIN);
	ASSERT_SITE_BUILDS_AS_FUNCTION("L", (long long)INT64_MAX);
	ASSERT_SITE_BUILDS_AS_FUNCTION("n", (ssize_t)-5);
	ASSERT_SITE_BUILDS_AS_FUNCTION("B", 255u);
	ASSERT_SITE_BUILDS_AS_FUNCTION("H", 65535u);
	ASSERT_SITE_BUILDS_AS_FUNCTION("I", UINT32_MAX);
	ASSERT_SITE_BUILDS_AS_FUNCTION("k", (unsigned long)UINT64_MAX);
	ASSERT_SITE_BUILDS_AS_FUNCTION("K", (unsigned long long)UINT64_MAX);
	ASSERT_SITE_BUILDS_AS_FUNCTION("d", -2.5);
	ASSERT_SITE_BUILDS_AS_FUNCTION("f", 1.5f);
	ASSERT_SITE_BUILDS_AS_FUNCTION("p", 7);
	ASSERT_SITE_BUILDS_AS_FUNCTION("p", 0);
	ASSERT_SITE_BUILDS_AS_FUNCTION("P", (const void *)&obj);
	ASSERT_SITE_BUILDS_AS_FUNCTION("O", o);
	ASSERT_SITE_BUILDS_AS_FUNCTION("S", o);
	ASSERT_SITE_BUILDS_AS_FUNCTION("(c)", 'q');
	ASSERT_SITE_BUILDS_AS_FUNCTION("s#", "abc", (ssize_t)2);
}

/* 64 arguments: 32 counted strings. */
static void test_site_takes_64_arguments(void **state)
{
	const char *t = "abcdefgh";

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
#define S8(n) t, (ssize_t)(n), t, (ssize_t)(n), t, (ssize_t)(n), t, (ssize_t)(n)
		assert_int_equal(sysfast_audit("site.many",
		                               "s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#"
		                               "s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#s#",
		                               S8(1), S8(2), S8(3), S8(4), S8(5), S8(6), S8(7),
		                               S8(8)),
		                 0);
#undef S8
		assert_int_equal(seen.n, 32);
		assert_int_equal(seen.items[0].len, 1);
		assert_int_equal(seen.items[3].len, 1);
	}
}

static void test_site_evaluates_its_arguments_once_whoever_listens(void **state)
{
	static const char *const other[] = {"site.other"};
	const sysfast_hook_options opts = {0, other, 1};
	int k = 0;

	(void)state;
	/* No hook at all, then hooks on another event only, then a hook on
	 * this one: the function would evaluate them every time. */
	assert_int_equal(sysfast_audit("site.once", "(i)", k++), 0);
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, NULL, &opts), 0);
	for (int r = 0; r < ROUNDS; r++)
		assert_int_equal(sysfast_audit("site.once", "(i)", k++), 0);
	assert_int_equal(k, 1 + ROUNDS);
	add_hook();
	assert_int_equal(sysfast_audit("site.once", "(i)", k++), 0);
	assert_int_equal(k, 2 + ROUNDS);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.items[0].v.i, 1 + ROUNDS);
}

static void test_the_function_is_still_there(void **state)
{
	int (*fn)(const char *, const char *, ...) = sysfast_audit;

	(void)state;
	add_hook();
	assert_int_equal(fn("site.fn", "(i)", 3), 0);
	assert_int_equal((sysfast_audit)("site.fn", "(i)", 4), 0);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(seen.items[0].v.i, 4);
}

/* The function's per-thread name cache compares names inline up to 32
 * bytes and with libc past that: names that differ only there, and only
 * in their last byte, stay two events. */
static void test_long_names_that_differ_late_stay_apart(void **state)
{
	char a[48], b[48];

	(void)state;
	memset(a, 'n', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(a, "site.", 5);
	memcpy(b, a, sizeof(a));
	b[sizeof(b) - 2] = 'm';
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal((sysfast_audit)(a, NULL), 0);
		assert_string_equal(seen.name, a);
		assert_int_equal((sysfast_audit)(b, NULL), 0);
		assert_string_equal(seen.name, b);
	}
	/* Equal in the first 32 bytes, different length. */
	b[33] = '\0';
	assert_int_equal((sysfast_audit)(b, NULL), 0);
	assert_string_equal(seen.name, b);
	assert_int_equal(seen.calls, 2 * ROUNDS + 1);
}

static int raise_across_runtimes(void)
{
	return sysfast_audit("site.again", "(i)", 9);
}

/* Whatever hooks a runtime has, a bound site calls what the function
 * calls: ids outlive sysfast_fini. */
static void test_bound_site_works_across_fini_and_init(void **state)
{
	int before, by_site;

	(void)state;
	add_hook();
	assert_int_equal(raise_across_runtimes(), 0);
	assert_int_equal(seen.calls, 1);
	sysfast_fini();
	assert_int_equal(raise_across_runtimes(), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(sysfast_init(), 0);
	add_hook();
	before = seen.calls;
	seen.name = NULL;
	assert_int_equal(raise_across_runtimes(), 0);
	by_site = seen.calls - before;
	assert_true(by_site >= 1);
	assert_string_equal(seen.name, "site.again");
	assert_int_equal((sysfast_audit)("site.again", "(i)", 9), 0);
	assert_int_equal(seen.calls - before, 2 * by_site);
}

static int raise_in_interps(void)
{
	return sysfast_audit("site.interp", "(i)", 5);
}

static void test_bound_site_follows_the_threads_interpreter(void **state)
{
	sysfast_interp *sub, *main_interp = sysfast_interp_current();

	(void)state;
	sub = sysfast_interp_new();
	assert_non_null(sub);
	assert_non_null(sysfast_interp_enter(sub));
	assert_int_equal(sysfast_interp_add_audit_hook(NULL, rec_hook, NULL, NULL), 0);
	assert_int_equal(raise_in_interps(), 0);
	assert_int_equal(seen.calls, 1);
	assert_non_null(sysfast_interp_enter(main_interp));
	assert_int_equal(raise_in_interps(), 0);
	assert_int_equal(seen.calls, 1);
	assert_non_null(sysfast_interp_enter(sub));
	assert_int_equal(raise_in_interps(), 0);
	assert_int_equal(seen.calls, 2);
	assert_non_null(sysfast_interp_enter(main_interp));
	assert_int_equal(sysfast_interp_destroy(sub), 0);
}

/* Threads that reach one unbound site at once: one binds it, every call
 * raises the right event with the right argument. */
#define N_THREADS 4
#define N_RACE_CALLS 2000

static pthread_barrier_t race_barrier;

static int raise_raced(int v)
{
	return sysfast_audit("site.race", "(si)", "r", v);
}

static int race_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	int *bad = ud;

	(void)id;
	if (strcmp(name, "site.race") != 0 || args->n != 2 || args->items[0].kind != SYSFAST_ARG_STR
	    || args->items[1].kind != SYSFAST_ARG_INT || args->items[1].v.i < 0
	    || args->items[1].v.i >= N_RACE_CALLS)
		__atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
	return 0;
}

static void *race_thread(void *arg)
{
	int *fails = arg;

	pthread_barrier_wait(&race_barrier);
	for (int i = 0; i < N_RACE_CALLS; i++)
		if (raise_raced(i) != 0)
			__atomic_fetch_add(fails, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_threads_binding_one_site_at_once_all_raise_it(void **state)
{
	pthread_t th[N_THREADS];
	int bad = 0, fails = 0;

	(void)state;
	assert_int_equal(sysfast_add_audit_hook(race_hook, &bad), 0);
	assert_int_equal(pthread_barrier_init(&race_barrier, NULL, N_THREADS), 0);
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_thread, &fails), 0);
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&race_barrier);
	assert_int_equal(bad, 0);
	assert_int_equal(fails, 0);
}

#define T(fn) cmocka_unit_test_setup(fn, fresh_runtime)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_site_passes_the_arguments_its_format_builds),
	    T(test_site_measures_long_strings_whole),
	    T(test_site_builds_every_flat_code),
	    T(test_site_with_a_nested_format_builds_it_too),
	    T(test_site_builds_each_simple_code_as_the_function_does),
	    T(test_site_takes_64_arguments),
	    T(test_site_with_a_bad_format_fails_every_call),
	    T(test_site_with_a_bad_name_fails_every_call),
	    T(test_site_reports_bad_values_on_every_call),
	    T(test_site_passes_on_a_failing_hooks_error),
	    T(test_site_called_before_any_hook_works_once_one_is_added),
	    T(test_a_reused_name_buffer_raises_what_it_holds),
	    T(test_a_reused_format_buffer_builds_what_it_holds),
	    T(test_texts_at_the_end_of_a_page_are_compared_safely),
	    T(test_a_reused_buffer_of_any_name_length_raises_what_it_holds),
	    T(test_text_values_of_any_length_and_null_are_built_whole),
	    T(test_any_number_of_arguments_compiles_and_works),
	    T(test_values_arrive_in_order_wherever_the_abi_put_them),
	    T(test_site_evaluates_its_arguments_once_whoever_listens),
	    T(test_the_function_is_still_there),
	    T(test_long_names_that_differ_late_stay_apart),
	    T(test_bound_site_works_across_fini_and_init),
	    T(test_bound_site_follows_the_threads_interpreter),
	    T(test_threads_binding_one_site_at_once_all_raise_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
