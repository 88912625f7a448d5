#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What docs/building.md ("Loading libsysfast") promises of libsysfast.so's
# thread-local storage, checked on the built library:
#
# - It can be dlopened: no STATIC_TLS flag (no initial-exec TLS access,
#   which would need a slot in the static TLS block that a library loaded
#   after start-up cannot get), and no dependency that has one
#   (jemalloc, whose libjemalloc.so.2 is STATIC_TLS).
# - It stays fast where linked: every TLS access, its own and liburcu's
#   inlined reader counter, goes through a TLS descriptor (which the
#   dynamic linker resolves to a static offset when the library is loaded
#   with the program), never through a call to __tls_get_addr.
#
# And of the static-TLS variant (sysfast-static-tls/libsysfast.so), for
# programs that link libsysfast at build time:
#
# - Every TLS access is initial-exec: one %fs-relative load, no
#   descriptor call, no __tls_get_addr; the STATIC_TLS flag says so.
#
#   tls-model.sh OBJDUMP READELF LIBSYSFAST_SO STATIC_TLS_LIBSYSFAST_SO DESCRIPTORS
#
# DESCRIPTORS is "true" when the compiler can use TLS descriptors
# (gcc; clang from 19); without them the default library's accesses go
# through __tls_get_addr, which is allowed then.
set -euo pipefail
objdump=$1 readelf=$2 lib=$3 ie_lib=$4 descriptors=$5
failed=0

if ! "$readelf" -d "$ie_lib" | grep -q 'STATIC_TLS'; then
	echo "FAIL: $ie_lib (static-TLS variant) has no STATIC_TLS flag"
	failed=1
fi
if "$objdump" -d "$ie_lib" | grep -qE '__tls_get_addr|TLSCALL'; then
	echo "FAIL: $ie_lib (static-TLS variant) reaches TLS through a call"
	failed=1
fi
if "$readelf" -r "$ie_lib" | grep -qE 'TLSDESC|DTPMOD'; then
	echo "FAIL: $ie_lib (static-TLS variant) has dynamic TLS relocations:"
	"$readelf" -r "$ie_lib" | grep -E 'TLSDESC|DTPMOD' | head
	failed=1
fi

if "$readelf" -d "$lib" | grep -q 'STATIC_TLS'; then
	echo "FAIL: $lib is STATIC_TLS: an initial-exec TLS access makes it impossible to dlopen:"
	"$readelf" -r "$lib" | grep -E 'TPOFF' | sort -u | head
	failed=1
fi
if "$readelf" -d "$lib" | grep -q 'NEEDED.*libjemalloc'; then
	echo "FAIL: $lib needs libjemalloc.so.2, which is STATIC_TLS"
	failed=1
fi
if [ "$descriptors" = true ] && "$objdump" -d "$lib" | grep -q '__tls_get_addr'; then
	echo "FAIL: $lib calls __tls_get_addr (a TLS access without a descriptor):"
	"$objdump" -d "$lib" | grep -B8 'call.*__tls_get_addr' | grep '>:' | sort -u
	failed=1
fi
case "$descriptors:$(uname -m)" in
true:x86_64)
	if ! "$readelf" -r "$lib" | grep -q 'R_X86_64_TLSDESC'; then
		echo "FAIL: $lib has no TLS descriptor relocation: built without -mtls-dialect=gnu2?"
		failed=1
	fi
	;;
esac
[ "$failed" -eq 0 ] || exit 1
echo "OK: $lib reaches its TLS through descriptors, is not STATIC_TLS, can be dlopened"
echo "OK: $ie_lib reaches its TLS with initial-exec loads only"
