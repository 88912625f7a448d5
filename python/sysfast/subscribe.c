/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast.subscribe(): a Python hook called by a libsysfast hook with
 * the subscription's patterns, and the Subscription that closes it.
 */
#include "internal.h"

static int subscription_hook(sysfast_event_id id, const char *name, const sysfast_args *args,
                             void *userdata)
{
	struct hook_data *sub = userdata;
	PyObject *callable = sub->callable, *call[2], *result;

	(void)id;
	if (!sysfast__hook_data_applies(sub))
		return 0;
	call[0] = PyUnicode_FromString(name);
	if (!call[0])
		return sysfast__fail_with_python_error();
	call[1] = sysfast__python_args(args);
	if (!call[1]) {
		Py_DECREF(call[0]);
		return sysfast__fail_with_python_error();
	}
	/* close() may drop the last reference while the call runs. */
	Py_INCREF(callable);
	result = PyObject_Vectorcall(callable, call, 2, NULL);
	Py_DECREF(callable);
	Py_DECREF(call[0]);
	Py_DECREF(call[1]);
	if (!result)
		return sysfast__fail_with_python_error();
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
	if (sysfast__refuse_if_sealed("subscribe") < 0)
		return NULL;
	self = PyObject_New(SubscriptionObject, Subscription_Type);
	if (!self)
		return NULL;
	self->sub = NULL;
	self->events = NULL;
	self->removable = removable;
	self->closed = false;
	sub = sysfast__hook_data_new(hook, NULL);
	if (!sub) {
		Py_DECREF(self);
		return NULL;
	}
	rc = sysfast__add_hook(subscription_hook, sub, events, &tuple);
	if (rc != 0) {
		sysfast__hook_data_free(sub);
		Py_DECREF(self);
		if (rc < 0)
			return NULL;
		Py_RETURN_NONE;
	}
	sysfast__hook_data_list(sub);
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
	if (sysfast__refuse_if_sealed("close") < 0)
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

static PyMethodDef methods[] = {
    {"subscribe", (PyCFunction)(void (*)(void))subscribe, METH_VARARGS | METH_KEYWORDS,
     subscribe_doc},
    {NULL, NULL, 0, NULL},
};

/* The type is made anew each time CPython starts: the last one went with
 * the interpreter that made it. */
int sysfast__subscribe_add(PyObject *module)
{
	Subscription_Type = (PyTypeObject *)PyType_FromSpec(&Subscription_spec);
	if (!Subscription_Type)
		return -1;
	if (PyModule_AddObjectRef(module, "Subscription", (PyObject *)Subscription_Type) < 0)
		return -1;
	return PyModule_AddFunctions(module, methods);
}
