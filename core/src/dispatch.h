/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - audit hooks and their dispatch (audit.c), tracing and
 * profiling (trace.c).
 * Nothing here is API. Layer order, bottom to top (tests/infra/layers.py
 * checks it): base.h, thread.h, errors.h, data.h, interp.h, dispatch.h,
 * then runtime.c. A file includes the header of its own layer, which
 * includes the ones below; nothing reaches up: a lower layer that must
 * tell a higher one something takes a callback.
 */
#ifndef SYSFAST_DISPATCH_H
#define SYSFAST_DISPATCH_H

#include <sysfast/static/audit.h>
#include <sysfast/static/trace.h>

#include "interp.h"

/* ---- audit.c ---- */

/* Raises the built-in event `id` as if from inside `interp` (NULL: the caller's current
 * interpreter) with errors from hooks cleared and the caller's pending
 * error kept. Used for the lifecycle events. */
void sysfast__audit_lifecycle(struct sysfast_interp *interp, sysfast_event_id id);

/* Maps a new interpreter's view and gives it the slots of the process-wide
 * hooks. Call with sysfast__lock held. Returns 0, or -1 with MemoryError
 * and nothing mapped or allocated. */
int sysfast__interp_audit_init(struct sysfast_interp *interp);
/* Drops every interpreter's own hooks (sysfast_fini). Allocates nothing:
 * slots are cleared, not rebuilt, so some events may reach no hook until
 * sysfast_fini ends. Call with sysfast__lock held. */
void sysfast__audit_drop_own_hooks(void);
/* Raises "cpython._PySys_ClearAuditHooks" in `main_interp` to the
 * process-wide hooks alone, errors cleared and the caller's kept
 * (sysfast_fini, after sysfast__audit_drop_own_hooks). Allocates
 * nothing. */
void sysfast__audit_clear_hooks_event(struct sysfast_interp *main_interp);
/* Releases every snapshot and chunk of an interpreter (after an RCU
 * grace period). */
void sysfast__interp_audit_free(struct sysfast_interp *interp);
/* Drops the process-wide hooks (sysfast_fini). Allocates nothing. */
void sysfast__audit_drop_global(void);
/* Sets sysfast__audit_enabled from the hook lists (sysfast_init). */
void sysfast__audit_update_enabled(void);

/* ---- trace.c ---- */

/* Unsets every thread's tracer and profiler, raising no event
 * (sysfast_fini). Frame chains are left alone: they belong to the
 * threads, whose frames stay entered across sysfast_fini. Call with
 * sysfast__lock held. */
void sysfast__trace_reset_all(void);

#endif /* SYSFAST_DISPATCH_H */
