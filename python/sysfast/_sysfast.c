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
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	unsigned long long seen, matched, denied, logged, suppressed;
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
	/* A subscription's hook, a policy's exception class or a log
	 * sink's target; NULL once closed or once the interpreter is gone. */
	PyObject *callable;
	PyObject *message;     /* a policy's message, or NULL */
	PyObject *events;      /* the patterns (tuple of str), or None: every event */
	struct log_sink *sink; /* a log sink's state, or NULL */
};

struct log_sink;
static void sink_close(struct log_sink *sink);

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
	data->sink = NULL;
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
			/* The last chance to write what a sink holds: its
			 * target may go with the interpreter. */
			if (data->sink && data->callable)
				sink_close(data->sink);
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

/* ---- Log sinks ---- */

/*
 * A log sink is a libsysfast hook that renders each event as one JSON
 * line in C and appends it to the sink's buffer, which goes to the
 * target's file descriptor when full, at flush() and close(), and when
 * the interpreter is cleared (at exit, after atexit handlers). A line is
 * rendered outside the sink's lock (rendering a path-like object may run
 * its __fspath__, which may raise events of its own) and appended whole
 * under it, so lines from several threads never interleave; the lock
 * does not lean on the GIL.
 */

#define LOG_BUFFER_SIZE 65536
/* Tuples and lists nested deeper in an argument render as their type
 * name: a list that holds itself must end somewhere. */
#define LOG_MAX_DEPTH 32

/* Which arguments a sink writes for an event. */
enum log_args { LOG_ARGS_NONE, LOG_ARGS_ALL, LOG_ARGS_SOME };

/* One entry of args={pattern: selection}. */
struct log_select {
	char *pattern; /* UTF-8, owned */
	size_t len;
	enum log_args mode;
	Py_ssize_t *indices; /* LOG_ARGS_SOME: the argument indices, in order */
	Py_ssize_t n_indices;
};

/* The rate limit's count for one event name: a window of rate_seconds
 * that starts at the first line after the last window ended. */
struct rate_slot {
	sysfast_event_id id; /* 0: empty */
	uint64_t window_start;
	unsigned long long lines, suppressed;
};

struct log_sink {
	pthread_mutex_t lock;
	int fd;
	bool owns_fd; /* opened from a path: closed with the sink */
	bool closed;
	int error; /* errno of the last failed write, not yet reported */
	char *buf;
	size_t len;
	/* Read without the lock: set before the hook goes in, never changed. */
	enum log_args args; /* LOG_ARGS_SOME: see select */
	struct log_select *select;
	size_t n_select;
	unsigned long long rate_lines; /* 0: no rate limit */
	uint64_t rate_window_ns;
	double rate_seconds;
	/* Under the lock: open addressing on the event id. */
	struct rate_slot *rates;
	size_t rates_cap, rates_used;
};

/* A growing buffer that starts on the stack; `failed` once out of
 * memory, after which appends do nothing. */
struct out {
	char *p;
	size_t len, cap;
	bool failed;
	char small[512];
};

static void out_init(struct out *o)
{
	o->p = o->small;
	o->len = 0;
	o->cap = sizeof(o->small);
	o->failed = false;
}

static void out_free(struct out *o)
{
	if (o->p != o->small)
		PyMem_RawFree(o->p);
}

static bool out_reserve(struct out *o, size_t n)
{
	size_t cap = o->cap;
	char *p;

	if (o->failed)
		return false;
	if (o->len + n <= o->cap)
		return true;
	while (cap < o->len + n)
		cap *= 2;
	p = o->p == o->small ? PyMem_RawMalloc(cap) : PyMem_RawRealloc(o->p, cap);
	if (!p) {
		o->failed = true;
		return false;
	}
	if (o->p == o->small)
		memcpy(p, o->small, o->len);
	o->p = p;
	o->cap = cap;
	return true;
}

static void out_bytes(struct out *o, const char *s, size_t n)
{
	if (out_reserve(o, n)) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	}
}

static void out_str(struct out *o, const char *s)
{
	out_bytes(o, s, strlen(s));
}

/* Decimal digits without printf, which costs more than the rest of a
 * line. */
static void out_uint(struct out *o, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_bytes(o, tmp + i, sizeof(tmp) - i);
}

static void out_int(struct out *o, long long v)
{
	if (v < 0) {
		out_bytes(o, "-", 1);
		out_uint(o, 0ull - (unsigned long long)v);
	} else {
		out_uint(o, (unsigned long long)v);
	}
}

/* One code point inside a JSON string. Lone surrogates, which a str may
 * hold (surrogateescape'd file names) and UTF-8 may not, become \u
 * escapes, as do control characters. */
static void out_json_char(struct out *o, Py_UCS4 c)
{
	char tmp[8];

	if (c == '"' || c == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		out_bytes(o, tmp, 2);
	} else if (c == '\n') {
		out_bytes(o, "\\n", 2);
	} else if (c == '\r') {
		out_bytes(o, "\\r", 2);
	} else if (c == '\t') {
		out_bytes(o, "\\t", 2);
	} else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) {
		static const char digits[] = "0123456789abcdef";

		tmp[0] = '\\';
		tmp[1] = 'u';
		for (int i = 0; i < 4; i++)
			tmp[2 + i] = digits[(c >> (12 - 4 * i)) & 15];
		out_bytes(o, tmp, 6);
	} else if (c < 0x80) {
		tmp[0] = (char)c;
		out_bytes(o, tmp, 1);
	} else if (c < 0x800) {
		tmp[0] = (char)(0xc0 | (c >> 6));
		tmp[1] = (char)(0x80 | (c & 0x3f));
		out_bytes(o, tmp, 2);
	} else if (c < 0x10000) {
		tmp[0] = (char)(0xe0 | (c >> 12));
		tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (c & 0x3f));
		out_bytes(o, tmp, 3);
	} else {
		tmp[0] = (char)(0xf0 | (c >> 18));
		tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (c & 0x3f));
		out_bytes(o, tmp, 4);
	}
}

/* A JSON string from valid UTF-8 (event names: libsysfast holds no
 * other kind). */
static void out_json_utf8(struct out *o, const char *s, size_t n)
{
	out_bytes(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80)
			out_bytes(o, s + i, 1);
		else
			out_json_char(o, c);
	}
	out_bytes(o, "\"", 1);
}

static void out_json_unicode(struct out *o, PyObject *str)
{
	int kind = PyUnicode_KIND(str);
	const void *data = PyUnicode_DATA(str);
	Py_ssize_t n = PyUnicode_GET_LENGTH(str);

	out_bytes(o, "\"", 1);
	if (PyUnicode_IS_ASCII(str)) {
		/* Runs of characters that need no escape go in one copy. */
		const char *text = data;
		Py_ssize_t run = 0;

		for (Py_ssize_t i = 0; i < n; i++) {
			char c = text[i];

			if (c >= 0x20 && c != '"' && c != '\\')
				continue;
			out_bytes(o, text + run, (size_t)(i - run));
			out_json_char(o, (Py_UCS4)c);
			run = i + 1;
		}
		out_bytes(o, text + run, (size_t)(n - run));
	} else {
		for (Py_ssize_t i = 0; i < n; i++)
			out_json_char(o, PyUnicode_READ(kind, data, i));
	}
	out_bytes(o, "\"", 1);
}

/* Bytes as {"bytes": "<hex>"}: unambiguous, whatever they hold. */
static void out_json_hex(struct out *o, const char *s, Py_ssize_t n)
{
	static const char digits[] = "0123456789abcdef";

	out_str(o, "{\"bytes\":\"");
	if (out_reserve(o, (size_t)n * 2))
		for (Py_ssize_t i = 0; i < n; i++) {
			o->p[o->len++] = digits[(unsigned char)s[i] >> 4];
			o->p[o->len++] = digits[(unsigned char)s[i] & 15];
		}
	out_str(o, "\"}");
}

static void out_json_type(struct out *o, PyObject *obj)
{
	const char *name = Py_TYPE(obj)->tp_name;

	out_str(o, "{\"type\":");
	out_json_utf8(o, name, strlen(name));
	out_str(o, "}");
}

static void out_json_int(struct out *o, PyObject *obj)
{
	int overflow;
	long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
	PyObject *text;

	if (!overflow) {
		out_int(o, v);
		return;
	}
	/* int's own conversion, not the subclass's __repr__ or __str__.
	 * It refuses ints over sys.get_int_max_str_digits() digits. */
	text = PyLong_Type.tp_repr(obj);
	if (!text) {
		PyErr_Clear();
		out_json_type(o, obj);
		return;
	}
	out_str(o, PyUnicode_AsUTF8(text));
	Py_DECREF(text);
}

/* repr()'s shortest round-tripping digits; JSON has no inf or nan, so
 * those become the strings "Infinity", "-Infinity" and "NaN". */
static void out_json_float(struct out *o, double v)
{
	char *text;

	if (isnan(v)) {
		out_str(o, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		out_str(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
	if (!text) {
		PyErr_Clear();
		o->failed = true;
		return;
	}
	out_str(o, text);
	PyMem_Free(text);
}

static void out_json_value(struct out *o, PyObject *obj, int depth);

static void out_json_sequence(struct out *o, PyObject *seq, int depth)
{
	bool list = PyList_Check(seq);

	out_bytes(o, "[", 1);
	/* A list's size is read again each time: __fspath__ may change it. */
	for (Py_ssize_t i = 0; i < (list ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq)); i++) {
		PyObject *item = list ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i);

		if (i)
			out_bytes(o, ",", 1);
		Py_INCREF(item);
		out_json_value(o, item, depth + 1);
		Py_DECREF(item);
	}
	out_bytes(o, "]", 1);
}

static bool is_path_like(PyObject *obj)
{
	return PyObject_HasAttrString((PyObject *)Py_TYPE(obj), "__fspath__");
}

static void out_json_value(struct out *o, PyObject *obj, int depth)
{
	PyObject *path;

	if (obj == Py_None)
		out_str(o, "null");
	else if (obj == Py_True)
		out_str(o, "true");
	else if (obj == Py_False)
		out_str(o, "false");
	else if (PyUnicode_Check(obj))
		out_json_unicode(o, obj);
	else if (PyLong_Check(obj))
		out_json_int(o, obj);
	else if (PyFloat_Check(obj))
		out_json_float(o, PyFloat_AS_DOUBLE(obj));
	else if (PyBytes_Check(obj))
		out_json_hex(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj));
	else if (PyByteArray_Check(obj))
		out_json_hex(o, PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj));
	else if ((PyTuple_Check(obj) || PyList_Check(obj)) && depth < LOG_MAX_DEPTH)
		out_json_sequence(o, obj, depth);
	else if (is_path_like(obj) && (path = PyOS_FSPath(obj)) != NULL) {
		if (PyUnicode_Check(path))
			out_json_unicode(o, path);
		else
			out_json_hex(o, PyBytes_AS_STRING(path), PyBytes_GET_SIZE(path));
		Py_DECREF(path);
	} else {
		/* A __fspath__ that failed: the type name says enough. */
		PyErr_Clear();
		out_json_type(o, obj);
	}
}

/* getpid() is a system call: the pid is kept, and set anew in a child
 * of fork(). */
static pid_t log_pid;

/* {"time":...,"pid":... */
static void out_time_pid(struct out *o)
{
	struct timespec ts;
	char micro[7];
	long us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = ts.tv_nsec / 1000;
	for (int i = 5; i >= 0; i--, us /= 10)
		micro[i + 1] = (char)('0' + us % 10);
	micro[0] = '.';
	out_str(o, "{\"time\":");
	out_int(o, (long long)ts.tv_sec);
	out_bytes(o, micro, sizeof(micro));
	out_str(o, ",\"pid\":");
	out_int(o, (long long)log_pid);
}

static void out_line_head(struct out *o, const char *name)
{
	out_time_pid(o);
	out_str(o, ",\"thread\":");
	out_uint(o, PyThread_get_thread_ident());
	out_str(o, ",\"event\":");
	out_json_utf8(o, name, strlen(name));
}

static bool pattern_matches_utf8(const char *pattern, size_t n, const char *name)
{
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strlen(name) == n && memcmp(pattern, name, n) == 0;
}

/* One event's line, without its newline-terminated end. `tuple` is
 * NULL for libsysfast's own events, which have no arguments. */
static void render_line(struct out *o, const struct log_sink *sink, const char *name,
                        PyObject *tuple)
{
	enum log_args mode = sink->args;
	const struct log_select *sel = NULL;
	Py_ssize_t n = tuple ? PyTuple_GET_SIZE(tuple) : 0;

	if (mode == LOG_ARGS_SOME) {
		mode = LOG_ARGS_NONE;
		for (size_t i = 0; i < sink->n_select; i++)
			if (pattern_matches_utf8(sink->select[i].pattern, sink->select[i].len,
			                         name)) {
				sel = &sink->select[i];
				mode = sel->mode;
				break;
			}
	}
	out_line_head(o, name);
	if (mode == LOG_ARGS_ALL) {
		out_str(o, ",\"args\":");
		/* The argument tuple is not an argument: its items are at
		 * depth 0. */
		if (tuple)
			out_json_sequence(o, tuple, -1);
		else
			out_str(o, "[]");
	} else if (mode == LOG_ARGS_SOME) {
		bool first = true;

		out_str(o, ",\"args\":[");
		for (Py_ssize_t i = 0; i < sel->n_indices; i++) {
			if (sel->indices[i] >= n)
				continue;
			if (!first)
				out_bytes(o, ",", 1);
			first = false;
			out_json_value(o, PyTuple_GET_ITEM(tuple, sel->indices[i]), 0);
		}
		out_str(o, "]");
	}
	out_str(o, "}\n");
}

/* Writes all of `p`, or records the error. */
static void sink_write_locked(struct log_sink *sink, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(sink->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			sink->error = errno;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void sink_append_locked(struct log_sink *sink, const char *p, size_t n)
{
	if (sink->len + n > LOG_BUFFER_SIZE) {
		sink_write_locked(sink, sink->buf, sink->len);
		sink->len = 0;
	}
	if (n > LOG_BUFFER_SIZE)
		sink_write_locked(sink, p, n);
	else {
		memcpy(sink->buf + sink->len, p, n);
		sink->len += n;
	}
}

static void sink_summary_locked(struct log_sink *sink, struct rate_slot *slot)
{
	const char *name = sysfast_event_name(slot->id);
	struct out o;

	out_init(&o);
	out_time_pid(&o);
	out_str(&o, ",\"event\":");
	out_json_utf8(&o, name, strlen(name));
	out_str(&o, ",\"suppressed\":");
	out_uint(&o, slot->suppressed);
	out_str(&o, ",\"rate_limit\":[");
	out_uint(&o, sink->rate_lines);
	out_bytes(&o, ",", 1);
	out_json_float(&o, sink->rate_seconds);
	out_str(&o, "]}\n");
	if (!o.failed) {
		sink_append_locked(sink, o.p, o.len);
		slot->suppressed = 0;
	}
	out_free(&o);
}

static void sink_flush_locked(struct log_sink *sink)
{
	for (size_t i = 0; i < sink->rates_cap; i++)
		if (sink->rates[i].id && sink->rates[i].suppressed)
			sink_summary_locked(sink, &sink->rates[i]);
	sink_write_locked(sink, sink->buf, sink->len);
	sink->len = 0;
}

/* Flushes and closes; the errno of a write that failed since the last
 * report, or 0. */
static int sink_close_errno(struct log_sink *sink)
{
	int error;

	pthread_mutex_lock(&sink->lock);
	if (!sink->closed) {
		sink_flush_locked(sink);
		sink->closed = true;
		if (sink->owns_fd)
			close(sink->fd);
		PyMem_RawFree(sink->buf);
		sink->buf = NULL;
		PyMem_RawFree(sink->rates);
		sink->rates = NULL;
		sink->rates_cap = 0;
	}
	error = sink->error;
	sink->error = 0;
	pthread_mutex_unlock(&sink->lock);
	return error;
}

static void sink_close(struct log_sink *sink)
{
	(void)sink_close_errno(sink);
}

/* In a child of fork(): what the sinks hold is the parent's to write,
 * and so are its suppressed counts. Every thread that takes a sink's
 * lock holds the GIL, which the forking thread holds, so no lock is
 * held by a thread that the child lacks. */
static void sinks_forget_parent(void)
{
	log_pid = getpid();
	for (struct hook_data *data = all_hook_data; data; data = data->next) {
		struct log_sink *sink = data->sink;

		if (!sink)
			continue;
		sink->len = 0;
		for (size_t i = 0; i < sink->rates_cap; i++)
			sink->rates[i].suppressed = 0;
	}
}

static struct rate_slot *rate_slot_find(struct rate_slot *slots, size_t cap, sysfast_event_id id)
{
	size_t i = ((size_t)id * 0x9e3779b1u) & (cap - 1);

	while (slots[i].id && slots[i].id != id)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* The slot of `id`, made if new; NULL when out of memory. */
static struct rate_slot *rate_slot_get(struct log_sink *sink, sysfast_event_id id)
{
	struct rate_slot *slot;

	if (sink->rates_used * 2 >= sink->rates_cap) {
		size_t cap = sink->rates_cap ? sink->rates_cap * 2 : 16;
		struct rate_slot *slots = PyMem_RawCalloc(cap, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t i = 0; i < sink->rates_cap; i++)
			if (sink->rates[i].id)
				*rate_slot_find(slots, cap, sink->rates[i].id) = sink->rates[i];
		PyMem_RawFree(sink->rates);
		sink->rates = slots;
		sink->rates_cap = cap;
	}
	slot = rate_slot_find(sink->rates, sink->rates_cap, id);
	if (!slot->id) {
		slot->id = id;
		sink->rates_used++;
	}
	return slot;
}

/* Whether the rate limit lets a line of `id` through; a suppressed one
 * is counted, and the count is written when its window has ended (at
 * the next line of that event) or at flush. Out of memory, it lets the
 * line through rather than lose it. */
static bool rate_admits(struct log_sink *sink, sysfast_event_id id)
{
	struct rate_slot *slot;
	struct timespec ts;
	uint64_t now;
	bool admit = true;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	pthread_mutex_lock(&sink->lock);
	slot = sink->closed ? NULL : rate_slot_get(sink, id);
	if (slot) {
		if (slot->lines && now - slot->window_start >= sink->rate_window_ns) {
			if (slot->suppressed)
				sink_summary_locked(sink, slot);
			slot->lines = 0;
		}
		if (!slot->lines)
			slot->window_start = now;
		if (slot->lines < sink->rate_lines)
			slot->lines++;
		else {
			slot->suppressed++;
			count(&stats.suppressed);
			admit = false;
		}
	}
	pthread_mutex_unlock(&sink->lock);
	return admit;
}

static int log_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *userdata)
{
	struct hook_data *data = userdata;
	struct log_sink *sink = data->sink;
	PyObject *tuple = NULL;
	struct out line;

	if (!data->callable || PyInterpreterState_Get() != data->interp)
		return 0;
	if (args->n == 1 && args->items[0].kind == SYSFAST_ARG_PTR)
		tuple = (PyObject *)args->items[0].v.p;
	if (sink->rate_lines && !rate_admits(sink, id))
		return 0;
	out_init(&line);
	render_line(&line, sink, name, tuple);
	if (line.failed) {
		out_free(&line);
		PyErr_NoMemory();
		return fail_with_python_error();
	}
	pthread_mutex_lock(&sink->lock);
	if (!sink->closed) {
		sink_append_locked(sink, line.p, line.len);
		count(&stats.logged);
	}
	pthread_mutex_unlock(&sink->lock);
	out_free(&line);
	return 0;
}

static void sink_free(struct log_sink *sink)
{
	for (size_t i = 0; i < sink->n_select; i++) {
		PyMem_RawFree(sink->select[i].pattern);
		PyMem_RawFree(sink->select[i].indices);
	}
	PyMem_RawFree(sink->select);
	PyMem_RawFree(sink->buf);
	pthread_mutex_destroy(&sink->lock);
	PyMem_RawFree(sink);
}

/* One value of args={pattern: value}: True, False, or a sequence of
 * argument indices. */
static int parse_selection(struct log_select *sel, PyObject *key, PyObject *value)
{
	const char *pattern;
	Py_ssize_t len;
	PyObject *seq;

	if (!PyUnicode_Check(key)) {
		PyErr_Format(PyExc_TypeError, "args: keys must be event patterns (str), not %.100s",
		             Py_TYPE(key)->tp_name);
		return -1;
	}
	pattern = PyUnicode_AsUTF8AndSize(key, &len);
	if (!pattern)
		return -1;
	sel->pattern = PyMem_RawMalloc((size_t)len + 1);
	if (!sel->pattern) {
		PyErr_NoMemory();
		return -1;
	}
	memcpy(sel->pattern, pattern, (size_t)len + 1);
	sel->len = (size_t)len;
	if (PyBool_Check(value)) {
		sel->mode = value == Py_True ? LOG_ARGS_ALL : LOG_ARGS_NONE;
		return 0;
	}
	seq = PyUnicode_Check(value) || PyBytes_Check(value)
	          ? NULL
	          : PySequence_Fast(value, "args: each value must be True, False or a list of "
	                                   "argument indices");
	if (!seq) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError,
			                "args: each value must be True, False or a "
			                "list of argument indices");
		return -1;
	}
	sel->mode = LOG_ARGS_SOME;
	sel->n_indices = PySequence_Fast_GET_SIZE(seq);
	sel->indices = PyMem_RawMalloc(sizeof(Py_ssize_t) * (size_t)(sel->n_indices + 1));
	if (!sel->indices) {
		Py_DECREF(seq);
		PyErr_NoMemory();
		return -1;
	}
	for (Py_ssize_t i = 0; i < sel->n_indices; i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(seq, i);

		if (!PyLong_Check(item) || PyBool_Check(item)) {
			PyErr_Format(PyExc_TypeError,
			             "args: indices for %R must be int, not %.100s", key,
			             Py_TYPE(item)->tp_name);
			Py_DECREF(seq);
			return -1;
		}
		sel->indices[i] = PyLong_AsSsize_t(item);
		if (sel->indices[i] < 0) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_ValueError, "args: index %R for %R is negative",
				             item, key);
			Py_DECREF(seq);
			return -1;
		}
	}
	Py_DECREF(seq);
	return 0;
}

static int parse_log_args(struct log_sink *sink, PyObject *args)
{
	PyObject *key, *value;
	Py_ssize_t pos = 0;

	if (PyBool_Check(args)) {
		sink->args = args == Py_True ? LOG_ARGS_ALL : LOG_ARGS_NONE;
		return 0;
	}
	if (!PyDict_Check(args)) {
		PyErr_Format(PyExc_TypeError,
		             "args must be True, False or a dict {event pattern: list of argument "
		             "indices}, not %.100s",
		             Py_TYPE(args)->tp_name);
		return -1;
	}
	sink->args = LOG_ARGS_SOME;
	sink->select = PyMem_RawCalloc((size_t)PyDict_GET_SIZE(args) + 1, sizeof(*sink->select));
	if (!sink->select) {
		PyErr_NoMemory();
		return -1;
	}
	while (PyDict_Next(args, &pos, &key, &value)) {
		/* Counted first, so that sink_free frees a half-made entry. */
		sink->n_select++;
		if (parse_selection(&sink->select[sink->n_select - 1], key, value) < 0)
			return -1;
	}
	return 0;
}

static int parse_rate_limit(struct log_sink *sink, PyObject *rate)
{
	long long lines;
	double seconds;

	if (rate == Py_None)
		return 0;
	if (!PyTuple_Check(rate) || PyTuple_GET_SIZE(rate) != 2
	    || !PyLong_Check(PyTuple_GET_ITEM(rate, 0)) || PyBool_Check(PyTuple_GET_ITEM(rate, 0))
	    || !(PyLong_Check(PyTuple_GET_ITEM(rate, 1))
	         || PyFloat_Check(PyTuple_GET_ITEM(rate, 1)))) {
		PyErr_SetString(PyExc_TypeError,
		                "rate_limit must be None or a tuple (lines: int, seconds: float)");
		return -1;
	}
	lines = PyLong_AsLongLong(PyTuple_GET_ITEM(rate, 0));
	if (lines == -1 && PyErr_Occurred())
		return -1;
	seconds = PyFloat_AsDouble(PyTuple_GET_ITEM(rate, 1));
	if (seconds == -1.0 && PyErr_Occurred())
		return -1;
	if (lines < 1 || !(seconds > 0) || !isfinite(seconds) || seconds > 1e9) {
		PyErr_SetString(PyExc_ValueError,
		                "rate_limit: lines must be at least 1 and seconds "
		                "a finite number above 0");
		return -1;
	}
	sink->rate_lines = (unsigned long long)lines;
	sink->rate_seconds = seconds;
	sink->rate_window_ns = (uint64_t)(seconds * 1e9);
	if (!sink->rate_window_ns)
		sink->rate_window_ns = 1;
	return 0;
}

/* The file descriptor of `target`, in sink->fd; -1 with an exception. */
static int open_target(struct log_sink *sink, PyObject *target)
{
	PyObject *path, *fileno;
	long fd;

	if (PyBool_Check(target))
		goto refuse;
	if (PyLong_Check(target)) {
		fd = PyLong_AsLong(target);
		if (fd == -1 && PyErr_Occurred())
			return -1;
		if (fd < 0 || fd > INT_MAX) {
			PyErr_Format(PyExc_ValueError, "target: %ld is not a file descriptor", fd);
			return -1;
		}
		if (fcntl((int)fd, F_GETFD) < 0) {
			PyErr_SetFromErrno(PyExc_OSError);
			return -1;
		}
		sink->fd = (int)fd;
		return 0;
	}
	if (PyUnicode_Check(target) || PyBytes_Check(target) || is_path_like(target)) {
		if (!PyUnicode_FSConverter(target, &path))
			return -1;
		Py_BEGIN_ALLOW_THREADS sink->fd =
		    open(PyBytes_AS_STRING(path), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		Py_END_ALLOW_THREADS Py_DECREF(path);
		if (sink->fd < 0) {
			PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, target);
			return -1;
		}
		sink->owns_fd = true;
		return 0;
	}
	if (PyObject_HasAttrString(target, "fileno")) {
		fileno = PyObject_CallMethod(target, "fileno", NULL);
		if (!fileno)
			return -1;
		fd = PyLong_Check(fileno) ? PyLong_AsLong(fileno) : -1;
		Py_DECREF(fileno);
		if (fd < 0 || fd > INT_MAX) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError,
				                "target: fileno() returned no file descriptor");
			return -1;
		}
		sink->fd = (int)fd;
		return 0;
	}
refuse:
	PyErr_Format(PyExc_TypeError,
	             "target must be a path (str, bytes or os.PathLike), a file descriptor (int) "
	             "or an object with fileno(), not %.100s",
	             Py_TYPE(target)->tp_name);
	return -1;
}

typedef struct {
	PyObject_HEAD struct hook_data *data;
	PyObject *events; /* tuple of str, or None: every event */
	bool closed;
} LogSinkObject;

/* Made from LogSink_spec at import. */
static PyTypeObject *LogSink_Type;

PyDoc_STRVAR(log_doc, "log(target, events=None, *, args=True, rate_limit=None)\n--\n\n"
                      "Write every audit event that matches `events` (patterns as for\n"
                      "subscribe()) as one JSON line to `target`: a path (str, bytes or\n"
                      "os.PathLike, opened for appending), a file descriptor, or an object\n"
                      "with fileno() (its own buffer is bypassed). The line is rendered in C;\n"
                      "no Python code runs, except the __fspath__ of path-like arguments.\n\n"
                      "`args`: True writes every argument, False none, and a dict\n"
                      "{pattern: True, False or a list of indices} chooses per event (the\n"
                      "first matching pattern wins; an event that none matches gets none).\n"
                      "`rate_limit`: None, or (lines, seconds): at most `lines` lines per event\n"
                      "name in each window of `seconds`; the others are counted and written\n"
                      "as one summary line when the window ends or at flush.\n\n"
                      "Lines are buffered and written when the buffer fills, at flush(), at\n"
                      "close() and when the interpreter ends. Returns a LogSink.\n"
                      "PermissionError once sealed.");

static PyObject *log_fn(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"target", "events", "args", "rate_limit", NULL};
	PyObject *target, *events = Py_None, *log_args = Py_True, *rate = Py_None, *tuple;
	struct log_sink *sink;
	struct hook_data *data;
	LogSinkObject *self;
	int rc;

	(void)module;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O$OO:log", kwlist, &target, &events,
	                                 &log_args, &rate))
		return NULL;
	if (refuse_if_sealed("log") < 0)
		return NULL;
	sink = PyMem_RawCalloc(1, sizeof(*sink));
	if (!sink)
		return PyErr_NoMemory();
	pthread_mutex_init(&sink->lock, NULL);
	sink->fd = -1;
	sink->buf = PyMem_RawMalloc(LOG_BUFFER_SIZE);
	if (!sink->buf) {
		PyErr_NoMemory();
		goto fail;
	}
	if (parse_log_args(sink, log_args) < 0 || parse_rate_limit(sink, rate) < 0
	    || open_target(sink, target) < 0)
		goto fail;
	self = PyObject_New(LogSinkObject, LogSink_Type);
	if (!self)
		goto fail;
	self->data = NULL;
	self->events = NULL;
	self->closed = false;
	data = hook_data_new(target, NULL);
	if (!data) {
		Py_DECREF(self);
		goto fail;
	}
	data->sink = sink;
	rc = add_hook(log_hook, data, events, &tuple);
	if (rc != 0) {
		hook_data_free(data);
		Py_DECREF(self);
		/* As for a policy: a sink refused in silence would leave the
		 * caller believing the events are recorded. */
		if (rc > 0)
			PyErr_SetString(PyExc_RuntimeError, "sysfast: a hook refused the log sink");
		goto fail;
	}
	hook_data_list(data, tuple);
	self->data = data;
	self->events = tuple;
	return (PyObject *)self;
fail:
	if (sink->owns_fd)
		close(sink->fd);
	sink_free(sink);
	return NULL;
}

static PyObject *raise_write_error(int error)
{
	errno = error;
	return PyErr_SetFromErrno(PyExc_OSError);
}

PyDoc_STRVAR(flush_doc, "flush()\n--\n\n"
                        "Write what every log sink holds, rate-limit summaries included.\n"
                        "OSError if a write failed since the last flush() or close().");

static PyObject *flush_fn(PyObject *module, PyObject *unused)
{
	struct hook_data *data;
	int error = 0;

	(void)module;
	(void)unused;
	pthread_mutex_lock(&hook_data_lock);
	data = all_hook_data;
	pthread_mutex_unlock(&hook_data_lock);
	for (; data; data = data->next) {
		struct log_sink *sink = data->sink;

		if (!sink)
			continue;
		pthread_mutex_lock(&sink->lock);
		if (!sink->closed)
			sink_flush_locked(sink);
		if (sink->error)
			error = sink->error;
		sink->error = 0;
		pthread_mutex_unlock(&sink->lock);
	}
	if (error)
		return raise_write_error(error);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(log_close_doc, "close()\n--\n\n"
                            "Write what the sink holds and stop writing (a path's file is\n"
                            "closed). OSError if a write failed; PermissionError once sealed.\n"
                            "Closing twice is fine.");

static PyObject *LogSink_close(LogSinkObject *self, PyObject *unused)
{
	int error;

	(void)unused;
	if (refuse_if_sealed("close") < 0)
		return NULL;
	if (self->closed)
		Py_RETURN_NONE;
	self->closed = true;
	error = sink_close_errno(self->data->sink);
	Py_CLEAR(self->data->callable);
	if (error)
		return raise_write_error(error);
	Py_RETURN_NONE;
}

static void LogSink_dealloc(LogSinkObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	/* The sink goes on: it lives until closed. */
	Py_XDECREF(self->events);
	PyObject_Free(self);
	Py_DECREF(type);
}

static PyObject *LogSink_repr(LogSinkObject *self)
{
	return PyUnicode_FromFormat("<sysfast.LogSink events=%R%s>", self->events,
	                            self->closed ? " closed" : "");
}

static PyObject *LogSink_get_closed(LogSinkObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->closed);
}

static PyObject *LogSink_get_events(LogSinkObject *self, void *closure)
{
	(void)closure;
	Py_INCREF(self->events);
	return self->events;
}

static PyMethodDef LogSink_methods[] = {
    {"close", (PyCFunction)LogSink_close, METH_NOARGS, log_close_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef LogSink_getset[] = {
    {"closed", (getter)LogSink_get_closed, NULL, "True once close() was called.", NULL},
    {"events", (getter)LogSink_get_events, NULL,
     "The patterns, as a tuple of str; None for every event.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot LogSink_slots[] = {
    {Py_tp_dealloc, LogSink_dealloc},
    {Py_tp_repr, LogSink_repr},
    {Py_tp_doc, "A log sink made by sysfast.log()."},
    {Py_tp_methods, LogSink_methods},
    {Py_tp_getset, LogSink_getset},
    {0, NULL},
};

static PyType_Spec LogSink_spec = {
    .name = "sysfast.LogSink",
    .basicsize = sizeof(LogSinkObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = LogSink_slots,
};

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
                            "True if a subscription or a log sink that is not closed, or a\n"
                            "policy, made in this interpreter, matches `event`; and for\n"
                            "\"sys.addaudithook\" once sealed.");

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

PyDoc_STRVAR(seal_doc,
             "seal()\n--\n\n"
             "From now on, for the life of the process: no subscription, policy,\n"
             "log sink or removal, and sys.addaudithook (and C's PySys_AddAuditHook) adds\n"
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
                        "or policy listened to), \"denied\" (operations a deny policy\n"
                        "refused), \"logged\" (lines log sinks took) and \"suppressed\"\n"
                        "(lines a rate limit held back, each counted in a summary line).");

static PyObject *stats_fn(PyObject *module, PyObject *unused)
{
	(void)module;
	(void)unused;
	return Py_BuildValue("{sKsKsKsKsK}", "seen", __atomic_load_n(&stats.seen, __ATOMIC_RELAXED),
	                     "matched", __atomic_load_n(&stats.matched, __ATOMIC_RELAXED), "denied",
	                     __atomic_load_n(&stats.denied, __ATOMIC_RELAXED), "logged",
	                     __atomic_load_n(&stats.logged, __ATOMIC_RELAXED), "suppressed",
	                     __atomic_load_n(&stats.suppressed, __ATOMIC_RELAXED));
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
    {"log", (PyCFunction)(void (*)(void))log_fn, METH_VARARGS | METH_KEYWORDS, log_doc},
    {"flush", flush_fn, METH_NOARGS, flush_doc},
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

static bool atfork_added;

PyMODINIT_FUNC PyInit__sysfast(void)
{
	PyObject *module;

	/* Made anew each time CPython starts: the last one went with the
	 * interpreter that made it. */
	Subscription_Type = (PyTypeObject *)PyType_FromSpec(&Subscription_spec);
	if (!Subscription_Type)
		return NULL;
	LogSink_Type = (PyTypeObject *)PyType_FromSpec(&LogSink_spec);
	if (!LogSink_Type || install_bridge() < 0) {
		Py_CLEAR(Subscription_Type);
		Py_CLEAR(LogSink_Type);
		return NULL;
	}
	module = PyModule_Create(&module_def);
	if (!module)
		return NULL;
	/* Once per process, even if CPython starts again. */
	if (!atfork_added) {
		if (pthread_atfork(NULL, NULL, sinks_forget_parent) != 0) {
			Py_DECREF(module);
			PyErr_SetString(PyExc_ImportError, "sysfast: pthread_atfork failed");
			return NULL;
		}
		atfork_added = true;
	}
	log_pid = getpid();
	if (PyModule_AddObjectRef(module, "Subscription", (PyObject *)Subscription_Type) < 0
	    || PyModule_AddObjectRef(module, "LogSink", (PyObject *)LogSink_Type) < 0
	    || PyModule_AddStringConstant(module, "libsysfast_version", sysfast_version()) < 0) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
