/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast._sysfast - libsysfast's audit hooks for Python programs: the
 * module, and its functions that belong to no hook (listening, seal,
 * stats). internal.h lists the other files.
 */
#include "internal.h"

#include <string.h>

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
	if (__atomic_load_n(&sysfast__sealed, __ATOMIC_RELAXED)
	    && strcmp(name, "sys.addaudithook") == 0)
		Py_RETURN_TRUE;
	return PyBool_FromLong(sysfast__hook_data_matches(name, (size_t)len));
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
	if (__atomic_load_n(&sysfast__sealed, __ATOMIC_RELAXED))
		Py_RETURN_NONE;
	__atomic_store_n(&sysfast__sealed, true, __ATOMIC_RELAXED);
	__atomic_fetch_add(&sysfast__watchers, 1, __ATOMIC_RELEASE);
	sysfast_audit_seal();
	Py_RETURN_NONE;
}

PyDoc_STRVAR(stats_doc, "stats()\n--\n\n"
                        "Counters since the bridge went in (at the first import, or when\n"
                        "sysfast-python started), as a dict: \"seen\" (events the bridge\n"
                        "received), \"matched\" (of those, events that some subscription\n"
                        "or policy listened to), \"denied\" (operations a deny policy\n"
                        "refused), \"logged\" (lines log sinks took) and \"suppressed\"\n"
                        "(lines a rate limit held back, each counted in a summary line).");

static PyObject *stats_fn(PyObject *module, PyObject *unused)
{
	(void)module;
	(void)unused;
	return Py_BuildValue(
	    "{sKsKsKsKsK}", "seen", __atomic_load_n(&sysfast__stats.seen, __ATOMIC_RELAXED),
	    "matched", __atomic_load_n(&sysfast__stats.matched, __ATOMIC_RELAXED), "denied",
	    __atomic_load_n(&sysfast__stats.denied, __ATOMIC_RELAXED), "logged",
	    __atomic_load_n(&sysfast__stats.logged, __ATOMIC_RELAXED), "suppressed",
	    __atomic_load_n(&sysfast__stats.suppressed, __ATOMIC_RELAXED));
}

static PyMethodDef module_methods[] = {
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

	if (sysfast__install_bridge() < 0)
		return NULL;
	module = PyModule_Create(&module_def);
	if (!module)
		return NULL;
	if (sysfast__subscribe_add(module) < 0 || sysfast__deny_add(module) < 0
	    || sysfast__sink_add(module) < 0
	    || PyModule_AddStringConstant(module, "libsysfast_version", sysfast_version()) < 0) {
		Py_DECREF(module);
		return NULL;
	}
	return module;
}
