/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - every internal header, for the tests, the fuzzers and the
 * benchmarks that reach internal (sysfast__) names. The library's own
 * files include only the header of their layer (see base.h).
 */
#ifndef SYSFAST_INTERNAL_H
#define SYSFAST_INTERNAL_H

#include "dispatch.h"

#endif /* SYSFAST_INTERNAL_H */
