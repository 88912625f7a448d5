/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A CPython extension module that links libsysfast, imported by a plain
 * `python3` (extmod_import.py): the interpreter loads it, and libsysfast
 * with it, through dlopen.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include <sysfast/sysfast.h>

static unsigned long seen;

static int count_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *data)
{
	(void)id;
	(void)args;
	(void)data;
	/* Not the lifecycle events sysfast_fini raises. */
	if (strncmp(name, "extmod.", 7) == 0)
		seen++;
	return 0;
}

/* roundtrip(n): raises n events through a libsysfast hook; returns how
 * many the hook saw. */
static PyObject *roundtrip(PyObject *self, PyObject *arg)
{
	long n = PyLong_AsLong(arg);

	(void)self;
	if (n < 0 && PyErr_Occurred())
		return NULL;
	seen = 0;
	if (sysfast_init() < 0 || sysfast_add_audit_hook(count_hook, NULL) < 0)
		goto fail;
	for (long i = 0; i < n; i++)
		if (SYSFAST_AUDIT("extmod.event", SYSFAST_INT(i)) < 0
		    || sysfast_audit("extmod.format", "l", i) < 0)
			goto fail;
	sysfast_fini();
	return PyLong_FromUnsignedLong(seen);
fail:
	PyErr_Format(PyExc_RuntimeError, "libsysfast: %s", sysfast_err_message());
	sysfast_fini();
	return NULL;
}

static PyObject *version(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyUnicode_FromString(sysfast_version());
}

static PyMethodDef methods[] = {
    {"roundtrip", roundtrip, METH_O, "Raise n events through a hook; return how many it saw."},
    {"version", version, METH_NOARGS, "libsysfast's version."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "sysfast_dltest",
    "libsysfast loaded by an extension module",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit_sysfast_dltest(void)
{
	return PyModule_Create(&module);
}
