# SPDX-License-Identifier: LGPL-2.1-or-later
"""CPython audit hooks dispatched by libsysfast.

Importing the package installs one native audit hook (PySys_AddAuditHook)
that hands every CPython audit event to libsysfast, whose hooks run before
every sys.addaudithook hook:

    import sysfast

    def watch(event, args):
        print(event, args)

    sysfast.subscribe(watch, ("open", "subprocess.*"))
    sysfast.deny("socket.*")
    sysfast.log("audit.jsonl", "subprocess.*", rate_limit=(100, 1.0))
    sysfast.seal()

See docs/python.md in the libsysfast sources.
"""
from ._sysfast import (
    LogSink,
    Subscription,
    deny,
    flush,
    libsysfast_version,
    listening,
    log,
    seal,
    stats,
    subscribe,
)

__all__ = [
    "LogSink",
    "Subscription",
    "deny",
    "flush",
    "libsysfast_version",
    "listening",
    "log",
    "seal",
    "stats",
    "subscribe",
]
