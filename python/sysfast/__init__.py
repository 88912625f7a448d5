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
import sys as _sys

if "sysfast._sysfast" in _sys.builtin_module_names:
    # sysfast-python: the module is built into the launcher, which put the
    # bridge in before CPython started. BuiltinImporter looks up built-in
    # modules only at the top level (a submodule's search has a path), so
    # it is loaded here by name, before the import below finds it.
    import importlib.machinery as _machinery
    import importlib.util as _util

    _spec = _machinery.BuiltinImporter.find_spec("sysfast._sysfast")
    _sys.modules[_spec.name] = _sysfast = _util.module_from_spec(_spec)
    del _machinery, _util, _spec

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
