/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast.deny(): a libsysfast hook that refuses an operation in C, by
 * raising the policy's exception.
 */
#include "internal.h"

static int deny_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                     void *userdata)
{
	struct hook_data *policy = userdata;

	(void)id;
	(void)args;
	if (!sysfast__hook_data_applies(policy))
		return 0;
	sysfast__count(&sysfast__stats.denied);
	if (policy->message)
		PyErr_SetObject(policy->callable, policy->message);
	else
		PyErr_Format(policy->callable, "%s: denied by a sysfast policy", name);
	return sysfast__fail_with_python_error();
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
	if (sysfast__refuse_if_sealed("deny") < 0)
		return NULL;
	policy = sysfast__hook_data_new(exception, message == Py_None ? NULL : message);
	if (!policy)
		return NULL;
	rc = sysfast__add_hook(deny_hook, policy, events, &tuple);
	if (rc != 0) {
		sysfast__hook_data_free(policy);
		/* Unlike a subscription, a policy refused in silence would
		 * leave the caller believing it is protected. */
		if (rc > 0)
			PyErr_SetString(PyExc_RuntimeError, "sysfast: a hook refused the policy");
		return NULL;
	}
	sysfast__hook_data_list(policy);
	Py_DECREF(tuple);
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"deny", (PyCFunction)(void (*)(void))deny, METH_VARARGS | METH_KEYWORDS, deny_doc},
    {NULL, NULL, 0, NULL},
};

int sysfast__deny_add(PyObject *module)
{
	return PyModule_AddFunctions(module, methods);
}
