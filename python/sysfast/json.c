/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Python objects as JSON, rendered in C for the log sink: str, bytes,
 * int, float, bool, None, tuples and lists, path-likes; anything else as
 * its type name (docs/python.md, "The audit log").
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Tuples and lists nested deeper in an argument render as their type
 * name: a list that holds itself must end somewhere. */
#define LOG_MAX_DEPTH 32

void sysfast__out_init(struct out *o)
{
	o->p = o->small;
	o->len = 0;
	o->cap = sizeof(o->small);
	o->failed = false;
}

void sysfast__out_free(struct out *o)
{
	if (o->p != o->small)
		PyMem_RawFree(o->p);
}

bool sysfast__out_reserve(struct out *o, size_t n)
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

void sysfast__out_bytes(struct out *o, const char *s, size_t n)
{
	if (sysfast__out_reserve(o, n)) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	}
}

void sysfast__out_str(struct out *o, const char *s)
{
	sysfast__out_bytes(o, s, strlen(s));
}

/* Decimal digits without printf, which costs more than the rest of a
 * line. */
void sysfast__out_uint(struct out *o, unsigned long long v)
{
	/* Two digits a step: a line holds four numbers of up to 15 digits
	 * (time, pid, thread, often an id), and their digits were 15% of
	 * a logged event's profile one at a time. */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324"
	                            "25262728293031323334353637383940414243444546474849"
	                            "50515253545556575859606162636465666768697071727374"
	                            "75767778798081828384858687888990919293949596979899";
	char tmp[24];
	size_t i = sizeof(tmp);

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		tmp[--i] = pairs[d + 1];
		tmp[--i] = pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = pairs[v * 2 + 1];
		tmp[--i] = pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	sysfast__out_bytes(o, tmp + i, sizeof(tmp) - i);
}

void sysfast__out_int(struct out *o, long long v)
{
	if (v < 0) {
		sysfast__out_bytes(o, "-", 1);
		sysfast__out_uint(o, 0ull - (unsigned long long)v);
	} else {
		sysfast__out_uint(o, (unsigned long long)v);
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
		sysfast__out_bytes(o, tmp, 2);
	} else if (c == '\n') {
		sysfast__out_bytes(o, "\\n", 2);
	} else if (c == '\r') {
		sysfast__out_bytes(o, "\\r", 2);
	} else if (c == '\t') {
		sysfast__out_bytes(o, "\\t", 2);
	} else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) {
		static const char digits[] = "0123456789abcdef";

		tmp[0] = '\\';
		tmp[1] = 'u';
		for (int i = 0; i < 4; i++)
			tmp[2 + i] = digits[(c >> (12 - 4 * i)) & 15];
		sysfast__out_bytes(o, tmp, 6);
	} else if (c < 0x80) {
		tmp[0] = (char)c;
		sysfast__out_bytes(o, tmp, 1);
	} else if (c < 0x800) {
		tmp[0] = (char)(0xc0 | (c >> 6));
		tmp[1] = (char)(0x80 | (c & 0x3f));
		sysfast__out_bytes(o, tmp, 2);
	} else if (c < 0x10000) {
		tmp[0] = (char)(0xe0 | (c >> 12));
		tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (c & 0x3f));
		sysfast__out_bytes(o, tmp, 3);
	} else {
		tmp[0] = (char)(0xf0 | (c >> 18));
		tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (c & 0x3f));
		sysfast__out_bytes(o, tmp, 4);
	}
}

/* A JSON string from valid UTF-8 (event names: libsysfast holds no
 * other kind). */
void sysfast__out_json_utf8(struct out *o, const char *s, size_t n)
{
	size_t run = 0;

	sysfast__out_bytes(o, "\"", 1);
	/* Runs of bytes that need no escape go in one copy; UTF-8's
	 * multi-byte sequences (0x80 and above) are among them. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sysfast__out_bytes(o, s + run, i - run);
		out_json_char(o, c);
		run = i + 1;
	}
	sysfast__out_bytes(o, s + run, n - run);
	sysfast__out_bytes(o, "\"", 1);
}

static void out_json_unicode(struct out *o, PyObject *str)
{
	int kind = PyUnicode_KIND(str);
	const void *data = PyUnicode_DATA(str);
	Py_ssize_t n = PyUnicode_GET_LENGTH(str);

	sysfast__out_bytes(o, "\"", 1);
	if (PyUnicode_IS_ASCII(str)) {
		/* Runs of characters that need no escape go in one copy. */
		const char *text = data;
		Py_ssize_t run = 0;

		for (Py_ssize_t i = 0; i < n; i++) {
			char c = text[i];

			if (c >= 0x20 && c != '"' && c != '\\')
				continue;
			sysfast__out_bytes(o, text + run, (size_t)(i - run));
			out_json_char(o, (Py_UCS4)c);
			run = i + 1;
		}
		sysfast__out_bytes(o, text + run, (size_t)(n - run));
	} else {
		for (Py_ssize_t i = 0; i < n; i++)
			out_json_char(o, PyUnicode_READ(kind, data, i));
	}
	sysfast__out_bytes(o, "\"", 1);
}

/* Bytes as {"bytes": "<hex>"}: unambiguous, whatever they hold. */
static void out_json_hex(struct out *o, const char *s, Py_ssize_t n)
{
	static const char digits[] = "0123456789abcdef";

	sysfast__out_str(o, "{\"bytes\":\"");
	if (sysfast__out_reserve(o, (size_t)n * 2))
		for (Py_ssize_t i = 0; i < n; i++) {
			o->p[o->len++] = digits[(unsigned char)s[i] >> 4];
			o->p[o->len++] = digits[(unsigned char)s[i] & 15];
		}
	sysfast__out_str(o, "\"}");
}

static void out_json_type(struct out *o, PyObject *obj)
{
	const char *name = Py_TYPE(obj)->tp_name;

	sysfast__out_str(o, "{\"type\":");
	sysfast__out_json_utf8(o, name, strlen(name));
	sysfast__out_str(o, "}");
}

static void out_json_int(struct out *o, PyObject *obj)
{
	int overflow;
	long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
	PyObject *text;

	if (!overflow) {
		sysfast__out_int(o, v);
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
	sysfast__out_str(o, PyUnicode_AsUTF8(text));
	Py_DECREF(text);
}

/* repr()'s shortest round-tripping digits; JSON has no inf or nan, so
 * those become the strings "Infinity", "-Infinity" and "NaN". */
void sysfast__out_json_float(struct out *o, double v)
{
	char *text;

	if (isnan(v)) {
		sysfast__out_str(o, "\"NaN\"");
		return;
	}
	if (isinf(v)) {
		sysfast__out_str(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
	if (!text) {
		PyErr_Clear();
		o->failed = true;
		return;
	}
	sysfast__out_str(o, text);
	PyMem_Free(text);
}

void sysfast__out_json_sequence(struct out *o, PyObject *seq, int depth)
{
	bool list = PyList_Check(seq);

	sysfast__out_bytes(o, "[", 1);
	/* A list's size is read again each time: __fspath__ may change it. */
	for (Py_ssize_t i = 0; i < (list ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq)); i++) {
		PyObject *item = list ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i);

		if (i)
			sysfast__out_bytes(o, ",", 1);
		Py_INCREF(item);
		sysfast__out_json_value(o, item, depth + 1);
		Py_DECREF(item);
	}
	sysfast__out_bytes(o, "]", 1);
}

bool sysfast__is_path_like(PyObject *obj)
{
	return PyObject_HasAttrString((PyObject *)Py_TYPE(obj), "__fspath__");
}

void sysfast__out_json_value(struct out *o, PyObject *obj, int depth)
{
	PyObject *path;

	if (obj == Py_None)
		sysfast__out_str(o, "null");
	else if (obj == Py_True)
		sysfast__out_str(o, "true");
	else if (obj == Py_False)
		sysfast__out_str(o, "false");
	else if (PyUnicode_Check(obj))
		out_json_unicode(o, obj);
	else if (PyLong_Check(obj))
		out_json_int(o, obj);
	else if (PyFloat_Check(obj))
		sysfast__out_json_float(o, PyFloat_AS_DOUBLE(obj));
	else if (PyBytes_Check(obj))
		out_json_hex(o, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj));
	else if (PyByteArray_Check(obj))
		out_json_hex(o, PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj));
	else if ((PyTuple_Check(obj) || PyList_Check(obj)) && depth < LOG_MAX_DEPTH)
		sysfast__out_json_sequence(o, obj, depth);
	else if (sysfast__is_path_like(obj) && (path = PyOS_FSPath(obj)) != NULL) {
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
