#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fails if the library exports a symbol outside the sysfast_ prefix
# (sysfast_ is API), or an internal sysfast__ symbol other than the few
# that SYSFAST_AUDIT's two forms reach (docs/building.md, "ABI and
# soname"): each one is ABI, so a new one is a decision, made here.
#
#   exports.sh NM LIBSYSFAST.SO [LIBSYSFAST.A]
#
# The shared library's dynamic symbols must all be sysfast_*. The static
# library's global symbols must be too: a program that links it statically
# shares one namespace with every one of them.
set -uo pipefail

nm=$1 shared=$2 static=${3:-}
# Symbols the linker defines in every shared object.
linker_syms='^(_init|_fini|_edata|_end|__bss_start|_DYNAMIC|_GLOBAL_OFFSET_TABLE_)$'
failed=0

# The internal symbols a compiled program may reference: the default form
# of SYSFAST_AUDIT (<sysfast/audit.h>), then the SYSFAST_INLINE form
# (<sysfast/static/*.h>).
internal_ok='^sysfast__(audit_enabled|audit_unresolved|audit_exact|audit_listens|audit_at|audit_site|audit_resolve|audit_failed|audit_unlock_site|audit_tls|frame_top|frame_local_slow|frame_local_failed|initialized_ptr|getsizeof_result)$'

# check LABEL SYMBOLS
check() {
	local label=$1 syms=$2 bad count
	bad=$(printf '%s\n' "$syms" | grep -v '^sysfast_' | grep -Ev "$linker_syms" | grep -v '^$')
	count=$(printf '%s\n' "$syms" | grep -c '^sysfast_')
	if [ -n "$bad" ]; then
		echo "exports: $label exports symbols without the sysfast_ prefix:"
		printf '%s\n' "$bad" | sed 's/^/    /'
		failed=1
	elif [ "$count" -eq 0 ]; then
		echo "exports: $label exports no sysfast_ symbol at all"
		failed=1
	else
		echo "exports: $label: $count symbols, all sysfast_*"
	fi
}

if ! syms=$("$nm" -D --defined-only "$shared"); then
	echo "exports: $nm failed on $shared"
	exit 1
fi
check "$(basename "$shared")" "$(printf '%s\n' "$syms" | awk '{print $NF}')"
extra=$(printf '%s\n' "$syms" | awk '{print $NF}' | grep '^sysfast__' | grep -Ev "$internal_ok")
if [ -n "$extra" ]; then
	echo "exports: $(basename "$shared") exports internal symbols no header form needs:"
	printf '%s\n' "$extra" | sed 's/^/    /'
	failed=1
else
	echo "exports: internal symbols: $(printf '%s\n' "$syms" | awk '{print $NF}' | grep -c '^sysfast__'), all listed"
fi

if [ -n "$static" ]; then
	# -g: external symbols only; member headers ("file.o:") have no address.
	if ! syms=$("$nm" -g --defined-only "$static"); then
		echo "exports: $nm failed on $static"
		exit 1
	fi
	check "$(basename "$static")" "$(printf '%s\n' "$syms" | awk 'NF == 3 {print $3}' | sort -u)"
fi
exit $failed
