/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsysfast - interned event names.
 *
 * Every audit event name maps to a dense, process-wide id (1, 2, 3, ...)
 * that never changes and never goes away; 0 is never a valid id. Names are
 * immortal: sysfast_event_name() returns the same pointer for an id for the
 * life of the process, across sysfast_fini() and sysfast_init().
 *
 * The six events the library raises itself are there from the start,
 * before sysfast_init, as ids 1 to 6: "sys.addaudithook",
 * "cpython.PyInterpreterState_New", "cpython.PyInterpreterState_Clear",
 * "cpython._PySys_ClearAuditHooks", "sys.settrace" and "sys.setprofile".
 * Names interned later get 7, 8, ...
 *
 * Lookups of known names run inside an RCU read-side critical section of
 * a lock-free index: they take no lock and allocate nothing.
 */
#ifndef SYSFAST_EVENT_H
#define SYSFAST_EVENT_H

#include <sysfast/common.h>

/* Longest valid event name in bytes. */
#define SYSFAST_EVENT_NAME_MAX 255
/* Most distinct event names one process can hold (ids 1..this). */
#define SYSFAST_EVENT_ID_MAX ((1u << 20) - 1)

SYSFAST_BEGIN_DECLS

typedef uint32_t sysfast_event_id;

/* Returns the id of `name`, interning it on first use. A valid name is 1 to
 * SYSFAST_EVENT_NAME_MAX bytes of valid UTF-8 (no NUL). Returns 0 with
 * sysfast_ValueError for NULL, "", over-long or invalid UTF-8 names,
 * sysfast_MemoryError when out of memory or past SYSFAST_EVENT_ID_MAX names,
 * sysfast_SystemError before sysfast_init. Thread-safe; a known name takes
 * no lock and allocates nothing, a new one takes the registry lock. */
SYSFAST_API sysfast_event_id sysfast_event_intern(const char *name);

/* The id of `name` if it was ever interned, else 0. Never sets an error
 * (an invalid name is simply not found). Lock-free, never allocates. */
SYSFAST_API sysfast_event_id sysfast_event_find(const char *name);

/* The immortal name of `id`, or NULL (no error) for an invalid id. */
SYSFAST_API const char *sysfast_event_name(sysfast_event_id id);

/* How many names are interned (the largest valid id; at least the six
 * built-in ones). */
SYSFAST_API size_t sysfast_event_count(void);

SYSFAST_END_DECLS

#endif /* SYSFAST_EVENT_H */
