/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The call-site macros used from C++ (SYSFAST_AUDIT; tuples built the
 * C++ way, as SYSFAST_ARGS is C only). Built by check.sh with -DCHECK_AUDIT
 * (SYSFAST_AUDIT), -DCHECK_ARGS (SYSFAST_ARGS) or both; with both it is
 * linked against the library and run.
 */
#include <cstdio>
#include <cstring>

#include <sysfast/sysfast.h>

static int seen;

static int hook(sysfast_event_id, const char *name, const sysfast_args *args, void *)
{
	if (std::strcmp(name, "infra.cxx") == 0 && args->n == 1
	    && args->items[0].kind == SYSFAST_ARG_INT && args->items[0].v.i == 1)
		seen |= 1;
	if (std::strcmp(name, "infra.cxx_args") == 0 && args->n == 2
	    && args->items[0].kind == SYSFAST_ARG_STR && args->items[0].len == 1
	    && args->items[1].kind == SYSFAST_ARG_INT && args->items[1].v.i == 2)
		seen |= 2;
	return 0;
}

#ifdef CHECK_AUDIT
static int audit_with_macro()
{
	return SYSFAST_AUDIT("infra.cxx", SYSFAST_INT(1));
}
#endif

#ifdef CHECK_ARGS
/* SYSFAST_ARGS is C only (a C++ compound literal would die too early):
 * C++ gets no macro that would dangle, and builds the tuple this way. */
#ifdef SYSFAST_ARGS
#error "SYSFAST_ARGS must not be offered to C++"
#endif
static int audit_with_args(sysfast_event_id id)
{
	const sysfast_arg items[] = {SYSFAST_STR("p"), SYSFAST_INT(2)};
	const sysfast_args two{2, items};

	return sysfast_audit_args(id, &two);
}
#endif

#if defined(CHECK_AUDIT) && defined(CHECK_ARGS)
int main()
{
	if (sysfast_init() != 0 || sysfast_add_audit_hook(hook, nullptr) != 0) {
		std::printf("set-up failed: %s\n", sysfast_err_message());
		return 1;
	}
	if (audit_with_macro() != 0
	    || audit_with_args(sysfast_event_intern("infra.cxx_args")) != 0) {
		std::printf("audit failed: %s\n", sysfast_err_message());
		return 1;
	}
	sysfast_fini();
	if (seen != 3) {
		std::printf("hook saw %s%s\n", seen & 1 ? "" : "no SYSFAST_AUDIT event ",
		            seen & 2 ? "" : "no sysfast_audit_args event");
		return 1;
	}
	std::printf("SYSFAST_AUDIT and argument tuples work from C++\n");
	return 0;
}
#else
/* Compile-only builds: keep the helpers referenced. */
int cxx_macros_unused();
int cxx_macros_unused()
{
	int rc = hook(0, "", nullptr, nullptr);
#ifdef CHECK_AUDIT
	rc += audit_with_macro();
#endif
#ifdef CHECK_ARGS
	rc += audit_with_args(1);
#endif
	return rc;
}
#endif
