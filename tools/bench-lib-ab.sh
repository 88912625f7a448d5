#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One benchmark binary against several copies of libsysfast.so, in
# alternating rounds: a comparison of the library alone, with every
# benchmark's code where it was (placement moves the inline rows by up to
# 16%: docs/benchmarks.md, "Noise on this machine").
#
#   tools/bench-lib-ab.sh [-b BUILD_DIR] [-r ROUNDS] FILTER LIB...
#
# Each round runs BUILD_DIR/bench/sysfast-bench (default build/bench) once
# per LIB, with that file copied over the library the binary loads
# (core/static-tls/libsysfast.so.0.*; restored at the end), the rows
# matching FILTER, 3 repetitions. As root it runs pinned to the last CPU at
# real-time priority (chrt -f 50 taskset), so that other load on the
# machine cannot interleave with it; otherwise as is, and says so.
# Prints per row and LIB the least and the median of the rounds' medians
# of CPU time (at real-time priority the kernel's throttling of real-time
# tasks, 5% of each second by default, lands in wall time); rows timed by
# another process (CPython's, "manual_time") in wall time.
# Build the copies first, e.g. cp build/bench/core/static-tls/libsysfast.so.0.* /tmp/new.so
set -euo pipefail

cd "$(dirname "$0")/.."
build=build/bench rounds=4
while getopts b:r: opt; do
	case $opt in
	b) build=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || {
	sed -n '9,11p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
filter=$1
shift
bin=$build/bench/sysfast-bench
target=$(ls "$build"/core/static-tls/libsysfast.so.0.*.* | head -1)
keep=$(mktemp)
cp "$target" "$keep"
trap 'cp "$keep" "$target"; rm -f "$keep"' EXIT

run=()
cpu=$(($(nproc) - 1))
if [ "$(id -u)" = 0 ] && chrt -f 50 true 2>/dev/null; then
	run=(chrt -f 50 taskset -c "$cpu")
else
	echo "bench-lib-ab: not root: running unpinned, at normal priority" >&2
fi

for ((i = 0; i < rounds; i++)); do
	for lib in "$@"; do
		cp "$lib" "$target"
		"${run[@]}" "$bin" --benchmark_filter="$filter" --benchmark_repetitions=3 \
			--benchmark_min_time=0.1 --benchmark_format=csv 2>/dev/null |
			awk -F, -v lib="$lib" '/_median/ { gsub("\"", "", $1); sub("_median", "", $1); print lib "," $1 "," ($1 ~ /manual_time/ ? $3 : $4) }'
	done
done | /usr/bin/python3 -c '
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in sys.stdin:
    lib, name, ns = line.strip().split(",")
    rows[(name, lib)].append(float(ns))
for name, lib in sorted(rows):
    v = rows[(name, lib)]
    print(f"{name:48s} {lib:28s} least {min(v):7.2f} ns  median {statistics.median(v):7.2f} ns  ({len(v)} rounds)")
'
