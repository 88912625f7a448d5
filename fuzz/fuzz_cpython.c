/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness with CPython as the reference for the format
 * language: the same event, format and arguments go to PySys_Audit (CPython
 * 3.11 embedded, with a native hook that keeps the tuple) and to
 * sysfast_audit (with a hook that compares what it gets with that tuple,
 * item by item). Both must succeed or fail alike, with the same values
 * and, on failure, the same exception class - except where API.md
 * deliberately differs; each such case is named below with the contract's
 * words.
 *
 * Input: byte 0 picks the class of argument (text, int, 8-byte integer,
 * double, object) in its low bits and the format's length (up to 24) in
 * the others; then one byte per format character, mapped to that class's
 * codes or to "()[]{}" and ignored characters; then each argument's value.
 * A va_list cannot be made at run time, so every call passes 24 arguments
 * of the one C type that all the class's codes read (as fuzz_format does):
 * const char * for "szy", int for "ibhBHIcCp" (non-negative for the
 * unsigned codes), long long for "lLnkK" (non-negative for "kK"; LP64,
 * where long, long long and ssize_t share a representation), double for
 * "df", and object pointers for "OS" (PyObject * to CPython, the matching
 * sysfast_object * to libsysfast). '#' and the codes CPython would read
 * with another type ('u', 'N', 'D', 'O&') are left out.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysfast/sysfast.h>

#include "fuzz.h"
#include "fuzz_input.h"

#define EVENT "fuzz.cpython"
#define FORMAT_MAX 24
#define NARGS 24
#define OBJS 4

enum { C_TEXT, C_INT, C_WORD, C_DOUBLE, C_OBJ, CLASSES };
static const char *const class_codes[CLASSES] = {"szy", "ibhBHIcCp", "lLnkK", "df", "OS"};
/* Structure and ignored characters, and 'x', a code neither knows. */
static const char structure[] = "()()[]{} ,:\tx";

static PyObject *py_objs[OBJS];
static sysfast_object sf_objs[OBJS];
static const sysfast_type sf_type = {"fuzzobj", 0, NULL, NULL};

/* What CPython's hook kept: the tuple of the last EVENT, or NULL. */
static PyObject *py_args;
static int sf_calls;
static bool sf_same;

/* CPython keeps much of what it allocates until Py_Finalize, which a
 * fuzzer never reaches, some of it in its own arenas that LeakSanitizer
 * does not scan, and where libpython is linked in (fuzz/build.sh) its
 * frames are not even named: leak reports here would be CPython's. This
 * harness looks for differences; the other harnesses look for leaks. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static int py_hook(const char *event, PyObject *args, void *ud)
{
	(void)ud;
	if (strcmp(event, EVENT) == 0) {
		Py_XDECREF(py_args);
		py_args = Py_NewRef(args);
	}
	return 0;
}

static bool same_text(PyObject *o, const char *p, size_t len)
{
	PyObject *b;
	bool same;

	if (!PyUnicode_CheckExact(o))
		return false;
	/* Lone surrogates (from 'C') as their three UTF-8-like bytes. */
	b = PyUnicode_AsEncodedString(o, "utf-8", "surrogatepass");
	CHECK(b != NULL);
	same = (size_t)PyBytes_GET_SIZE(b) == len && !memcmp(PyBytes_AS_STRING(b), p, len);
	Py_DECREF(b);
	return same;
}

static bool same_value(const sysfast_arg *a, PyObject *o)
{
	switch (a->kind) {
	case SYSFAST_ARG_NONE:
		return o == Py_None;
	case SYSFAST_ARG_INT: {
		long long v;

		if (!PyLong_CheckExact(o))
			return false;
		v = PyLong_AsLongLong(o);
		CHECK(!PyErr_Occurred());
		return v == a->v.i;
	}
	case SYSFAST_ARG_UINT: {
		unsigned long long v;

		if (!PyLong_CheckExact(o))
			return false;
		v = PyLong_AsUnsignedLongLong(o);
		CHECK(!PyErr_Occurred());
		return v == a->v.u;
	}
	case SYSFAST_ARG_FLOAT: {
		double v;

		if (!PyFloat_CheckExact(o))
			return false;
		v = PyFloat_AS_DOUBLE(o);
		return isnan(v) ? isnan(a->v.f) : !memcmp(&v, &a->v.f, sizeof(v));
	}
	case SYSFAST_ARG_STR:
		return same_text(o, a->v.s, a->len);
	case SYSFAST_ARG_BYTES:
		return PyBytes_CheckExact(o) && (size_t)PyBytes_GET_SIZE(o) == a->len
		       && !memcmp(PyBytes_AS_STRING(o), a->v.p, a->len);
	case SYSFAST_ARG_OBJECT:
		for (size_t i = 0; i < OBJS; i++)
			if (a->v.o == &sf_objs[i])
				return o == py_objs[i];
		return false;
	case SYSFAST_ARG_TUPLE:
		if (!PyTuple_CheckExact(o) || (size_t)PyTuple_GET_SIZE(o) != a->len)
			return false;
		for (size_t i = 0; i < a->len; i++)
			if (!same_value(&a->v.items[i], PyTuple_GET_ITEM(o, i)))
				return false;
		return true;
	case SYSFAST_ARG_BOOL: {
		/* 'p', which CPython got as 'i' (see call_cpython). */
		long long v;

		if (!PyLong_CheckExact(o))
			return false;
		v = PyLong_AsLongLong(o);
		CHECK(!PyErr_Occurred());
		return a->v.b == (v != 0);
	}
	default: /* PTR: no CPython format gives it */
		return false;
	}
}

/* Compares inside the hook: text from 'c' lives only during the call. */
static int sf_hook(sysfast_event_id id, const char *name, const sysfast_args *args, void *ud)
{
	const sysfast_arg tuple = SYSFAST_TUPLE(args->items, args->n);

	(void)id, (void)ud;
	if (strcmp(name, EVENT) == 0) {
		sf_calls++;
		sf_same = py_args && same_value(&tuple, py_args);
	}
	return 0;
}

/* ---- the input ---- */

struct call {
	char format[FORMAT_MAX + 1];
	unsigned cls;
	const char *text[NARGS];
	int ints[NARGS];
	long long words[NARGS];
	double doubles[NARGS];
	PyObject *py[NARGS];
	const sysfast_object *sf[NARGS];
	char strings[NARGS][16];
	bool invalid_utf8; /* some 's'/'z' text is not UTF-8 */
};

static bool is_utf8(const char *s)
{
	PyObject *u = PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "strict");

	if (!u) {
		PyErr_Clear();
		return false;
	}
	Py_DECREF(u);
	return true;
}

static void decode(struct call *c, struct fuzz_input *in)
{
	unsigned b = fuzz_byte(in), len = (b >> 3) % (FORMAT_MAX + 1);
	const char *codes;
	size_t n_codes, k = 0;

	c->cls = (b & 7) % CLASSES;
	codes = class_codes[c->cls];
	n_codes = strlen(codes);
	for (unsigned i = 0; i < len; i++) {
		unsigned x = fuzz_byte(in);

		c->format[i] = x & 1 ? structure[(x >> 1) % (sizeof(structure) - 1)]
		                     : codes[(x >> 1) % n_codes];
	}
	c->format[len] = '\0';
	/* The values, in the order the codes read them. */
	for (const char *p = c->format; *p && k < NARGS; p++) {
		if (!strchr(codes, *p))
			continue;
		switch (c->cls) {
		case C_TEXT: {
			unsigned n = fuzz_byte(in);

			if (n == 0xff) {
				c->text[k] = NULL;
				break;
			}
			n %= sizeof(c->strings[k]);
			for (unsigned j = 0; j < n; j++)
				c->strings[k][j] = (char)(fuzz_byte(in) | 1);
			c->strings[k][n] = '\0';
			c->text[k] = c->strings[k];
			if (*p != 'y' && !is_utf8(c->text[k]))
				c->invalid_utf8 = true;
			break;
		}
		case C_INT: {
			uint32_t v =
			    fuzz_byte(in) | fuzz_byte(in) << 8 | (uint32_t)fuzz_u16(in) << 16;

			/* The unsigned codes read unsigned int: non-negative. */
			c->ints[k] = strchr("BHI", *p) ? (int)(v & INT32_MAX) : (int)v;
			break;
		}
		case C_WORD: {
			uint64_t v = 0;

			for (int j = 0; j < 8; j++)
				v = v << 8 | fuzz_byte(in);
			c->words[k] = strchr("kK", *p) ? (long long)(v & INT64_MAX) : (long long)v;
			break;
		}
		case C_DOUBLE: {
			uint64_t v = 0;

			for (int j = 0; j < 8; j++)
				v = v << 8 | fuzz_byte(in);
			memcpy(&c->doubles[k], &v, sizeof(v));
			break;
		}
		default: {
			unsigned i = fuzz_byte(in);

			c->py[k] = i == 0xff ? NULL : py_objs[i % OBJS];
			c->sf[k] = i == 0xff ? NULL : &sf_objs[i % OBJS];
			break;
		}
		}
		k++;
	}
}

#define A24(a)                                                                                     \
	a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],    \
	    a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], a[22], a[23]

/* API.md: "`p` (int, gives BOOL)" and "`P` (any pointer, gives PTR; a
 * libsysfast addition)": CPython 3.11's Py_BuildValue has neither code.
 * CPython gets 'i' where libsysfast gets 'p', and the comparison reads
 * the int's truth ('P' reads a pointer, which no class here passes with
 * other codes, so it is left to fuzz_format).
 *
 * API.md: "Spaces, tabs, `,` and `:` are ignored." CPython skips them only
 * before a code: after the last item of a tuple of several it fails
 * ("zz:" gives SystemError "Unmatched paren in format"), and a format of
 * nothing else builds None, which PySys_Audit makes (None,) where the
 * contract says "A format of only ignored characters means 0 arguments".
 * CPython gets the format without them. */
static int call_cpython(const struct call *c)
{
	char format[FORMAT_MAX + 1], *out = format;

	for (const char *p = c->format; *p; p++)
		if (!strchr(" \t,:", *p))
			*out++ = *p == 'p' ? 'i' : *p;
	*out = '\0';
	switch (c->cls) {
	case C_TEXT:
		return PySys_Audit(EVENT, format, A24(c->text));
	case C_INT:
		return PySys_Audit(EVENT, format, A24(c->ints));
	case C_WORD:
		return PySys_Audit(EVENT, format, A24(c->words));
	case C_DOUBLE:
		return PySys_Audit(EVENT, format, A24(c->doubles));
	default:
		return PySys_Audit(EVENT, format, A24(c->py));
	}
}

/* The function, whether or not sysfast_audit is also a macro. */
static int call_sysfast(const struct call *c)
{
	switch (c->cls) {
	case C_TEXT:
		return (sysfast_audit)(EVENT, c->format, A24(c->text));
	case C_INT:
		return (sysfast_audit)(EVENT, c->format, A24(c->ints));
	case C_WORD:
		return (sysfast_audit)(EVENT, c->format, A24(c->words));
	case C_DOUBLE:
		return (sysfast_audit)(EVENT, c->format, A24(c->doubles));
	default:
		return (sysfast_audit)(EVENT, c->format, A24(c->sf));
	}
}

/* Brackets that do not pair up, kinds included: one closes nothing or
 * the wrong kind, or one stays open. */
static bool unbalanced(const char *f)
{
	char open[FORMAT_MAX + 1];
	size_t depth = 0;

	for (; *f; f++) {
		const char *o = strchr("([{", *f), *c = strchr(")]}", *f);

		if (*f && o)
			open[depth++] = *f;
		else if (*f && c && (depth == 0 || open[--depth] != "([{"[c - ")]}"]))
			return true;
	}
	return depth != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fuzz_input in = {data, data + size};
	static struct call c;
	const char *py_err = NULL;
	int py_rc, sf_rc;

	if (!ready) {
		CHECK(PySys_AddAuditHook(py_hook, NULL) == 0);
		Py_InitializeEx(0);
		py_objs[0] = Py_None;
		py_objs[1] = PyLong_FromLong(42);
		py_objs[2] = PyUnicode_FromString("obj");
		/* No tuple: CPython would take a lone tuple object as the
		 * arguments themselves, and a sysfast_object is never one. */
		py_objs[3] = PyFloat_FromDouble(1.5);
		for (size_t i = 0; i < OBJS; i++)
			sf_objs[i].type = &sf_type;
		CHECK(sysfast_init() == 0);
		CHECK(sysfast_add_audit_hook(sf_hook, NULL) == 0);
		ready = true;
	}
	memset(&c, 0, sizeof(c));
	decode(&c, &in);

	Py_CLEAR(py_args);
	/* API.md: "Anything else (..., unbalanced parentheses, ...) is -1
	 * with `sysfast_SystemError`". CPython 3.11's Py_BuildValue is no
	 * reference there: a ')', ']' or '}' that closes nothing throws its
	 * item count off, and after some thousands of such calls it writes
	 * through a bad pointer (seeds cpython-unbalanced-*: a SEGV in
	 * libpython's modsupport code, under PySys_Audit). Such formats, and
	 * brackets of the wrong kind, go to libsysfast only. */
	if (unbalanced(c.format)) {
		sf_calls = 0;
		CHECK(call_sysfast(&c) == -1 && sysfast_err_occurred() == sysfast_SystemError);
		CHECK(sf_calls == 0);
		sysfast_err_clear();
		return 0;
	}
	py_rc = call_cpython(&c);
	if (py_rc < 0) {
		PyObject *type, *value, *tb;

		PyErr_Fetch(&type, &value, &tb);
		CHECK(type != NULL);
		py_err = ((PyTypeObject *)type)->tp_name;
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
		CHECK(py_args == NULL);
	}
	sf_calls = 0;
	sf_same = false;
	sf_rc = call_sysfast(&c);
	CHECK(sf_rc == 0 || sf_rc == -1);
	CHECK(sf_calls == (sf_rc == 0));

	/* API.md: "Anything else (`N`, `[`, `{`, ...) is -1 with
	 * `sysfast_SystemError`": the subset has no lists or dicts. */
	if (strpbrk(c.format, "[]{}")) {
		CHECK(sf_rc == -1 && sysfast_err_occurred() == sysfast_SystemError);
		goto done;
	}
	/* API.md: "a bad format `sysfast_SystemError`, and no hook is
	 * called": libsysfast checks the whole format before it builds a
	 * value, where CPython builds from left to right and may fail on a
	 * value first (":Cxx" with a code point out of range: ValueError). */
	if (strchr(c.format, 'x')) {
		CHECK(sf_rc == -1 && sysfast_err_occurred() == sysfast_SystemError);
		CHECK(py_rc == -1);
		goto done;
	}
	/* API.md: "STR text is not validated (hooks treat it as bytes)":
	 * CPython decodes 's' and 'z' text as UTF-8 and fails on bad bytes. */
	if (c.invalid_utf8 && py_rc == -1 && !strcmp(py_err, "UnicodeDecodeError"))
		goto done;
	if (py_rc != sf_rc)
		fprintf(stderr, "format \"%s\": CPython %d (%s), libsysfast %d (%s)\n", c.format,
		        py_rc, py_err ? py_err : "-", sf_rc,
		        sf_rc ? sysfast_exc_type_name(sysfast_err_occurred()) : "-");
	CHECK(py_rc == sf_rc);
	if (sf_rc == 0) {
		if (!sf_same) {
			fprintf(stderr, "format \"%s\": the values differ; CPython's: ", c.format);
			PyObject_Print(py_args, stderr, 0);
			fprintf(stderr, "\n");
		}
		CHECK(sf_same);
	} else {
		if (strcmp(py_err, sysfast_exc_type_name(sysfast_err_occurred())))
			fprintf(stderr, "format \"%s\": CPython %s, libsysfast %s: %s\n", c.format,
			        py_err, sysfast_exc_type_name(sysfast_err_occurred()),
			        sysfast_err_message());
		CHECK(!strcmp(py_err, sysfast_exc_type_name(sysfast_err_occurred())));
	}
done:
	sysfast_err_clear();
	Py_CLEAR(py_args);
	return 0;
}
