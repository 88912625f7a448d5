#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every thread-local access in libsysfast.so, its own and liburcu's inlined
# reader counter, must be initial-exec: one %fs-relative instruction, never
# a call to __tls_get_addr (docs/architecture.md, "Threads"). Fails if the
# shared library calls __tls_get_addr or lacks the STATIC_TLS flag that
# initial-exec accesses set.
#
#   tls-model.sh OBJDUMP READELF LIBSYSFAST_SO
set -euo pipefail
objdump=$1 readelf=$2 lib=$3

if "$objdump" -d "$lib" | grep -q '__tls_get_addr'; then
	echo "FAIL: $lib calls __tls_get_addr (a TLS access is not initial-exec):"
	"$objdump" -d "$lib" | grep -B8 'call.*__tls_get_addr' | grep '>:' | sort -u
	exit 1
fi
if ! "$readelf" -d "$lib" | grep -q 'STATIC_TLS'; then
	echo "FAIL: $lib has no STATIC_TLS flag: no initial-exec TLS access at all?"
	exit 1
fi
echo "OK: every TLS access in $lib is initial-exec"
