#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fails when the built libsysfast.so breaks the ABI of the committed
# baseline without a new soname (docs/building.md, "ABI and soname").
#
#   abi.sh ABIDIFF READELF LIBSYSFAST.SO HEADERS_DIR BASELINE SUPPRESSIONS
#
# abidiff (Debian's abigail-tools) compares the baseline, made by
# tools/abi-baseline.sh with abidw, against the library just built, over
# the types of the public headers in HEADERS_DIR. Its exit status is a bit
# mask: 1 an error, 2 a usage error, 4 some ABI change, 8 an incompatible
# one (a symbol removed, a type or a signature changed). Additions (4
# alone) pass and are shown. An incompatible change passes only when the
# library's soname differs from the baseline's: then the baseline is due
# for a refresh, which the message says. SUPPRESSIONS keeps out what is
# not ABI: the layouts in <sysfast/static/*.h>, which programs that define
# SYSFAST_INLINE promise to recompile against.
set -uo pipefail

abidiff=$1 readelf=$2 lib=$3 headers=$4 baseline=$5 suppr=$6

soname=$("$readelf" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
base_soname=$(sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$baseline" | head -1)
if [ -z "$soname" ] || [ -z "$base_soname" ]; then
	echo "abi: cannot read the soname of $lib ('$soname') or of $baseline ('$base_soname')"
	exit 1
fi

"$abidiff" --no-added-syms --headers-dir2 "$headers" --suppressions "$suppr" \
	"$baseline" "$lib" >"${TMPDIR:-/tmp}/abi.$$" 2>&1
rc=$?
cat "${TMPDIR:-/tmp}/abi.$$"
rm -f "${TMPDIR:-/tmp}/abi.$$"

if [ $((rc & 3)) -ne 0 ]; then
	echo "abi: abidiff failed (status $rc)"
	exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	if [ "$soname" != "$base_soname" ]; then
		echo "abi: incompatible change with a new soname ($base_soname -> $soname):"
		echo "     refresh the baseline with tools/abi-baseline.sh"
		exit 0
	fi
	echo "abi: incompatible change to $soname's ABI (above) without a new soname."
	echo "     Undo it, or bump the soname (docs/building.md, \"ABI and soname\")"
	echo "     and refresh the baseline with tools/abi-baseline.sh."
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	echo "abi: compatible changes only (above); $soname unchanged"
else
	echo "abi: $soname matches the baseline"
fi
exit 0
