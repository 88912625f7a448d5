/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * _bench_floor: the floor for python/bench/event_bench.py, a native
 * CPython audit hook (PySys_AddAuditHook) that returns at once. Whatever
 * a native hook does costs at least this; sysfast's bridge is one.
 * Test-only: built with the benchmarks, never installed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int noop_hook(const char *event, PyObject *args, void *userdata)
{
	(void)event;
	(void)args;
	(void)userdata;
	return 0;
}

static PyObject *install(PyObject *module, PyObject *unused)
{
	(void)module;
	(void)unused;
	if (PySys_AddAuditHook(noop_hook, NULL) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"install", install, METH_NOARGS, "install()\n--\n\nAdd the no-op native audit hook."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_bench_floor",
    .m_doc = "A native audit hook that does nothing: the floor of event_bench.py.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__bench_floor(void)
{
	return PyModule_Create(&module_def);
}
