/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - exception classes and the per-thread error indicator.
 *
 * The indicator is a class pointer and a fixed message buffer inside the
 * thread's initial-exec TLS block, so setting, reading and clearing it is
 * a few %fs-relative stores: no allocation, no set-up, usable before
 * sysfast_init and from threads that never touched the rest of the library.
 * Classes form a single-inheritance tree; matching walks up from the class.
 *
 * A class pointer from the caller is checked against the classes that
 * exist (the built-in table, the list of created ones) by address before
 * it is read: a pointer that is not a class is an error or a no, never a
 * read of whatever it points at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* The built-in classes (error.h's table) in one array, so that "is this a
 * built-in class?" is a range check. */
enum {
#define BUILTIN_INDEX(name, parent) BUILTIN_##name,
	SYSFAST__EXCEPTION_CLASSES(BUILTIN_INDEX)
#undef BUILTIN_INDEX
	    N_BUILTINS
};

#define BUILTIN(name) (&builtin_classes[BUILTIN_##name])

static const struct sysfast_exc_type builtin_classes[N_BUILTINS] = {
/* The root names itself as its parent in the table, and has none. */
#define BUILTIN_ENTRY(name, parent)                                                                \
	[BUILTIN_##name] = {#name, BUILTIN_##name == BUILTIN_##parent ? NULL : BUILTIN(parent)},
    SYSFAST__EXCEPTION_CLASSES(BUILTIN_ENTRY)
#undef BUILTIN_ENTRY
};

#define BUILTIN_EXPORT(name, parent) const sysfast_exc_type *const sysfast_##name = BUILTIN(name);
SYSFAST__EXCEPTION_CLASSES(BUILTIN_EXPORT)
#undef BUILTIN_EXPORT

/* A user-defined class: immortal, on a list that only grows. */
struct class_block {
	struct class_block *next;
	struct sysfast_exc_type type;
	char name[];
};

static struct class_block *user_classes;

/* Whether `t` is a class (NULL is not), by its address alone. */
static bool is_class(const sysfast_exc_type *t)
{
	uintptr_t a = (uintptr_t)t, first = (uintptr_t)builtin_classes;
	const struct class_block *b;

	if (a >= first && a < first + sizeof(builtin_classes))
		return (a - first) % sizeof(builtin_classes[0]) == 0;
	for (b = __atomic_load_n(&user_classes, __ATOMIC_ACQUIRE); b; b = b->next)
		if (t == &b->type)
			return true;
	return false;
}

static void not_a_class(const sysfast_exc_type *t, const char *msg, size_t len);

/* Stores a message of known length, keeping a verbatim prefix when long.
 * A `t` that is not a class becomes a SystemError that says so. */
static void err_store(const sysfast_exc_type *t, const char *msg, size_t len)
{
	struct sysfast__error *e = &sysfast__tls.err;

	if (SYSFAST_UNLIKELY(t && !is_class(t))) {
		not_a_class(t, msg, len);
		return;
	}
	if (len > SYSFAST_ERR_MSG_MAX)
		len = SYSFAST_ERR_MSG_MAX;
	/* memmove: the message may come from this very buffer
	 * (sysfast_err_set(t, sysfast_err_message()) must work). */
	memmove(e->msg, msg, len);
	e->msg[len] = '\0';
	e->len = len;
	sysfast__audit_tls.err = t ? t : sysfast_SystemError;
}

/* The error for a message set with a class that is not one: CPython's
 * PyErr_SetObject gives SystemError there too. The message is kept after
 * the complaint. Formatted on the stack: `msg` may be the current
 * message. */
static void not_a_class(const sysfast_exc_type *t, const char *msg, size_t len)
{
	char buf[SYSFAST_ERR_MSG_MAX + 1];
	int n =
	    snprintf(buf, sizeof(buf), "error class %p is not an exception class; message: %.*s",
	             (const void *)t, (int)(len < sizeof(buf) ? len : sizeof(buf)), msg);

	err_store(sysfast_SystemError, buf, n < 0 ? 0 : (size_t)n);
}

const sysfast_exc_type *sysfast_exc_type_new(const char *name, const sysfast_exc_type *base)
{
	struct sysfast_exc_type *t;
	struct class_block *b;
	size_t len;

	if (!name || !*name) {
		const char *msg =
		    name ? "exception class name is empty" : "exception class name is NULL";

		err_store(sysfast_ValueError, msg, strlen(msg));
		return NULL;
	}
	if (base && !is_class(base)) {
		static const char msg[] = "exception class base is not an exception class";

		err_store(sysfast_ValueError, msg, sizeof(msg) - 1);
		return NULL;
	}
	len = strlen(name);
	/* One block: the class and its name live until the process exits. */
	b = sysfast__malloc(sizeof(*b) + len + 1);
	if (!b) {
		static const char msg[] = "out of memory creating an exception class";

		err_store(sysfast_MemoryError, msg, sizeof(msg) - 1);
		return NULL;
	}
	t = &b->type;
	memcpy(b->name, name, len + 1);
	t->name = b->name;
	t->base = base ? base : sysfast_Exception;
	/* Listed, so that classes stay reachable (for leak checkers too)
	 * after the caller drops its pointer. */
	b->next = __atomic_load_n(&user_classes, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&user_classes, &b->next, b, true, __ATOMIC_RELEASE,
	                                    __ATOMIC_RELAXED))
		;
	return t;
}

const char *sysfast_exc_type_name(const sysfast_exc_type *t)
{
	return is_class(t) ? t->name : NULL;
}

bool sysfast_exc_is_subclass(const sysfast_exc_type *t, const sysfast_exc_type *base)
{
	if (!is_class(base) || !is_class(t))
		return false;
	for (; t; t = t->base)
		if (t == base)
			return true;
	return false;
}

void sysfast_err_set(const sysfast_exc_type *t, const char *msg)
{
	if (!msg)
		msg = "";
	err_store(t, msg, strnlen(msg, SYSFAST_ERR_MSG_MAX + 1));
}

void sysfast_err_format(const sysfast_exc_type *t, const char *fmt, ...)
{
	/* Formatted on the stack, not in place: an argument may point into
	 * the current message. */
	char buf[SYSFAST_ERR_MSG_MAX + 1];
	va_list va;
	int n;

	if (!fmt) {
		err_store(t, "", 0);
		return;
	}
	va_start(va, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, va);
	va_end(va);
	if (n < 0)
		n = 0;
	err_store(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

const sysfast_exc_type *sysfast_err_occurred(void)
{
	return sysfast__audit_tls.err;
}

bool sysfast_err_matches(const sysfast_exc_type *base)
{
	return sysfast_exc_is_subclass(sysfast__audit_tls.err, base);
}

const char *sysfast_err_message(void)
{
	return sysfast__audit_tls.err ? sysfast__tls.err.msg : "";
}

void sysfast_err_clear(void)
{
	sysfast__audit_tls.err = NULL;
	sysfast__tls.err.len = 0;
	sysfast__tls.err.msg[0] = '\0';
}

void sysfast__err_save(struct sysfast__error *saved)
{
	struct sysfast__error *e = &sysfast__tls.err;

	saved->type = sysfast__audit_tls.err;
	saved->len = e->len;
	memcpy(saved->msg, e->msg, e->len + 1);
	sysfast__audit_tls.err = NULL;
	e->len = 0;
	e->msg[0] = '\0';
}

void sysfast__err_restore(const struct sysfast__error *saved)
{
	struct sysfast__error *e = &sysfast__tls.err;

	sysfast__audit_tls.err = saved->type;
	e->len = saved->len;
	memcpy(e->msg, saved->msg, saved->len + 1);
}

int sysfast__not_initialized(void)
{
	sysfast_err_set(sysfast_SystemError, "sysfast is not initialized");
	return -1;
}
