#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the benchmark suite in build/bench (optimised, asserts off), runs
# it - libsysfast, CPython 3.11 and the reference limits in one binary and
# one run - and prints the report table (tools/bench-report.py).
#
# Each process round also measures the other ways of loading libsysfast,
# one process each, interleaved with the main one: the same sysfast-bench
# with the default libsysfast.so first on the library path (the rows that
# depend on the TLS model, and two inline rows that should not move);
# sysfast-bench-dlopen's dlopen/ rows under jemalloc (preloaded, as
# sysfast-bench links it); and its alloc/ rows under glibc's malloc and
# under jemalloc (preloaded, without the counting hooks that would put it
# on its slow path). The report's "Loading libsysfast" and allocator
# tables come from these.
#
#   tools/bench.sh                 quick suite (about 1 minute; < 3 on 2 cores;
#                                  the CPython module adds about 1)
#   tools/bench.sh --full          full suite: 48 repetitions of 0.1 s,
#                                  threads up to the number of CPUs (max 16)
#   PROCS=n tools/bench.sh         split the repetitions over n processes
#                                  (default 3 quick, 4 full; 1: one process)
#   tools/bench.sh --update-docs   also copy the report to docs/benchmarks/
#   tools/bench.sh --check         exit 1 when a target of issue 4 fails
#   tools/bench.sh [...] -- ARGS   ARGS go to the main sysfast-bench run
#                                  (e.g. --benchmark_filter=audit/nohook);
#                                  the other ways run their fixed rows
#
# Each run writes bench/results/<time>-<suite>/: raw.json (every
# repetition of every process, merged by tools/bench-merge.py; each
# process's own Google Benchmark JSON is raw-<n>.json), the other ways'
# raw-default.json, raw-dlopen.json, raw-alloc-glibc.json and
# raw-alloc-jemalloc.json (merged the
# same way from raw-<way>-<n>.json), console.txt (the console tables of
# every process, with the allocation counters), report.md, report.json
# and report.png; with the CPython module built, python-event.json and
# python-process.json (python/bench/event_bench.py, process_bench.py),
# whose tables the report adds; bench/results/latest points at the newest. BUILD_ROOT=dir puts the build under dir/ instead
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
		sed -n '4,41p' "$0" | sed 's/^# \{0,1\}//'
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
bench_dlopen=$dir/bench/sysfast-bench-dlopen
for b in "$bench" "$bench_dlopen"; do
	if [ ! -x "$b" ]; then
		echo "bench.sh: $b was not built" >&2
		exit 1
	fi
done
jemalloc=$(/sbin/ldconfig -p | awk '/libjemalloc\.so\.2 / {print $NF; exit}')
if [ -z "$jemalloc" ]; then
	echo "bench.sh: libjemalloc.so.2 not found (ldconfig -p)" >&2
	exit 1
fi
# The rows of sysfast-bench that the default library changes: the
# library-function paths; and two inline call sites, which reach the
# thread state with the program's own initial-exec access whichever
# library is loaded, to show that they do not move.
default_rows='^sysfast/(audit_args/|audit_format_fn/|audit_call/|event_intern/|intern/known|audit/nohook|audit/hooks:1/args:2)'

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
# run_way NAME FILE [ENV=VALUE...] -- COMMAND...: one process of one way,
# its JSON in FILE, its console appended to console.txt.
run_way() {
	local name=$1 file=$2 env=()
	shift 2
	while [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	shift
	echo "== $name" >>"$out/console.txt"
	if ! env "${env[@]}" "$@" "${runs[@]}" \
		--benchmark_enable_random_interleaving=true \
		--benchmark_context=suite="$suite" \
		--benchmark_out="$file" --benchmark_out_format=json >>"$out/console.txt" 2>&1; then
		tail -n 20 "$out/console.txt" >&2
		echo "bench.sh: $name failed; see $out/console.txt" >&2
		exit 1
	fi
}

raws=() default_raws=() dlopen_raws=() glibc_raws=() jemalloc_raws=()
for p in $(seq 1 "$procs"); do
	run_way "process $p of $procs" "$out/raw-$p.json" -- \
		"$bench" --threads="$threads" "${extra[@]}"
	raws+=("$out/raw-$p.json")
	run_way "process $p of $procs, default libsysfast.so on LD_LIBRARY_PATH" \
		"$out/raw-default-$p.json" LD_LIBRARY_PATH="$dir/core" -- \
		"$bench" --benchmark_filter="$default_rows"
	default_raws+=("$out/raw-default-$p.json")
	run_way "process $p of $procs, dlopen, jemalloc preloaded" \
		"$out/raw-dlopen-$p.json" LD_PRELOAD="$jemalloc" -- \
		"$bench_dlopen" --benchmark_filter='^dlopen/'
	dlopen_raws+=("$out/raw-dlopen-$p.json")
	run_way "process $p of $procs, allocating paths, glibc malloc" \
		"$out/raw-alloc-glibc-$p.json" -- "$bench_dlopen" --benchmark_filter='^alloc/'
	glibc_raws+=("$out/raw-alloc-glibc-$p.json")
	run_way "process $p of $procs, allocating paths, jemalloc preloaded" \
		"$out/raw-alloc-jemalloc-$p.json" LD_PRELOAD="$jemalloc" -- \
		"$bench_dlopen" --no-alloc-hooks --benchmark_filter='^alloc/'
	jemalloc_raws+=("$out/raw-alloc-jemalloc-$p.json")
done
/usr/bin/python3 tools/bench-merge.py "${raws[@]}" -o "$out/raw.json"
/usr/bin/python3 tools/bench-merge.py "${default_raws[@]}" -o "$out/raw-default.json"
/usr/bin/python3 tools/bench-merge.py "${dlopen_raws[@]}" -o "$out/raw-dlopen.json"
/usr/bin/python3 tools/bench-merge.py "${glibc_raws[@]}" -o "$out/raw-alloc-glibc.json"
/usr/bin/python3 tools/bench-merge.py "${jemalloc_raws[@]}" -o "$out/raw-alloc-jemalloc.json"

# The CPython module (python/bench), when the build has it: per event,
# then whole processes (quick: test_json alone, 2 runs; full: test_pickle,
# test_json and compileall, 5 runs). Both run Debian's /usr/bin/python3,
# the interpreter the module was built for.
py_build=$dir/python
py_report=()
if compgen -G "$py_build/sysfast/_sysfast.*.so" >/dev/null &&
	compgen -G "$py_build/bench/_bench_floor.*.so" >/dev/null; then
	if [ "$suite" = full ]; then
		event_opts=(--rounds 5 --reps 7)
		process_opts=(--workloads test_pickle,test_json,compileall --reps 5)
	else
		event_opts=(--rounds 3 --reps 5)
		process_opts=(--workloads test_json --reps 2)
	fi
	echo "bench.sh: the CPython module, per event and whole process" \
		"(${process_opts[*]}); log: $out/console.txt"
	echo "== python/bench/event_bench.py ${event_opts[*]}" >>"$out/console.txt"
	if ! PYTHONPATH="$py_build:$py_build/bench" /usr/bin/python3 python/bench/event_bench.py \
		"${event_opts[@]}" --json "$out/python-event.json" >>"$out/console.txt" 2>&1; then
		tail -n 20 "$out/console.txt" >&2
		echo "bench.sh: event_bench.py failed; see $out/console.txt" >&2
		exit 1
	fi
	echo "== python/bench/process_bench.py ${process_opts[*]}" >>"$out/console.txt"
	if ! PYTHONPATH="$py_build:$py_build/bench" /usr/bin/python3 python/bench/process_bench.py \
		"${process_opts[@]}" --json "$out/python-process.json" >>"$out/console.txt" 2>&1; then
		tail -n 20 "$out/console.txt" >&2
		echo "bench.sh: process_bench.py failed; see $out/console.txt" >&2
		exit 1
	fi
	py_report=(--python-event "$out/python-event.json" --python-process "$out/python-process.json")
else
	py_report=(--python-missing "build/bench has no CPython module (python=disabled, or no CPython headers)")
fi
echo "bench.sh: ran in $((SECONDS - start)) s"
ln -sfn "$(basename "$out")" bench/results/latest

# run_scale: the scaling series (bench/bench_scale.c, sysfast-bench-scale),
# one process per point, after the main runs so that its large heaps do
# not disturb them. Quick: three sizes a series (under a minute); full:
# every size over four or more decades, 10M-string tables included (a few
# minutes). Writes raw-scale.json (every repetition), scale.md, scale.json,
# scale.png and scale-threads.png into the run's directory
# (tools/bench-scale.py); with --update-docs also into docs/benchmarks/
# and docs/benchmarks.md's bench-scale section.
run_scale() {
	local scale=$dir/bench/sysfast-bench-scale start=$SECONDS
	local args=(/usr/bin/python3 tools/bench-scale.py "$out/raw-scale.json" --out-dir "$out")
	if [ ! -x "$scale" ]; then
		echo "bench.sh: $scale was not built" >&2
		exit 1
	fi
	echo "== scaling series ($suite)" >>"$out/console.txt"
	if ! "$scale" --suite="$suite" --threads="$threads" --out="$out/raw-scale.json" \
		>>"$out/console.txt" 2>&1; then
		tail -n 20 "$out/console.txt" >&2
		echo "bench.sh: the scaling series failed; see $out/console.txt" >&2
		exit 1
	fi
	echo "bench.sh: scaling series ran in $((SECONDS - start)) s"
	[ "$update_docs" = 1 ] && args+=(--docs docs/benchmarks)
	"${args[@]}"
}
run_scale

report=(/usr/bin/python3 tools/bench-report.py "$out/raw.json" --out-dir "$out"
	--also "$out/raw-default.json" --also "$out/raw-dlopen.json"
	--also "$out/raw-alloc-glibc.json" --also "$out/raw-alloc-jemalloc.json"
	"${py_report[@]}")
[ "$update_docs" = 1 ] && report+=(--docs docs/benchmarks)
[ "$check" = 1 ] && report+=(--check)
"${report[@]}"
