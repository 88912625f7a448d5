/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the audit format parser: PySys_Audit's Py_BuildValue subset.
 *
 * sysfast_audit("open", "(szi)", path, mode, flags) turns its varargs into a
 * sysfast_args inside a struct sysfast__argbuf on the caller's stack, so an
 * audit call never touches the heap, whatever the format.
 *
 * Parsing takes two passes. The first, sysfast__format_check, reads only the
 * format: every code, the nesting and the slot count. A va_list cannot be
 * rewound, and reading an argument the caller never passed is undefined
 * behaviour (a garbage char * handed to strlen), so a bad format must be
 * rejected before the first va_arg. The second pass reads the arguments and
 * can then fail only on a bad value: 'O' or 'S' with NULL, 'C' out of range.
 *
 * The first pass comes in two forms. flat_scan is a tight loop that knows
 * only the common shapes, "si" and "(si)", notes where their values are and
 * gives up on anything else; check, the general one, then runs from the
 * start and is the only code that reports a bad format, so an error reads
 * the same whichever pass saw the format first. What flat_scan learns can
 * be kept (struct sysfast__format_plan): sysfast_audit's per-thread memo
 * (audit.c) keeps it with a copy of the format's text, and a later call
 * with the same text runs the second pass alone.
 *
 * Layout: formats without nesting, or one tuple around values ("(si)", by
 * far the most common), fill slots[0..n) in one go. Otherwise the
 * top-level values take slots[0..k). When a tuple is opened, its
 * direct children are counted and the next free slots are reserved for them
 * as one contiguous block, which is what v.items points at. Nesting uses an
 * explicit stack, not recursion; it is bounded by SYSFAST_ARGS_MAX because
 * every tuple takes a slot, so "((((..." fails the slot limit long before
 * it could hurt.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "data.h"

/* Bytes of the format quoted in error messages; longer ones end in "...". */
#define FORMAT_QUOTE_MAX 64

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define TOO_MANY "too many values (more than " STRINGIFY(SYSFAST_ARGS_MAX) ") from format char"

/* What each format byte is, looked up in one load: the check pass and
 * count_children test every byte of the format on every audit call. */
enum {
	IGNORED = 1u << 0,     /* separators, as in Py_BuildValue */
	VALUE = 1u << 1,       /* reads varargs and builds one value */
	TAKES_LENGTH = 1u << 2 /* may be followed by '#' (pointer + ssize_t) */
};

/*
 * The format's codes, written once: X(code, class, how), `how` being what
 * build_value does for a value code. The class table below and
 * build_value's switch both expand it.
 */
#define FORMAT_CODES(X)                                                                            \
	X(' ', IGNORED, NOT_A_VALUE)                                                               \
	X('\t', IGNORED, NOT_A_VALUE)                                                              \
	X(',', IGNORED, NOT_A_VALUE)                                                               \
	X(':', IGNORED, NOT_A_VALUE)                                                               \
	X('s', VALUE | TAKES_LENGTH, TEXT)                                                         \
	X('z', VALUE | TAKES_LENGTH, TEXT)                                                         \
	X('y', VALUE | TAKES_LENGTH, TEXT)                                                         \
	X('c', VALUE, CHAR)                                                                        \
	X('C', VALUE, CHAR)                                                                        \
	X('O', VALUE, OBJECT)                                                                      \
	X('S', VALUE, OBJECT)                                                                      \
	X('b', VALUE, SIGNED(int))                                                                 \
	X('h', VALUE, SIGNED(int))                                                                 \
	X('i', VALUE, SIGNED(int))                                                                 \
	X('l', VALUE, SIGNED(long))                                                                \
	X('L', VALUE, SIGNED(long long))                                                           \
	X('n', VALUE, SIGNED(ssize_t))                                                             \
	X('B', VALUE, UNSIGNED(unsigned int))                                                      \
	X('H', VALUE, UNSIGNED(unsigned int))                                                      \
	X('I', VALUE, UNSIGNED(unsigned int))                                                      \
	X('k', VALUE, UNSIGNED(unsigned long))                                                     \
	X('K', VALUE, UNSIGNED(unsigned long long))                                                \
	X('d', VALUE, DOUBLE)                                                                      \
	X('f', VALUE, DOUBLE)                                                                      \
	X('p', VALUE, BOOL)                                                                        \
	X('P', VALUE, POINTER)

static const unsigned char code_class[256] = {
#define CODE_CLASS(code, cls, how) [(unsigned char)(code)] = (cls),
    FORMAT_CODES(CODE_CLASS)
#undef CODE_CLASS
};

static bool is_ignored(char c)
{
	return code_class[(unsigned char)c] & IGNORED;
}

static bool is_value_code(char c)
{
	return code_class[(unsigned char)c] & VALUE;
}

static bool takes_length(char c)
{
	return code_class[(unsigned char)c] & TAKES_LENGTH;
}

/* `c` as messages show it: itself when printable ASCII, else \xNN, so
 * that a fuzzed format cannot put control bytes into an error message. */
static const char *char_repr(char c, char out[5])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u < 0x7f) {
		out[0] = c;
		out[1] = '\0';
		return out;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[u >> 4];
	out[3] = hex[u & 0xf];
	out[4] = '\0';
	return out;
}

/* Room for a quoted format: every byte as \xNN, then "...". */
#define FORMAT_QUOTE_SIZE (FORMAT_QUOTE_MAX * 4 + sizeof("..."))

/* `format` as messages quote it: at most FORMAT_QUOTE_MAX bytes, each as
 * char_repr shows it (a fuzzed format's control bytes must not reach a
 * message here either), '"' and '\\' as \xNN so that the quotes around
 * it stay unambiguous, then "..." if the format is longer. */
static const char *quote_format(const char *format, char out[FORMAT_QUOTE_SIZE])
{
	size_t o = 0, i;

	for (i = 0; i < FORMAT_QUOTE_MAX && format[i]; i++) {
		char c[5];

		if (format[i] == '"' || format[i] == '\\')
			o += (size_t)snprintf(out + o, 5, "\\x%02x", (unsigned char)format[i]);
		else
			o += (size_t)snprintf(out + o, 5, "%s", char_repr(format[i], c));
	}
	snprintf(out + o, sizeof("..."), "%s", format[i] ? "..." : "");
	return out;
}

/* Sets error `t`: <what> '<char>' at position <pos> in audit format "<format>",
 * the format quoted by quote_format. Returns -1. */
static int format_error(const sysfast_exc_type *t, const char *what, const char *format, size_t pos)
{
	char quoted[FORMAT_QUOTE_SIZE];
	char c[5];

	sysfast_err_format(t, "%s '%s' at position %zu in audit format \"%s\"", what,
	                   char_repr(format[pos], c), pos, quote_format(format, quoted));
	return -1;
}

/* What the check pass learns about a valid format. */
struct shape {
	size_t n_slots;   /* every value and tuple */
	size_t n_args;    /* C arguments read: one per value, two for '#' */
	size_t n_top;     /* values and tuples at the top level */
	size_t max_depth; /* deepest nesting of parentheses */
	bool tuple_first; /* the first top-level value is a tuple */
};

/*
 * Checks `format` (NULL is the empty format) without reading any argument:
 * known codes only, '#' right after 's', 'z' or 'y', balanced parentheses,
 * at most SYSFAST_ARGS_MAX slots (each value and each tuple takes one).
 * Fills *sh and returns 0, or returns -1 with sysfast_SystemError naming the
 * first offending character and its position. Needs no stack beyond a few
 * counters, whatever the format.
 */
static int check(const char *format, struct shape *sh)
{
	size_t depth = 0, open_pos = 0;
	const char *p;

	*sh = (struct shape){0};
	for (p = format; p && *p; p++) {
		size_t pos = (size_t)(p - format);

		if (is_ignored(*p))
			continue;
		if (*p == ')') {
			if (depth == 0)
				return format_error(sysfast_SystemError, "unmatched", format, pos);
			depth--;
			continue;
		}
		if (*p != '(' && !is_value_code(*p))
			return format_error(sysfast_SystemError, "bad format char", format, pos);
		if (++sh->n_slots > SYSFAST_ARGS_MAX)
			return format_error(sysfast_SystemError, TOO_MANY, format, pos);
		if (depth == 0 && sh->n_top++ == 0)
			sh->tuple_first = *p == '(';
		/* The '(' that takes the depth from 0 to 1 is the outermost one
		 * still open; if the format ends unbalanced, it is the culprit. */
		if (*p == '(' && depth++ == 0)
			open_pos = pos;
		if (depth > sh->max_depth)
			sh->max_depth = depth;
		if (*p != '(')
			sh->n_args++;
		if (takes_length(*p) && p[1] == '#') {
			sh->n_args++;
			p++;
		}
	}
	if (depth > 0)
		return format_error(sysfast_SystemError, "unmatched", format, open_pos);
	return 0;
}

/*
 * The first pass for the common shapes: value codes and separators only
 * ("s#i"), or the same inside one pair of parentheses that opens and ends
 * the format ("(si)"), at most SYSFAST_ARGS_MAX - 1 values (so that the
 * slot limit cannot apply). Points vals[0..n) at the value codes and
 * returns n, so that the second pass goes straight from value to value.
 * -1 for any other format, valid or not: check decides about those.
 * `format` is not NULL. Forced inline: nearly every audit call runs it,
 * and for "(si)" the call costs 6 instructions on top of its 45.
 */
static inline __attribute__((always_inline)) long flat_scan(const char *format,
                                                            const char *vals[SYSFAST_ARGS_MAX])
{
	const char *p = format + (*format == '(');
	long n = 0;

	for (;; p++) {
		unsigned char cls = code_class[(unsigned char)*p];

		if (cls & VALUE) {
			if (n == SYSFAST_ARGS_MAX - 1)
				return -1;
			vals[n++] = p;
			if ((cls & TAKES_LENGTH) && p[1] == '#')
				p++;
		} else if (!(cls & IGNORED)) {
			break;
		}
	}
	if (*format == '(' && *p++ != ')')
		return -1;
	return *p == '\0' ? n : -1;
}

int sysfast__format_check(const char *format, size_t *n_slots)
{
	const char *vals[SYSFAST_ARGS_MAX];
	struct shape sh;
	long n = format ? flat_scan(format, vals) : 0;

	if (SYSFAST_LIKELY(n >= 0)) {
		sh.n_slots = (size_t)n + (format && *format == '(');
	} else if (check(format, &sh) < 0) {
		return -1;
	}
	if (n_slots)
		*n_slots = sh.n_slots;
	return 0;
}

/* Where the second pass reads the arguments. */
struct source {
	va_list *va;
};

/* The next argument, as `type` (an integer or pointer type), or as a
 * double. */
#define NEXT(src, type) va_arg(*(src)->va, type)
#define NEXT_DOUBLE(src) va_arg(*(src)->va, double)

/* The second pass's state. */
struct builder {
	struct sysfast__argbuf *buf;
	const char *format;
	struct source *src;
	size_t next_free; /* first slot not yet reserved */
};

/* Values directly inside the tuple whose contents start at `p` (or the
 * top level, when `p` is the format), up to its ')' or the end. Only for a
 * format that passed sysfast__format_check. */
static size_t count_children(const char *p)
{
	size_t n = 0, depth = 0;

	for (; *p; p++) {
		if (*p == '(') {
			if (depth++ == 0)
				n++;
		} else if (*p == ')') {
			if (depth-- == 0)
				break;
		} else if (depth == 0 && is_value_code(*p)) {
			n++;
		}
	}
	return n;
}

/* Reserves the next `n` free slots as one block; returns its first index.
 * Never overflows: the check pass counted every slot. */
static size_t reserve(struct builder *b, size_t n)
{
	size_t first = b->next_free;

	b->next_free += n;
	return first;
}

/* UTF-8 of `cp` (0..0x10FFFF) into `out`; returns the byte count. Lone
 * surrogates (U+D800..U+DFFF) get the plain 3-byte form, as CPython's
 * 'surrogatepass' would: a Python str may hold them and STR text is not
 * validated anyway. */
static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* 's' 'z' 'y', with or without '#'. The length is read even for a NULL
 * pointer, to stay in step with the caller's arguments. */
static inline __attribute__((always_inline)) sysfast_arg read_text(char code, bool counted,
                                                                   struct source *src)
{
	const char *s = NEXT(src, const char *);
	ssize_t n = counted ? NEXT(src, ssize_t) : -1;
	size_t len;

	if (!s)
		return SYSFAST_NONE();
	len = n < 0 ? sysfast__short_strlen(s) : (size_t)n;
	return code == 'y' ? SYSFAST_BYTES(s, len) : SYSFAST_STRN(s, len);
}

/* 'c' and 'C' keep their bytes in the slot's text cell, NUL-terminated
 * whenever the cell has room after them. */
static int build_char(struct builder *b, const char *p, size_t idx)
{
	char *text = b->buf->text[idx];
	int v = NEXT(b->src, int);
	char what[64];

	memset(text, 0, sizeof(b->buf->text[idx]));
	if (*p == 'c') {
		text[0] = (char)v;
		b->buf->slots[idx] = SYSFAST_BYTES(text, 1);
		return 0;
	}
	if (v < 0 || v > 0x10ffff) {
		snprintf(what, sizeof(what), "code point %d not in range(0x110000) passed to", v);
		return format_error(sysfast_ValueError, what, b->format, (size_t)(p - b->format));
	}
	b->buf->slots[idx] = SYSFAST_STRN(text, utf8_encode((uint32_t)v, text));
	return 0;
}

/* 'O' and 'S': CPython would crash on NULL (Py_INCREF); we refuse it. */
static int build_object(struct builder *b, const char *p, size_t idx)
{
	const struct sysfast_object *o = NEXT(b->src, const struct sysfast_object *);

	if (!o)
		return format_error(sysfast_SystemError, "NULL object passed to", b->format,
		                    (size_t)(p - b->format));
	b->buf->slots[idx] = SYSFAST_OBJ(o);
	return 0;
}

/* Builds the value whose code is at *pp into slot `idx`, stepping *pp over
 * a '#' it consumes. One switch for every code: this runs once per value
 * of every audit call. 'b' 'h' 'B' 'H' take the promoted int or unsigned
 * unchecked, like Py_BuildValue; 'f' is a promoted double. */
static int build_value(struct builder *b, const char **pp, size_t idx)
{
	sysfast_arg *slot = &b->buf->slots[idx];
	struct source *src = b->src;
	const char *p = *pp;

	switch (*p) {
#define TEXT                                                                                       \
	*slot = read_text(*p, p[1] == '#', src);                                                   \
	*pp += p[1] == '#';                                                                        \
	return 0;
#define CHAR return build_char(b, p, idx);
#define OBJECT return build_object(b, p, idx);
#define SIGNED(type)                                                                               \
	*slot = SYSFAST_INT(NEXT(src, type));                                                      \
	return 0;
#define UNSIGNED(type)                                                                             \
	*slot = SYSFAST_UINT(NEXT(src, type));                                                     \
	return 0;
#define DOUBLE                                                                                     \
	*slot = SYSFAST_FLOAT(NEXT_DOUBLE(src));                                                   \
	return 0;
#define BOOL                                                                                       \
	*slot = SYSFAST_BOOL(NEXT(src, int) != 0);                                                 \
	return 0;
#define POINTER                                                                                    \
	*slot = SYSFAST_PTR(NEXT(src, const void *));                                              \
	return 0;
#define NOT_A_VALUE break;
#define BUILD_CASE(code, cls, how)                                                                 \
	case code:                                                                                 \
		how
		FORMAT_CODES(BUILD_CASE)
#undef BUILD_CASE
#undef NOT_A_VALUE
#undef POINTER
#undef BOOL
#undef DOUBLE
#undef UNSIGNED
#undef SIGNED
#undef OBJECT
#undef CHAR
#undef TEXT
	}
	/* Only value codes of a checked format get here. */
	return format_error(sysfast_SystemError, "bad format char", b->format,
	                    (size_t)(p - b->format));
}

/* Opens the tuple whose '(' is at `p` in slot `idx`: reserves its
 * children's block and returns the block's first index. */
static size_t open_tuple(struct builder *b, const char *p, size_t idx)
{
	size_t n = count_children(p + 1);
	size_t first = reserve(b, n);

	b->buf->slots[idx] = SYSFAST_TUPLE(&b->buf->slots[first], n);
	return first;
}

/* The second pass, over a checked format with `n_top` top-level values. */
static int build_all(struct builder *b, size_t n_top)
{
	/* resume[d]: the slot after the tuple at depth d, where its parent
	 * goes on once it is closed. */
	size_t resume[SYSFAST_ARGS_MAX];
	size_t depth = 0;
	size_t cur = reserve(b, n_top);
	const char *p;

	for (p = b->format; *p; p++) {
		if (is_ignored(*p))
			continue;
		if (*p == ')') {
			cur = resume[--depth];
			continue;
		}
		if (*p == '(') {
			resume[depth++] = cur + 1;
			cur = open_tuple(b, p, cur);
			continue;
		}
		if (build_value(b, &p, cur++) < 0)
			return -1;
	}
	return 0;
}

/* The common shapes, "si" and "(si)": values side by side, at most one
 * tuple around them, which the result unwraps anyway. The `n` values whose
 * codes vals[] points at go into slots[0..n), no blocks to reserve. */
static inline __attribute__((always_inline)) int
build_flat(struct builder *b, const char *const *vals, size_t n, sysfast_args *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = vals[i];

		if (sysfast__args_build_common(b->buf, p, i, b->src->va))
			continue;
		if (build_value(b, &p, i) < 0)
			return -1;
	}
	out->n = n;
	out->items = b->buf->slots;
	return 0;
}

/* The value codes of a checked format, in order, into vals[]; their count. */
static size_t flat_values(const char *format, const char *vals[SYSFAST_ARGS_MAX])
{
	size_t n = 0;

	for (const char *p = format; *p; p++)
		if (is_value_code(*p))
			vals[n++] = p;
	return n;
}

/* The second pass for any valid format, of the shape the check found. Out
 * of line, so that the common case carries none of its stack. */
static __attribute__((noinline)) int build_shaped(struct builder *b, const struct shape *sh,
                                                  sysfast_args *out)
{
	out->items = b->buf->slots;
	if (sh->n_slots == 0) {
		out->n = 0;
		return 0;
	}
	if (sh->max_depth == 0 || (sh->max_depth == 1 && sh->n_top == 1 && sh->tuple_first)) {
		const char *vals[SYSFAST_ARGS_MAX];

		return build_flat(b, vals, flat_values(b->format, vals), out);
	}
	if (build_all(b, sh->n_top) < 0)
		return -1;
	/* PySys_Audit passes a tuple result as the arguments themselves. */
	if (sh->n_top == 1 && b->buf->slots[0].kind == SYSFAST_ARG_TUPLE) {
		out->n = b->buf->slots[0].len;
		out->items = b->buf->slots[0].v.items;
		return 0;
	}
	out->n = sh->n_top;
	return 0;
}

/* Any other valid format, or a bad one (whose error this reports). */
static int build_general(struct builder *b, sysfast_args *out)
{
	struct shape sh;

	if (check(b->format, &sh) < 0)
		return -1;
	return build_shaped(b, &sh, out);
}

bool sysfast__format_plan(const char *format, struct sysfast__format_plan *plan)
{
	const char *vals[SYSFAST_ARGS_MAX];
	long n = format ? flat_scan(format, vals) : 0;

	if (n < 0 || n > SYSFAST__PLAN_MAX)
		return false;
	plan->n = (uint8_t)n;
	for (long k = 0; k < n; k++) {
		size_t off = (size_t)(vals[k] - format);

		if (off > UINT8_MAX)
			return false;
		plan->off[k] = (uint8_t)off;
	}
	return true;
}

int sysfast__args_build_value(struct sysfast__argbuf *buf, const char *format, const char *p,
                              size_t idx, va_list *va)
{
	struct source src = {va};
	struct builder b = {buf, format, &src, 0};

	return build_value(&b, &p, idx);
}

int sysfast__args_build(struct sysfast__argbuf *buf, const char *format, va_list *va,
                        sysfast_args *out)
{
	struct source src = {va};
	struct builder b = {buf, format, &src, 0};
	const char *vals[SYSFAST_ARGS_MAX];
	long n = format ? flat_scan(format, vals) : 0;

	if (SYSFAST_LIKELY(n >= 0))
		return build_flat(&b, vals, (size_t)n, out);
	return build_general(&b, out);
}
