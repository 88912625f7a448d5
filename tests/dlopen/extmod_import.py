# SPDX-License-Identifier: LGPL-2.1-or-later
"""Imports the test extension module that links libsysfast.

    python3 extmod_import.py MODULE_DIR
"""
import sys

sys.path.insert(0, sys.argv[1])
import sysfast_dltest  # noqa: E402

n = 10000
got = sysfast_dltest.roundtrip(n)
print(f"import sysfast_dltest ({sysfast_dltest.__file__}): libsysfast "
      f"{sysfast_dltest.version()}, {2 * n} events raised, the hook saw {got}")
sys.exit(0 if got == 2 * n else "FAIL")
