/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the fuzz harnesses. */
#ifndef SYSFAST_FUZZ_H
#define SYSFAST_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include <sysfast/error.h>

/* A harness's own invariant: on violation, say which and with what error
 * pending, then abort so that the fuzzer records the input. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (error: %s)\n", __FILE__,         \
			        __LINE__, #cond, sysfast_err_message());                           \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* SYSFAST_FUZZ_H */
