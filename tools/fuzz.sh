#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds and runs the fuzz harnesses (fuzz/README.md, docs/fuzzing.md).
#
#   tools/fuzz.sh [NAME] [SECONDS]        libFuzzer, one process per harness
#                                         (default: every harness, 60 s each)
#   tools/fuzz.sh --campaign [-j N] [--time S] [NAME...]
#                                         a time-boxed campaign per harness on N
#                                         cores (libFuzzer -fork=N; N=1 runs
#                                         one plain process), then minimises
#                                         the new inputs into fuzz/corpus/NAME
#                                         (-merge=1), deduplicates findings by
#                                         stack and prints a triage summary
#   tools/fuzz.sh --afl [-j N] [--sync DIR] [--secondary-only] [--time S] NAME
#                                         AFL++: one -M and N-1 -S instances on
#                                         a sync directory, which may be shared
#                                         with other machines (each runs its
#                                         own -S with --secondary-only); then
#                                         the same merge and triage
#   tools/fuzz.sh --merge NAME...         minimise fuzz/out/NAME into the seeds
#   tools/fuzz.sh --triage [NAME...]      the triage summary of what was found
#   tools/fuzz.sh --coverage [NAME...]    replays the corpora on a coverage
#                                         build and prints line coverage of
#                                         core/src per file, per harness and
#                                         in total (llvm-cov)
#   tools/fuzz.sh --smoke                 every harness over its seeds plus
#                                         2000 runs
#   tools/fuzz.sh --tsan [SECONDS]        fuzz_threads under ThreadSanitizer
#
# NICE=n runs the fuzzers under nice -n n (default 10). Campaign output:
# the growing corpus in fuzz/out/NAME/, findings in fuzz/artifacts/NAME/
# (libFuzzer) or the sync directory (AFL++), a log per run in
# fuzz/out/logs/; all gitignored. Seeds live in fuzz/corpus/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."

all_names() {
	local c
	for c in fuzz/fuzz_*.c; do
		c=${c#fuzz/fuzz_}
		echo "${c%.c}"
	done
}

usage() {
	sed -n '4,33p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

mode=run jobs=1 seconds=60 sync= secondary_only=false names=()
case "${1:-}" in
--afl) mode=afl ;;
--smoke) mode=smoke ;;
--campaign) mode=campaign ;;
--merge) mode=merge ;;
--triage) mode=triage ;;
--coverage) mode=coverage ;;
--tsan) mode=tsan ;;
-h | --help) usage ;;
esac
[ $mode = run ] || shift
while [ $# -gt 0 ]; do
	case "$1" in
	-j)
		jobs=$2
		shift
		;;
	--time)
		seconds=$2
		shift
		;;
	--sync)
		sync=$2
		shift
		;;
	--secondary-only) secondary_only=true ;;
	[0-9]*) seconds=$1 ;;
	-*) usage ;;
	*) names+=("$1") ;;
	esac
	shift
done
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(all_names)
for name in "${names[@]}"; do
	[ -f "fuzz/fuzz_$name.c" ] || {
		echo "fuzz.sh: no harness '$name' (have: $(all_names | tr '\n' ' '))" >&2
		exit 2
	}
done
nice_cmd=(nice -n "${NICE:-10}")

bash tools/deps.sh build fuzz >&2

# Configures (once) and builds one of the fuzz build directories, with
# clang unless CC says otherwise (AFL++'s compilers for build/fuzz-afl).
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		CC=${CC:-clang} CXX=${CXX:-clang++} meson setup "$dir" -Dfuzz=enabled -Djemalloc=disabled -Dtests=false -Dbench=disabled \
			-Dpython=disabled -Dbuildtype=debugoptimized "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

# ---- triage: findings grouped by kind and the top frames of their stack ----

# The signature of one finding: its kind and the first three frames of the
# first stack that are neither the sanitizer's, libFuzzer's, libc's abort
# path nor the harness's CHECK.
signature() {
	local bin=$1 file=$2 kind
	kind=$(basename "$file" | sed 's/-.*//')
	{
		timeout 120 "$bin" -runs=1 "$file" 2>&1 || true
	} | awk -v kind="$kind" '
		/^SUMMARY: / && !sum { sum = $2 " " $3 }
		/check failed:/ && !chk { sub(/.*check failed: /, ""); sub(/ \(error:.*/, ""); chk = $0 }
		/^ *#[0-9]+ / && n < 3 {
			f = ""
			for (i = 1; i <= NF; i++) if ($i == "in") { f = $(i + 1); break }
			if (f == "" || f ~ /^(__sanitizer|__asan|__tsan|__ubsan|__interceptor|fuzzer::|abort|raise|__pthread_kill|__GI_|__libc_start|_start|pthread_kill|main$|LLVMFuzzerTestOneInput)/) next
			frames = frames (n ? " < " : "") f
			n++
		}
		END {
			s = kind
			if (sum != "") s = s " [" sum "]"
			if (chk != "") s = s " {" chk "}"
			print s ": " (frames == "" ? "(no frames)" : frames)
		}'
}

triage() {
	local name bin dir f found=0
	echo "==== triage"
	for name in "$@"; do
		bin=build/fuzz/fuzz/fuzz_$name
		dir=fuzz/artifacts/$name
		[ -d "$dir" ] || continue
		mapfile -t files < <(find "$dir" -maxdepth 1 -type f \
			\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \
			-o -name 'id:*' \) | sort)
		[ ${#files[@]} -gt 0 ] || continue
		found=1
		for f in "${files[@]}"; do
			printf '%s\t%s\n' "$(signature "$bin" "$f")" "$f"
		done | sort | awk -F'\t' -v name="$name" '
			$1 != last { if (last != "") print "  " cnt "x " last "\n      e.g. " ex; last = $1; cnt = 0; ex = $2 }
			{ cnt++ }
			END { if (last != "") print "  " cnt "x " last "\n      e.g. " ex }' |
			sed "1i fuzz_$name:"
	done
	[ $found = 1 ] || echo "  no findings"
}

# ---- merge: new inputs minimised into the committed seeds ----

merge() {
	local name=$1 from=${2:-fuzz/out/$1} bin before after
	bin=build/fuzz/fuzz/fuzz_$name
	[ -d "$from" ] || return 0
	mkdir -p "fuzz/corpus/$name" "fuzz/artifacts/$name"
	before=$(find "fuzz/corpus/$name" -type f | wc -l)
	"${nice_cmd[@]}" "$bin" -merge=1 -artifact_prefix="fuzz/artifacts/$name/" \
		"fuzz/corpus/$name" "$from" >"fuzz/out/logs/$name.merge.log" 2>&1 || {
		echo "fuzz.sh: merging $from failed; see fuzz/out/logs/$name.merge.log" >&2
		return 1
	}
	after=$(find "fuzz/corpus/$name" -type f | wc -l)
	echo "fuzz_$name: merged $((after - before)) new seeds into fuzz/corpus/$name ($after in all)"
}

# The last statistics line libFuzzer printed: "execs exec/s cov ft corpus".
stats_of() {
	awk '
		/^#[0-9]+[: \t]/ && /exec\/s:/ {
			ex = $1; sub(/^#/, "", ex); sub(/:$/, "", ex)
			for (i = 1; i <= NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "exec/s:") eps = $(i + 1)
				if ($i == "corp:") corp = $(i + 1)
			}
		}
		END { printf "%s runs, %s exec/s, cov %s, corpus %s\n", ex, eps, cov, corp }' "$1"
}

# ---- coverage ----

# llvm-cov's report of core/src over every binary (they compile the same
# sources) for one profile: "file lines missed cover" rows and TOTAL.
cov_report() {
	llvm-cov-14 report "${objs[@]:1}" -instr-profile="$1" core/src |
		awk '/core\/src\/|^TOTAL/ { f = $1; sub(/.*core\/src\//, "", f); print f, $8, $9, $10 }'
}

coverage() {
	local dir=build/fuzz-cov prof name bin
	local done_names=()
	objs=()
	build "$dir" "-Dc_args=-fprofile-instr-generate -fcoverage-mapping" \
		"-Dc_link_args=-fprofile-instr-generate"
	prof=$dir/profiles
	rm -rf "$prof"
	mkdir -p "$prof"
	for name in "$@"; do
		bin=$dir/fuzz/fuzz_$name
		[ -x "$bin" ] || continue
		dirs=("fuzz/corpus/$name")
		[ -d "fuzz/out/$name" ] && dirs+=("fuzz/out/$name")
		LLVM_PROFILE_FILE="$prof/$name-%p.profraw" "${nice_cmd[@]}" "$bin" -runs=0 \
			-rss_limit_mb=4096 -timeout=120 "${dirs[@]}" >"$prof/$name.log" 2>&1 || {
			echo "fuzz.sh: replaying fuzz_$name's corpus failed; see $prof/$name.log" >&2
			return 1
		}
		llvm-profdata-14 merge -sparse "$prof/$name"-*.profraw -o "$prof/$name.profdata"
		objs+=(-object "$bin")
		done_names+=("$name")
	done
	echo "==== line coverage of core/src by each corpus alone"
	for name in "${done_names[@]}"; do
		cov_report "$prof/$name.profdata" |
			awk -v n="fuzz_$name" '$1 == "TOTAL" { printf "%-16s %8s  (%s of %s lines not run)\n", n, $4, $3, $2 }'
	done
	llvm-profdata-14 merge -sparse "$prof"/*.profdata -o "$prof/all.profdata"
	echo "==== line coverage of core/src by every corpus together"
	printf '%-16s %8s %8s %8s\n' file lines missed cover
	cov_report "$prof/all.profdata" | awk '{ printf "%-16s %8s %8s %8s\n", $1, $2, $3, $4 }'
}

# ---- the modes ----

mkdir -p fuzz/out/logs fuzz/artifacts

case $mode in
coverage)
	coverage "${names[@]}"
	exit
	;;
triage)
	build build/fuzz
	triage "${names[@]}"
	exit
	;;
merge)
	build build/fuzz
	for name in "${names[@]}"; do
		merge "$name"
	done
	exit
	;;
tsan)
	dir=build/fuzz-tsan
	if [ ! -f "$dir/build.ninja" ]; then
		CC=clang CXX=clang++ meson setup "$dir" -Dfuzz=enabled -Db_sanitize=thread \
			-Db_lundef=false -Djemalloc=disabled -Dtests=false -Dbench=disabled \
			-Dpython=disabled -Dc_args=-fno-omit-frame-pointer >/dev/null
	fi
	ninja -C "$dir" >/dev/null
	wrap=()
	if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ]; then
		wrap=(setarch "$(uname -m)" -R)
	fi
	mkdir -p fuzz/out/threads fuzz/artifacts/threads
	TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/fuzz/tsan.supp" "${nice_cmd[@]}" \
		"${wrap[@]}" "$dir/fuzz/fuzz_threads" -max_total_time="$seconds" \
		-artifact_prefix=fuzz/artifacts/threads/tsan- fuzz/out/threads fuzz/corpus/threads \
		2>&1 | tee fuzz/out/logs/threads.tsan.log | grep -E 'WARNING|DONE|Done|check failed' || true
	echo "fuzz_threads (TSan): $(stats_of fuzz/out/logs/threads.tsan.log)"
	exit
	;;
afl)
	[ ${#names[@]} -eq 1 ] || {
		echo "fuzz.sh: --afl takes one harness" >&2
		exit 2
	}
	name=${names[0]}
	CC=afl-clang-fast CXX=afl-clang-fast++ build build/fuzz-afl
	build build/fuzz
	sync=${sync:-fuzz/findings/$name}
	mkdir -p "$sync"
	host=$(hostname -s)
	pids=()
	for i in $(seq 0 $((jobs - 1))); do
		if [ "$i" = 0 ] && ! $secondary_only; then
			role=(-M "main-$host")
		else
			role=(-S "sec-$host-$i")
		fi
		AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
			AFL_IMPORT_FIRST=1 "${nice_cmd[@]}" timeout "$((seconds + 60))" \
			afl-fuzz "${role[@]}" -V "$seconds" -i "fuzz/corpus/$name" -o "$sync" \
			-- "build/fuzz-afl/fuzz/fuzz_$name" >"fuzz/out/logs/$name.afl-$i.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for stats in "$sync"/*/fuzzer_stats; do
		[ -f "$stats" ] || continue
		awk -F' *: *' -v who="$(basename "$(dirname "$stats")")" '
			$1 == "execs_per_sec" { eps = $2 } $1 == "corpus_count" { corp = $2 }
			$1 == "saved_crashes" || $1 == "unique_crashes" { cr = $2 }
			END { printf "%s: %s exec/s, corpus %s, crashes %s\n", who, eps, corp, cr }' "$stats"
	done
	# The queues of every instance (this machine's and others') become
	# libFuzzer inputs for the merge; crashes are triaged with the ASan
	# build.
	rm -rf "fuzz/out/$name.afl"
	mkdir -p "fuzz/out/$name.afl" "fuzz/artifacts/$name"
	find "$sync" -path '*/queue/id:*' -type f -exec cp {} "fuzz/out/$name.afl/" \;
	find "$sync" -path '*/crashes/id:*' -type f -exec cp {} "fuzz/artifacts/$name/" \;
	merge "$name" "fuzz/out/$name.afl"
	triage "$name"
	exit
	;;
esac

build build/fuzz
for name in "${names[@]}"; do
	bin=build/fuzz/fuzz/fuzz_$name
	mkdir -p "fuzz/out/$name" "fuzz/corpus/$name" "fuzz/artifacts/$name"
	log=fuzz/out/logs/$name.log
	case $mode in
	smoke)
		echo "== fuzz_$name: seeds + 2000 runs"
		"$bin" -runs=2000 -seed=1 -artifact_prefix="fuzz/artifacts/$name/" \
			"fuzz/out/$name" "fuzz/corpus/$name"
		;;
	run)
		echo "== fuzz_$name: $seconds s"
		"${nice_cmd[@]}" "$bin" -max_total_time="$seconds" \
			-artifact_prefix="fuzz/artifacts/$name/" "fuzz/out/$name" "fuzz/corpus/$name"
		;;
	campaign)
		echo "== fuzz_$name: $seconds s on $jobs core(s), started $(date -u '+%F %T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
		fork=()
		[ "$jobs" -gt 1 ] && fork=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
		"${nice_cmd[@]}" timeout "$((seconds + 120))" "$bin" -max_total_time="$seconds" \
			"${fork[@]}" -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$name/" \
			"fuzz/out/$name" "fuzz/corpus/$name" >"$log" 2>&1 || true
		echo "fuzz_$name: $(stats_of "$log")"
		merge "$name"
		;;
	esac
done
[ $mode = campaign ] && triage "${names[@]}"
exit 0
