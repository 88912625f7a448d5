/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the audit surface: hook filter patterns, event
 * names, argument tuples and hook results, all chosen by the input.
 *
 * Input layout (every field optional; missing bytes read as 0):
 *   byte 0      bits 0-1: number of filter patterns (0-3)
 *               bit 2:    the second hook fails (-1 with an error)
 *               bit 3:    the second hook fails without setting an error
 *               bit 4:    a caller error is pending before the audit
 *   then        the patterns and the event name, NUL-separated
 *   then        argument bytes: each picks a kind and a value
 *
 * Checks: an add succeeds exactly when its patterns are acceptable; the
 * recording hook gets the very tuple passed; a call fails exactly when a
 * hook failed or the name was bad, with an error set; a pending error
 * survives a successful call. The same hooks and pending error then go
 * through SYSFAST_AUDIT (its inline dispatch and every way out of it),
 * which must agree, see the recording hook exactly when its patterns match
 * "fuzz.macro", and leave no RCU read-side section open and tracing not
 * suspended. Each input runs in a fresh runtime.
 */
/* The harnesses are compiled with the library's flags; a program's call
 * sites are compiled without them. SYSFAST_AUDIT here is the default
 * form (a call into the library); audit_inline.c holds the inline form.
 * sysfast_audit is a function: check_call_sites compares its first call
 * from an address (the library's slow path) with the calls its memo
 * answers. */
#undef SYSFAST_BUILDING_LIBRARY

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>
/* The thread's suspension counter and liburcu's reader state, which the
 * harness checks after each input. */
#include <sysfast/static/audit.h>

#include "fuzz.h"
#include "fuzz_audit.h"

#define INPUT_MAX 2048
#define FIELD_MAX 3

struct recorder {
	const sysfast_args *seen; /* compared, never followed after the call */
	size_t seen_n;
	int calls;
};

static int record_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	struct recorder *r = ud;

	CHECK(name == sysfast_event_name(id));
	CHECK(args != NULL);
	CHECK(sysfast_err_occurred() == NULL); /* the caller's error is hidden */
	r->seen = args;
	r->seen_n = args->n;
	r->calls++;
	return 0;
}

static int failing_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	unsigned mode = *(const unsigned *)ud;

	(void)id, (void)name, (void)args;
	if (mode == 1) {
		sysfast_err_set(sysfast_ValueError, "fuzz hook failed");
		return -1;
	}
	return mode == 2 ? -1 : 0;
}

/* Whether a hook with these (valid) patterns listens to `name`: none means
 * every event; "p*" is a prefix, anything else an exact name. */
static bool matches(const char *const *patterns, size_t n, const char *name)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(patterns[i]);

		if (len && patterns[i][len - 1] == '*' ? !strncmp(name, patterns[i], len - 1)
		                                       : !strcmp(name, patterns[i]))
			return true;
	}
	return false;
}

/* Splits off the next NUL-terminated field; NULL when the input is done. */
static char *next_field(char **p, char *end)
{
	char *f = *p;

	if (f >= end)
		return NULL;
	*p = f + strlen(f) + 1;
	return f;
}

/* Builds up to 16 arguments from the remaining bytes. */
static size_t build_args(const unsigned char *p, const unsigned char *end, sysfast_arg *out)
{
	static const char text[] = "fuzz text";
	size_t n = 0;

	for (; p < end && n < 16; p++, n++) {
		switch (*p % 7) {
		case 0:
			out[n] = SYSFAST_NONE();
			break;
		case 1:
			out[n] = SYSFAST_INT((int64_t)*p - 128);
			break;
		case 2:
			out[n] = SYSFAST_UINT(*p);
			break;
		case 3:
			out[n] = SYSFAST_FLOAT(*p / 3.0);
			break;
		case 4:
			out[n] = SYSFAST_STRN(text, *p % sizeof(text));
			break;
		case 5:
			out[n] = SYSFAST_BYTES(text, *p % sizeof(text));
			break;
		default:
			out[n] = SYSFAST_BOOL(*p & 1);
			break;
		}
	}
	return n;
}

/* sysfast_vaudit, reached through a variadic call as a caller would. */
static int vaudit(const char *event, const char *format, ...)
{
	va_list va;
	int rc;

	va_start(va, format);
	rc = sysfast_vaudit(event, format, va);
	va_end(va);
	return rc;
}

/* Adds that break the option rules fail with ValueError before raising
 * "sys.addaudithook" (no hook runs); an unknown id fails a dispatch with
 * ValueError while hooks exist; a NULL tuple is 0 arguments. */
static void check_bad_calls(struct recorder *rec, sysfast_event_id known)
{
	static const char *const with_null[] = {"fuzz.*", NULL};
	const sysfast_hook_options bad[] = {{0, with_null, 0},
	                                    {2, NULL, 0},
	                                    {0, with_null, 2},
	                                    {SYSFAST_HOOK_CANTRACE << 1, NULL, 0}};
	int calls = rec->calls;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sysfast_add_audit_hook_ex(record_hook, rec, &bad[i]) == -1);
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		sysfast_err_clear();
		CHECK(sysfast_interp_add_audit_hook(NULL, record_hook, rec, &bad[i]) == -1);
		CHECK(sysfast_err_occurred() == sysfast_ValueError);
		sysfast_err_clear();
	}
	CHECK(sysfast_add_audit_hook(NULL, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(rec->calls == calls);
	CHECK(sysfast_audit_args((sysfast_event_id)sysfast_event_count() + 1000, NULL) == -1);
	CHECK(sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(!sysfast_audit_active((sysfast_event_id)sysfast_event_count() + 1000));
	CHECK(sysfast_audit_args(SYSFAST_EVENT_ID_MAX + 1u, NULL) == -1
	      && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	/* A NULL name fails with ValueError, through either entry point. */
	CHECK(sysfast_audit(NULL, "i", 1) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	CHECK(vaudit(NULL, NULL) == -1 && sysfast_err_occurred() == sysfast_ValueError);
	sysfast_err_clear();
	/* Items NULL with n > 0 would hand hooks NULL: ValueError, no hook. */
	if (known) {
		const sysfast_args holes = {2, NULL};

		CHECK(sysfast_audit_args(known, &holes) == -1
		      && sysfast_err_occurred() == sysfast_ValueError);
		sysfast_err_clear();
		CHECK(rec->calls == calls);
	}
	if (known) {
		rec->seen_n = 99;
		(void)sysfast_audit_args(known, NULL);
		sysfast_err_clear();
		CHECK(rec->calls == calls || rec->seen_n == 0);
	}
}

/* Before the process's first sysfast_init (event.h): the six built-in
 * names exist as ids 1 to 6 and no other; interning a name fails with
 * SystemError; an audit call returns 0 and calls nothing; interning and
 * getsizeof fail with SystemError. */
static bool ran_before;

static void check_before_first_init(void)
{
	CHECK(sysfast_event_count() == 6);
	CHECK(sysfast_event_find("sys.addaudithook") == 1);
	CHECK(sysfast_event_find("cpython._PySys_ClearAuditHooks") == 4);
	CHECK(sysfast_event_find("sys.settrace") == 5);
	CHECK(sysfast_event_find("sys.setprofile") == 6);
	CHECK(sysfast_event_find("fuzz.macro") == 0);
	CHECK(sysfast_event_intern("fuzz.macro") == 0
	      && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sysfast_audit("fuzz.macro", "i", 1) == 0 && sysfast_err_occurred() == NULL);

	/* Interning and getsizeof need the runtime: SystemError, nothing done. */
	static const sysfast_type plain = {"plain", 0, NULL, NULL};
	static const sysfast_object obj = {&plain};
	sysfast_str *str = NULL;
	size_t sz = 7;

	CHECK(sysfast_intern_cstr("fuzz") == NULL && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sysfast_intern_in_place(&str) == -1 && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sysfast_getsizeof(&obj, &sz) == -1 && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sysfast_getsizeof_default(&obj, 1, &sz) == -1
	      && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sysfast_deepsizeof(&obj, &sz) == -1 && sysfast_err_occurred() == sysfast_SystemError);
	sysfast_err_clear();
	CHECK(sz == 7 && str == NULL);

	/* The error indicator's edges (error.h): a NULL format is "", a long
	 * message keeps its first SYSFAST_ERR_MSG_MAX bytes. */
	static char long_msg[SYSFAST_ERR_MSG_MAX + 100];

	sysfast_err_format(sysfast_ValueError, NULL);
	CHECK(sysfast_err_occurred() == sysfast_ValueError && !strcmp(sysfast_err_message(), ""));
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	sysfast_err_set(sysfast_ValueError, long_msg);
	CHECK(strlen(sysfast_err_message()) == SYSFAST_ERR_MSG_MAX
	      && !strncmp(sysfast_err_message(), long_msg, SYSFAST_ERR_MSG_MAX));
	sysfast_err_clear();
}

/* One literal site and the function, with the same arguments: the same
 * result, error class and number of arguments seen. Each site is reached
 * three times: unbound, bound, and with an error pending. */
#define SAME_AS_FUNCTION(rec, ...)                                                                 \
	do {                                                                                       \
		for (int pass = 0; pass < 3; pass++) {                                             \
			const sysfast_exc_type *err_site;                                          \
			size_t n_site;                                                             \
			int calls = (rec)->calls, rc_site, rc_fn;                                  \
                                                                                                   \
			if (pass == 2)                                                             \
				sysfast_err_set(sysfast_KeyboardInterrupt, "pending");             \
			(rec)->seen_n = 99;                                                        \
			rc_site = sysfast_audit(__VA_ARGS__);                                      \
			err_site = sysfast_err_occurred();                                         \
			n_site = (rec)->seen_n;                                                    \
			calls = (rec)->calls - calls;                                              \
			sysfast_err_clear();                                                       \
			if (pass == 2)                                                             \
				sysfast_err_set(sysfast_KeyboardInterrupt, "pending");             \
			(rec)->seen_n = 99;                                                        \
			rc_fn = (sysfast_audit)(__VA_ARGS__);                                      \
			CHECK(rc_site == rc_fn && sysfast_err_occurred() == err_site);             \
			CHECK((rec)->seen_n == n_site);                                            \
			sysfast_err_clear();                                                       \
			(void)calls;                                                               \
		}                                                                                  \
	} while (0)

static void check_call_sites(struct recorder *rec, const unsigned char *p, const unsigned char *end)
{
	int i = p < end ? (int)*p - 128 : 7;
	unsigned u = p + 1 < end ? p[1] : 9;
	double d = u / 7.0;
	const char *text = p + 2 < end && p[2] & 1 ? NULL : "site text";

	SAME_AS_FUNCTION(rec, "fuzz.site", "(si)", text, i);
	SAME_AS_FUNCTION(rec, "fuzz.site", "iIdz", i, u, d, text);
	SAME_AS_FUNCTION(rec, "fuzz.site", "y#s#", text, (ssize_t)(text ? 4 : 0), text,
	                 (ssize_t)-1);
	SAME_AS_FUNCTION(rec, "fuzz.site", "(i(sK)):C", i, text, (unsigned long long)u, (int)u);
	SAME_AS_FUNCTION(rec, "fuzz.site", "pP", i, (const void *)text);
	SAME_AS_FUNCTION(rec, "fuzz.site", "", 0);
	SAME_AS_FUNCTION(rec, "fuzz.site", "iN", i, (void *)NULL);
	SAME_AS_FUNCTION(rec, "fuzz.site", "(ii", i, i);
	SAME_AS_FUNCTION(rec, "fuzz.site", "O", (const sysfast_object *)NULL);
	SAME_AS_FUNCTION(rec, "bad name \xff", "i", i);
	SAME_AS_FUNCTION(rec, "fuzz.macro", "C", (int)u << 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[INPUT_MAX + 1];
	static struct recorder rec;
	static unsigned fail_mode;
	const char *patterns[FIELD_MAX];
	sysfast_hook_options opts = {0};
	sysfast_arg items[16];
	sysfast_args args;
	unsigned ctl = size ? data[0] : 0;
	size_t n_patterns = ctl & 3;
	char *p = buf, *end, *name;
	int added, rc;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	p = size ? buf + 1 : buf;

	for (size_t i = 0; i < n_patterns; i++) {
		patterns[i] = next_field(&p, end);
		if (!patterns[i])
			patterns[i] = "";
	}
	name = next_field(&p, end);
	args.n = build_args((const unsigned char *)p, (const unsigned char *)end, items);
	args.items = items;

	if (!ran_before) {
		check_before_first_init();
		ran_before = true;
	}
	CHECK(sysfast_init() == 0);
	rec = (struct recorder){0};
	fail_mode = ctl & 4 ? 1 : ctl & 8 ? 2 : 0;
	opts.events = n_patterns ? patterns : NULL;
	opts.n_events = n_patterns;
	added = sysfast_add_audit_hook_ex(record_hook, &rec, &opts);
	CHECK(added == 0 || (added == -1 && sysfast_err_matches(sysfast_ValueError)));
	sysfast_err_clear();
	CHECK(sysfast_add_audit_hook(failing_hook, &fail_mode) == 0);
	rec.calls = 0;

	if (ctl & 16)
		sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
	rc = sysfast_audit(name ? name : "", NULL);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		CHECK(!(ctl & 16) || sysfast_err_matches(sysfast_KeyboardInterrupt));
		CHECK(fail_mode == 0);
	} else {
		CHECK(sysfast_err_occurred() != NULL);
	}
	{
		/* The va_list form: the same result and error class. */
		const sysfast_exc_type *err = sysfast_err_occurred();

		sysfast_err_clear();
		if (ctl & 16)
			sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
		CHECK(vaudit(name ? name : "", NULL) == rc);
		CHECK(sysfast_err_occurred()
		      == (rc         ? err
		          : ctl & 16 ? sysfast_KeyboardInterrupt
		                     : NULL));
	}
	sysfast_err_clear();
	check_bad_calls(&rec, name ? sysfast_event_find(name) : 0);

	if (name && sysfast_event_find(name)) {
		sysfast_event_id id = sysfast_event_find(name);

		rec.calls = 0;
		rc = sysfast_audit_args(id, &args);
		CHECK(rc == (fail_mode ? -1 : 0));
		if (rec.calls)
			CHECK(rec.seen == &args);
		CHECK(rec.calls == 0 || added == 0);
		sysfast_err_clear();
	}

	/* The call-site macro, with the first two argument items: the
	 * default form, then the inline one. */
	for (int form = 0; form < 2; form++) {
		sysfast_arg a = args.n > 0 ? items[0] : SYSFAST_NONE();
		sysfast_arg b = args.n > 1 ? items[1] : SYSFAST_INT(0);

		rec.calls = 0;
		if (ctl & 16)
			sysfast_err_set(sysfast_KeyboardInterrupt, "pending");
		rc = form == 0 ? SYSFAST_AUDIT("fuzz.macro", a, b) : fuzz_audit_inline_site(a, b);
		CHECK(rc == (fail_mode ? -1 : 0));
		if (rc == 0)
			CHECK(!(ctl & 16) || sysfast_err_matches(sysfast_KeyboardInterrupt));
		else
			CHECK(sysfast_err_occurred() != NULL);
		/* The recording hook was added first, so it runs even when the
		 * failing one fails. */
		CHECK(rec.calls == (added == 0 && matches(patterns, n_patterns, "fuzz.macro")));
		CHECK(sysfast__audit_tls.tracing == 0);
		CHECK((URCU_TLS(urcu_memb_reader).ctr & URCU_GP_CTR_NEST_MASK) == 0);
		sysfast_err_clear();
	}
	check_call_sites(&rec, (const unsigned char *)p, (const unsigned char *)end);
	CHECK(sysfast__audit_tls.tracing == 0);
	sysfast_fini();
	/* After fini every audit call returns 0 and calls nothing. */
	rec.calls = 0;
	CHECK(sysfast_audit("fuzz.macro", "i", 1) == 0);
	CHECK(sysfast_audit_args(1, NULL) == 0);
	CHECK(SYSFAST_AUDIT("fuzz.macro", SYSFAST_INT(1)) == 0);
	CHECK(fuzz_audit_inline_site(SYSFAST_INT(1), SYSFAST_INT(2)) == 0);
	CHECK(rec.calls == 0 && sysfast_err_occurred() == NULL);
	return 0;
}
