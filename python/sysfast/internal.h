/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysfast._sysfast's own declarations, shared by its files; not API.
 *
 *   bridge.c     the native CPython hook, the name cache, the import check
 *   hooks.c      what the module's libsysfast hooks read; adding one
 *   subscribe.c  sysfast.subscribe() and Subscription
 *   deny.c       sysfast.deny()
 *   json.c       rendering Python objects as JSON, in C
 *   sink.c       sysfast.log(), flush() and LogSink: the JSON Lines sink
 *   module.c     listening(), seal(), stats() and the module itself
 *   ../launcher.c  sysfast-python, which links all of the above in
 *
 * Everything runs with the GIL held: CPython calls audit hooks with it,
 * and the module's functions are called from Python. The counters and
 * the bridge's flags are read and written with atomic loads and stores
 * anyway, because hooks run on every thread and stats() may be read
 * while they do.
 */
#ifndef SYSFAST_PYTHON_INTERNAL_H
#define SYSFAST_PYTHON_INTERNAL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stddef.h>

#include <sysfast/sysfast.h>

/* ---- bridge.c ---- */

/* libsysfast hooks this module added, plus one once sealed (the seal's
 * refusal of "sys.addaudithook" needs the native hook to look): while 0,
 * the native hook returns at once. Atomic. */
extern unsigned sysfast__watchers;
/* seal() was called: no more hooks or removals. Atomic. */
extern bool sysfast__sealed;

extern struct sysfast__stats {
	unsigned long long seen, matched, denied, logged, suppressed;
} sysfast__stats;

/* Only hooks count, and CPython calls hooks with the GIL held (3.11 has
 * one GIL for all interpreters): a plain increment cannot race, and it
 * saves the locked one's cost on the path of every event. The stores
 * and loads are atomic so that stats() never reads a torn value. */
static inline void sysfast__count(unsigned long long *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Starts libsysfast and makes sure the native hook is in, adding it if
 * not. Returns 0, or -1 with a Python exception (ImportError, or the
 * error of a hook that failed the check event). With the GIL. */
int sysfast__install_bridge(void);

/* For sysfast-python, before Py_Initialize: starts libsysfast and adds the
 * native hook. Returns 0, or -1 with a message in err. */
int sysfast__install_bridge_preinit(char *err, size_t errlen);

/* ---- hooks.c ---- */

/*
 * libsysfast hooks cannot be removed, so what one reads is never freed.
 * Its Python objects belong to the interpreter that made the hook: when
 * that interpreter is cleared they are released, and the hook does
 * nothing from then on (another interpreter may later get the same
 * address). All of them are listed for that.
 */
struct hook_data {
	struct hook_data *next;
	/* The interpreter that made the hook; NULL for one that
	 * sysfast-python made before CPython started, which belongs to the
	 * main interpreter. */
	PyInterpreterState *interp;
	/* A subscription's hook, a policy's exception class or a log
	 * sink's target; NULL once closed or once the interpreter is gone. */
	PyObject *callable;
	PyObject *message; /* a policy's message, or NULL */
	/* The patterns, UTF-8 (owned, PyMem_Raw); NULL: every event. */
	char **patterns;
	size_t n_patterns;
	struct log_sink *sink; /* a log sink's state, or NULL */
};

/* Raises the pending libsysfast error as the Python exception of the same
 * kind, and clears it; returns -1. */
int sysfast__python_error_from_sysfast(void);

/* A libsysfast hook's way out when a Python exception is pending; returns
 * -1 (see hooks.c). */
int sysfast__fail_with_python_error(void);

/* Whether `data`'s hook is live and belongs to the current interpreter. */
bool sysfast__hook_data_applies(const struct hook_data *data);

/* A new hook_data holding `callable` and `message` (new references), not
 * yet listed. NULL with MemoryError. */
struct hook_data *sysfast__hook_data_new(PyObject *callable, PyObject *message);

/* Frees one that libsysfast never got. */
void sysfast__hook_data_free(struct hook_data *data);

/* Lists `data`, now that libsysfast has it. */
void sysfast__hook_data_list(struct hook_data *data);

/* The head of the list: entries are only ever added at the head and
 * never freed, so a walk from it needs no lock. */
struct hook_data *sysfast__hook_data_first(void);

/* The current interpreter is being cleared: its hooks let go. */
void sysfast__release_interpreter_hooks(void);

/* Whether a live hook of the current interpreter matches `name`. */
bool sysfast__hook_data_matches(const char *name, size_t len);

/* Whether `pattern` (n bytes) matches the event `name`, as libsysfast
 * matches them. */
bool sysfast__pattern_matches(const char *pattern, size_t n, const char *name, size_t len);

/* The Python tuple of a libsysfast event (a new reference), or NULL with
 * SystemError. */
PyObject *sysfast__python_args(const sysfast_args *args);

/* PermissionError naming `what` once sealed: -1; else 0. */
int sysfast__refuse_if_sealed(const char *what);

/* Adds a libsysfast hook for `events` (None: every event) and gives its
 * patterns to `data`. Returns 0 when added, with the patterns as a tuple
 * in *tuple; 1 when a hook on "sys.addaudithook" refused it with
 * RuntimeError (the Python exception is cleared, as sys.addaudithook
 * does); -1 with a Python exception. */
int sysfast__add_hook(sysfast_audit_hook fn, struct hook_data *data, PyObject *events,
                      PyObject **tuple);

/* As sysfast__add_hook, before CPython starts, and listed: `patterns` (n;
 * NULL: every event) are copied. Returns 0, or -1 with libsysfast's
 * error. */
int sysfast__add_hook_preinit(sysfast_audit_hook fn, struct hook_data *data,
                              const char *const *patterns, size_t n);

/* ---- subscribe.c, deny.c, sink.c: their part of the module ---- */

int sysfast__subscribe_add(PyObject *module);
int sysfast__deny_add(PyObject *module);
int sysfast__sink_add(PyObject *module);

/* Flushes and closes a sink; its target's file descriptor is closed if
 * the sink opened it. */
void sysfast__sink_close(struct log_sink *sink);

/* For sysfast-python, before Py_Initialize: a sink that writes every
 * argument of the events matching `patterns` (n; NULL: every event) to
 * the file at `path`, opened for appending. Returns 0, or -1 with a
 * message in err. */
int sysfast__sink_preinit(const char *path, const char *const *patterns, size_t n, char *err,
                          size_t errlen);

/* ---- json.c ---- */

/* A growing buffer that starts on the stack; `failed` once out of
 * memory, after which appends do nothing. */
struct out {
	char *p;
	size_t len, cap;
	bool failed;
	char small[512];
};

void sysfast__out_init(struct out *o);
void sysfast__out_free(struct out *o);
bool sysfast__out_reserve(struct out *o, size_t n);
void sysfast__out_bytes(struct out *o, const char *s, size_t n);
void sysfast__out_str(struct out *o, const char *s);
void sysfast__out_uint(struct out *o, unsigned long long v);
void sysfast__out_int(struct out *o, long long v);
/* A JSON string from valid UTF-8. */
void sysfast__out_json_utf8(struct out *o, const char *s, size_t n);
void sysfast__out_json_float(struct out *o, double v);
/* Any Python object, by the rules in docs/python.md ("The audit log");
 * tuples and lists deeper than `depth` allows render as their type. */
void sysfast__out_json_value(struct out *o, PyObject *obj, int depth);
void sysfast__out_json_sequence(struct out *o, PyObject *seq, int depth);
bool sysfast__is_path_like(PyObject *obj);

/* ---- module.c ---- */

PyMODINIT_FUNC PyInit__sysfast(void);

#endif
