/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the module's libsysfast hooks read (struct hook_data), and adding
 * such a hook: the parts that subscriptions, deny policies and log sinks
 * share.
 */
#include "internal.h"

#include <pthread.h>
#include <string.h>

/* Raises the pending libsysfast error as the Python exception of the same
 * kind, and clears it. Subclasses come before their bases. */
int sysfast__python_error_from_sysfast(void)
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
int sysfast__fail_with_python_error(void)
{
	const sysfast_exc_type *t = sysfast_BaseException;

	if (PyErr_ExceptionMatches(PyExc_RuntimeError))
		t = sysfast_RuntimeError;
	else if (PyErr_ExceptionMatches(PyExc_Exception))
		t = sysfast_Exception;
	sysfast_err_set(t, "a Python exception is pending");
	return -1;
}

/* ---- What the module's libsysfast hooks read ---- */

static struct hook_data *all_hook_data;
static pthread_mutex_t hook_data_lock = PTHREAD_MUTEX_INITIALIZER;

/* The interpreter a live hook belongs to. */
static PyInterpreterState *owner(const struct hook_data *data)
{
	return data->interp ? data->interp : PyInterpreterState_Main();
}

bool sysfast__hook_data_applies(const struct hook_data *data)
{
	return data->callable && PyInterpreterState_Get() == owner(data);
}

struct hook_data *sysfast__hook_data_new(PyObject *callable, PyObject *message)
{
	struct hook_data *data = PyMem_RawCalloc(1, sizeof(*data));

	if (!data) {
		PyErr_NoMemory();
		return NULL;
	}
	data->interp = PyInterpreterState_Get();
	Py_INCREF(callable);
	data->callable = callable;
	Py_XINCREF(message);
	data->message = message;
	return data;
}

static void free_patterns(char **patterns, size_t n)
{
	for (size_t i = 0; patterns && i < n; i++)
		PyMem_RawFree(patterns[i]);
	PyMem_RawFree(patterns);
}

void sysfast__hook_data_free(struct hook_data *data)
{
	Py_XDECREF(data->callable);
	Py_XDECREF(data->message);
	free_patterns(data->patterns, data->n_patterns);
	PyMem_RawFree(data);
}

void sysfast__hook_data_list(struct hook_data *data)
{
	pthread_mutex_lock(&hook_data_lock);
	data->next = all_hook_data;
	all_hook_data = data;
	pthread_mutex_unlock(&hook_data_lock);
}

struct hook_data *sysfast__hook_data_first(void)
{
	struct hook_data *data;

	pthread_mutex_lock(&hook_data_lock);
	data = all_hook_data;
	pthread_mutex_unlock(&hook_data_lock);
	return data;
}

/* The list is walked without the lock, which a finalizer that Py_CLEAR
 * runs might want (it may subscribe). */
void sysfast__release_interpreter_hooks(void)
{
	PyInterpreterState *interp = PyInterpreterState_Get();

	for (struct hook_data *data = sysfast__hook_data_first(); data; data = data->next)
		if (data->callable && owner(data) == interp) {
			/* The last chance to write what a sink holds: its
			 * target may go with the interpreter. */
			if (data->sink)
				sysfast__sink_close(data->sink);
			data->interp = NULL;
			Py_CLEAR(data->callable);
			Py_CLEAR(data->message);
		}
}

bool sysfast__pattern_matches(const char *pattern, size_t n, const char *name, size_t len)
{
	if (n > 0 && pattern[n - 1] == '*')
		return len >= n - 1 && memcmp(pattern, name, n - 1) == 0;
	return len == n && memcmp(pattern, name, len) == 0;
}

bool sysfast__hook_data_matches(const char *name, size_t len)
{
	for (struct hook_data *data = sysfast__hook_data_first(); data; data = data->next) {
		if (!sysfast__hook_data_applies(data))
			continue;
		if (!data->patterns)
			return true;
		for (size_t i = 0; i < data->n_patterns; i++)
			if (sysfast__pattern_matches(data->patterns[i], strlen(data->patterns[i]),
			                             name, len))
				return true;
	}
	return false;
}

/* The bridged tuple itself, or () for the events that libsysfast raises,
 * which have no arguments. */
PyObject *sysfast__python_args(const sysfast_args *args)
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

int sysfast__refuse_if_sealed(const char *what)
{
	if (!__atomic_load_n(&sysfast__sealed, __ATOMIC_RELAXED))
		return 0;
	PyErr_Format(PyExc_PermissionError, "sysfast is sealed: %s refused", what);
	return -1;
}

/* A copy of `n` patterns, in PyMem_Raw blocks; NULL when out of memory. */
static char **copy_patterns(const char *const *patterns, size_t n)
{
	char **copy = PyMem_RawCalloc(n, sizeof(*copy));

	for (size_t i = 0; copy && i < n; i++) {
		size_t len = strlen(patterns[i]) + 1;

		copy[i] = PyMem_RawMalloc(len);
		if (!copy[i]) {
			free_patterns(copy, n);
			return NULL;
		}
		memcpy(copy[i], patterns[i], len);
	}
	return copy;
}

int sysfast__add_hook(sysfast_audit_hook fn, struct hook_data *data, PyObject *events,
                      PyObject **tuple)
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
		data->patterns = copy_patterns(patterns, opts.n_events);
		if (!data->patterns) {
			PyMem_Free(patterns);
			Py_CLEAR(*tuple);
			PyErr_NoMemory();
			return -1;
		}
		data->n_patterns = opts.n_events;
	}
	rc = sysfast_add_audit_hook_ex(fn, data, &opts);
	PyMem_Free(patterns);
	if (rc == 0)
		__atomic_fetch_add(&sysfast__watchers, 1, __ATOMIC_RELEASE);
	if (rc == 1)
		PyErr_Clear();
	if (rc < 0 && !PyErr_Occurred())
		sysfast__python_error_from_sysfast();
	sysfast_err_clear();
	if (rc != 0)
		Py_CLEAR(*tuple);
	return rc;
}

int sysfast__add_hook_preinit(sysfast_audit_hook fn, struct hook_data *data,
                              const char *const *patterns, size_t n)
{
	sysfast_hook_options opts = {0};

	if (patterns) {
		data->patterns = copy_patterns(patterns, n);
		if (!data->patterns) {
			sysfast_err_set(sysfast_MemoryError, "out of memory");
			return -1;
		}
		data->n_patterns = n;
		opts.events = patterns;
		opts.n_events = n;
	}
	/* No hook is there to refuse it (1). */
	if (sysfast_add_audit_hook_ex(fn, data, &opts) != 0) {
		free_patterns(data->patterns, data->n_patterns);
		data->patterns = NULL;
		return -1;
	}
	__atomic_fetch_add(&sysfast__watchers, 1, __ATOMIC_RELEASE);
	sysfast__hook_data_list(data);
	return 0;
}
