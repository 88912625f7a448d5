/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad input, for every public function, as one table: NULLs, bad names and
 * lengths, unknown ids, dead interpreters, calls before sysfast_init and
 * after sysfast_fini, and the calls hooks make back into the library
 * (docs/api.md: "No public function aborts, asserts or crashes on bad input",
 * and its Precise rules).
 *
 * Each row is one cmocka test and one TAP line: the state it runs in, the
 * call, the expected return, error class and a substring of the message.
 * Rows run in table order; sealing lasts for the life of the process, so
 * the seal rows come last. The first test checks that every SYSFAST_API
 * function declared in the public headers has a row.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "testutil.h"

/* ---- the state a row runs in ---- */

enum when {
	BEFORE_INIT, /* the process has not initialised the library yet */
	AFTER_FINI,  /* initialised, then finalised */
	RUNNING,     /* a fresh runtime without hooks */
	HOOKED,      /* a fresh runtime with one recording process-wide hook */
};

struct row {
	enum when when;
	const char *func; /* the function (or macro) under test */
	const char *call; /* its arguments, as the TAP line shows them */
	long (*run)(const struct row *r);
	const char *arg; /* a name or string that `run` passes on, if any */
	/* What `run` returns: the call's int, a pointer as 0 (NULL) or 1, a
	 * bool as 0 or 1, 0 for a void call. Written as "-1", "0", "1",
	 * "NULL", "non-NULL", "false", "true", "non-zero" or "void". */
	const char *expect;
	const sysfast_exc_type *const *cls; /* the error left set; NULL: none */
	const char *msg;                    /* a substring of its message */
};

#define ROW(when, func, call, run, arg, expect, cls, msg)                                          \
	{                                                                                          \
		when, func, call, run, arg, expect, cls, msg                                       \
	}

static const char name_255[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
_Static_assert(sizeof(name_255) == SYSFAST_EVENT_NAME_MAX + 1, "name_255 is the longest name");

/* SYSFAST_EVENT_NAME_MAX + 1 bytes, as a literal (SYSFAST_AUDIT takes only
 * literals). */
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define NAME_256 A64 A64 A64 A64
_Static_assert(sizeof(NAME_256) == SYSFAST_EVENT_NAME_MAX + 2, "NAME_256 is one byte too long");

/* A name far longer than any limit; filled in by main. */
static char name_huge[1 << 20];

/* ---- hooks ---- */

struct rec {
	int calls;
	int addaudithook; /* "sys.addaudithook" events among them */
	size_t nargs;     /* of the last call */
	sysfast_arg first;
	char name[SYSFAST_EVENT_NAME_MAX + 1];
};

/* rec: the HOOKED state's hook. other: a hook that rows add. */
static struct rec rec, other;

static int rec_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct rec *r = ud;

	(void)id;
	r->calls++;
	r->addaudithook += !strcmp(name, "sys.addaudithook");
	r->nargs = args->n;
	/* An args with n > 0 and no items is a row's bad input. */
	if (args->n && args->items)
		r->first = args->items[0];
	snprintf(r->name, sizeof(r->name), "%s", name);
	return 0;
}

/* The result of a call made inside a hook, kept until the row checks it
 * (a hook must return with no error set). */
static struct {
	bool done;
	long ret;
	const sysfast_exc_type *type;
	char msg[SYSFAST_ERR_MSG_MAX + 1];
} cap;

static void capture(long ret)
{
	cap.done = true;
	cap.ret = ret;
	cap.type = sysfast_err_occurred();
	snprintf(cap.msg, sizeof(cap.msg), "%s", sysfast_err_message());
	sysfast_err_clear();
}

/* The captured call's result and error, as if it had been made here. */
static long replay(void)
{
	assert_true(cap.done);
	assert_no_error();
	if (cap.type)
		sysfast_err_set(cap.type, cap.msg);
	return cap.ret;
}

/* A hook that makes one call back into the library, the first time it
 * sees event `on` (NULL: any event), and captures its result. */
static struct once {
	const char *on;
	long (*action)(void);
	bool fired;
} once;

static int once_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	(void)id;
	(void)args;
	(void)ud;
	if (once.fired || (once.on && strcmp(name, once.on) != 0))
		return 0;
	once.fired = true;
	capture(once.action());
	return 0;
}

static void once_arm(const char *on, long (*action)(void))
{
	once = (struct once){on, action, false};
}

static int tracer_fn(void *data, sysfast_frame *f, sysfast_trace_what what, const sysfast_arg *arg)
{
	(void)data;
	(void)f;
	(void)what;
	(void)arg;
	return 0;
}

static int return_seven(void *arg)
{
	(void)arg;
	return 7;
}

/* Raises the probe event: the hooks a row added, and only those, see it. */
static void probe(void)
{
	assert_int_equal((sysfast_audit)("test.bad_input.probe", NULL), 0);
}

/* For rows whose call must reach no hook: `rc`, once no hook was called. */
static long quiet(long rc)
{
	assert_int_equal(rec.calls, 0);
	return rc;
}

/* ---- error.h and version.h ---- */

static long run_exc_type_new(const struct row *r)
{
	return sysfast_exc_type_new(r->arg, NULL) != NULL;
}

static long run_exc_type_new_null_base(const struct row *r)
{
	const sysfast_exc_type *t = sysfast_exc_type_new("BadInputError", NULL);

	(void)r;
	assert_true(sysfast_exc_is_subclass(t, sysfast_Exception));
	return t != NULL;
}

static long run_exc_type_name_null(const struct row *r)
{
	(void)r;
	return sysfast_exc_type_name(NULL) != NULL;
}

static long run_exc_is_subclass_null(const struct row *r)
{
	(void)r;
	return sysfast_exc_is_subclass(NULL, sysfast_Exception)
	       || sysfast_exc_is_subclass(sysfast_ValueError, NULL)
	       || sysfast_exc_is_subclass(NULL, NULL);
}

static long run_err_set_null_class(const struct row *r)
{
	(void)r;
	sysfast_err_set(NULL, "set with a NULL class");
	return 0;
}

static long run_err_set_null_message(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_ValueError, NULL);
	assert_string_equal(sysfast_err_message(), "");
	return 0;
}

static long run_err_set_long_message(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_ValueError, name_huge);
	assert_int_equal(strlen(sysfast_err_message()), SYSFAST_ERR_MSG_MAX);
	return 0;
}

static long run_err_set_own_message(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_OSError, "kept across a set from itself");
	sysfast_err_set(sysfast_ValueError, sysfast_err_message());
	return 0;
}

static long run_err_format_null_class(const struct row *r)
{
	(void)r;
	sysfast_err_format(NULL, "formatted with a NULL class: %d", 42);
	return 0;
}

static long run_err_format_null_format(const struct row *r)
{
	(void)r;
	sysfast_err_format(sysfast_ValueError, NULL);
	assert_string_equal(sysfast_err_message(), "");
	return 0;
}

static long run_err_format_long(const struct row *r)
{
	(void)r;
	sysfast_err_format(sysfast_ValueError, "%s%s", name_huge, name_huge);
	assert_int_equal(strlen(sysfast_err_message()), SYSFAST_ERR_MSG_MAX);
	return 0;
}

static long run_err_format_own_message(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_OSError, "inner");
	sysfast_err_format(sysfast_ValueError, "outer(%s)", sysfast_err_message());
	return 0;
}

/* An object that is not an exception class, smaller than one: a library
 * that read it as a class would read past its end. */
static const char not_a_class[2] = "x";
#define BOGUS_CLASS ((const sysfast_exc_type *)(const void *)not_a_class)

static long run_exc_type_new_bogus_base(const struct row *r)
{
	(void)r;
	return sysfast_exc_type_new("BogusBaseError", BOGUS_CLASS) != NULL;
}

static long run_exc_type_name_bogus(const struct row *r)
{
	(void)r;
	return sysfast_exc_type_name(BOGUS_CLASS) != NULL;
}

static long run_exc_is_subclass_bogus(const struct row *r)
{
	(void)r;
	return sysfast_exc_is_subclass(BOGUS_CLASS, sysfast_BaseException)
	       || sysfast_exc_is_subclass(sysfast_ValueError, BOGUS_CLASS)
	       || sysfast_exc_is_subclass(BOGUS_CLASS, BOGUS_CLASS);
}

/* The error set with a class that is not one must be usable: matched,
 * named, saved and restored. */
static long run_err_set_bogus_class(const struct row *r)
{
	(void)r;
	if (!strcmp(r->arg, "set"))
		sysfast_err_set(BOGUS_CLASS, "set with a bogus class");
	else
		sysfast_err_format(BOGUS_CLASS, "formatted with a bogus class: %d", 42);
	assert_false(sysfast_err_matches(sysfast_ValueError));
	assert_true(sysfast_err_matches(sysfast_Exception));
	assert_non_null(sysfast_exc_type_name(sysfast_err_occurred()));
	return 0;
}

static long run_err_matches_bogus(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_OSError, "still pending");
	return sysfast_err_matches(BOGUS_CLASS);
}

/* A hook that fails with a class that is not one, returning 0: the
 * dispatch names the error it found. */
static int bogus_class_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                            void *ud)
{
	(void)id;
	(void)name;
	(void)args;
	(void)ud;
	sysfast_err_set(BOGUS_CLASS, "from a hook");
	return 0;
}

static long run_hook_sets_bogus_class(const struct row *r)
{
	(void)r;
	assert_int_equal(sysfast_add_audit_hook(bogus_class_hook, NULL), 0);
	return (sysfast_audit)("test.bad_input.probe", NULL);
}

static long run_err_matches_null(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_OSError, "still pending");
	return sysfast_err_matches(NULL);
}

static long run_err_queries_when_clear(const struct row *r)
{
	(void)r;
	sysfast_err_clear();
	assert_string_equal(sysfast_err_message(), "");
	assert_false(sysfast_err_matches(sysfast_BaseException));
	return sysfast_err_occurred() != NULL;
}

static long run_version(const struct row *r)
{
	char want[64];

	(void)r;
	snprintf(want, sizeof(want), "%d.%d.%d", SYSFAST_VERSION_MAJOR, SYSFAST_VERSION_MINOR,
	         SYSFAST_VERSION_PATCH);
	assert_string_equal(sysfast_version(), want);
	return sysfast_version() != NULL;
}

/* ---- runtime.h ---- */

static long run_is_initialized(const struct row *r)
{
	(void)r;
	return sysfast_is_initialized();
}

static long run_is_finalizing(const struct row *r)
{
	(void)r;
	return sysfast_is_finalizing();
}

static long run_fini_not_initialized(const struct row *r)
{
	(void)r;
	sysfast_err_set(sysfast_OSError, "pending before sysfast_fini");
	sysfast_fini();
	return 0;
}

static long run_init_twice(const struct row *r)
{
	sysfast_interp *main_interp = sysfast_interp_main();

	(void)r;
	assert_int_equal(sysfast_init(), 0);
	assert_ptr_equal(sysfast_interp_main(), main_interp);
	return sysfast_init();
}

static long run_interp_main(const struct row *r)
{
	(void)r;
	return sysfast_interp_main() != NULL;
}

static long run_interp_current(const struct row *r)
{
	(void)r;
	return sysfast_interp_current() != NULL;
}

static long run_interp_new(const struct row *r)
{
	(void)r;
	return sysfast_interp_new() != NULL;
}

/* An object that is not an interpreter, for "never was one" rows. */
static long not_an_interp[8];
#define BOGUS_INTERP ((sysfast_interp *)(void *)not_an_interp)

/* A sub-interpreter that was created and destroyed. */
static sysfast_interp *destroyed_interp(void)
{
	sysfast_interp *x = sysfast_interp_new();

	assert_non_null(x);
	assert_int_equal(sysfast_interp_destroy(x), 0);
	return x;
}

/* A sub-interpreter that sysfast_fini took with it. */
static sysfast_interp *interp_from_last_runtime(void)
{
	sysfast_interp *x = sysfast_interp_new();

	assert_non_null(x);
	sysfast_fini();
	assert_int_equal(sysfast_init(), 0);
	return x;
}

static long run_interp_destroy_null(const struct row *r)
{
	(void)r;
	return sysfast_interp_destroy(NULL);
}

static long run_interp_destroy_main(const struct row *r)
{
	(void)r;
	return quiet(sysfast_interp_destroy(sysfast_interp_main()));
}

static long run_interp_destroy_bogus(const struct row *r)
{
	(void)r;
	return quiet(sysfast_interp_destroy(BOGUS_INTERP));
}

static long run_interp_destroy_destroyed(const struct row *r)
{
	sysfast_interp *x = destroyed_interp();

	(void)r;
	rec.calls = 0;
	return quiet(sysfast_interp_destroy(x));
}

static long run_interp_destroy_stale(const struct row *r)
{
	sysfast_interp *x = interp_from_last_runtime();

	(void)r;
	return sysfast_interp_destroy(x);
}

static long run_interp_destroy_bound(const struct row *r)
{
	sysfast_interp *x = sysfast_interp_new();
	int rc;

	(void)r;
	assert_non_null(sysfast_interp_enter(x));
	rec.calls = 0;
	rc = sysfast_interp_destroy(x);
	assert_int_equal(rec.calls, 0);
	assert_ptr_equal(sysfast_interp_current(), x);
	return rc;
}

/* For rows that enter a bad interpreter: the binding must not change. */
static long enter_keeps_binding(sysfast_interp *target)
{
	sysfast_interp *before = sysfast_interp_current();
	sysfast_interp *prev = sysfast_interp_enter(target);

	assert_ptr_equal(sysfast_interp_current(), before);
	return prev != NULL;
}

static long run_interp_enter_null(const struct row *r)
{
	(void)r;
	return enter_keeps_binding(NULL);
}

static long run_interp_enter_bogus(const struct row *r)
{
	(void)r;
	return enter_keeps_binding(BOGUS_INTERP);
}

static long run_interp_enter_destroyed(const struct row *r)
{
	(void)r;
	return enter_keeps_binding(destroyed_interp());
}

static long run_interp_enter_stale(const struct row *r)
{
	(void)r;
	return enter_keeps_binding(interp_from_last_runtime());
}

static long run_interp_enter_before_init(const struct row *r)
{
	(void)r;
	return sysfast_interp_enter(BOGUS_INTERP) != NULL;
}

static long run_interp_destroy_before_init(const struct row *r)
{
	(void)r;
	return sysfast_interp_destroy(BOGUS_INTERP);
}

/* ---- event.h ---- */

static long run_event_intern(const struct row *r)
{
	size_t count = sysfast_event_count();
	sysfast_event_id id = sysfast_event_intern(r->arg);

	if (!id)
		assert_int_equal(sysfast_event_count(), count);
	return id;
}

static long run_event_find(const struct row *r)
{
	size_t count = sysfast_event_count();
	sysfast_event_id id = sysfast_event_find(r->arg);

	assert_int_equal(sysfast_event_count(), count);
	return id;
}

static long run_event_intern_embedded_nul(const struct row *r)
{
	sysfast_event_id id = sysfast_event_intern("test.bad_input.nul\0after");

	(void)r;
	assert_string_equal(sysfast_event_name(id), "test.bad_input.nul");
	return id == sysfast_event_find("test.bad_input.nul");
}

/* The ids rows name in their `arg`. */
static sysfast_event_id id_named(const char *which)
{
	if (!strcmp(which, "0"))
		return 0;
	if (!strcmp(which, "UINT32_MAX"))
		return UINT32_MAX;
	if (!strcmp(which, "count + 1"))
		return (sysfast_event_id)sysfast_event_count() + 1;
	if (!strcmp(which, "SYSFAST_EVENT_ID_MAX"))
		return SYSFAST_EVENT_ID_MAX;
	assert_string_equal(which, "SYSFAST_EVENT_ID_MAX + 1");
	return SYSFAST_EVENT_ID_MAX + 1;
}

static long run_event_name_id(const struct row *r)
{
	return sysfast_event_name(id_named(r->arg)) != NULL;
}

static long run_event_count(const struct row *r)
{
	(void)r;
	return (long)sysfast_event_count();
}

/* ---- audit.h: names ---- */

static int vaudit(const char *event, const char *format, ...)
{
	va_list va;
	int rc;

	va_start(va, format);
	rc = sysfast_vaudit(event, format, va);
	va_end(va);
	return rc;
}

static long run_audit_fn(const struct row *r)
{
	return quiet((sysfast_audit)(r->arg, "i", 1));
}

static long run_vaudit(const struct row *r)
{
	return quiet(vaudit(r->arg, "i", 1));
}

/*
 * Bad event names: the label the TAP line shows, the name (a literal, as
 * SYSFAST_AUDIT and the sysfast_audit call sites take), and what the
 * message says after "event name " or "event pattern ".
 */
/* clang-format off */
#define BAD_NAMES(X)                                                                               \
	X(empty, "\"\"", "", "is empty")                                                           \
	X(long256, "(256 bytes)", NAME_256, "is longer than 255 bytes")                            \
	X(lone_cont, "(\"\\x80\": lone continuation byte)", "\x80",                                \
	  "is not valid UTF-8 (byte 0x80 at offset 0: invalid start byte)")                        \
	X(bad_ff, "(\"a\\xffb\": 0xff)", "a\xff" "b",                                              \
	  "is not valid UTF-8 (byte 0xff at offset 1: invalid start byte)")                        \
	X(overlong2, "(\"\\xc0\\xaf\": overlong '/')", "\xc0\xaf",                                 \
	  "is not valid UTF-8 (byte 0xc0 at offset 0: invalid start byte)")                        \
	X(overlong3, "(\"\\xe0\\x80\\xaf\": overlong '/')", "\xe0\x80\xaf",                        \
	  "is not valid UTF-8 (byte 0xe0 at offset 0: invalid continuation byte)")                 \
	X(overlong4, "(\"\\xf0\\x80\\x80\\xaf\": overlong '/')", "\xf0\x80\x80\xaf",               \
	  "is not valid UTF-8 (byte 0xf0 at offset 0: invalid continuation byte)")                 \
	X(bad_cont, "(\"x\\xc3(\": bad continuation)", "x\xc3(",                                   \
	  "is not valid UTF-8 (byte 0xc3 at offset 1: invalid continuation byte)")                 \
	X(surrogate, "(\"\\xed\\xa0\\x80\": surrogate U+D800)", "\xed\xa0\x80",                    \
	  "is not valid UTF-8 (byte 0xed at offset 0: invalid continuation byte)")                 \
	X(past_max, "(\"\\xf4\\x90\\x80\\x80\": U+110000)", "\xf4\x90\x80\x80",                    \
	  "is not valid UTF-8 (byte 0xf4 at offset 0: invalid continuation byte)")                 \
	X(lead_f5, "(\"\\xf5\\x80\\x80\\x80\": lead byte past U+10FFFF)", "\xf5\x80\x80\x80",      \
	  "is not valid UTF-8 (byte 0xf5 at offset 0: invalid start byte)")                        \
	X(trunc3, "(\"ab\\xe2\\x82\": truncated)", "ab\xe2\x82",                                   \
	  "is not valid UTF-8 (byte 0xe2 at offset 2: unexpected end of data)")                    \
	X(trunc4, "(\"\\xf0\\x9f\\x98\": truncated)", "\xf0\x9f\x98",                              \
	  "is not valid UTF-8 (byte 0xf0 at offset 0: unexpected end of data)")

/* Per bad name, the calls that need it as a literal: the sysfast_audit
 * call site (a plain call in the _noinline build) and SYSFAST_AUDIT. */
#define LITERAL_RUNS(id, label, name, tail)                                                        \
	static long run_audit_site_##id(const struct row *r)                                       \
	{                                                                                          \
		(void)r;                                                                           \
		return quiet(sysfast_audit(name, "i", 1));                                         \
	}                                                                                          \
	static long run_audit_macro_##id(const struct row *r)                                      \
	{                                                                                          \
		(void)r;                                                                           \
		return quiet(SYSFAST_AUDIT(name, SYSFAST_INT(1)));                                 \
	}
BAD_NAMES(LITERAL_RUNS)
/* clang-format on */

/* Adds `other` with the one pattern r->arg, through `add`; a failed add
 * must leave no hook behind. */
static long add_with_pattern(const struct row *r, bool to_interp)
{
	const char *events[] = {r->arg};
	sysfast_hook_options opts = {0, events, 1};
	int rc = to_interp ? sysfast_interp_add_audit_hook(NULL, rec_hook, &other, &opts)
	                   : sysfast_add_audit_hook_ex(rec_hook, &other, &opts);

	if (rc != 0) {
		probe();
		assert_int_equal(other.calls, 0);
	}
	return rc;
}

static long run_add_pattern(const struct row *r)
{
	return add_with_pattern(r, false);
}

static long run_interp_add_pattern(const struct row *r)
{
	return add_with_pattern(r, true);
}

static long run_add_pattern_n_zero(const struct row *r)
{
	const char *events[] = {"test.bad_input.probe"};
	sysfast_hook_options opts = {0, events, 0};

	(void)r;
	return sysfast_add_audit_hook_ex(rec_hook, &other, &opts);
}

static long run_add_pattern_null_entry(const struct row *r)
{
	const char *events[] = {"test.bad_input.probe", NULL};
	sysfast_hook_options opts = {0, events, 2};
	int rc = sysfast_add_audit_hook_ex(rec_hook, &other, &opts);

	(void)r;
	probe();
	assert_int_equal(other.calls, 0);
	return rc;
}

/* ---- audit.h: hooks ---- */

static long run_add_null_fn(const struct row *r)
{
	(void)r;
	return sysfast_add_audit_hook(NULL, &other);
}

static long run_add_ex_null_fn(const struct row *r)
{
	(void)r;
	return sysfast_add_audit_hook_ex(NULL, &other, NULL);
}

static long run_add_ex_null_options(const struct row *r)
{
	int rc = sysfast_add_audit_hook_ex(rec_hook, &other, NULL);

	(void)r;
	probe();
	assert_int_equal(other.calls, 1);
	return rc;
}

static long run_add_ex_unknown_flags(const struct row *r)
{
	const sysfast_hook_options opts = {SYSFAST_HOOK_CANTRACE | 0x80u, NULL, 0};
	int rc = sysfast_add_audit_hook_ex(rec_hook, &other, &opts);

	(void)r;
	probe();
	assert_int_equal(other.calls, 0);
	return rc;
}

static long run_interp_add_null_fn(const struct row *r)
{
	(void)r;
	return sysfast_interp_add_audit_hook(NULL, NULL, &other, NULL);
}

static long run_interp_add_bogus(const struct row *r)
{
	(void)r;
	return sysfast_interp_add_audit_hook(BOGUS_INTERP, rec_hook, &other, NULL);
}

static long run_interp_add_destroyed(const struct row *r)
{
	(void)r;
	return sysfast_interp_add_audit_hook(destroyed_interp(), rec_hook, &other, NULL);
}

static long run_interp_add_stale(const struct row *r)
{
	(void)r;
	return sysfast_interp_add_audit_hook(interp_from_last_runtime(), rec_hook, &other, NULL);
}

static long run_interp_add_not_initialized(const struct row *r)
{
	(void)r;
	return sysfast_interp_add_audit_hook(NULL, rec_hook, &other, NULL);
}

/* Before init: the add works and raises nothing; audit calls call nothing
 * until init. */
static long run_add_before_init(const struct row *r)
{
	int rc = sysfast_add_audit_hook(rec_hook, &other);

	(void)r;
	probe();
	assert_int_equal(SYSFAST_AUDIT("test.bad_input.probe"), 0);
	assert_int_equal(sysfast_audit_args(sysfast_event_find("test.bad_input.probe"), NULL), 0);
	assert_int_equal(other.calls, 0);
	return rc;
}

static long run_audit_null_name(const struct row *r)
{
	(void)r;
	return quiet((sysfast_audit)(NULL, "i", 1));
}

static long run_vaudit_null_name(const struct row *r)
{
	(void)r;
	return quiet(vaudit(NULL, "i", 1));
}

static long run_audit_null_name_site(const struct row *r)
{
	(void)r;
	return quiet(sysfast_audit(NULL, "i", 1));
}

static long run_audit_huge_name(const struct row *r)
{
	(void)r;
	return quiet((sysfast_audit)(name_huge, NULL));
}

static long run_audit_args_id(const struct row *r)
{
	return quiet(sysfast_audit_args(id_named(r->arg), NULL));
}

static long run_audit_active_id(const struct row *r)
{
	return sysfast_audit_active(id_named(r->arg));
}

static long run_audit_args_items_null(const struct row *r)
{
	sysfast_args bad = {2, NULL};

	(void)r;
	return quiet(sysfast_audit_args(sysfast_event_intern("test.bad_input.probe"), &bad));
}

static long run_audit_before_init(const struct row *r)
{
	(void)r;
	return (sysfast_audit)("test.bad_input.probe", "N") | vaudit("test.bad_input.probe", "N")
	       | sysfast_audit_args(1, NULL) | SYSFAST_AUDIT("test.bad_input.probe")
	       | sysfast_audit_active(1);
}

/* ---- audit.h: formats (a hook listens, so the format is parsed) ---- */

static long run_fmt_bad_char(const struct row *r)
{
	return quiet((sysfast_audit)("test.bad_input.fmt", r->arg, 1, 2, 3));
}

static long run_fmt_bad_char_vaudit(const struct row *r)
{
	return quiet(vaudit("test.bad_input.fmt", r->arg, 1, 2, 3));
}

/* A long format is quoted up to 64 bytes, then "...". */
static long run_fmt_long_bad(const struct row *r)
{
	int rc =
	    (sysfast_audit)("test.bad_input.fmt",
	                    "i,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,N",
	                    1);

	(void)r;
	assert_non_null(strstr(sysfast_err_message(), ",,,...\""));
	return quiet(rc);
}

static long run_fmt_bad_site(const struct row *r)
{
	(void)r;
	return quiet(sysfast_audit("test.bad_input.fmt", "(iN)", 1, 2));
}

static long run_fmt_33_values(const struct row *r)
{
	(void)r;
	return quiet((sysfast_audit)("test.bad_input.fmt", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", 1,
	                             2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	                             20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33));
}

static long run_fmt_32_values(const struct row *r)
{
	int rc = (sysfast_audit)("test.bad_input.fmt", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", 1, 2, 3,
	                         4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
	                         22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32);

	(void)r;
	assert_int_equal(rec.nargs, 32);
	return rc;
}

static long run_fmt_tuple_33_slots(const struct row *r)
{
	(void)r;
	return quiet((sysfast_audit)("test.bad_input.fmt", "(iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii)", 1,
	                             2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	                             20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32));
}

static long run_fmt_null_object(const struct row *r)
{
	return quiet((sysfast_audit)("test.bad_input.fmt", r->arg, (sysfast_object *)NULL));
}

static long run_fmt_code_point(const struct row *r)
{
	return quiet((sysfast_audit)("test.bad_input.fmt", "C", atoi(r->arg)));
}

/* s# with a negative ssize_t means strlen; with NULL, NONE. */
static long run_fmt_negative_length(const struct row *r)
{
	int rc = (sysfast_audit)("test.bad_input.fmt", "s#", r->arg, (ssize_t)-1);

	assert_int_equal(rec.nargs, 1);
	if (r->arg) {
		assert_int_equal(rec.first.kind, SYSFAST_ARG_STR);
		assert_int_equal(rec.first.len, strlen(r->arg));
	} else {
		assert_int_equal(rec.first.kind, SYSFAST_ARG_NONE);
	}
	return rc;
}

static long run_fmt_ssize_min_length(const struct row *r)
{
	int rc = (sysfast_audit)("test.bad_input.fmt", "y#", "abc", (ssize_t)(-SSIZE_MAX - 1));

	(void)r;
	assert_int_equal(rec.first.kind, SYSFAST_ARG_BYTES);
	assert_int_equal(rec.first.len, 3);
	return rc;
}

static long run_fmt_embedded_nul(const struct row *r)
{
	int rc = (sysfast_audit)("test.bad_input.fmt", "s#", "a\0b", (ssize_t)3);

	(void)r;
	assert_int_equal(rec.first.kind, SYSFAST_ARG_STR);
	assert_int_equal(rec.first.len, 3);
	assert_memory_equal(rec.first.v.s, "a\0b", 3);
	return rc;
}

static long run_fmt_bad_without_hooks(const struct row *r)
{
	(void)r;
	return (sysfast_audit)("test.bad_input.fmt", "N[{") | vaudit("test.bad_input.fmt", ")");
}

static long run_constructors_null(const struct row *r)
{
	sysfast_args a =
	    SYSFAST_ARGS(SYSFAST_STR(NULL), SYSFAST_STRN(NULL, 5), SYSFAST_BYTES(NULL, 5));
	int rc = sysfast_audit_args(sysfast_event_intern("test.bad_input.fmt"), &a);

	(void)r;
	assert_int_equal(rec.nargs, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(a.items[i].kind, SYSFAST_ARG_NONE);
		assert_int_equal(a.items[i].len, 0);
	}
	return rc;
}

/* ---- intern.h ---- */

/* Lengths rows name in their `arg`. */
static size_t length_named(const char *which)
{
	if (!strcmp(which, "SIZE_MAX"))
		return SIZE_MAX;
	if (!strcmp(which, "SIZE_MAX - 8"))
		return SIZE_MAX - 8;
	assert_string_equal(which, "PTRDIFF_MAX");
	return PTRDIFF_MAX;
}

static long run_str_new_len(const struct row *r)
{
	sysfast_str *s = sysfast_str_new("x", length_named(r->arg));

	sysfast_str_decref(s);
	return s != NULL;
}

static long run_intern_len(const struct row *r)
{
	sysfast_str *s = sysfast_intern("x", length_named(r->arg));

	sysfast_str_decref(s);
	return s != NULL;
}

static long run_intern_find_len(const struct row *r)
{
	sysfast_str *s = sysfast_intern_find("x", length_named(r->arg));

	sysfast_str_decref(s);
	return s != NULL;
}

static long run_str_new_null(const struct row *r)
{
	sysfast_str *s = sysfast_str_new(NULL, 5);

	(void)r;
	return s != NULL;
}

static long run_str_new_null_empty(const struct row *r)
{
	sysfast_str *s = sysfast_str_new(NULL, 0);

	(void)r;
	assert_int_equal(sysfast_str_len(s), 0);
	assert_string_equal(sysfast_str_data(s), "");
	sysfast_str_decref(s);
	return s != NULL;
}

static long run_intern_null(const struct row *r)
{
	(void)r;
	return sysfast_intern(NULL, 5) != NULL;
}

static long run_intern_find_null(const struct row *r)
{
	(void)r;
	return sysfast_intern_find(NULL, SIZE_MAX) != NULL;
}

static long run_intern_cstr_null(const struct row *r)
{
	(void)r;
	return sysfast_intern_cstr(NULL) != NULL;
}

static long run_intern_in_place_null(const struct row *r)
{
	(void)r;
	return sysfast_intern_in_place(NULL);
}

static long run_intern_in_place_null_target(const struct row *r)
{
	sysfast_str *s = NULL;

	(void)r;
	return sysfast_intern_in_place(&s);
}

/* Embedded NULs: length-taking calls keep them, sysfast_intern_cstr stops
 * at the first. */
static long run_intern_embedded_nul(const struct row *r)
{
	sysfast_str *whole = sysfast_intern("a\0b", 3);
	sysfast_str *prefix = sysfast_intern("a", 1);
	sysfast_str *cstr = sysfast_intern_cstr("a\0b");
	sysfast_str *found = sysfast_intern_find("a\0c", 3);

	(void)r;
	assert_int_equal(sysfast_str_len(whole), 3);
	assert_memory_equal(sysfast_str_data(whole), "a\0b", 4);
	assert_ptr_not_equal(whole, prefix);
	assert_ptr_equal(cstr, prefix);
	assert_null(found);
	sysfast_str_decref(whole);
	sysfast_str_decref(prefix);
	sysfast_str_decref(cstr);
	return 0;
}

static long run_str_accessors_null(const struct row *r)
{
	(void)r;
	sysfast_str_decref(NULL);
	return sysfast_str_data(NULL) != NULL || sysfast_str_len(NULL) != 0
	       || sysfast_str_hash(NULL) != 0 || sysfast_str_incref(NULL) != NULL
	       || sysfast_str_is_interned(NULL);
}

static long run_intern_count(const struct row *r)
{
	(void)r;
	return (long)sysfast_intern_count();
}

static long run_intern_before_init(const struct row *r)
{
	sysfast_str *p = NULL;

	(void)r;
	return (sysfast_str_new("x", 1) != NULL) + (sysfast_intern("x", 1) != NULL)
	       + (sysfast_intern_find("x", 1) != NULL) + (sysfast_intern_cstr("x") != NULL)
	       + (sysfast_intern_in_place(&p) == 0);
}

/* ---- object.h ---- */

static int size_minus_five(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = -5;
	return 0;
}

static int size_fails_silently(const sysfast_object *self, int64_t *size)
{
	(void)self;
	(void)size;
	return -1;
}

static int size_leaves_error(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 8;
	sysfast_err_set(sysfast_OSError, "left set by sizeof_fn");
	return 0;
}

static int size_eight(const sysfast_object *self, int64_t *size)
{
	(void)self;
	*size = 8;
	return 0;
}

static int traverse_fails_silently(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	(void)self;
	(void)visit;
	(void)arg;
	return -1;
}

static int traverse_leaves_error(const sysfast_object *self, sysfast_visit_fn visit, void *arg)
{
	(void)self;
	(void)visit;
	(void)arg;
	sysfast_err_set(sysfast_OSError, "left set by traverse");
	return 0;
}

static const sysfast_type no_sizeof_type = {"NoSizeof", 0, NULL, NULL};
static const sysfast_type negative_type = {"Negative", 0, size_minus_five, NULL};
static const sysfast_type silent_type = {"Silent", 0, size_fails_silently, NULL};
static const sysfast_type leaves_error_type = {"LeavesError", 0, size_leaves_error, NULL};
static const sysfast_type silent_traverse_type = {"SilentTraverse", 0, size_eight,
                                                  traverse_fails_silently};
static const sysfast_type traverse_error_type = {"TraverseLeavesError", 0, size_eight,
                                                 traverse_leaves_error};
static const sysfast_type long_name_type = {name_255, 0, NULL, NULL};

#define SIZE_UNTOUCHED ((size_t)0x5a5a)

/* getsizeof of an object of the type named by r->arg (NULL: no object;
 * "untyped": an object with a NULL type); *size must stay untouched on
 * failure. */
static const sysfast_object *object_named(const char *which)
{
	static const sysfast_object untyped = {NULL};
	static const sysfast_type *const types[] = {
	    &no_sizeof_type,       &negative_type,       &silent_type,   &leaves_error_type,
	    &silent_traverse_type, &traverse_error_type, &long_name_type};
	static sysfast_object objs[sizeof(types) / sizeof(types[0])];

	if (!which)
		return NULL;
	if (!strcmp(which, "untyped"))
		return &untyped;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		objs[i].type = types[i];
		if (!strcmp(which, types[i]->name))
			return &objs[i];
	}
	fail_msg("no object type %s", which);
	return NULL;
}

static long run_getsizeof(const struct row *r)
{
	size_t size = SIZE_UNTOUCHED;
	int rc = sysfast_getsizeof(object_named(r->arg), &size);

	if (rc)
		assert_int_equal(size, SIZE_UNTOUCHED);
	return rc;
}

static long run_getsizeof_long_type_name(const struct row *r)
{
	size_t size = SIZE_UNTOUCHED;
	int rc = sysfast_getsizeof(object_named(name_255), &size);
	const char *m = sysfast_err_message();

	(void)r;
	/* "Type " and 100 bytes of the name, then " doesn't". */
	assert_int_equal(strstr(m, " doesn't") - m, 5 + 100);
	return rc;
}

static long run_getsizeof_null_size(const struct row *r)
{
	(void)r;
	return sysfast_getsizeof(object_named("NoSizeof"), NULL);
}

static long run_getsizeof_default(const struct row *r)
{
	size_t size = SIZE_UNTOUCHED;
	int rc = sysfast_getsizeof_default(object_named(r->arg), 7, &size);

	if (rc)
		assert_int_equal(size, SIZE_UNTOUCHED);
	else
		assert_int_equal(size, 7);
	return rc;
}

static long run_getsizeof_default_null_size(const struct row *r)
{
	(void)r;
	return sysfast_getsizeof_default(object_named("NoSizeof"), 7, NULL);
}

static long run_deepsizeof(const struct row *r)
{
	size_t size = SIZE_UNTOUCHED;
	int rc = sysfast_deepsizeof(object_named(r->arg), &size);

	if (rc)
		assert_int_equal(size, SIZE_UNTOUCHED);
	return rc;
}

static long run_deepsizeof_null_size(const struct row *r)
{
	(void)r;
	return sysfast_deepsizeof(object_named("SilentTraverse"), NULL);
}

static long run_alloc_usable_size_null(const struct row *r)
{
	(void)r;
	return (long)sysfast_alloc_usable_size(NULL);
}

/* Calls that succeed on bad input leave the caller's pending error. */
static long run_pending_kept(const struct row *r)
{
	long rc;

	sysfast_err_set(sysfast_OSError, "pending in the caller");
	if (!strcmp(r->arg, "audit"))
		rc = (sysfast_audit)("\xff", "N");
	else if (!strcmp(r->arg, "SYSFAST_AUDIT"))
		rc = SYSFAST_AUDIT("\xff");
	else if (!strcmp(r->arg, "event_find"))
		rc = sysfast_event_find("\xff");
	else if (!strcmp(r->arg, "event_name"))
		rc = sysfast_event_name(0) != NULL;
	else if (!strcmp(r->arg, "audit_active"))
		rc = sysfast_audit_active(UINT32_MAX);
	else {
		size_t size = SIZE_UNTOUCHED;

		assert_string_equal(r->arg, "getsizeof_default");
		rc = sysfast_getsizeof_default(object_named("NoSizeof"), 7, &size);
		assert_int_equal(size, 7);
	}
	return rc;
}

/* ---- trace.h ---- */

static long run_settrace(const struct row *r)
{
	(void)r;
	return sysfast_settrace(tracer_fn, NULL);
}

static long run_setprofile(const struct row *r)
{
	(void)r;
	return sysfast_setprofile(tracer_fn, NULL);
}

static long run_settrace_clear(const struct row *r)
{
	int rc;

	(void)r;
	assert_int_equal(sysfast_settrace(tracer_fn, &other), 0);
	rc = sysfast_settrace(NULL, &other);
	assert_null(sysfast_gettrace().fn);
	assert_null(sysfast_gettrace().data);
	return rc;
}

static long run_gettrace(const struct row *r)
{
	sysfast_tracer t = sysfast_gettrace();

	(void)r;
	return t.fn != NULL || t.data != NULL;
}

static long run_getprofile(const struct row *r)
{
	sysfast_tracer t = sysfast_getprofile();

	(void)r;
	return t.fn != NULL || t.data != NULL;
}

static long run_settrace_all_threads(const struct row *r)
{
	(void)r;
	return sysfast_settrace_all_threads(tracer_fn, NULL);
}

static long run_setprofile_all_threads(const struct row *r)
{
	(void)r;
	return sysfast_setprofile_all_threads(tracer_fn, NULL);
}

static long run_call_tracing_null(const struct row *r)
{
	(void)r;
	return sysfast_call_tracing(NULL, NULL);
}

static long run_call_tracing(const struct row *r)
{
	(void)r;
	return sysfast_call_tracing(return_seven, NULL);
}

static long run_frame_current(const struct row *r)
{
	(void)r;
	return sysfast_frame_current() != NULL;
}

static long run_tracing_active(const struct row *r)
{
	(void)r;
	return sysfast_tracing_active();
}

static long run_frame_init_null(const struct row *r)
{
	(void)r;
	sysfast_frame_init(NULL, "f", "file.py", 1);
	return 0;
}

static long run_frame_set_local_tracer_null(const struct row *r)
{
	(void)r;
	sysfast_frame_set_local_tracer(NULL, tracer_fn, NULL);
	return 0;
}

static long run_frame_offset_fresh(const struct row *r)
{
	sysfast_frame f;

	(void)r;
	sysfast_frame_init(&f, "f", "file.py", 1);
	return sysfast_frame_offset(&f);
}

/* Each sysfast_frame_* call that takes a frame, with NULL; the row names
 * the call in its `arg`. Through the function, not the inline macros, for
 * the ones that have both: the macros' own NULL test is the fast path's
 * and ends up in the same function. */
static long run_frame_null(const struct row *r)
{
	const char *which = r->arg;
	sysfast_arg a = SYSFAST_INT(1);

	if (!strcmp(which, "enter"))
		return sysfast_frame_enter(NULL);
	if (!strcmp(which, "leave"))
		return sysfast_frame_leave(NULL, &a);
	if (!strcmp(which, "line"))
		return sysfast_frame_line(NULL, 1);
	if (!strcmp(which, "opcode"))
		return sysfast_frame_opcode(NULL, 1);
	if (!strcmp(which, "offset"))
		return sysfast_frame_offset(NULL);
	if (!strcmp(which, "exception"))
		return sysfast_frame_exception(NULL, &a);
	if (!strcmp(which, "c_call"))
		return sysfast_frame_c_call(NULL, &a);
	if (!strcmp(which, "c_return"))
		return sysfast_frame_c_return(NULL, &a);
	assert_string_equal(which, "c_exception");
	return sysfast_frame_c_exception(NULL, &a);
}

/* Before init the frame calls with a frame call nothing and succeed;
 * sysfast_frame_line stores the line all the same. */
static long run_frame_calls_before_init(const struct row *r)
{
	sysfast_frame f;
	sysfast_arg a = SYSFAST_INT(1);
	long rc = 0;

	(void)r;
	sysfast_frame_init(&f, "f", "file.py", 1);
	rc |= sysfast_frame_enter(&f);
	rc |= sysfast_frame_line(&f, 2);
	assert_int_equal(f.lineno, 2);
	rc |= sysfast_frame_opcode(&f, 4);
	rc |= sysfast_frame_exception(&f, &a);
	rc |= sysfast_frame_c_call(&f, &a);
	rc |= sysfast_frame_c_return(&f, &a);
	rc |= sysfast_frame_c_exception(&f, &a);
	rc |= sysfast_frame_leave(&f, &a);
	sysfast_frame_set_local_tracer(&f, tracer_fn, NULL);
	assert_ptr_equal(f.local.fn, tracer_fn);
	return rc;
}

/* Before init the frame calls keep the thread's chain: a frame entered
 * then is the innermost once the runtime is up. */
static long run_frame_enter_before_init(const struct row *r)
{
	sysfast_frame f;
	sysfast_frame *inner;

	(void)r;
	sysfast_frame_init(&f, "f", "file.py", 1);
	assert_int_equal(sysfast_frame_enter(&f), 0);
	assert_int_equal(sysfast_frame_line(&f, 2), 0);
	assert_int_equal(f.lineno, 2);
	assert_int_equal(sysfast_init(), 0);
	inner = sysfast_frame_current();
	assert_int_equal(sysfast_frame_leave(&f, NULL), 0);
	return inner == &f;
}

/* ---- re-entrant calls from inside hooks ---- */

static long act_add_hook(void)
{
	return sysfast_add_audit_hook(rec_hook, &other);
}

static long run_add_from_hook(const struct row *r)
{
	(void)r;
	once_arm("test.bad_input.reenter", act_add_hook);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", NULL), 0);
	assert_int_equal(other.calls, 0); /* not in the dispatch that added it */
	probe();
	assert_int_equal(other.calls, 1);
	return replay();
}

static long run_add_from_hook_inline(const struct row *r)
{
	(void)r;
	once_arm("test.bad_input.reenter", act_add_hook);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal(SYSFAST_AUDIT("test.bad_input.reenter"), 0);
	assert_int_equal(other.calls, 0);
	assert_int_equal(SYSFAST_AUDIT("test.bad_input.reenter"), 0);
	assert_int_equal(other.calls, 1);
	return replay();
}

#define DEEP 200

static int deepest;

/* Raises the event again, one level deeper, until DEEP; at the bottom
 * fails if its userdata says so. */
static int deep_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	int64_t depth = args->items[0].v.i;

	(void)id;
	(void)name;
	if (depth > deepest)
		deepest = (int)depth;
	if (depth < DEEP)
		return (sysfast_audit)("test.bad_input.deep", "i", (int)depth + 1);
	if (ud) {
		sysfast_err_format(sysfast_ValueError, "failed at depth %d", DEEP);
		return -1;
	}
	return 0;
}

static int deep_hook_inline(sysfast_event_id id, const char *name, const sysfast_args *args,
                            void *ud)
{
	int64_t depth = args->items[0].v.i;

	(void)id;
	(void)name;
	(void)ud;
	if (depth > deepest)
		deepest = (int)depth;
	if (depth < DEEP)
		return SYSFAST_AUDIT("test.bad_input.deep_inline", SYSFAST_INT(depth + 1));
	return 0;
}

/* Only the deep events reach the deep hooks. */
static const char *const deep_events[] = {"test.bad_input.deep", "test.bad_input.deep_inline"};
static const sysfast_hook_options deep_only = {0, deep_events, 2};

static long run_audit_deep(const struct row *r)
{
	int rc;

	deepest = 0;
	assert_int_equal(sysfast_add_audit_hook_ex(deep_hook, (void *)r->arg, &deep_only), 0);
	rc = (sysfast_audit)("test.bad_input.deep", "i", 1);
	assert_int_equal(deepest, DEEP);
	return rc;
}

static long run_audit_deep_inline(const struct row *r)
{
	int rc;

	(void)r;
	deepest = 0;
	assert_int_equal(sysfast_add_audit_hook_ex(deep_hook_inline, NULL, &deep_only), 0);
	rc = SYSFAST_AUDIT("test.bad_input.deep_inline", SYSFAST_INT(1));
	assert_int_equal(deepest, DEEP);
	return rc;
}

static long act_fini(void)
{
	sysfast_fini();
	return 0;
}

/* After sysfast_fini from a hook: the runtime is down and audit calls call
 * nothing. */
static void assert_finalised(void)
{
	assert_false(sysfast_is_initialized());
	assert_false(sysfast_is_finalizing());
	other.calls = 0;
	assert_int_equal(sysfast_add_audit_hook(rec_hook, &other), 0);
	probe();
	assert_int_equal(other.calls, 0);
}

static long run_fini_from_hook(const struct row *r)
{
	(void)r;
	once_arm("test.bad_input.reenter", act_fini);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", "i", 1), 0);
	assert_finalised();
	return replay();
}

static long run_fini_from_hook_inline(const struct row *r)
{
	(void)r;
	once_arm("test.bad_input.reenter", act_fini);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal(SYSFAST_AUDIT("test.bad_input.reenter", SYSFAST_INT(1)), 0);
	assert_finalised();
	return replay();
}

static sysfast_interp *sub;

static long act_destroy_current(void)
{
	return sysfast_interp_destroy(sysfast_interp_current());
}

static long run_destroy_current_from_hook(const struct row *r)
{
	(void)r;
	sub = sysfast_interp_new();
	assert_non_null(sysfast_interp_enter(sub));
	once_arm("test.bad_input.reenter", act_destroy_current);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, once_hook, NULL, NULL), 0);
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", NULL), 0);
	assert_ptr_equal(sysfast_interp_current(), sub);
	return replay();
}

/* Leaves the interpreter the hook runs in, then destroys it. */
static long act_destroy_dispatching(void)
{
	assert_ptr_equal(sysfast_interp_current(), sub);
	assert_non_null(sysfast_interp_enter(sysfast_interp_main()));
	return sysfast_interp_destroy(sub);
}

/* A hook in `sub` destroys `sub` while its dispatch is still running;
 * `inline_site` picks SYSFAST_AUDIT over sysfast_audit. The hook after it
 * in the same snapshot still runs (rule 5). */
static long destroy_dispatching(bool inline_site)
{
	int rc;

	sub = sysfast_interp_new();
	assert_non_null(sysfast_interp_enter(sub));
	once_arm("test.bad_input.reenter", act_destroy_dispatching);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, once_hook, NULL, NULL), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &other, NULL), 0);
	other.calls = 0;
	rc = inline_site ? SYSFAST_AUDIT("test.bad_input.reenter", SYSFAST_INT(1))
	                 : (sysfast_audit)("test.bad_input.reenter", "i", 1);
	assert_int_equal(rc, 0);
	/* "cpython.PyInterpreterState_Clear" from the destroy, then this event. */
	assert_int_equal(other.calls, 2);
	assert_string_equal(other.name, "test.bad_input.reenter");
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	assert_null(sysfast_interp_enter(sub));
	assert_error(sysfast_ValueError, "not a live interpreter");
	return replay();
}

static long run_destroy_dispatching_from_hook(const struct row *r)
{
	(void)r;
	return destroy_dispatching(false);
}

static long run_destroy_dispatching_from_hook_inline(const struct row *r)
{
	(void)r;
	return destroy_dispatching(true);
}

static long act_destroy_sub(void)
{
	return sysfast_interp_destroy(sub);
}

static long act_enter_sub(void)
{
	return sysfast_interp_enter(sub) != NULL;
}

/* `action` runs in a hook of `sub` on the "cpython.PyInterpreterState_Clear"
 * event of sysfast_interp_destroy(sub). */
static long during_destroy(long (*action)(void))
{
	sub = sysfast_interp_new();
	once_arm("cpython.PyInterpreterState_Clear", action);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, once_hook, NULL, NULL), 0);
	assert_int_equal(sysfast_interp_destroy(sub), 0);
	return replay();
}

static long run_destroy_from_its_clear_hook(const struct row *r)
{
	(void)r;
	return during_destroy(act_destroy_sub);
}

static long run_enter_from_its_clear_hook(const struct row *r)
{
	long rc;

	(void)r;
	rc = during_destroy(act_enter_sub);
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	return rc;
}

/* sysfast_fini from a hook of a sub-interpreter that the thread is bound
 * to: fini unbinds the thread and frees the interpreter under the
 * dispatch running in it. */
static long run_fini_from_sub_hook(const struct row *r)
{
	(void)r;
	sub = sysfast_interp_new();
	assert_non_null(sysfast_interp_enter(sub));
	once_arm("test.bad_input.reenter", act_fini);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, once_hook, NULL, NULL), 0);
	assert_int_equal(sysfast_interp_add_audit_hook(sub, rec_hook, &other, NULL), 0);
	assert_int_equal(SYSFAST_AUDIT("test.bad_input.reenter", SYSFAST_INT(1)), 0);
	assert_finalised();
	assert_int_equal(sysfast_init(), 0);
	assert_ptr_equal(sysfast_interp_current(), sysfast_interp_main());
	return replay();
}

static long act_interp_add_hook(void)
{
	return sysfast_interp_add_audit_hook(NULL, rec_hook, &other, NULL);
}

static long run_interp_add_from_hook(const struct row *r)
{
	(void)r;
	once_arm("test.bad_input.reenter", act_interp_add_hook);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", NULL), 0);
	assert_int_equal(other.calls, 0);
	probe();
	assert_int_equal(other.calls, 1);
	return replay();
}

/* A hook destroys the target of an add while the add raises
 * "sys.addaudithook". */
static int destroy_sub_on_add(sysfast_event_id id, const char *name, const sysfast_args *args,
                              void *ud)
{
	(void)id;
	(void)args;
	(void)ud;
	if (sub && !strcmp(name, "sys.addaudithook")) {
		assert_int_equal(sysfast_interp_destroy(sub), 0);
		sub = NULL;
	}
	return 0;
}

static long run_interp_add_destroyed_during_add(const struct row *r)
{
	sysfast_interp *x = sysfast_interp_new();

	(void)r;
	assert_int_equal(sysfast_add_audit_hook(destroy_sub_on_add, NULL), 0);
	sub = x;
	return sysfast_interp_add_audit_hook(x, rec_hook, &other, NULL);
}

static long run_fini_from_destroy_hook(const struct row *r)
{
	long rc;

	(void)r;
	rc = during_destroy(act_fini);
	assert_finalised();
	return rc;
}

static long act_init(void)
{
	return sysfast_init();
}

static long run_init_from_hook(const struct row *r)
{
	sysfast_interp *main_interp = sysfast_interp_main();

	(void)r;
	once_arm("test.bad_input.reenter", act_init);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	rec.calls = 0;
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", NULL), 0);
	assert_ptr_equal(sysfast_interp_main(), main_interp);
	probe(); /* the hook is still there */
	assert_int_equal(rec.calls, 2);
	return replay();
}

/* `action` runs in a process-wide hook on the first
 * "cpython.PyInterpreterState_Clear" event of sysfast_fini. */
static long during_fini(long (*action)(void))
{
	once_arm("cpython.PyInterpreterState_Clear", action);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	sysfast_fini();
	assert_false(sysfast_is_initialized());
	return replay();
}

static long run_init_from_fini_hook(const struct row *r)
{
	(void)r;
	return during_fini(act_init);
}

static long act_interp_new(void)
{
	return sysfast_interp_new() != NULL;
}

static long run_interp_new_from_fini_hook(const struct row *r)
{
	(void)r;
	return during_fini(act_interp_new);
}

static long act_settrace(void)
{
	int rc = sysfast_settrace(tracer_fn, &other);

	/* Set, but suspended while a hook without CANTRACE runs. */
	assert_false(sysfast_tracing_active());
	return rc;
}

static long act_settrace_all_threads(void)
{
	return sysfast_settrace_all_threads(tracer_fn, &other);
}

static long settrace_from_hook(long (*action)(void))
{
	long rc;

	once_arm("test.bad_input.reenter", action);
	assert_int_equal(sysfast_add_audit_hook(once_hook, NULL), 0);
	assert_int_equal((sysfast_audit)("test.bad_input.reenter", NULL), 0);
	rc = replay();
	assert_ptr_equal(sysfast_gettrace().fn, tracer_fn);
	assert_ptr_equal(sysfast_gettrace().data, &other);
	assert_true(sysfast_tracing_active());
	return rc;
}

static long run_settrace_from_hook(const struct row *r)
{
	(void)r;
	return settrace_from_hook(act_settrace);
}

static long run_settrace_all_threads_from_hook(const struct row *r)
{
	(void)r;
	return settrace_from_hook(act_settrace_all_threads);
}

/* ---- sealing (forever: these rows come last, without the HOOKED state,
 * whose hook could not be added any more) ---- */

static long run_seal(const struct row *r)
{
	(void)r;
	return sysfast_audit_seal();
}

static long run_add_sealed(const struct row *r)
{
	(void)r;
	return quiet(sysfast_add_audit_hook(rec_hook, &other));
}

static long run_add_ex_sealed(const struct row *r)
{
	(void)r;
	return quiet(sysfast_add_audit_hook_ex(rec_hook, &other, NULL));
}

static long run_interp_add_sealed(const struct row *r)
{
	(void)r;
	return quiet(sysfast_interp_add_audit_hook(NULL, rec_hook, &other, NULL));
}

/* ---- the table ---- */

#define VALUE_ERROR (&sysfast_ValueError)
#define SYSTEM_ERROR (&sysfast_SystemError)
#define RUNTIME_ERROR (&sysfast_RuntimeError)
#define NO_ERROR NULL
#define NOT_INIT "sysfast is not initialized"

/* Per bad name, every call that takes an event name or pattern. */
/* clang-format off */
#define NAME_ROWS(id, label, name, tail)                                                           \
	ROW(RUNNING, "sysfast_event_intern", label, run_event_intern, name,                        \
	    "0", VALUE_ERROR, "event name " tail),                                                 \
	ROW(RUNNING, "sysfast_event_find", label, run_event_find, name, "0", NO_ERROR, NULL),      \
	ROW(HOOKED, "sysfast_audit", label, run_audit_site_##id, NULL,                             \
	    "-1", VALUE_ERROR, "event name " tail),                                                \
	ROW(HOOKED, "sysfast_audit", label " as a function", run_audit_fn, name,                   \
	    "-1", VALUE_ERROR, "event name " tail),                                                \
	ROW(HOOKED, "sysfast_vaudit", label, run_vaudit, name,                                     \
	    "-1", VALUE_ERROR, "event name " tail),                                                \
	ROW(HOOKED, "SYSFAST_AUDIT", label, run_audit_macro_##id, NULL,                            \
	    "-1", VALUE_ERROR, "event name " tail),                                                \
	ROW(RUNNING, "sysfast_audit", label " without hooks", run_audit_site_##id, NULL,           \
	    "0", NO_ERROR, NULL),                                                                  \
	ROW(RUNNING, "SYSFAST_AUDIT", label " without hooks", run_audit_macro_##id, NULL,          \
	    "0", NO_ERROR, NULL),                                                                  \
	ROW(HOOKED, "sysfast_add_audit_hook_ex", "(pattern " label ")", run_add_pattern, name,     \
	    "-1", VALUE_ERROR, "event pattern " tail),                                             \
	ROW(HOOKED, "sysfast_interp_add_audit_hook", "(pattern " label ")",                        \
	    run_interp_add_pattern, name, "-1", VALUE_ERROR, "event pattern " tail),

static const struct row rows[] = {
	/* Before the first sysfast_init. */
	ROW(BEFORE_INIT, "sysfast_is_initialized", "()", run_is_initialized, NULL, "false", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_is_finalizing", "()", run_is_finalizing, NULL, "false", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_fini", "() keeps the caller's error", run_fini_not_initialized, NULL, "void", &sysfast_OSError, "pending before sysfast_fini"),
	ROW(BEFORE_INIT, "sysfast_interp_main", "()", run_interp_main, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_interp_current", "()", run_interp_current, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_interp_new", "()", run_interp_new, NULL, "NULL", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_interp_destroy", "(not an interpreter)", run_interp_destroy_before_init, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_interp_enter", "(not an interpreter)", run_interp_enter_before_init, NULL, "NULL", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_interp_add_audit_hook", "(NULL, fn, ...)", run_interp_add_not_initialized, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_event_intern", "(\"test.bad_input.x\")", run_event_intern, "test.bad_input.x", "0", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_event_find", "(NULL)", run_event_find, NULL, "0", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_event_count", "() counts the six built-in events", run_event_count, NULL, "6", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_event_name", "(id 0)", run_event_name_id, "0", "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_audit", "(NULL, ...)", run_audit_null_name, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(BEFORE_INIT, "sysfast_audit", "(NULL, \"i\", 1) at a call site", run_audit_null_name_site, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(BEFORE_INIT, "sysfast_audit_args", "(any call: audit, vaudit, audit_args, SYSFAST_AUDIT, audit_active, bad format)", run_audit_before_init, NULL, "0", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_str_new", "(and intern, intern_find, intern_cstr, intern_in_place)", run_intern_before_init, NULL, "0", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_intern_cstr", "(NULL)", run_intern_cstr_null, NULL, "NULL", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_intern_count", "()", run_intern_count, NULL, "0", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_str_data", "(NULL) and the other accessors", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_getsizeof", "(NULL, &size)", run_getsizeof, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_getsizeof_default", "(NULL, 7, &size)", run_getsizeof_default, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_deepsizeof", "(NULL, &size)", run_deepsizeof, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_alloc_usable_size", "(NULL)", run_alloc_usable_size_null, NULL, "0", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_settrace", "(fn, NULL)", run_settrace, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_setprofile", "(fn, NULL)", run_setprofile, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_gettrace", "()", run_gettrace, NULL, "0", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_getprofile", "()", run_getprofile, NULL, "0", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_settrace_all_threads", "(fn, NULL)", run_settrace_all_threads, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_setprofile_all_threads", "(fn, NULL)", run_setprofile_all_threads, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_call_tracing", "(fn, NULL)", run_call_tracing, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_call_tracing", "(NULL, NULL)", run_call_tracing_null, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_frame_current", "() with no frame entered", run_frame_current, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_tracing_active", "()", run_tracing_active, NULL, "false", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_frame_enter", "(NULL)", run_frame_null, "enter", "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_frame_offset", "(NULL)", run_frame_null, "offset", "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_frame_init", "(NULL, ...)", run_frame_init_null, NULL, "void", SYSTEM_ERROR, NOT_INIT),
	ROW(BEFORE_INIT, "sysfast_exc_type_new", "(NULL, NULL)", run_exc_type_new, NULL, "NULL", VALUE_ERROR, "exception class name is NULL"),
	ROW(BEFORE_INIT, "sysfast_exc_type_new", "(\"\", NULL)", run_exc_type_new, "", "NULL", VALUE_ERROR, "exception class name is empty"),
	ROW(BEFORE_INIT, "sysfast_exc_type_new", "(\"BadInputError\", NULL base)", run_exc_type_new_null_base, NULL, "non-NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_exc_type_new", "(\"BogusBaseError\", not a class)", run_exc_type_new_bogus_base, NULL, "NULL", VALUE_ERROR, "base is not an exception class"),
	ROW(BEFORE_INIT, "sysfast_exc_type_name", "(not a class)", run_exc_type_name_bogus, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_exc_is_subclass", "(not a class, t), (t, not a class)", run_exc_is_subclass_bogus, NULL, "false", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_err_set", "(not a class, msg)", run_err_set_bogus_class, "set", "void", SYSTEM_ERROR, "is not an exception class; message: set with a bogus class"),
	ROW(BEFORE_INIT, "sysfast_err_format", "(not a class, fmt, ...)", run_err_set_bogus_class, "format", "void", SYSTEM_ERROR, "is not an exception class; message: formatted with a bogus class: 42"),
	ROW(BEFORE_INIT, "sysfast_err_matches", "(not a class) with an error set", run_err_matches_bogus, NULL, "false", &sysfast_OSError, "still pending"),
	ROW(BEFORE_INIT, "sysfast_exc_type_name", "(NULL)", run_exc_type_name_null, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_exc_is_subclass", "(NULL, t), (t, NULL), (NULL, NULL)", run_exc_is_subclass_null, NULL, "false", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_err_set", "(NULL, msg)", run_err_set_null_class, NULL, "void", SYSTEM_ERROR, "set with a NULL class"),
	ROW(BEFORE_INIT, "sysfast_err_set", "(t, NULL)", run_err_set_null_message, NULL, "void", VALUE_ERROR, ""),
	ROW(BEFORE_INIT, "sysfast_err_set", "(t, 1 MiB message)", run_err_set_long_message, NULL, "void", VALUE_ERROR, "aaaa"),
	ROW(BEFORE_INIT, "sysfast_err_set", "(t, sysfast_err_message())", run_err_set_own_message, NULL, "void", VALUE_ERROR, "kept across a set from itself"),
	ROW(BEFORE_INIT, "sysfast_err_format", "(NULL, fmt, ...)", run_err_format_null_class, NULL, "void", SYSTEM_ERROR, "formatted with a NULL class: 42"),
	ROW(BEFORE_INIT, "sysfast_err_format", "(t, NULL)", run_err_format_null_format, NULL, "void", VALUE_ERROR, ""),
	ROW(BEFORE_INIT, "sysfast_err_format", "(t, \"%s%s\", 1 MiB, 1 MiB)", run_err_format_long, NULL, "void", VALUE_ERROR, "aaaa"),
	ROW(BEFORE_INIT, "sysfast_err_format", "(t, \"outer(%s)\", sysfast_err_message())", run_err_format_own_message, NULL, "void", VALUE_ERROR, "outer(inner)"),
	ROW(BEFORE_INIT, "sysfast_err_matches", "(NULL) with an error set", run_err_matches_null, NULL, "false", &sysfast_OSError, "still pending"),
	ROW(BEFORE_INIT, "sysfast_err_occurred", "(), sysfast_err_message(), sysfast_err_matches() when clear", run_err_queries_when_clear, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_err_clear", "() when clear", run_err_queries_when_clear, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_err_message", "() when clear", run_err_queries_when_clear, NULL, "NULL", NO_ERROR, NULL),
	ROW(BEFORE_INIT, "sysfast_version", "()", run_version, NULL, "non-NULL", NO_ERROR, NULL),

	/* After sysfast_fini. */
	ROW(AFTER_FINI, "sysfast_add_audit_hook", "(fn, ud): kept, nothing raised or called until init", run_add_before_init, NULL, "0", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_interp_main", "()", run_interp_main, NULL, "NULL", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_interp_new", "()", run_interp_new, NULL, "NULL", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_interp_add_audit_hook", "(NULL, fn, ...)", run_interp_add_not_initialized, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_event_intern", "(\"test.bad_input.x\")", run_event_intern, "test.bad_input.x", "0", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_audit_args", "(any call: audit, vaudit, audit_args, SYSFAST_AUDIT, audit_active, bad format)", run_audit_before_init, NULL, "0", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_str_new", "(and intern, intern_find, intern_cstr, intern_in_place)", run_intern_before_init, NULL, "0", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_getsizeof", "(NULL, &size)", run_getsizeof, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_settrace", "(fn, NULL)", run_settrace, NULL, "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_frame_current", "() with no frame entered", run_frame_current, NULL, "NULL", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_frame_c_call", "(NULL, arg)", run_frame_null, "c_call", "-1", SYSTEM_ERROR, NOT_INIT),
	ROW(AFTER_FINI, "sysfast_frame_enter", "(&f), frame_line, _opcode, _exception, _c_*, _leave, set_local_tracer", run_frame_calls_before_init, NULL, "0", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_frame_enter", "(&f) before init keeps f on the thread's chain", run_frame_enter_before_init, NULL, "1", NO_ERROR, NULL),

	/* Runtime and interpreters. */
	ROW(RUNNING, "sysfast_init", "() twice", run_init_twice, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_interp_destroy", "(NULL)", run_interp_destroy_null, NULL, "-1", VALUE_ERROR, "interpreter is NULL"),
	ROW(HOOKED, "sysfast_interp_destroy", "(main)", run_interp_destroy_main, NULL, "-1", VALUE_ERROR, "cannot destroy the main interpreter"),
	ROW(HOOKED, "sysfast_interp_destroy", "(never an interpreter)", run_interp_destroy_bogus, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(HOOKED, "sysfast_interp_destroy", "(destroyed)", run_interp_destroy_destroyed, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_destroy", "(from the last runtime)", run_interp_destroy_stale, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(HOOKED, "sysfast_interp_destroy", "(entered by this thread)", run_interp_destroy_bound, NULL, "-1", RUNTIME_ERROR, "interpreter is in use"),
	ROW(RUNNING, "sysfast_interp_enter", "(NULL)", run_interp_enter_null, NULL, "NULL", VALUE_ERROR, "interpreter is NULL"),
	ROW(RUNNING, "sysfast_interp_enter", "(never an interpreter)", run_interp_enter_bogus, NULL, "NULL", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_enter", "(destroyed)", run_interp_enter_destroyed, NULL, "NULL", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_enter", "(from the last runtime)", run_interp_enter_stale, NULL, "NULL", VALUE_ERROR, "not a live interpreter"),

	/* Event names: NULL, far too long, embedded NUL, the longest valid. */
	ROW(RUNNING, "sysfast_event_intern", "(NULL)", run_event_intern, NULL, "0", VALUE_ERROR, "event name is NULL"),
	ROW(RUNNING, "sysfast_event_intern", "(1 MiB)", run_event_intern, name_huge, "0", VALUE_ERROR, "event name is longer than 255 bytes"),
	ROW(RUNNING, "sysfast_event_intern", "(255 bytes)", run_event_intern, name_255, "non-zero", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_intern", "(\"test.bad_input.nul\\0after\") is the name up to the NUL", run_event_intern_embedded_nul, NULL, "1", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_find", "(NULL)", run_event_find, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_find", "(1 MiB)", run_event_find, name_huge, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit", "(NULL, ...)", run_audit_null_name, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(RUNNING, "sysfast_audit", "(NULL, ...) without hooks", run_audit_null_name, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(HOOKED, "sysfast_audit", "(NULL, \"i\", 1) at a call site", run_audit_null_name_site, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(RUNNING, "sysfast_audit", "(NULL, \"i\", 1) at a call site without hooks", run_audit_null_name_site, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(RUNNING, "sysfast_audit", "(\"\\xff\", \"N\") without hooks, an error pending", run_pending_kept, "audit", "0", &sysfast_OSError, "pending in the caller"),
	ROW(RUNNING, "SYSFAST_AUDIT", "(\"\\xff\") without hooks, an error pending", run_pending_kept, "SYSFAST_AUDIT", "0", &sysfast_OSError, "pending in the caller"),
	ROW(HOOKED, "sysfast_event_find", "(\"\\xff\"), an error pending", run_pending_kept, "event_find", "0", &sysfast_OSError, "pending in the caller"),
	ROW(HOOKED, "sysfast_event_name", "(id 0), an error pending", run_pending_kept, "event_name", "NULL", &sysfast_OSError, "pending in the caller"),
	ROW(HOOKED, "sysfast_audit_active", "(id UINT32_MAX), an error pending", run_pending_kept, "audit_active", "false", &sysfast_OSError, "pending in the caller"),
	ROW(RUNNING, "sysfast_getsizeof_default", "(no sizeof_fn, 7, &size), an error pending", run_pending_kept, "getsizeof_default", "0", &sysfast_OSError, "pending in the caller"),
	ROW(HOOKED, "sysfast_vaudit", "(NULL, ...)", run_vaudit_null_name, NULL, "-1", VALUE_ERROR, "audit event name is NULL"),
	ROW(HOOKED, "sysfast_audit", "(1 MiB, NULL)", run_audit_huge_name, NULL, "-1", VALUE_ERROR, "event name is longer than 255 bytes"),
	BAD_NAMES(NAME_ROWS)

	/* Event ids. */
	ROW(HOOKED, "sysfast_audit_args", "(id 0, NULL)", run_audit_args_id, "0", "-1", VALUE_ERROR, "unknown audit event id 0"),
	ROW(HOOKED, "sysfast_audit_args", "(id UINT32_MAX, NULL)", run_audit_args_id, "UINT32_MAX", "-1", VALUE_ERROR, "unknown audit event id 4294967295"),
	ROW(HOOKED, "sysfast_audit_args", "(id count + 1, NULL)", run_audit_args_id, "count + 1", "-1", VALUE_ERROR, "unknown audit event id"),
	ROW(HOOKED, "sysfast_audit_args", "(id SYSFAST_EVENT_ID_MAX, NULL)", run_audit_args_id, "SYSFAST_EVENT_ID_MAX", "-1", VALUE_ERROR, "unknown audit event id 1048575"),
	ROW(HOOKED, "sysfast_audit_args", "(id SYSFAST_EVENT_ID_MAX + 1, NULL)", run_audit_args_id, "SYSFAST_EVENT_ID_MAX + 1", "-1", VALUE_ERROR, "unknown audit event id 1048576"),
	ROW(RUNNING, "sysfast_audit_args", "(id 0, NULL) without hooks", run_audit_args_id, "0", "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit_args", "(id, {n = 2, items = NULL})", run_audit_args_items_null, NULL, "-1", VALUE_ERROR, "items is NULL"),
	ROW(HOOKED, "sysfast_audit_active", "(id 0)", run_audit_active_id, "0", "false", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit_active", "(id UINT32_MAX)", run_audit_active_id, "UINT32_MAX", "false", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit_active", "(id count + 1)", run_audit_active_id, "count + 1", "false", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit_active", "(id SYSFAST_EVENT_ID_MAX + 1)", run_audit_active_id, "SYSFAST_EVENT_ID_MAX + 1", "false", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_name", "(id 0)", run_event_name_id, "0", "NULL", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_name", "(id UINT32_MAX)", run_event_name_id, "UINT32_MAX", "NULL", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_name", "(id count + 1)", run_event_name_id, "count + 1", "NULL", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_event_count", "()", run_event_count, NULL, "non-zero", NO_ERROR, NULL),

	/* Formats. */
	ROW(HOOKED, "sysfast_audit", "(e, \"N\")", run_fmt_bad_char, "N", "-1", SYSTEM_ERROR, "bad format char 'N' at position 0 in audit format \"N\""),
	ROW(HOOKED, "sysfast_audit", "(e, \"[i]\")", run_fmt_bad_char, "[i]", "-1", SYSTEM_ERROR, "bad format char '[' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"{i:i}\")", run_fmt_bad_char, "{i:i}", "-1", SYSTEM_ERROR, "bad format char '{' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"(ii\")", run_fmt_bad_char, "(ii", "-1", SYSTEM_ERROR, "unmatched '(' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"ii)\")", run_fmt_bad_char, "ii)", "-1", SYSTEM_ERROR, "unmatched ')' at position 2"),
	ROW(HOOKED, "sysfast_audit", "(e, \"i#\")", run_fmt_bad_char, "i#", "-1", SYSTEM_ERROR, "bad format char '#' at position 1"),
	ROW(HOOKED, "sysfast_audit", "(e, \"i\\x01\")", run_fmt_bad_char, "i\x01", "-1", SYSTEM_ERROR, "bad format char '\\x01' at position 1 in audit format \"i\\x01\""),
	ROW(HOOKED, "sysfast_audit", "(e, \"i\\n\\xff\")", run_fmt_bad_char, "i\n\xff", "-1", SYSTEM_ERROR, "bad format char '\\x0a' at position 1 in audit format \"i\\x0a\\xff\""),
	ROW(HOOKED, "sysfast_audit", "(e, \"i\\\"\\\\\")", run_fmt_bad_char, "i\"\\", "-1", SYSTEM_ERROR, "bad format char '\"' at position 1 in audit format \"i\\x22\\x5c\""),
	ROW(HOOKED, "sysfast_audit", "(e, \"i\" 68 x \",\" \"N\")", run_fmt_long_bad, NULL, "-1", SYSTEM_ERROR, "bad format char 'N' at position 69 in audit format \"i,,,"),
	ROW(HOOKED, "sysfast_vaudit", "(e, \"N\")", run_fmt_bad_char_vaudit, "N", "-1", SYSTEM_ERROR, "bad format char 'N' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"(iN)\") at a call site", run_fmt_bad_site, NULL, "-1", SYSTEM_ERROR, "bad format char 'N' at position 2"),
	ROW(HOOKED, "sysfast_audit", "(e, 33 x \"i\")", run_fmt_33_values, NULL, "-1", SYSTEM_ERROR, "too many values (more than 32) from format char 'i' at position 32"),
	ROW(HOOKED, "sysfast_audit", "(e, \"(\" 32 x \"i\" \")\")", run_fmt_tuple_33_slots, NULL, "-1", SYSTEM_ERROR, "too many values (more than 32) from format char 'i' at position 32"),
	ROW(HOOKED, "sysfast_audit", "(e, 32 x \"i\")", run_fmt_32_values, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit", "(e, \"O\", NULL)", run_fmt_null_object, "O", "-1", SYSTEM_ERROR, "NULL object passed to 'O' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"(S)\", NULL)", run_fmt_null_object, "(S)", "-1", SYSTEM_ERROR, "NULL object passed to 'S' at position 1"),
	ROW(HOOKED, "sysfast_audit", "(e, \"C\", -1)", run_fmt_code_point, "-1", "-1", VALUE_ERROR, "code point -1 not in range(0x110000) passed to 'C' at position 0"),
	ROW(HOOKED, "sysfast_audit", "(e, \"C\", 0x110000)", run_fmt_code_point, "1114112", "-1", VALUE_ERROR, "code point 1114112 not in range(0x110000)"),
	ROW(HOOKED, "sysfast_audit", "(e, \"s#\", \"abc\", (ssize_t)-1) is strlen", run_fmt_negative_length, "abc", "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit", "(e, \"s#\", NULL, (ssize_t)-1) is NONE", run_fmt_negative_length, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit", "(e, \"y#\", \"abc\", SSIZE_MIN) is strlen", run_fmt_ssize_min_length, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_audit", "(e, \"s#\", \"a\\0b\", 3) keeps the NUL", run_fmt_embedded_nul, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_audit", "(e, bad formats) without hooks", run_fmt_bad_without_hooks, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "SYSFAST_STR", "(NULL), SYSFAST_STRN(NULL, 5), SYSFAST_BYTES(NULL, 5) are NONE", run_constructors_null, NULL, "0", NO_ERROR, NULL),

	/* Hooks and options. */
	ROW(RUNNING, "sysfast_add_audit_hook", "(NULL, ud)", run_add_null_fn, NULL, "-1", VALUE_ERROR, "audit hook function is NULL"),
	ROW(AFTER_FINI, "sysfast_add_audit_hook", "(NULL, ud) before init", run_add_null_fn, NULL, "-1", VALUE_ERROR, "audit hook function is NULL"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(NULL, ud, NULL)", run_add_ex_null_fn, NULL, "-1", VALUE_ERROR, "audit hook function is NULL"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(fn, ud, {flags = CANTRACE | 0x80})", run_add_ex_unknown_flags, NULL, "-1", VALUE_ERROR, "unknown flags 0x80"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(fn, ud, NULL options)", run_add_ex_null_options, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(events set, n_events 0)", run_add_pattern_n_zero, NULL, "-1", VALUE_ERROR, "n_events is 0"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(events[1] NULL)", run_add_pattern_null_entry, NULL, "-1", VALUE_ERROR, "events[1] is NULL"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(pattern \"a*b\")", run_add_pattern, "a*b", "-1", VALUE_ERROR, "'*' is allowed only at the end"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(pattern \"os.**\")", run_add_pattern, "os.**", "-1", VALUE_ERROR, "'*' is allowed only at the end"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(pattern \"*\\xff*\")", run_add_pattern, "*\xff*", "-1", VALUE_ERROR, "'*' is allowed only at the end"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(pattern \"\\xc3*\")", run_add_pattern, "\xc3*", "-1", VALUE_ERROR, "event pattern is not valid UTF-8 (byte 0xc3 at offset 0: invalid continuation byte)"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(pattern 1 MiB)", run_add_pattern, name_huge, "-1", VALUE_ERROR, "event pattern is longer than 255 bytes"),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(NULL, NULL, ud, NULL)", run_interp_add_null_fn, NULL, "-1", VALUE_ERROR, "audit hook function is NULL"),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(never an interpreter, ...)", run_interp_add_bogus, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(destroyed, ...)", run_interp_add_destroyed, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(from the last runtime, ...)", run_interp_add_stale, NULL, "-1", VALUE_ERROR, "not a live interpreter"),

	/* Interned strings. */
	ROW(RUNNING, "sysfast_str_new", "(NULL, 5)", run_str_new_null, NULL, "NULL", VALUE_ERROR, "NULL string with length 5"),
	ROW(RUNNING, "sysfast_str_new", "(NULL, 0)", run_str_new_null_empty, NULL, "non-NULL", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_new", "(\"x\", SIZE_MAX)", run_str_new_len, "SIZE_MAX", "NULL", &sysfast_OverflowError, "string length 18446744073709551615 overflows"),
	ROW(RUNNING, "sysfast_str_new", "(\"x\", SIZE_MAX - 8)", run_str_new_len, "SIZE_MAX - 8", "NULL", &sysfast_OverflowError, "overflows"),
	ROW(RUNNING, "sysfast_str_new", "(\"x\", PTRDIFF_MAX)", run_str_new_len, "PTRDIFF_MAX", "NULL", &sysfast_MemoryError, "cannot allocate a string of 9223372036854775807 bytes"),
	ROW(RUNNING, "sysfast_intern", "(NULL, 5)", run_intern_null, NULL, "NULL", VALUE_ERROR, "NULL string with length 5"),
	ROW(RUNNING, "sysfast_intern", "(\"x\", SIZE_MAX)", run_intern_len, "SIZE_MAX", "NULL", &sysfast_OverflowError, "overflows"),
	ROW(RUNNING, "sysfast_intern", "(\"x\", PTRDIFF_MAX)", run_intern_len, "PTRDIFF_MAX", "NULL", &sysfast_MemoryError, "cannot allocate a string of"),
	ROW(RUNNING, "sysfast_intern_find", "(NULL, SIZE_MAX)", run_intern_find_null, NULL, "NULL", VALUE_ERROR, "NULL string with length 18446744073709551615"),
	ROW(RUNNING, "sysfast_intern_find", "(\"x\", SIZE_MAX)", run_intern_find_len, "SIZE_MAX", "NULL", &sysfast_OverflowError, "overflows"),
	ROW(RUNNING, "sysfast_intern_find", "(\"x\", PTRDIFF_MAX)", run_intern_find_len, "PTRDIFF_MAX", "NULL", &sysfast_MemoryError, "cannot allocate a string of"),
	ROW(RUNNING, "sysfast_intern_cstr", "(NULL)", run_intern_cstr_null, NULL, "NULL", VALUE_ERROR, "NULL string"),
	ROW(RUNNING, "sysfast_intern_in_place", "(NULL)", run_intern_in_place_null, NULL, "-1", VALUE_ERROR, "p is NULL"),
	ROW(RUNNING, "sysfast_intern_in_place", "(&null)", run_intern_in_place_null_target, NULL, "-1", VALUE_ERROR, "*p is NULL"),
	ROW(RUNNING, "sysfast_intern", "(\"a\\0b\", 3) keeps the NUL, sysfast_intern_cstr stops at it", run_intern_embedded_nul, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_len", "(NULL), str_data, str_hash, str_incref, str_decref, str_is_interned", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_hash", "(NULL)", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_incref", "(NULL)", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_decref", "(NULL)", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_str_is_interned", "(NULL)", run_str_accessors_null, NULL, "0", NO_ERROR, NULL),

	/* Objects. */
	ROW(RUNNING, "sysfast_getsizeof", "(NULL, &size)", run_getsizeof, NULL, "-1", VALUE_ERROR, "object is NULL"),
	ROW(RUNNING, "sysfast_getsizeof", "(o, NULL)", run_getsizeof_null_size, NULL, "-1", VALUE_ERROR, "size is NULL"),
	ROW(RUNNING, "sysfast_getsizeof", "(object with a NULL type)", run_getsizeof, "untyped", "-1", VALUE_ERROR, "NULL type"),
	ROW(RUNNING, "sysfast_getsizeof", "(no sizeof_fn)", run_getsizeof, "NoSizeof", "-1", &sysfast_TypeError, "Type NoSizeof doesn't define __sizeof__"),
	ROW(RUNNING, "sysfast_getsizeof", "(no sizeof_fn, 255-byte type name)", run_getsizeof_long_type_name, NULL, "-1", &sysfast_TypeError, "doesn't define __sizeof__"),
	ROW(RUNNING, "sysfast_getsizeof", "(sizeof_fn gives -5)", run_getsizeof, "Negative", "-1", VALUE_ERROR, "__sizeof__() should return >= 0"),
	ROW(RUNNING, "sysfast_getsizeof", "(sizeof_fn returns -1, no error)", run_getsizeof, "Silent", "-1", SYSTEM_ERROR, "returned -1 without setting an error"),
	ROW(RUNNING, "sysfast_getsizeof", "(sizeof_fn returns 0, error left set)", run_getsizeof, "LeavesError", "-1", SYSTEM_ERROR, "returned 0 with an error set"),
	ROW(RUNNING, "sysfast_getsizeof_default", "(NULL, 7, &size)", run_getsizeof_default, NULL, "-1", VALUE_ERROR, "object is NULL"),
	ROW(RUNNING, "sysfast_getsizeof_default", "(o, 7, NULL)", run_getsizeof_default_null_size, NULL, "-1", VALUE_ERROR, "size is NULL"),
	ROW(RUNNING, "sysfast_getsizeof_default", "(no sizeof_fn, 7, &size)", run_getsizeof_default, "NoSizeof", "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_deepsizeof", "(NULL, &size)", run_deepsizeof, NULL, "-1", VALUE_ERROR, "object is NULL"),
	ROW(RUNNING, "sysfast_deepsizeof", "(o, NULL)", run_deepsizeof_null_size, NULL, "-1", VALUE_ERROR, "size is NULL"),
	ROW(RUNNING, "sysfast_deepsizeof", "(traverse returns -1, no error)", run_deepsizeof, "SilentTraverse", "-1", SYSTEM_ERROR, "without setting an error"),
	ROW(RUNNING, "sysfast_deepsizeof", "(traverse returns 0, error left set)", run_deepsizeof, "TraverseLeavesError", "-1", SYSTEM_ERROR, "returned 0 with an error set"),
	ROW(RUNNING, "sysfast_deepsizeof", "(no sizeof_fn)", run_deepsizeof, "NoSizeof", "-1", &sysfast_TypeError, "Type NoSizeof doesn't define __sizeof__"),
	ROW(RUNNING, "sysfast_alloc_usable_size", "(NULL)", run_alloc_usable_size_null, NULL, "0", NO_ERROR, NULL),

	/* Tracing. */
	ROW(RUNNING, "sysfast_frame_enter", "(NULL)", run_frame_null, "enter", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_leave", "(NULL, arg)", run_frame_null, "leave", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_line", "(NULL, 1)", run_frame_null, "line", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_opcode", "(NULL, 1)", run_frame_null, "opcode", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_offset", "(NULL)", run_frame_null, "offset", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_exception", "(NULL, arg)", run_frame_null, "exception", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_c_call", "(NULL, arg)", run_frame_null, "c_call", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_c_return", "(NULL, arg)", run_frame_null, "c_return", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_c_exception", "(NULL, arg)", run_frame_null, "c_exception", "-1", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_init", "(NULL, ...)", run_frame_init_null, NULL, "void", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_set_local_tracer", "(NULL, fn, NULL)", run_frame_set_local_tracer_null, NULL, "void", VALUE_ERROR, "frame is NULL"),
	ROW(RUNNING, "sysfast_frame_offset", "(frame given no offset)", run_frame_offset_fresh, NULL, "-1", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_call_tracing", "(NULL, NULL)", run_call_tracing_null, NULL, "-1", VALUE_ERROR, "fn is NULL"),
	ROW(RUNNING, "sysfast_call_tracing", "(fn, NULL) returns fn's result", run_call_tracing, NULL, "7", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_settrace", "(NULL, data) clears, data dropped", run_settrace_clear, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_gettrace", "() with none set", run_gettrace, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_getprofile", "() with none set", run_getprofile, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_setprofile_all_threads", "(fn, NULL)", run_setprofile_all_threads, NULL, "0", NO_ERROR, NULL),

	/* Calls from inside hooks. */
	ROW(HOOKED, "sysfast_add_audit_hook", "(fn, ud) from a hook", run_add_from_hook, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_add_audit_hook", "(fn, ud) from a hook run by SYSFAST_AUDIT", run_add_from_hook_inline, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_audit", "(e, NULL) with a hook that sets a bogus class, returns 0", run_hook_sets_bogus_class, NULL, "-1", SYSTEM_ERROR, "is not an exception class; message: from a hook"),
	ROW(RUNNING, "sysfast_audit", " from a hook, 200 deep", run_audit_deep, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_audit", " from a hook, 200 deep, failing at the bottom", run_audit_deep, "fail", "-1", VALUE_ERROR, "failed at depth 200"),
	ROW(RUNNING, "SYSFAST_AUDIT", " from a hook, 200 deep", run_audit_deep_inline, NULL, "0", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_fini", "() from a hook", run_fini_from_hook, NULL, "void", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_fini", "() from a hook run by SYSFAST_AUDIT", run_fini_from_hook_inline, NULL, "void", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_fini", "() from a hook of sysfast_interp_destroy", run_fini_from_destroy_hook, NULL, "void", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_fini", "() from a hook of the sub-interpreter the thread is in", run_fini_from_sub_hook, NULL, "void", NO_ERROR, NULL),
	ROW(HOOKED, "sysfast_interp_add_audit_hook", "(NULL, fn, ud, NULL) from a hook", run_interp_add_from_hook, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(x, ...) while a hook destroys x", run_interp_add_destroyed_during_add, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_destroy", "(current) from a hook", run_destroy_current_from_hook, NULL, "-1", RUNTIME_ERROR, "interpreter is in use"),
	ROW(RUNNING, "sysfast_interp_destroy", "(the interpreter dispatching) from its hook, after entering main", run_destroy_dispatching_from_hook, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_interp_destroy", "(the interpreter dispatching) from its hook run by SYSFAST_AUDIT", run_destroy_dispatching_from_hook_inline, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_interp_destroy", "(x) from a hook of its own destroy", run_destroy_from_its_clear_hook, NULL, "-1", VALUE_ERROR, "not a live interpreter"),
	ROW(RUNNING, "sysfast_interp_enter", "(x) from a hook of its own destroy", run_enter_from_its_clear_hook, NULL, "NULL", RUNTIME_ERROR, "interpreter is being destroyed"),
	ROW(HOOKED, "sysfast_init", "() from a hook", run_init_from_hook, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_init", "() from a hook of sysfast_fini", run_init_from_fini_hook, NULL, "-1", RUNTIME_ERROR, "sysfast_init called while sysfast_fini runs"),
	ROW(RUNNING, "sysfast_interp_new", "() from a hook of sysfast_fini", run_interp_new_from_fini_hook, NULL, "NULL", RUNTIME_ERROR, "cannot create an interpreter while sysfast_fini runs"),
	ROW(RUNNING, "sysfast_settrace", "(fn, ud) from a hook", run_settrace_from_hook, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_settrace_all_threads", "(fn, ud) from a hook", run_settrace_all_threads_from_hook, NULL, "0", NO_ERROR, NULL),

	/* Sealing: forever, so last. */
	ROW(AFTER_FINI, "sysfast_audit_seal", "() after fini", run_seal, NULL, "0", NO_ERROR, NULL),
	ROW(AFTER_FINI, "sysfast_add_audit_hook", "(fn, ud) sealed, after fini", run_add_sealed, NULL, "-1", &sysfast_PermissionError, "audit hooks are sealed"),
	ROW(RUNNING, "sysfast_audit_seal", "() twice", run_seal, NULL, "0", NO_ERROR, NULL),
	ROW(RUNNING, "sysfast_add_audit_hook", "(fn, ud) sealed", run_add_sealed, NULL, "-1", &sysfast_PermissionError, "audit hooks are sealed"),
	ROW(RUNNING, "sysfast_add_audit_hook_ex", "(fn, ud, NULL) sealed", run_add_ex_sealed, NULL, "-1", &sysfast_PermissionError, "audit hooks are sealed"),
	ROW(RUNNING, "sysfast_interp_add_audit_hook", "(NULL, fn, ud, NULL) sealed", run_interp_add_sealed, NULL, "-1", &sysfast_PermissionError, "audit hooks are sealed"),
};
/* clang-format on */

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- running a row ---- */

static bool expected_value(const char *expect, long got)
{
	if (!strcmp(expect, "non-NULL") || !strcmp(expect, "non-zero"))
		return got != 0;
	if (!strcmp(expect, "NULL") || !strcmp(expect, "false") || !strcmp(expect, "void"))
		return got == 0;
	if (!strcmp(expect, "true"))
		return got == 1;
	return got == strtol(expect, NULL, 10);
}

/* The state a row runs in; each starts from a runtime of its own (fini
 * drops every hook, hooks added before init included). */
static int enter_state(void **state)
{
	const struct row *r = *state;

	if (r->when == BEFORE_INIT) {
		if (sysfast_is_initialized())
			return -1;
	} else {
		/* The last row's hooks see this fini: reset them after it. */
		if (sysfast_init() < 0)
			return -1;
		sysfast_fini();
		if (r->when != AFTER_FINI && sysfast_init() < 0)
			return -1;
	}
	sysfast_err_clear();
	memset(&rec, 0, sizeof(rec));
	memset(&other, 0, sizeof(other));
	memset(&cap, 0, sizeof(cap));
	once = (struct once){0};
	if (r->when == HOOKED && sysfast_add_audit_hook(rec_hook, &rec) != 0)
		return -1;
	return 0;
}

static void test_row(void **state)
{
	const struct row *r = *state;
	long got = r->run(r);

	if (!expected_value(r->expect, got))
		fail_msg("%s%s returned %ld, expected %s (error: %s \"%s\")", r->func, r->call, got,
		         r->expect,
		         sysfast_err_occurred() ? sysfast_exc_type_name(sysfast_err_occurred())
		                                : "none",
		         sysfast_err_message());
	if (r->cls)
		assert_error(*r->cls, r->msg);
	else
		assert_no_error();
}

/* ---- coverage: every SYSFAST_API function has a row ---- */

/* Internal functions that public macros call: covered by the rows of the
 * macro. */
static const struct {
	const char *func, *macro;
} through_macro[] = {
    {"sysfast__audit_listens", "SYSFAST_AUDIT"}, {"sysfast__audit_at", "SYSFAST_AUDIT"},
    {"sysfast__audit_site", "SYSFAST_AUDIT"},    {"sysfast__audit_resolve", "SYSFAST_AUDIT"},
    {"sysfast__audit_failed", "SYSFAST_AUDIT"},  {"sysfast__audit_unlock_site", "SYSFAST_AUDIT"},
};

/* Macros that rows may name instead of a function. */
static const char *const row_macros[] = {"SYSFAST_AUDIT", "SYSFAST_STR"};

static bool has_row(const char *func)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (!strcmp(rows[i].func, func))
			return true;
	return false;
}

#define MAX_DECLS 256

static char decls[MAX_DECLS][64];
static size_t n_decls;

/* The function declared by the SYSFAST_API declaration starting at `p`
 * (the identifier before its first '('), added to decls; data
 * declarations (extern) are skipped. */
static void note_declaration(const char *p)
{
	const char *end = p + strcspn(p, ";{");
	const char *paren = memchr(p, '(', (size_t)(end - p));
	const char *id_end, *id;

	if (!paren)
		return;
	if (memmem(p, (size_t)(paren - p), "extern", 6))
		return;
	id_end = paren;
	while (id_end > p && id_end[-1] == ' ')
		id_end--;
	id = id_end;
	while (id > p
	       && (id[-1] == '_' || (id[-1] >= 'a' && id[-1] <= 'z')
	           || (id[-1] >= 'A' && id[-1] <= 'Z') || (id[-1] >= '0' && id[-1] <= '9')))
		id--;
	assert_true(id_end - id > 0 && (size_t)(id_end - id) < sizeof(decls[0]));
	assert_true(n_decls < MAX_DECLS);
	memcpy(decls[n_decls], id, (size_t)(id_end - id));
	decls[n_decls][id_end - id] = '\0';
	n_decls++;
}

/* Every line that starts with SYSFAST_API in the header `path`. */
static void scan_header(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (const char *line = text; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		line += strspn(line, " \t");
		if (!strncmp(line, "SYSFAST_API ", 12))
			note_declaration(line + 12);
	}
	free(text);
}

static void test_every_public_function_has_a_row(void **state)
{
	DIR *dir = opendir(SYSFAST_TEST_HEADER_DIR);
	struct dirent *e;
	char path[4096];

	(void)state;
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);

		if ((len > 2 && !strcmp(e->d_name + len - 2, ".h"))
		    || (len > 5 && !strcmp(e->d_name + len - 5, ".h.in"))) {
			snprintf(path, sizeof(path), "%s/%s", SYSFAST_TEST_HEADER_DIR, e->d_name);
			scan_header(path);
		}
	}
	closedir(dir);
	/* A parse that finds nothing must not pass: the API has about 70. */
	assert_true(n_decls >= 60);

	for (size_t i = 0; i < n_decls; i++) {
		const char *name = decls[i];
		const char *via = name;
		bool known = strncmp(name, "sysfast__", 9) != 0;

		for (size_t m = 0; !known && m < sizeof(through_macro) / sizeof(through_macro[0]);
		     m++)
			if (!strcmp(through_macro[m].func, name)) {
				via = through_macro[m].macro;
				known = true;
			}
		if (!known)
			fail_msg("internal %s is SYSFAST_API but not listed in through_macro",
			         name);
		if (!has_row(via))
			fail_msg("%s is declared in a public header but has no row", name);
	}

	/* And every row names a declared function or a known macro. */
	for (size_t i = 0; i < N_ROWS; i++) {
		bool found = false;

		for (size_t d = 0; !found && d < n_decls; d++)
			found = !strcmp(rows[i].func, decls[d]);
		for (size_t m = 0; !found && m < sizeof(row_macros) / sizeof(row_macros[0]); m++)
			found = !strcmp(rows[i].func, row_macros[m]);
		if (!found)
			fail_msg("row %zu names %s, which no public header declares", i + 1,
			         rows[i].func);
	}
}

/* ---- main ---- */

/* A row's TAP name: the call and what it must give. A '#' would start a
 * TAP directive: shown as "<hash>". */
static void row_name(const struct row *r, char *out, size_t size)
{
	char text[1024];
	size_t o = 0;

	snprintf(text, sizeof(text), "%s%s -> %s, %s%s%s%s", r->func, r->call, r->expect,
	         r->cls ? sysfast_exc_type_name(*r->cls) : "no error", r->cls ? " \"" : "",
	         r->cls ? r->msg : "", r->cls ? "\"" : "");
	for (const char *p = text; *p && o + 7 < size; p++) {
		if (*p == '#') {
			memcpy(out + o, "<hash>", 6);
			o += 6;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

int main(void)
{
	static char names[N_ROWS][1100];
	static struct CMUnitTest tests[N_ROWS + 1];
	int failed;

	memset(name_huge, 'a', sizeof(name_huge) - 1);
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_every_public_function_has_a_row);
	for (size_t i = 0; i < N_ROWS; i++) {
		row_name(&rows[i], names[i], sizeof(names[i]));
		tests[i + 1] = (struct CMUnitTest){names[i], test_row, enter_state, NULL,
		                                   (void *)(uintptr_t)&rows[i]};
	}

	failed = _cmocka_run_group_tests("bad_input", tests, N_ROWS + 1, NULL, NULL);
	sysfast_fini();
	return failed;
}
