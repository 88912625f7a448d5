/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsysfast - umbrella header: CPython's sys runtime services for C. */
#ifndef SYSFAST_SYSFAST_H
#define SYSFAST_SYSFAST_H

#include <sysfast/args.h>
#include <sysfast/audit.h>
#include <sysfast/common.h>
#include <sysfast/error.h>
#include <sysfast/event.h>
#include <sysfast/intern.h>
#include <sysfast/object.h>
#include <sysfast/runtime.h>
#include <sysfast/trace.h>
#include <sysfast/version.h>

#endif /* SYSFAST_SYSFAST_H */
