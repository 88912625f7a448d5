/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bridge: one native CPython hook (PySys_AddAuditHook), in once for
 * each time CPython starts, hands every CPython audit event to
 * libsysfast's dispatch. Subscriptions and deny policies are libsysfast
 * hooks with event filters, so matching, ordering and sealing are
 * libsysfast's own; CPython calls native hooks before every
 * sys.addaudithook hook, so they all run first.
 *
 * libsysfast is linked statically into the module (or into
 * sysfast-python): the copy is private to it, and only this module
 * raises events into it (CPython's events, and libsysfast's own
 * "sys.addaudithook" when a subscription is added).
 */
#include "internal.h"

#include <stdint.h>

/* Raised at import: the native hook answers it, which tells whether the
 * hook is in (PySys_AddAuditHook refuses in silence when a hook fails
 * "sys.addaudithook" with RuntimeError). The hook knows it by its
 * address. */
static const char bridge_check_event[] = "sysfast.import";

static bool bridge_checking; /* the check event is being raised */
static bool bridge_seen;     /* ... and the native hook saw it */

unsigned sysfast__watchers;
bool sysfast__sealed;
struct sysfast__stats sysfast__stats;

/* Built-in libsysfast events (event.h), which CPython raises too:
 * "sys.addaudithook" is refused once sealed; on
 * "cpython.PyInterpreterState_Clear" the hooks of the interpreter being
 * cleared let go of its objects. */
static sysfast_event_id addaudithook_id;
static sysfast_event_id interp_clear_id;

/* ---- The name cache ---- */

/*
 * CPython passes event names as C string literals, so a name's address
 * identifies it and saves hashing the text. Not always, though:
 * sys.audit() passes the UTF-8 buffer of a str, which is freed after the
 * call and may hold another name at the same address next time. A hit is
 * therefore confirmed against the interned name (immortal, so the slot
 * keeps its address), by an inline loop: names are short, and strcmp's
 * call and set-up cost more than the comparison (12% of an unmatched
 * event's profile, python/bench/event_bench.py). One cache for the
 * process, not one per thread: only the native hook uses it, which
 * CPython calls with the GIL held, and a thread-local one cost a dynamic
 * TLS access (the module is loaded with dlopen) on every event.
 */
#define NAME_CACHE_BITS 8

static struct name_slot {
	const char *key;
	const char *name; /* the interned name */
	sysfast_event_id id;
	/* The value of sysfast__watchers when no libsysfast hook listened to
	 * the event; 0: not known. Only the module adds hooks to its copy of
	 * libsysfast, and it bumps sysfast__watchers each time, so the
	 * answer holds until then and an unmatched event skips
	 * sysfast_audit_active. Only "no" is kept: a "yes" may be an id whose
	 * hooks libsysfast has yet to resolve, which its dispatch does. */
	unsigned quiet_at;
} name_cache[1u << NAME_CACHE_BITS];

static bool same_name(const char *a, const char *b)
{
	if (a == b)
		return true;
	for (; *a == *b; a++, b++)
		if (!*a)
			return true;
	return false;
}

/* The slot of the event, holding its id, interned on a miss; NULL with a
 * libsysfast error for a name libsysfast cannot hold (over 255 bytes,
 * invalid UTF-8). */
static struct name_slot *event_slot(const char *name)
{
	/* Fibonacci hashing of the address: literals sit side by side. */
	uintptr_t h = (uintptr_t)name * (uintptr_t)0x9e3779b97f4a7c15ull;
	struct name_slot *slot = &name_cache[h >> (sizeof(uintptr_t) * 8 - NAME_CACHE_BITS)];
	sysfast_event_id id;

	if (slot->key == name && same_name(name, slot->name))
		return slot;
	id = sysfast_event_intern(name);
	if (!id)
		return NULL;
	slot->key = name;
	slot->name = sysfast_event_name(id);
	slot->id = id;
	slot->quiet_at = 0;
	return slot;
}

/* ---- The native hook ---- */

static int refuse_sealed_addaudithook(void)
{
	PyErr_SetString(PyExc_RuntimeError, "sysfast is sealed: no audit hook may be added");
	return -1;
}

/* Runs the libsysfast hooks of `id` on CPython's tuple `args`. Returns 0,
 * or -1 with a Python exception. */
static int dispatch(sysfast_event_id id, PyObject *args)
{
	/* The tuple itself, not a copy: hooks get a pointer to it. */
	const sysfast_arg tuple = SYSFAST_PTR(args);
	const sysfast_args call_args = {1, &tuple};

	sysfast__count(&sysfast__stats.matched);
	if (sysfast_audit_args(id, &call_args) == 0)
		return 0;
	/* The hook's Python exception, or libsysfast's own error. */
	if (!PyErr_Occurred())
		return sysfast__python_error_from_sysfast();
	sysfast_err_clear();
	return -1;
}

static int bridge_hook(const char *event, PyObject *args, void *userdata)
{
	struct name_slot *slot;
	sysfast_event_id id;
	unsigned watchers;
	int rc = 0;

	(void)userdata;
	if (event == bridge_check_event && __atomic_load_n(&bridge_checking, __ATOMIC_RELAXED)) {
		__atomic_store_n(&bridge_seen, true, __ATOMIC_RELAXED);
		return 0;
	}
	sysfast__count(&sysfast__stats.seen);
	watchers = __atomic_load_n(&sysfast__watchers, __ATOMIC_ACQUIRE);
	if (!watchers)
		return 0;
	slot = event_slot(event);
	if (!slot)
		return sysfast__python_error_from_sysfast();
	id = slot->id;
	if (slot->quiet_at != watchers) {
		if (sysfast_audit_active(id))
			rc = dispatch(id, args);
		else
			slot->quiet_at = watchers;
	}
	/* After the hooks, which may want to see it. */
	if (id == interp_clear_id)
		sysfast__release_interpreter_hooks();
	if (rc == 0 && id == addaudithook_id && __atomic_load_n(&sysfast__sealed, __ATOMIC_RELAXED))
		rc = refuse_sealed_addaudithook();
	return rc;
}

/* ---- The import check ---- */

/* Raises the check event: 1 if the native hook saw it, 0 if not, -1
 * with the error of a hook that failed it. */
static int bridge_answers(void)
{
	int rc;

	__atomic_store_n(&bridge_seen, false, __ATOMIC_RELAXED);
	__atomic_store_n(&bridge_checking, true, __ATOMIC_RELAXED);
	rc = PySys_Audit(bridge_check_event, NULL);
	__atomic_store_n(&bridge_checking, false, __ATOMIC_RELAXED);
	if (rc < 0)
		return -1;
	return __atomic_load_n(&bridge_seen, __ATOMIC_RELAXED);
}

/* Returns 0, or -1 with libsysfast's error. */
static int start_libsysfast(void)
{
	if (sysfast_init() < 0)
		return -1;
	addaudithook_id = sysfast_event_find("sys.addaudithook");
	interp_clear_id = sysfast_event_find("cpython.PyInterpreterState_Clear");
	return 0;
}

/* Asking whether the hook is in first, rather than remembering, is what
 * finds it gone after Py_Finalize, which drops every native hook, in a
 * program that starts CPython again; and what keeps an import after a
 * failed one from adding it twice. */
int sysfast__install_bridge(void)
{
	int answered;

	if (start_libsysfast() < 0) {
		PyErr_Format(PyExc_ImportError, "sysfast: libsysfast failed to start: %s",
		             sysfast_err_message());
		sysfast_err_clear();
		return -1;
	}
	answered = bridge_answers();
	if (answered != 0)
		return answered < 0 ? -1 : 0;
	/* Fails when a hook raised something other than RuntimeError on
	 * "sys.addaudithook": that exception is the clearest error. */
	if (PySys_AddAuditHook(bridge_hook, NULL) < 0)
		return -1;
	answered = bridge_answers();
	if (answered < 0)
		return -1;
	if (!answered) {
		PyErr_SetString(
		    PyExc_ImportError,
		    "sysfast: CPython refused the native audit hook (a hook failed "
		    "\"sys.addaudithook\" with RuntimeError, as a sealed process does); "
		    "import sysfast before such hooks are added");
		return -1;
	}
	return 0;
}

/* Before Py_Initialize CPython raises nothing (there is no thread state),
 * so PySys_AddAuditHook cannot be refused; the import that comes later
 * finds the hook in by the check event, as it would after a first
 * import. */
int sysfast__install_bridge_preinit(char *err, size_t errlen)
{
	if (start_libsysfast() < 0) {
		snprintf(err, errlen, "libsysfast failed to start: %s", sysfast_err_message());
		sysfast_err_clear();
		return -1;
	}
	if (PySys_AddAuditHook(bridge_hook, NULL) < 0) {
		snprintf(err, errlen, "PySys_AddAuditHook failed before Py_Initialize");
		return -1;
	}
	return 0;
}
