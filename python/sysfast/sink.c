/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast.log(), flush() and LogSink: the JSON Lines sink.
 *
 * A log sink is a libsysfast hook that renders each event as one JSON
 * line in C and appends it to the sink's buffer, which goes to the
 * target's file descriptor when full, at flush() and close(), and when
 * the interpreter is cleared (at exit, after atexit handlers). A line is
 * rendered outside the sink's lock (rendering a path-like object may run
 * its __fspath__, which may raise events of its own) and appended whole
 * under it, so lines from several threads never interleave; the lock
 * does not lean on the GIL.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUFFER_SIZE 65536

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

/* getpid() is a system call: the pid is kept, and set anew in a child
 * of fork(). */
static pid_t log_pid;

/* {"time":... */
static void out_time(struct out *o)
{
	struct timespec ts;
	char micro[7];
	long us;

	clock_gettime(CLOCK_REALTIME, &ts);
	us = ts.tv_nsec / 1000;
	for (int i = 5; i >= 0; i--, us /= 10)
		micro[i + 1] = (char)('0' + us % 10);
	micro[0] = '.';
	sysfast__out_str(o, "{\"time\":");
	sysfast__out_int(o, (long long)ts.tv_sec);
	sysfast__out_bytes(o, micro, sizeof(micro));
}

/* {"time":...,"pid":... */
static void out_time_pid(struct out *o)
{
	out_time(o);
	sysfast__out_str(o, ",\"pid\":");
	sysfast__out_int(o, (long long)log_pid);
}

/* ,"pid":...,"thread":...,"event": as last rendered, and for which pid
 * and thread: a run of events on one thread renders it once. Lines are
 * rendered with the GIL held (by hooks, and by flush() and close()), so
 * one copy for the process is enough. */
static struct {
	pid_t pid;
	unsigned long thread;
	size_t len;
	char text[80];
} line_ids;

static void out_line_head(struct out *o, const char *name)
{
	unsigned long thread = PyThread_get_thread_ident();

	out_time(o);
	if (line_ids.len == 0 || line_ids.pid != log_pid || line_ids.thread != thread) {
		struct out ids;

		sysfast__out_init(&ids);
		sysfast__out_str(&ids, ",\"pid\":");
		sysfast__out_int(&ids, (long long)log_pid);
		sysfast__out_str(&ids, ",\"thread\":");
		sysfast__out_uint(&ids, thread);
		sysfast__out_str(&ids, ",\"event\":");
		/* Always fits: two numbers of at most 20 digits. */
		memcpy(line_ids.text, ids.p, ids.len);
		line_ids.len = ids.len;
		line_ids.pid = log_pid;
		line_ids.thread = thread;
		sysfast__out_free(&ids);
	}
	sysfast__out_bytes(o, line_ids.text, line_ids.len);
	sysfast__out_json_utf8(o, name, strlen(name));
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
			if (sysfast__pattern_matches(sink->select[i].pattern, sink->select[i].len,
			                             name, strlen(name))) {
				sel = &sink->select[i];
				mode = sel->mode;
				break;
			}
	}
	out_line_head(o, name);
	if (mode == LOG_ARGS_ALL) {
		sysfast__out_str(o, ",\"args\":");
		/* The argument tuple is not an argument: its items are at
		 * depth 0. */
		if (tuple)
			sysfast__out_json_sequence(o, tuple, -1);
		else
			sysfast__out_str(o, "[]");
	} else if (mode == LOG_ARGS_SOME) {
		bool first = true;

		sysfast__out_str(o, ",\"args\":[");
		for (Py_ssize_t i = 0; i < sel->n_indices; i++) {
			if (sel->indices[i] >= n)
				continue;
			if (!first)
				sysfast__out_bytes(o, ",", 1);
			first = false;
			sysfast__out_json_value(o, PyTuple_GET_ITEM(tuple, sel->indices[i]), 0);
		}
		sysfast__out_str(o, "]");
	}
	sysfast__out_str(o, "}\n");
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

	sysfast__out_init(&o);
	out_time_pid(&o);
	sysfast__out_str(&o, ",\"event\":");
	sysfast__out_json_utf8(&o, name, strlen(name));
	sysfast__out_str(&o, ",\"suppressed\":");
	sysfast__out_uint(&o, slot->suppressed);
	sysfast__out_str(&o, ",\"rate_limit\":[");
	sysfast__out_uint(&o, sink->rate_lines);
	sysfast__out_bytes(&o, ",", 1);
	sysfast__out_json_float(&o, sink->rate_seconds);
	sysfast__out_str(&o, "]}\n");
	if (!o.failed) {
		sink_append_locked(sink, o.p, o.len);
		slot->suppressed = 0;
	}
	sysfast__out_free(&o);
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

void sysfast__sink_close(struct log_sink *sink)
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
	for (struct hook_data *data = sysfast__hook_data_first(); data; data = data->next) {
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
			sysfast__count(&sysfast__stats.suppressed);
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

	if (!sysfast__hook_data_applies(data))
		return 0;
	if (args->n == 1 && args->items[0].kind == SYSFAST_ARG_PTR)
		tuple = (PyObject *)args->items[0].v.p;
	if (sink->rate_lines && !rate_admits(sink, id))
		return 0;
	sysfast__out_init(&line);
	render_line(&line, sink, name, tuple);
	if (line.failed) {
		sysfast__out_free(&line);
		PyErr_NoMemory();
		return sysfast__fail_with_python_error();
	}
	pthread_mutex_lock(&sink->lock);
	if (!sink->closed) {
		sink_append_locked(sink, line.p, line.len);
		sysfast__count(&sysfast__stats.logged);
	}
	pthread_mutex_unlock(&sink->lock);
	sysfast__out_free(&line);
	return 0;
}

/* A sink with no target yet, that writes every argument; NULL when out
 * of memory. Needs no Python. */
static struct log_sink *sink_new(void)
{
	struct log_sink *sink = PyMem_RawCalloc(1, sizeof(*sink));

	if (!sink)
		return NULL;
	pthread_mutex_init(&sink->lock, NULL);
	sink->fd = -1;
	sink->args = LOG_ARGS_ALL;
	sink->buf = PyMem_RawMalloc(LOG_BUFFER_SIZE);
	if (!sink->buf) {
		pthread_mutex_destroy(&sink->lock);
		PyMem_RawFree(sink);
		return NULL;
	}
	return sink;
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
	if (PyUnicode_Check(target) || PyBytes_Check(target) || sysfast__is_path_like(target)) {
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
	if (sysfast__refuse_if_sealed("log") < 0)
		return NULL;
	sink = sink_new();
	if (!sink)
		return PyErr_NoMemory();
	if (parse_log_args(sink, log_args) < 0 || parse_rate_limit(sink, rate) < 0
	    || open_target(sink, target) < 0)
		goto fail;
	self = PyObject_New(LogSinkObject, LogSink_Type);
	if (!self)
		goto fail;
	self->data = NULL;
	self->events = NULL;
	self->closed = false;
	data = sysfast__hook_data_new(target, NULL);
	if (!data) {
		Py_DECREF(self);
		goto fail;
	}
	data->sink = sink;
	rc = sysfast__add_hook(log_hook, data, events, &tuple);
	if (rc != 0) {
		sysfast__hook_data_free(data);
		Py_DECREF(self);
		/* As for a policy: a sink refused in silence would leave the
		 * caller believing the events are recorded. */
		if (rc > 0)
			PyErr_SetString(PyExc_RuntimeError, "sysfast: a hook refused the log sink");
		goto fail;
	}
	sysfast__hook_data_list(data);
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
	for (data = sysfast__hook_data_first(); data; data = data->next) {
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
	if (sysfast__refuse_if_sealed("close") < 0)
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

static PyMethodDef methods[] = {
    {"log", (PyCFunction)(void (*)(void))log_fn, METH_VARARGS | METH_KEYWORDS, log_doc},
    {"flush", flush_fn, METH_NOARGS, flush_doc},
    {NULL, NULL, 0, NULL},
};

static bool atfork_added;

/* What every sink needs of the process: its pid, and a word when it
 * forks. Returns 0, or -1 if pthread_atfork failed. */
static int sinks_start(void)
{
	/* Once per process, even if CPython starts again. */
	if (!atfork_added) {
		if (pthread_atfork(NULL, NULL, sinks_forget_parent) != 0)
			return -1;
		atfork_added = true;
	}
	log_pid = getpid();
	return 0;
}

int sysfast__sink_add(PyObject *module)
{
	if (sinks_start() < 0) {
		PyErr_SetString(PyExc_ImportError, "sysfast: pthread_atfork failed");
		return -1;
	}
	/* Made anew each time CPython starts, as Subscription is. */
	LogSink_Type = (PyTypeObject *)PyType_FromSpec(&LogSink_spec);
	if (!LogSink_Type)
		return -1;
	if (PyModule_AddObjectRef(module, "LogSink", (PyObject *)LogSink_Type) < 0)
		return -1;
	return PyModule_AddFunctions(module, methods);
}

/* The hook_data of a sink made before CPython starts has no Python
 * object of its own to hold: None stands for the target, which only has
 * to be there while the sink is live. It belongs to the main interpreter
 * (interp NULL), whose clearing at exit flushes and closes it. */
int sysfast__sink_preinit(const char *path, const char *const *patterns, size_t n, char *err,
                          size_t errlen)
{
	struct log_sink *sink;
	struct hook_data *data;

	if (sinks_start() < 0) {
		snprintf(err, errlen, "pthread_atfork failed");
		return -1;
	}
	sink = sink_new();
	data = PyMem_RawCalloc(1, sizeof(*data));
	if (!sink || !data) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sink->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (sink->fd < 0) {
		snprintf(err, errlen, "SYSFAST_LOG: can't open log '%s': %s", path,
		         strerror(errno));
		goto fail;
	}
	sink->owns_fd = true;
	data->sink = sink;
	Py_INCREF(Py_None);
	data->callable = Py_None;
	if (sysfast__add_hook_preinit(log_hook, data, patterns, n) < 0) {
		snprintf(err, errlen, "SYSFAST_EVENTS: %s", sysfast_err_message());
		sysfast_err_clear();
		close(sink->fd);
		goto fail;
	}
	return 0;
fail:
	if (sink)
		sink_free(sink);
	PyMem_RawFree(data);
	return -1;
}
