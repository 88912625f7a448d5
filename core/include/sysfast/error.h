/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - exception classes and the per-thread error indicator.
 *
 * Every thread has one error indicator, like CPython's: a class and a
 * message. Functions that fail return -1 or NULL and set it. Setting an
 * error never allocates: the message lives in a fixed per-thread buffer of
 * SYSFAST_ERR_MSG_MAX bytes and longer messages keep a verbatim prefix.
 *
 * All functions in this header work before sysfast_init().
 */
#ifndef SYSFAST_ERROR_H
#define SYSFAST_ERROR_H

#include <sysfast/common.h>

/* Bytes of message kept per thread, terminating NUL not included. */
#define SYSFAST_ERR_MSG_MAX 511

SYSFAST_BEGIN_DECLS

typedef struct sysfast_exc_type sysfast_exc_type;

/* The built-in classes, sysfast_<name>, each with its parent (the root,
 * BaseException, names itself). Names are bare ("ValueError"). Written
 * once: the declarations below and the library's table both expand it. */
#define SYSFAST__EXCEPTION_CLASSES(X)                                                              \
	X(BaseException, BaseException)                                                            \
	X(Exception, BaseException)                                                                \
	X(RuntimeError, Exception)                                                                 \
	X(RecursionError, RuntimeError)                                                            \
	X(TypeError, Exception)                                                                    \
	X(ValueError, Exception)                                                                   \
	X(ArithmeticError, Exception)                                                              \
	X(OverflowError, ArithmeticError)                                                          \
	X(MemoryError, Exception)                                                                  \
	X(OSError, Exception)                                                                      \
	X(PermissionError, OSError)                                                                \
	X(SystemError, Exception)                                                                  \
	X(KeyboardInterrupt, BaseException)                                                        \
	X(SystemExit, BaseException)

#define SYSFAST__EXCEPTION_DECLARE(name, parent)                                                   \
	SYSFAST_API extern const sysfast_exc_type *const sysfast_##name;
SYSFAST__EXCEPTION_CLASSES(SYSFAST__EXCEPTION_DECLARE)
#undef SYSFAST__EXCEPTION_DECLARE

/* Creates a new exception class deriving from `base` (NULL means
 * sysfast_Exception). The name is copied verbatim. Returns the class, which
 * lives until the process exits, or NULL with sysfast_ValueError for a NULL
 * or empty name or a `base` that is not a class, sysfast_MemoryError if out
 * of memory. Thread-safe. Allocates.
 *
 * Wherever these functions take a class, a pointer that is neither a
 * built-in class nor one made here is told apart by its address alone,
 * never read. */
SYSFAST_API const sysfast_exc_type *sysfast_exc_type_new(const char *name,
                                                         const sysfast_exc_type *base);

/* The class's name, or NULL for NULL or a pointer that is not a class.
 * Never fails. */
SYSFAST_API const char *sysfast_exc_type_name(const sysfast_exc_type *t);

/* True if `t` is `base` or derives from it. False if either is NULL or not
 * a class. */
SYSFAST_API bool sysfast_exc_is_subclass(const sysfast_exc_type *t, const sysfast_exc_type *base);

/* Sets the calling thread's error to class `t` (NULL means
 * sysfast_SystemError) with message `msg` (NULL means ""), replacing any
 * error already set. A `t` that is not a class sets sysfast_SystemError
 * "error class 0x... is not an exception class; message: <msg>". Never
 * allocates. */
SYSFAST_API void sysfast_err_set(const sysfast_exc_type *t, const char *msg);

/* Like sysfast_err_set with a printf-style message. Never allocates for the
 * conversions libsysfast itself uses (%s %d %u %zu %c %x %p and friends). */
SYSFAST_API void sysfast_err_format(const sysfast_exc_type *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The class of the calling thread's pending error, or NULL when clear. */
SYSFAST_API const sysfast_exc_type *sysfast_err_occurred(void);

/* True if an error is set and its class is `base` or derives from it.
 * False for a NULL base or one that is not a class. */
SYSFAST_API bool sysfast_err_matches(const sysfast_exc_type *base);

/* The pending error's message; "" when clear. The pointer is valid until
 * the calling thread next sets or clears its error. */
SYSFAST_API const char *sysfast_err_message(void);

/* Clears the calling thread's error. */
SYSFAST_API void sysfast_err_clear(void);

SYSFAST_END_DECLS

#endif /* SYSFAST_ERROR_H */
