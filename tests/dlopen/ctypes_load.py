# SPDX-License-Identifier: LGPL-2.1-or-later
"""Loads libsysfast with ctypes.CDLL, as a Python program that did not
link it would, and raises events from several threads through it.

    python3 ctypes_load.py LIBSYSFAST_SO

Exits 0 when every event reached the hook; prints what it checked.
"""
import ctypes
import sys
import threading

THREADS, EVENTS = 4, 2000

lib = ctypes.CDLL(sys.argv[1])
lib.sysfast_version.restype = ctypes.c_char_p
lib.sysfast_err_message.restype = ctypes.c_char_p
lib.sysfast_event_intern.argtypes = [ctypes.c_char_p]
lib.sysfast_event_intern.restype = ctypes.c_uint32

HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_char_p,
                        ctypes.c_void_p, ctypes.c_void_p)
seen = []


def hook(event_id, name, args, userdata):
    seen.append(name)
    return 0


hook_fn = HOOK(hook)  # kept alive: the library holds the pointer
if lib.sysfast_init() != 0 or lib.sysfast_add_audit_hook(hook_fn, None) != 0:
    sys.exit(f"FAIL: {lib.sysfast_err_message().decode()}")


def raise_events():
    for i in range(EVENTS):
        rc = lib.sysfast_audit(b"ctypes.event", b"(si)", b"x", ctypes.c_int(i))
        if rc != 0:
            sys.exit(f"FAIL: sysfast_audit returned {rc}")


threads = [threading.Thread(target=raise_events) for _ in range(THREADS)]
for t in threads:
    t.start()
raise_events()
for t in threads:
    t.join()
lib.sysfast_fini()

want = (THREADS + 1) * EVENTS
got = seen.count(b"ctypes.event")
print(f"ctypes.CDLL({sys.argv[1]}): libsysfast {lib.sysfast_version().decode()}, "
      f"{THREADS + 1} threads raised {want} events, the hook saw {got}")
sys.exit(0 if got == want else "FAIL")
