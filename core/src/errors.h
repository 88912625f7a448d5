/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - the error indicator and the exception classes (error.c).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_ERRORS_H
#define SYSFAST_ERRORS_H

#include "thread.h"

struct sysfast_exc_type {
	const char *name;
	const struct sysfast_exc_type *base;
};

/* Moves the calling thread's pending error into *saved and clears it. */
void sysfast__err_save(struct sysfast__error *saved);
/* Makes *saved the calling thread's error again (replacing any). */
void sysfast__err_restore(const struct sysfast__error *saved);

/* Sets SystemError "sysfast is not initialized"; returns -1. */
int sysfast__not_initialized(void);
/* 0 while initialised, else -1 with SystemError. Inline: most entry
 * points start with it. */
static inline int sysfast__check_initialized(void)
{
	if (SYSFAST_LIKELY(__atomic_load_n(&sysfast__initialized, __ATOMIC_ACQUIRE)))
		return 0;
	return sysfast__not_initialized();
}

#endif /* SYSFAST_ERRORS_H */
