/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast._sysfast - libsysfast's audit hooks for Python programs.
 *
 * The bridge: at import, one native CPython hook (PySys_AddAuditHook)
 * goes in, once for each time CPython starts, and it hands every CPython
 * audit event to libsysfast's dispatch. Subscriptions and deny policies
 * are libsysfast hooks with event filters, so matching, ordering and
 * sealing are libsysfast's own; CPython calls native hooks before every
 * sys.addaudithook hook, so they all run first.
 *
 * libsysfast is linked statically into this module: the copy is private
 * to it, and only this file raises events into it (CPython's events, and
 * libsysfast's own "sys.addaudithook" when a subscription is added).
 *
 * Everything below runs with the GIL held: CPython calls audit hooks with
 * it, and the module's functions are called from Python. The state that
 * the GIL does not cover (the counters, the bridge's flags) is read and
 * written atomically anyway, because hooks run on every thread.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sysfast/sysfast.h>

/* Raised at import: the native hook answers it, which tells whether the
 * hook is in (PySys_AddAuditHook refuses in silence when a hook fails
 * "sys.addaudithook" with RuntimeError). The hook knows it by its
 * address. */
static const char bridge_check_event[] = "sysfast.import";

static bool bridge_checking; /* the check event is being raised */
static bool bridge_seen;     /* ... and the native hook saw it */

/* libsysfast hooks this module added, plus one once sealed (the seal's
 * refusal of "sys.addaudithook" needs the native hook to look): while 0,
 * the native hook returns at once. */
static unsigned watchers;
static bool sealed;

/* Built-in libsysfast events (event.h), which CPython raises too:
 * "sys.addaudithook" is refused once sealed; on
 * "cpython.PyInterpreterState_Clear" the hooks of the interpreter being
 * cleared let go of its objects. */
static sysfast_event_id addaudithook_id;
static sysfast_event_id interp_clear_id;

static struct {
	unsigned long long seen, matched, denied;
} stats;

static void count(unsigned long long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Raises the pending libsysfast error as the Python exception of the same
 * kind, and clears it; returns -1. Subclasses come before their bases. */
static int python_error_from_sysfast(void)
{
	static const struct {
		const sysfast_exc_type *const *sf;
		PyObject **py;
	} map[] = {
	    {&sysfast_MemoryError, &PyExc_MemoryError},
	    {&sysfast_PermissionError, &PyExc_PermissionError},
	    {&sysfast_OSError, &PyExc_OSError},
	    {&sysfast_ValueError, &PyExc_ValueError},
	    {&sysfast_TypeError, &PyExc_TypeError},
	    {&sysfast_RecursionError, &PyExc_RecursionError},
	    {&sysfast_RuntimeError, &PyExc_RuntimeError},
	    {&sysfast_OverflowError, &PyExc_OverflowError},
	    {&sysfast_KeyboardInterrupt, &PyExc_KeyboardInterrupt},
	    {&sysfast_SystemExit, &PyExc_SystemExit},
	};
	PyObject *type = PyExc_SystemError;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (sysfast_err_matches(*map[i].sf)) {
			type = *map[i].py;
			break;
		}
	PyErr_Format(type, "sysfast: %s", sysfast_err_message());
	sysfast_err_clear();
	return -1;
}

/* A libsysfast hook's way out when a Python exception is pending: the
 * exception stays where it is, in the thread state, so the audited
 * operation gets that very object. libsysfast needs an error of its own
 * to stop the dispatch; its class follows the Python one as far as
 * libsysfast cares (it suppresses RuntimeError on "sys.addaudithook"). */
static int fail_with_python_error(void)
{
	const sysfast_exc_type *t = sysfast_BaseException;

	if (PyErr_ExceptionMatches(PyExc_RuntimeError))
		t = sysfast_RuntimeError;
	else if (PyErr_ExceptionMatches(PyExc_Exception))
		t = sysfast_Exception;
	sysfast_err_set(t, "a Python exception is pending");
	return -1;
}

/* ---- The name cache ---- */

/*
 * CPython passes event names as C string literals, so a name's address
 * identifies it and saves hashing the text. Not always, though:
 * sys.audit() passes the UTF-8 buffer of a str, which is freed after the
 * call and may hold another name at the same address next time. A hit is
 * therefore confirmed against the interned name, which costs one short
 * comparison. Per thread, so that hooks on other threads never see a
 * half-written slot.
 */
#define NAME_CACHE_BITS 8

static __thread struct name_slot {
	const char *key;
	sysfast_event_id id;
} name_cache[1u << NAME_CACHE_BITS];

/* The event's id, interned on a miss; 0 with a libsysfast error for a
 * name libsysfast cannot hold (over 255 bytes, invalid UTF-8). */
static sysfast_event_id event_id(const char *name)
{
	/* Fibonacci hashing of the address: literals sit side by side. */
	uintptr_t h = (uintptr_t)name * (uintptr_t)0x9e3779b97f4a7c15ull;
	struct name_slot *slot = &name_cache[h >> (sizeof(uintptr_t) * 8 - NAME_CACHE_BITS)];
	sysfast_event_id id;

	if (slot->key == name && strcmp(name, sysfast_event_name(slot->id)) == 0)
		return slot->id;
	id = sysfast_event_intern(name);
	if (id) {
		slot->key = name;
		slot->id = id;
	}
	return id;
}

/* ---- What the module's libsysfast hooks read ---- */

/*
 * libsysfast hooks cannot be removed, so what one reads is never freed.
 * Its Python objects belong to the interpreter that made the hook: when
 * that interpreter is cleared they are released, and the hook does
 * nothing from then on (another interpreter may later get the same
 * address). All of them are listed for that.
 */
struct hook_data {
	struct hook_data *next;
	PyInterpreterState *interp;
	/* A subscription's hook or a policy's exception class; NULL once
	 * closed or once the interpreter is gone. */
	PyObject *callable;
	PyObject *message; /* a policy's message, or NULL */
	PyObject *events;  /* the patterns (tuple of str), or None: every event */
};

static struct hook_data *all_hook_data;
static pthread_mutex_t hook_data_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new hook_data holding `callable` and `message` (new references), not
 * yet listed. NULL with MemoryError. */
static struct hook_data *hook_data_new(PyObject *callable, PyObject *message)
{
	struct hook_data *data = PyMem_RawMalloc(sizeof(*data));

	if (!data) {
		PyErr_NoMemory();
		return NULL;
	}
	data->next = NULL;
	data->interp = PyInterpreterState_Get();
	Py_INCREF(callable);
	data->callable = callable;
	Py_XINCREF(message);
	data->message = message;
	data->events = NULL;
	return data;
}

/* Frees one that libsysfast never got. */
static void hook_data_free(struct hook_data *data)
{
	Py_XDECREF(data->callable);
	Py_XDECREF(data->message);
	Py_XDECREF(data->events);
	PyMem_RawFree(data);
}

/* Lists `data`, now that libsysfast has it, with its patterns. */
static void hook_data_list(struct hook_data *data, PyObject *events)
{
	Py_INCREF(events);
	data->events = events;
	pthread_mutex_lock(&hook_data_lock);
	data->next = all_hook_data;
	all_hook_data = data;
	pthread_mutex_unlock(&hook_data_lock);
}

/* The current interpreter is being cleared: its hooks let go. Entries
 * are only ever added at the head and never freed, so the list is walked
 * from a snapshot of the head without the lock, which a finalizer that
 * Py_CLEAR runs might want (it may subscribe). */
static void release_interpreter_hooks(void)
{
	PyInterpreterState *interp = PyInterpreterState_Get();
	struct hook_data *data;

	pthread_mutex_lock(&hook_data_lock);
	data = all_hook_data;
	pthread_mutex_unlock(&hook_data_lock);
	for (; data; data = data->next)
		if (data->interp == interp) {
			data->interp = NULL;
			Py_CLEAR(data->callable);
			Py_CLEAR(data->message);
			Py_CLEAR(data->events);
		}
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

	count(&stats.matched);
	if (sysfast_audit_args(id, &call_args) == 0)
		return 0;
	/* The hook's Python exception, or libsysfast's own error. */
	if (!PyErr_Occurred())
		return python_error_from_sysfast();
	sysfast_err_clear();
	return -1;
}

static int bridge_hook(const char *event, PyObject *args, void *userdata)
{
	sysfast_event_id id;
	int rc = 0;

	(void)userdata;
	if (event == bridge_check_event && __atomic_load_n(&bridge_checking, __ATOMIC_RELAXED)) {
		__atomic_store_n(&bridge_seen, true, __ATOMIC_RELAXED);
		return 0;
	}
	count(&stats.seen);
	if (!__atomic_load_n(&watchers, __ATOMIC_ACQUIRE))
		return 0;
	id = event_id(event);
	if (!id)
		return python_error_from_sysfast();
	if (sysfast_audit_active(id))
		rc = dispatch(id, args);
	/* After the hooks, which may want to see it. */
	if (id == interp_clear_id)
		release_interpreter_hooks();
	if (rc == 0 && id == addaudithook_id && __atomic_load_n(&sealed, __ATOMIC_RELAXED))
		rc = refuse_sealed_addaudithook();
	return rc;
}

/* The Python tuple of a libsysfast event: the bridged tuple itself, or
 * () for the events that libsysfast raises, which have no arguments. */
static PyObject *python_args(const sysfast_args *args)
{
	PyObject *tuple;

	if (args->n == 0)
		return PyTuple_New(0);
	if (args->n == 1 && args->items[0].kind == SYSFAST_ARG_PTR) {
		tuple = (PyObject *)args->items[0].v.p;
		Py_INCREF(tuple);
		return tuple;
	}
	PyErr_SetString(PyExc_SystemError,
	                "sysfast: an event with arguments the bridge did not make");
	return NULL;
}

/* ---- Subscriptions ---- */

static int subscription_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                             void *userdata)
{
	struct hook_data *sub = userdata;
	PyObject *callable = sub->callable, *call[2], *result;

	(void)id;
	if (!callable || PyInterpreterState_Get() != sub->interp)
		return 0;
	call[0] = PyUnicode_FromString(name);
	if (!call[0])
		return fail_with_python_error();
	call[1] = python_args(args);
	if (!call[1]) {
		Py_DECREF(call[0]);
		return fail_with_python_error();
	}
	/* close() may drop the last reference while the call runs. */
	Py_INCREF(callable);
	result = PyObject_Vectorcall(callable, call, 2, NULL);
	Py_DECREF(callable);
	Py_DECREF(call[0]);
	Py_DECREF(call[1]);
	if (!result)
		return fail_with_python_error();
	Py_DECREF(result);
	return 0;
}

typedef struct {
	PyObject_HEAD struct hook_data *sub;
	PyObject *events; /* tuple of str, or None: every event */
	bool removable;
	bool closed;
} SubscriptionObject;

/* Made from Subscription_spec at import. */
static PyTypeObject *Subscription_Type;

/* The patterns of `events` (None: every event) as a tuple of str, and
 * their UTF-8 in *patterns (a PyMem block the caller frees; it points
 * into the tuple's strings). */
static PyObject *parse_events(PyObject *events, const char ***patterns)
{
	PyObject *tuple;
	Py_ssize_t n;

	*patterns = NULL;
	if (events == Py_None) {
		Py_INCREF(Py_None);
		return Py_None;
	}
	if (PyUnicode_Check(events))
		tuple = PyTuple_Pack(1, events);
	else
		tuple = PySequence_Tuple(events);
	if (!tuple)
		return NULL;
	n = PyTuple_GET_SIZE(tuple);
	if (n == 0) {
		PyErr_SetString(PyExc_ValueError, "events: at least one pattern, or None for all");
		goto fail;
	}
	*patterns = PyMem_New(const char *, n);
	if (!*patterns) {
		PyErr_NoMemory();
		goto fail;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *item = PyTuple_GET_ITEM(tuple, i);

		if (!PyUnicode_Check(item)) {
			PyErr_Format(PyExc_TypeError, "events: expected str, not %.100s",
			             Py_TYPE(item)->tp_name);
			goto fail;
		}
		(*patterns)[i] = PyUnicode_AsUTF8(item);
		if (!(*patterns)[i])
			goto fail;
	}
	return tuple;
fail:
	PyMem_Free(*patterns);
	*patterns = NULL;
	Py_DECREF(tuple);
	return NULL;
}

static int refuse_if_sealed(const char *what)
{
	if (!__atomic_load_n(&sealed, __ATOMIC_RELAXED))
		return 0;
	PyErr_Format(PyExc_PermissionError, "sysfast is sealed: %s refused", what);
	return -1;
}

/* Adds a libsysfast hook for `events` (None: every event). Returns 0
 * when added; 1 when a hook on "sys.addaudithook" refused it with
 * RuntimeError (the Python exception is cleared, as sys.addaudithook
 * does); -1 with a Python exception. */
static int add_hook(sysfast_audit_hook fn, void *userdata, PyObject *events, PyObject **tuple)
{
	const char **patterns;
	sysfast_hook_options opts = {0};
	int rc;

	*tuple = parse_events(events, &patterns);
	if (!*tuple)
		return -1;
	if (patterns) {
		opts.events = patterns;
		opts.n_events = (size_t)PyTuple_GET_SIZE(*tuple);
	}
	rc = sysfast_add_audit_hook_ex(fn, userdata, &opts);
	PyMem_Free(patterns);
	if (rc == 0)
		__atomic_fetch_add(&watchers, 1, __ATOMIC_RELEASE);
	if (rc == 1)
		PyErr_Clear();
	if (rc < 0 && !PyErr_Occurred())
		python_error_from_sysfast();
	sysfast_err_clear();
	if (rc != 0)
		Py_CLEAR(*tuple);
	return rc;
}

PyDoc_STRVAR(subscribe_doc,
             "subscribe(hook, events=None, *, removable=False)\n--\n\n"
             "Call hook(event, args) for every audit event that matches `events`.\n\n"
             "`events` is a pattern or a sequence of them: an exact event name, a\n"
             "prefix ending in '*' (\"subprocess.*\"), or \"*\"; None means every\n"
             "event. `args` is the event's argument tuple itself. Subscriptions run\n"
             "in the order they were made, before every sys.addaudithook hook, only\n"
             "for events raised in the interpreter that subscribed. An exception\n"
             "from the hook stops the dispatch and propagates to the audited\n"
             "operation, exactly as from a sys.addaudithook hook.\n\n"
             "Subscribing raises \"sys.addaudithook\" to the subscriptions already\n"
             "there; if one of them raises RuntimeError, the hook is not added and\n"
             "None is returned. Otherwise returns a Subscription.\n\n"
             "With removable=True, Subscription.close() stops the calls. The hook\n"
             "stays in libsysfast's lists, which never shrink: a closed\n"
             "subscription costs a check per matching event. PermissionError once\n"
             "sealed.");

static PyObject *subscribe(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"hook", "events", "removable", NULL};
	PyObject *hook, *events = Py_None, *tuple;
	int removable = 0, rc;
	struct hook_data *sub;
	SubscriptionObject *self;

	(void)module;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O$p:subscribe", kwlist, &hook, &events,
	                                 &removable))
		return NULL;
	if (!PyCallable_Check(hook)) {
		PyErr_Format(PyExc_TypeError, "hook must be callable, not %.100s",
		             Py_TYPE(hook)->tp_name);
		return NULL;
	}
	if (refuse_if_sealed("subscribe") < 0)
		return NULL;
	self = PyObject_New(SubscriptionObject, Subscription_Type);
	if (!self)
		return NULL;
	self->sub = NULL;
	self->events = NULL;
	self->removable = removable;
	self->closed = false;
	sub = hook_data_new(hook, NULL);
	if (!sub) {
		Py_DECREF(self);
		return NULL;
	}
	rc = add_hook(subscription_hook, sub, events, &tuple);
	if (rc != 0) {
		hook_data_free(sub);
		Py_DECREF(self);
		if (rc < 0)
			return NULL;
		Py_RETURN_NONE;
	}
	hook_data_list(sub, tuple);
	self->sub = sub;
	self->events = tuple;
	return (PyObject *)self;
}

PyDoc_STRVAR(close_doc, "close()\n--\n\n"
                        "Stop calling the hook. Only for a removable subscription\n"
                        "(PermissionError otherwise, and for every subscription once\n"
                        "sealed). Closing twice is fine.");

static PyObject *Subscription_close(SubscriptionObject *self, PyObject *unused)
{
	(void)unused;
	if (!self->removable) {
		PyErr_SetString(
		    PyExc_PermissionError,
		    "this subscription is not removable (subscribe(..., removable=True))");
		return NULL;
	}
	if (refuse_if_sealed("close") < 0)
		return NULL;
	if (!self->closed) {
		self->closed = true;
		Py_CLEAR(self->sub->callable);
	}
	Py_RETURN_NONE;
}

static void Subscription_dealloc(SubscriptionObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	/* The hook goes on: a subscription lives until closed. */
	Py_XDECREF(self->events);
	PyObject_Free(self);
	Py_DECREF(type);
}

static PyObject *Subscription_repr(SubscriptionObject *self)
{
	return PyUnicode_FromFormat("<sysfast.Subscription events=%R%s%s>", self->events,
	                            self->removable ? " removable" : "",
	                            self->closed ? " closed" : "");
}

static PyObject *Subscription_get_closed(SubscriptionObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->closed);
}

static PyObject *Subscription_get_removable(SubscriptionObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->removable);
}

static PyObject *Subscription_get_events(SubscriptionObject *self, void *closure)
{
	(void)closure;
	Py_INCREF(self->events);
	return self->events;
}

static PyMethodDef Subscription_methods[] = {
    {"close", (PyCFunction)Subscription_close, METH_NOARGS, close_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Subscription_getset[] = {
    {"closed", (getter)Subscription_get_closed, NULL, "True once close() succeeded.", NULL},
    {"removable", (getter)Subscription_get_removable, NULL, "Whether close() may remove it.", NULL},
    {"events", (getter)Subscription_get_events, NULL,
     "The patterns, as a tuple of str; None for every event.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Subscription_slots[] = {
    {Py_tp_dealloc, Subscription_dealloc},
    {Py_tp_repr, Subscription_repr},
    {Py_tp_doc, "A hook made by sysfast.subscribe()."},
    {Py_tp_methods, Subscription_methods},
    {Py_tp_getset, Subscription_getset},
    {0, NULL},
};

static PyType_Spec Subscription_spec = {
    .name = "sysfast.Subscription",
    .basicsize = sizeof(SubscriptionObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Subscription_slots,
};

/* ---- Deny policies ---- */

static int deny_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                     void *userdata)
{
	struct hook_data *policy = userdata;

	(void)id;
	(void)args;
	if (!policy->callable || PyInterpreterState_Get() != policy->interp)
		return 0;
	count(&stats.denied);
	if (policy->message)
		PyErr_SetObject(policy->callable, policy->message);
	else
		PyErr_Format(policy->callable, "%s: denied by a sysfast policy", name);
	return fail_with_python_error();
}

/* No "--" line: a text signature cannot name a class as a default. */
PyDoc_STRVAR(deny_doc, "deny(events, exception=PermissionError, message=None)\n\n"
                       "Refuse every operation whose audit event matches `events` (patterns\n"
                       "as for subscribe()) by raising `exception` (a BaseException\n"
                       "subclass) with `message` (default: \"<event>: denied by a sysfast\n"
                       "policy\"). The check is C code; no Python code runs, unless\n"
                       "`exception` is a Python class whose construction runs some. A\n"
                       "policy applies in the interpreter that made it and cannot be\n"
                       "removed. PermissionError once sealed.");

static PyObject *deny(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"events", "exception", "message", NULL};
	PyObject *events, *exception = PyExc_PermissionError, *message = Py_None, *tuple;
	struct hook_data *policy;
	int rc;

	(void)module;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OO:deny", kwlist, &events, &exception,
	                                 &message))
		return NULL;
	if (!PyExceptionClass_Check(exception)) {
		PyErr_SetString(PyExc_TypeError, "exception must be a BaseException subclass");
		return NULL;
	}
	if (message != Py_None && !PyUnicode_Check(message)) {
		PyErr_SetString(PyExc_TypeError, "message must be str or None");
		return NULL;
	}
	if (events == Py_None) {
		PyErr_SetString(PyExc_TypeError,
		                "deny() needs event patterns (\"*\" for every event)");
		return NULL;
	}
	if (refuse_if_sealed("deny") < 0)
		return NULL;
	policy = hook_data_new(exception, message == Py_None ? NULL : message);
	if (!policy)
		return NULL;
	rc = add_hook(deny_hook, policy, events, &tuple);
	if (rc != 0) {
		hook_data_free(policy);
		/* Unlike a subscription, a policy refused in silence would
		 * leave the caller believing it is protected. */
		if (rc > 0)
			PyErr_SetString(PyExc_RuntimeError, "sysfast: a hook refused the policy");
		return NULL;
	}
	hook_data_list(policy, tuple);
	Py_DECREF(tuple);
	Py_RETURN_NONE;
}

/* ---- listening, seal, stats ---- */

/* Whether `pattern` (a subscribe() pattern) matches `name`, as
 * libsysfast matches them. */
static bool pattern_matches(PyObject *pattern, const char *name, size_t len)
{
	Py_ssize_t n;
	const char *text = PyUnicode_AsUTF8AndSize(pattern, &n);

	/* Checked when the hook was added: the UTF-8 is cached already. */
	if (!text)
		return false;
	if (n > 0 && text[n - 1] == '*')
		return len >= (size_t)n - 1 && memcmp(text, name, (size_t)n - 1) == 0;
	return len == (size_t)n && memcmp(text, name, len) == 0;
}

/* Whether a live hook of the current interpreter matches `name`. */
static bool hook_data_matches(const char *name, size_t len)
{
	PyInterpreterState *interp = PyInterpreterState_Get();
	struct hook_data *data;

	pthread_mutex_lock(&hook_data_lock);
	data = all_hook_data;
	pthread_mutex_unlock(&hook_data_lock);
	for (; data; data = data->next) {
		if (data->interp != interp || !data->callable)
			continue;
		if (data->events == Py_None)
			return true;
		for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(data->events); i++)
			if (pattern_matches(PyTuple_GET_ITEM(data->events, i), name, len))
				return true;
	}
	return false;
}

PyDoc_STRVAR(listening_doc, "listening(event)\n--\n\n"
                            "True if a subscription that is not closed or a policy, made in this\n"
                            "interpreter, matches `event`; and for \"sys.addaudithook\" once\n"
                            "sealed.");

static PyObject *listening(PyObject *module, PyObject *event)
{
	const char *name;
	Py_ssize_t len;

	(void)module;
	if (!PyUnicode_Check(event)) {
		PyErr_Format(PyExc_TypeError, "event must be str, not %.100s",
		             Py_TYPE(event)->tp_name);
		return NULL;
	}
	name = PyUnicode_AsUTF8AndSize(event, &len);
	if (!name)
		return NULL;
	if (__atomic_load_n(&sealed, __ATOMIC_RELAXED) && strcmp(name, "sys.addaudithook") == 0)
		Py_RETURN_TRUE;
	return PyBool_FromLong(hook_data_matches(name, (size_t)len));
}

PyDoc_STRVAR(seal_doc, "seal()\n--\n\n"
                       "From now on, for the life of the process: no subscription, policy\n"
                       "or removal, and sys.addaudithook (and C's PySys_AddAuditHook) adds\n"
                       "nothing: the \"sys.addaudithook\" event fails with RuntimeError,\n"
                       "which CPython turns into a silent refusal. Sealing twice is fine.");

static PyObject *seal(PyObject *module, PyObject *unused)
{
	(void)module;
	(void)unused;
	if (__atomic_load_n(&sealed, __ATOMIC_RELAXED))
		Py_RETURN_NONE;
	__atomic_store_n(&sealed, true, __ATOMIC_RELAXED);
	__atomic_fetch_add(&watchers, 1, __ATOMIC_RELEASE);
	sysfast_audit_seal();
	Py_RETURN_NONE;
}

PyDoc_STRVAR(stats_doc, "stats()\n--\n\n"
                        "Counters since import, as a dict: \"seen\" (events the bridge\n"
                        "received), \"matched\" (of those, events that some subscription\n"
                        "or policy listened to) and \"denied\" (operations a deny policy\n"
                        "refused).");

static PyObject *stats_fn(PyObject *module, PyObject *unused)
{
	(void)module;
	(void)unused;
	return Py_BuildValue("{sKsKsK}", "seen", __atomic_load_n(&stats.seen, __ATOMIC_RELAXED),
	                     "matched", __atomic_load_n(&stats.matched, __ATOMIC_RELAXED), "denied",
	                     __atomic_load_n(&stats.denied, __ATOMIC_RELAXED));
}

/* ---- The module ---- */

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

/* Makes sure the native hook is in, adding it if not. Asking first,
 * rather than remembering, is what finds it gone after Py_Finalize,
 * which drops every native hook, in a program that starts CPython
 * again; and what keeps an import after a failed one from adding it
 * twice. Returns 0, or -1 with ImportError (or the error of a hook that
 * failed the check event). */
static int install_bridge(void)
{
	int answered;

	if (sysfast_init() < 0) {
		PyErr_Format(PyExc_ImportError, "sysfast: libsysfast failed to start: %s",
		             sysfast_err_message());
		sysfast_err_clear();
		return -1;
	}
	addaudithook_id = sysfast_event_find("sys.addaudithook");
	interp_clear_id = sysfast_event_find("cpython.PyInterpreterState_Clear");
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

static PyMethodDef module_methods[] = {
    {"subscribe", (PyCFunction)(void (*)(void))subscribe, METH_VARARGS | METH_KEYWORDS,
     subscribe_doc},
    {"deny", (PyCFunction)(void (*)(void))deny, METH_VARARGS | METH_KEYWORDS, deny_doc},
    {"listening", listening, METH_O, listening_doc},
    {"seal", seal, METH_NOARGS, seal_doc},
    {"stats", stats_fn, METH_NOARGS, stats_doc},
    {NULL, NULL, 0, NULL},
};

/* Single-phase initialisation: the bridge and the hooks are process-wide
 * anyway, and sub-interpreters get a copy of the module. */
static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "sysfast._sysfast",
    .m_doc = "libsysfast's audit hooks for Python (see the sysfast package).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__sysfast(void)
{
	PyObject *module;

	/* Made anew each time CPython starts: the last one went with the
	 * interpreter that made it. */
	Subscription_Type = (PyTypeObject *)PyType_FromSpec(&Subscription_spec);
	if (!Subscription_Type)
		return NULL;
	if (install_bridge() < 0) {
		Py_CLEAR(Subscription_Type);
		return NULL;
	}
	module = PyModule_Create(&module_def);
	if (!module)
		return NULL;
	if (PyModule_AddObjectRef(module, "Subscription", (PyObject *)Subscription_Type) < 0
	    || PyModule_AddStringConstant(module, "libsysfast_version", sysfast_version()) < 0) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
