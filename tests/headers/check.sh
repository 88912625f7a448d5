#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks that every public header stands alone, as C and as C++:
#
#   check.sh --src-include DIR --build-include DIR --lib LIBSYSFAST.SO \
#            --cc CC [--cc CC...] --cxx CXX [--cxx CXX...]
#
# For each <sysfast/*.h> and <sysfast/static/*.h> in the source tree,
# plus the generated version.h,
# compiles a translation unit that includes only that header (twice, to
# prove the include guard) with every compiler given: C as gnu11 and c11,
# C++ as c++17, all with -Wall -Wextra -Werror. Then checks that the
# umbrella header includes every other header, and that the call-site
# macro SYSFAST_AUDIT and argument tuples compile, link and work in C++
# (SYSFAST_ARGS is C only and must stay undefined there)
# (cxx_macros.cc, linked against LIBSYSFAST.SO and run), and that the
# macros compile cleanly in C while SYSFAST_AUDIT refuses a name that is
# not a literal (c_macros.c, c_macros_bad.c).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src_inc="" build_inc="" lib=""
ccs=() cxxs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--src-include) src_inc=$2 ;;
	--build-include) build_inc=$2 ;;
	--lib) lib=$2 ;;
	--cc) ccs+=("$2") ;;  # a command: words separated by spaces
	--cxx) cxxs+=("$2") ;;
	*)
		echo "check.sh: unknown argument $1" >&2
		exit 2
		;;
	esac
	shift 2
done
if [ -z "$src_inc" ] || [ -z "$build_inc" ] || [ ${#ccs[@]} -eq 0 ] || [ ${#cxxs[@]} -eq 0 ]; then
	echo "check.sh: need --src-include, --build-include, --cc and --cxx" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

warn=(-Wall -Wextra -Werror -Wshadow -Wundef)
inc=(-I"$src_inc" -I"$build_inc")
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# compile COMPILER FLAGS... SOURCE LABEL
compile() {
	local label=${*: -1} src=${*: -2:1}
	local compiler flags=("${@:2:$#-3}")
	read -ra compiler <<<"$1"
	if ! "${compiler[@]}" "${flags[@]}" "${inc[@]}" -c "$src" -o "$tmp/out.o" 2>"$tmp/err"; then
		fail "$label"
		sed 's/^/    /' "$tmp/err"
		return 1
	fi
}

headers=()
for h in "$src_inc"/sysfast/*.h "$src_inc"/sysfast/static/*.h; do
	headers+=("${h#"$src_inc"/sysfast/}")
done
if [ -f "$build_inc/sysfast/version.h" ]; then
	headers+=(version.h)
else
	fail "generated $build_inc/sysfast/version.h is missing"
fi

n=0
for h in "${headers[@]}"; do
	printf '#include <sysfast/%s>\n#include <sysfast/%s>\n' "$h" "$h" >"$tmp/h.c"
	cp "$tmp/h.c" "$tmp/h.cc"
	for cc in "${ccs[@]}"; do
		for std in gnu11 c11; do
			compile "$cc" -std=$std "${warn[@]}" -Wstrict-prototypes "$tmp/h.c" \
				"$h as C ($cc -std=$std)" && n=$((n + 1))
		done
	done
	for cxx in "${cxxs[@]}"; do
		compile "$cxx" -std=c++17 "${warn[@]}" "$tmp/h.cc" "$h as C++ ($cxx -std=c++17)" \
			&& n=$((n + 1))
	done
	# The static headers are not API: sysfast.h reaches them only
	# through SYSFAST_INLINE.
	if [ "$h" != sysfast.h ] && [ "${h#static/}" = "$h" ] \
		&& ! grep -q "^#include <sysfast/$h>" "$src_inc/sysfast/sysfast.h"; then
		fail "sysfast.h does not include <sysfast/$h>"
	fi
done
echo "${#headers[@]} headers, $n compilations OK"

# The call-site macros in C++: each on its own, so a failure names its macro.
declare -A cxx_ok
for cxx in "${cxxs[@]}"; do
	cxx_ok[$cxx]=1
	for macro in AUDIT ARGS; do
		compile "$cxx" -std=c++17 "${warn[@]}" -DCHECK_$macro "$here/cxx_macros.cc" \
			"SYSFAST_$macro in C++ ($cxx -std=c++17)" || cxx_ok[$cxx]=0
	done
	compile "$cxx" -std=c++17 "${warn[@]}" -DCHECK_AUDIT -DSYSFAST_INLINE \
		"$here/cxx_macros.cc" "inline SYSFAST_AUDIT in C++ ($cxx -std=c++17)" || cxx_ok[$cxx]=0
done

# ... and together, linked against the library and run.
for cxx in "${cxxs[@]}"; do
	[ -n "$lib" ] || break
	if [ "${cxx_ok[$cxx]}" = 0 ]; then
		echo "skip: cxx_macros with $cxx (does not compile, see above)"
		continue
	fi
	exe=$tmp/cxx_macros
	read -ra compiler <<<"$cxx"
	if ! "${compiler[@]}" -std=c++17 "${warn[@]}" -DCHECK_AUDIT -DCHECK_ARGS "${inc[@]}" \
		"$here/cxx_macros.cc" "$lib" -Wl,-rpath,"$(dirname "$lib")" -o "$exe" 2>"$tmp/err"; then
		fail "cxx_macros does not link with $cxx"
		sed 's/^/    /' "$tmp/err"
		continue
	fi
	"$exe" || fail "cxx_macros built with $cxx exited with status $?"
done

# The call-site macros in C: they compile warning-free at -O0 and -O2
# (constant folding decides which form sysfast_audit takes), also under
# the conversion warnings a careful user turns on (the macros expand
# casts and _Generic around the user's own expressions), and
# SYSFAST_AUDIT refuses a name that is not a string literal.
macro_warn=(-Wconversion -Wsign-conversion -Wbad-function-cast -Wcast-qual -Wvla)
for cc in "${ccs[@]}"; do
	for std in gnu11 c11; do
		for opt in -O0 -O2 "-O0 -DSYSFAST_INLINE" "-O2 -DSYSFAST_INLINE"; do
			read -ra opts <<<"$opt"
			compile "$cc" -std=$std "${opts[@]}" "${warn[@]}" "${macro_warn[@]}" \
				"$here/c_macros.c" "the call-site macros in C ($cc -std=$std $opt)"
		done
		read -ra compiler <<<"$cc"
		if "${compiler[@]}" -std=$std "${inc[@]}" -c "$here/c_macros_bad.c" -o "$tmp/bad.o" \
			2>/dev/null; then
			fail "SYSFAST_AUDIT accepted a name that is not a literal ($cc -std=$std)"
		fi
	done
done

if [ $failures -gt 0 ]; then
	echo "$failures header check(s) failed"
	exit 1
fi
echo "all header checks passed"
