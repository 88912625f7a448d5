#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the benchmark suite in build/bench (optimised, asserts off), runs
# it - libsysfast, CPython 3.11 and the reference limits in one binary and
# one run - and prints the report table (tools/bench-report.py).
#
#   tools/bench.sh                 quick suite (about 1 minute; < 3 on 2 cores)
#   tools/bench.sh --full          full suite: 48 repetitions of 0.1 s,
#                                  threads up to the number of CPUs (max 16)
#   PROCS=n tools/bench.sh         split the repetitions over n processes
#                                  (default 3 quick, 4 full; 1: one process)
#   tools/bench.sh --update-docs   also copy the report to docs/benchmarks/
#   tools/bench.sh --check         exit 1 when a target of issue 4 fails
#   tools/bench.sh [...] -- ARGS   ARGS go to sysfast-bench as well
#                                  (e.g. --benchmark_filter=audit/nohook)
#
# Each run writes bench/results/<time>-<suite>/: raw.json (every
# repetition of every process, merged by tools/bench-merge.py; each
# process's own Google Benchmark JSON is raw-<n>.json), console.txt (their
# console tables, with the allocation counters), report.md, report.json and report.png; bench/results/latest
# points at the newest. BUILD_ROOT=dir puts the build under dir/ instead
# of build/; JOBS=n sets compile parallelism (default 2). See
# docs/benchmarks.md.
set -euo pipefail

cd "$(dirname "$0")/.."
dir=${BUILD_ROOT:-build}/bench
jobs=${JOBS:-2}

suite=quick
update_docs=0
check=0
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--full) suite=full ;;
	--quick) suite=quick ;;
	--update-docs) update_docs=1 ;;
	--check) check=1 ;;
	--)
		shift
		extra+=("$@")
		break
		;;
	-h | --help)
		sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) extra+=("$1") ;;
	esac
	shift
done

bash tools/deps.sh build bench

opts=(-Dbuildtype=release -Db_ndebug=true -Dbench=enabled -Dtests=false -Dfuzz=disabled)
if [ -f "$dir/meson-private/coredata.dat" ]; then
	meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
else
	meson setup "$dir" "${opts[@]}" >/dev/null
fi
meson compile -C "$dir" -j "$jobs" >/dev/null

bench=$dir/bench/sysfast-bench
if [ ! -x "$bench" ]; then
	echo "bench.sh: $bench was not built" >&2
	exit 1
fi

# Quick: 12 repetitions of 0.1 s each, in 3 processes of 4. Full: 48 of
# 0.1 s in 4 processes of 12, and the threaded dispatch at 1, 2, 4, ... up
# to the CPUs (16 at most). Many short repetitions rather than a few long
# ones: on a shared virtual machine the speed of a CPU jumps between
# levels (up to 2x apart) from one second to the next, and the median of
# many samples is what stays put. Repetitions are interleaved at random
# across benchmarks, so that such a spell lands on both sides of a ratio
# instead of one. Several processes, because what an indirect call costs
# is also decided per process and per call site (docs/benchmarks.md,
# "Noise"): the medians are taken over the repetitions of all of them.
cpus=$(nproc)
threads=1,2
if [ "$suite" = full ]; then
	total=48
	procs=${PROCS:-4}
	for t in 4 8 16; do
		[ "$t" -le "$cpus" ] && threads+=",$t"
	done
	[ "$cpus" -gt 2 ] && [ "$cpus" -lt 16 ] && [[ ",$threads," != *",$cpus,"* ]] && threads+=",$cpus"
else
	total=12
	procs=${PROCS:-3}
fi
if ! [[ "$procs" =~ ^[1-9][0-9]*$ ]] || [ "$procs" -gt "$total" ]; then
	echo "bench.sh: PROCS must be a whole number from 1 to $total, not '$procs'" >&2
	exit 2
fi
runs=(--benchmark_min_time=0.1 --benchmark_repetitions=$(((total + procs - 1) / procs)))

out=bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$suite
mkdir -p "$out"
echo "bench.sh: $suite suite on $cpus CPUs (threads $threads, $procs processes);" \
	"log: $out/console.txt"
start=$SECONDS
raws=()
for p in $(seq 1 "$procs"); do
	echo "== process $p of $procs" >>"$out/console.txt"
	if ! "$bench" "${runs[@]}" --threads="$threads" \
		--benchmark_enable_random_interleaving=true \
		--benchmark_context=suite="$suite" \
		--benchmark_out="$out/raw-$p.json" --benchmark_out_format=json \
		"${extra[@]}" >>"$out/console.txt" 2>&1; then
		tail -n 20 "$out/console.txt" >&2
		echo "bench.sh: sysfast-bench failed; see $out/console.txt" >&2
		exit 1
	fi
	raws+=("$out/raw-$p.json")
done
/usr/bin/python3 tools/bench-merge.py "${raws[@]}" -o "$out/raw.json"
echo "bench.sh: ran in $((SECONDS - start)) s"
ln -sfn "$(basename "$out")" bench/results/latest

report=(/usr/bin/python3 tools/bench-report.py "$out/raw.json" --out-dir "$out")
[ "$update_docs" = 1 ] && report+=(--docs docs/benchmarks)
[ "$check" = 1 ] && report+=(--check)
"${report[@]}"
