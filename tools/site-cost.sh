#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What an audit call site costs the program that contains it: compile time
# and bytes, for 200 sites in one file, in each form asked for.
#
#   tools/site-cost.sh [-b BUILD_DIR] [-s SRC_DIR] [-n SITES] [FLAGS...]
#
# Generates a C file of SITES functions (default 200), each with one site
# raising its own event with two arguments, and the same file with the
# function bodies but no site. For each set of FLAGS given (one argument
# each, e.g. "" "-DSYSFAST_INLINE"; default: both of those) and each kind
# of site - SYSFAST_AUDIT("ev.k", SYSFAST_STR(p), SYSFAST_INT(v)) and
# sysfast_audit("ev.k", "(si)", p, v) - it compiles with $CC (default gcc)
# at -O2, three times, and prints the median compile time and, from
# size(1), the code and read-only bytes (text) and the writable bytes
# (data + bss) per site: (file with sites - file without) / SITES.
# SRC_DIR (default: this checkout) gives core/include; BUILD_DIR (default
# build/release) the generated version.h. See docs/building.md, "What a
# call site costs".
set -euo pipefail

cd "$(dirname "$0")/.."
src=$PWD build=build/release n=200
while getopts b:s:n: opt; do
	case $opt in
	b) build=$OPTARG ;;
	s) src=$OPTARG ;;
	n) n=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- "" "-DSYSFAST_INLINE"
cc=${CC:-gcc}
[ -f "$build/core/include/sysfast/version.h" ] || {
	echo "site-cost: no $build/core/include/sysfast/version.h (build first)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# gen KIND FILE: KIND audit (SYSFAST_AUDIT), function (sysfast_audit) or
# none (the same functions without a site).
gen() {
	local kind=$1 out=$2
	{
		echo '#include <sysfast/sysfast.h>'
		for ((k = 0; k < n; k++)); do
			echo "int site_$k(const char *p, int v);"
			case $kind in
			audit) echo "int site_$k(const char *p, int v) { return SYSFAST_AUDIT(\"ev.$k\", SYSFAST_STR(p), SYSFAST_INT(v)); }" ;;
			function) echo "int site_$k(const char *p, int v) { return sysfast_audit(\"ev.$k\", \"(si)\", p, v); }" ;;
			none) echo "int site_$k(const char *p, int v) { return p[0] + v; }" ;;
			esac
		done
	} >"$out"
}

# compile FLAGS FILE: prints "seconds text data" (median time of three).
compile() {
	local flags=$1 file=$2 times=() t0 t1 text data bss
	read -ra fl <<<"$flags"
	for _ in 1 2 3; do
		t0=$(date +%s.%N)
		"$cc" -O2 -std=gnu11 "${fl[@]}" -I"$src/core/include" -I"$build/core/include" \
			-c "$file" -o "$tmp/out.o"
		t1=$(date +%s.%N)
		times+=("$(echo "$t1 - $t0" | bc)")
	done
	read -r text data bss _ < <(size "$tmp/out.o" | tail -1)
	printf '%s %s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)" "$text" \
		"$((data + bss))"
}

gen none "$tmp/none.c"
gen audit "$tmp/audit.c"
gen function "$tmp/function.c"

echo "$n sites, $("$cc" --version | head -1), -O2; per site: (sites - no sites) / $n"
printf '%-14s %-30s %10s %12s %12s\n' site flags "compile s" "text B/site" "data B/site"
for flags in "$@"; do
	read -r secs base_text base_data < <(compile "$flags" "$tmp/none.c")
	printf '%-14s %-30s %10.2f %12s %12s\n' "(no site)" "${flags:-(default)}" "$secs" - -
	for kind in audit function; do
		read -r secs text data < <(compile "$flags" "$tmp/$kind.c")
		label=SYSFAST_AUDIT
		[ $kind = function ] && label=sysfast_audit
		printf '%-14s %-30s %10.2f %12d %12d\n' "$label" "${flags:-(default)}" "$secs" \
			$(((text - base_text) / n)) $(((data - base_data) / n))
	done
done
