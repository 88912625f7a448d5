/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast_audit's call-site form (audit.h): in C, a call whose event and
 * format are constants keeps the event's id and the verdict on its format
 * in a static site, bound on the first call that finds hooks. These cases
 * show that a bound site behaves exactly as the function does, that what
 * is wrong is reported on every call (a bad call never binds), and that a
 * site reached with other pointers than it was bound to still raises the
 * right event. test_audit runs the whole audit contract through both forms
 * (its _noinline build defines SYSFAST_NO_AUDIT_SITES).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* What the recording hook saw last, and how often it ran. */
static struct {
	int calls;
	const char *name;
	size_t n;
	sysfast_arg items[4];
	/* The first bytes of each text item: 'c' and 'C' text lives in the
	 * call's own buffer, gone once it returns. */
	char text[4][16];
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
	for (size_t i = 0; i < args->n && i < 4; i++) {
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

/*
 * One site reached with other pointers than it was bound to. Through the
 * macro that takes a static inline function whose parameters fold to
 * constants after inlining, so that both callers share its one site
 * (GCC 12 and clang 14 do not fold there: their calls go to the
 * function); the site itself is driven directly here, as such code would.
 */
static int drive_site(struct sysfast__fmt_site *site, const char *event, const char *format, int v)
{
	const struct sysfast__raw raw[] = {SYSFAST__RAWS(v){0, 0}};
	sysfast_arg vals[2];

	return sysfast__audit_fmt(site, event, format, raw, 1, vals);
}

static inline __attribute__((always_inline)) int raise_via_shared_site(const char *event,
                                                                       const char *format, int v)
{
	return sysfast_audit(event, format, v);
}

static void test_site_shared_by_different_literals_raises_each_event(void **state)
{
	static struct sysfast__fmt_site site;

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(drive_site(&site, "site.one", "i", 1), 0);
		assert_string_equal(seen.name, "site.one");
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_INT);
		assert_int_equal(drive_site(&site, "site.two", "(p)", 1), 0);
		assert_string_equal(seen.name, "site.two");
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_BOOL);
		assert_int_equal(drive_site(&site, "site.one", "(s#", 1), -1);
		assert_error(sysfast_SystemError, NULL);
		assert_int_equal(raise_via_shared_site("site.one", "i", 1), 0);
		assert_string_equal(seen.name, "site.one");
		assert_int_equal(raise_via_shared_site("site.two", "(p)", 1), 0);
		assert_string_equal(seen.name, "site.two");
		assert_int_equal(seen.items[0].kind, SYSFAST_ARG_BOOL);
	}
	assert_int_equal(seen.calls, 4 * ROUNDS);
}

/* A site driven directly, as the macro expands it: raw[0..n). */
static int drive_raw(struct sysfast__fmt_site *site, const char *event, const char *format,
                     const struct sysfast__raw *raw, size_t n)
{
	sysfast_arg vals[8];

	assert_true(n < 8);
	return sysfast__audit_fmt(site, event, format, raw, n, vals);
}

/* Which formats a site binds to, and which of those it builds itself:
 * one simple code per argument, nothing else. */
static void test_site_builds_only_one_simple_code_per_argument_itself(void **state)
{
	static const struct {
		const char *format;
		size_t n;
		int rc;
		unsigned state; /* 2: bound */
		bool simple;
	} cases[] = {
	    {"(si)", 2, 0, 2, true},    {"si", 2, 0, 2, true},     {"(sidO)", 4, 0, 2, true},
	    {NULL, 0, 0, 2, true},      {"", 0, 0, 2, true},       {"()", 0, 0, 2, true},
	    {"s#i", 3, 0, 2, false},    {"s, i", 2, 0, 2, false},  {"(s i)", 2, 0, 2, false},
	    {"i", 3, 0, 2, false},      {"(ci)", 2, 0, 2, false},  {"(sC)", 2, 0, 2, false},
	    {"((si))", 2, 0, 0, false}, {"(si)", 1, -1, 0, false}, {"(s!)", 2, -1, 0, false},
	};
	static const int obj = 0;
	/* "s#" reads the 1 as the length of "x". */
	const struct sysfast__raw raw[] = {
	    SYSFAST__RAWS("x", 1, 2.5, (const struct sysfast_object *)&obj){0, 0}};

	(void)state;
	add_hook();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sysfast__fmt_site site = {0};

		for (int r = 0; r < ROUNDS; r++) {
			assert_int_equal(
			    drive_raw(&site, "site.bind", cases[c].format, raw, cases[c].n),
			    cases[c].rc);
			if (cases[c].rc)
				assert_error(sysfast_SystemError, NULL);
		}
		assert_int_equal(site.state, cases[c].state);
		if (cases[c].state == 2) {
			assert_int_equal(site.simple, cases[c].simple);
			assert_int_equal(site.site.id, sysfast_event_intern("site.bind"));
			assert_string_equal(site.site.name, "site.bind");
		}
	}
}

/* The function reads past the caller's arguments (undefined); a site
 * knows how many it was given and says so, on every call, whoever
 * listens. */
static void test_site_with_fewer_arguments_than_its_format_reads_fails(void **state)
{
	static const char *const other[] = {"site.other"};
	const sysfast_hook_options opts = {0, other, 1};
	const struct sysfast__raw raw[] = {SYSFAST__RAWS("x"){0, 0}};
	struct sysfast__fmt_site site = {0};

	(void)state;
	assert_int_equal(drive_raw(&site, "site.few", "(si)", raw, 1), 0); /* no hook at all */
	assert_int_equal(sysfast_add_audit_hook_ex(rec_hook, NULL, &opts), 0);
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(drive_raw(&site, "site.few", "(si)", raw, 1), -1);
		assert_error(sysfast_SystemError,
		             "audit format \"(si)\" reads 2 arguments, the call passes 1");
	}
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		assert_int_equal(drive_raw(&site, "site.few", "s#", raw, 1), -1);
		assert_error(sysfast_SystemError, "reads 2 arguments, the call passes 1");
	}
	assert_int_equal(site.state, 0);
	assert_int_equal(seen.calls, 0);
}

/* Where the function would read an unrelated register, a site reads 0. */
static void test_site_reads_an_argument_of_the_wrong_kind_as_zero(void **state)
{
	const struct sysfast__raw raw[] = {SYSFAST__RAWS(3, 2.5){0, 0}};

	(void)state;
	add_hook();
	for (int r = 0; r < ROUNDS; r++) {
		struct sysfast__fmt_site a = {0}, b = {0};

		assert_int_equal(drive_raw(&a, "site.kind", "d", raw, 1), 0);
		assert_true(seen.items[0].kind == SYSFAST_ARG_FLOAT && seen.items[0].v.f == 0.0);
		assert_int_equal(drive_raw(&b, "site.kind", "(ii)", raw, 2), 0);
		assert_true(seen.items[0].kind == SYSFAST_ARG_INT && seen.items[0].v.i == 3);
		assert_true(seen.items[1].kind == SYSFAST_ARG_INT && seen.items[1].v.i == 0);
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

/* A site takes up to 64 arguments (audit.h): 32 counted strings. */
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
	    T(test_site_builds_only_one_simple_code_per_argument_itself),
	    T(test_site_with_fewer_arguments_than_its_format_reads_fails),
	    T(test_site_reads_an_argument_of_the_wrong_kind_as_zero),
	    T(test_site_builds_each_simple_code_as_the_function_does),
	    T(test_site_takes_64_arguments),
	    T(test_site_with_a_bad_format_fails_every_call),
	    T(test_site_with_a_bad_name_fails_every_call),
	    T(test_site_reports_bad_values_on_every_call),
	    T(test_site_passes_on_a_failing_hooks_error),
	    T(test_site_called_before_any_hook_works_once_one_is_added),
	    T(test_site_shared_by_different_literals_raises_each_event),
	    T(test_site_evaluates_its_arguments_once_whoever_listens),
	    T(test_the_function_is_still_there),
	    T(test_long_names_that_differ_late_stay_apart),
	    T(test_bound_site_works_across_fini_and_init),
	    T(test_bound_site_follows_the_threads_interpreter),
	    T(test_threads_binding_one_site_at_once_all_raise_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
