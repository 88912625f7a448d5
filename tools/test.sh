#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds libsysfast and runs the whole test suite in three builds:
#
#   build/release  default options (jemalloc on)
#   build/asan     clang, AddressSanitizer + UndefinedBehaviorSanitizer
#   build/tsan     clang, ThreadSanitizer
#   build/fuzz     clang, the libFuzzer harnesses over their seeds (smoke run)
#   build/fuzz-tsan  clang, ThreadSanitizer, the concurrent harness (fuzz_threads)
#
# then prints a summary whose last line is "N passed, M failed".
#
#   tools/test.sh              every build
#   tools/test.sh --quick      build/release only
#   tools/test.sh --build asan one build (repeatable: --build asan --build tsan)
#
# Safe to run again at any time: existing build directories are
# reconfigured, not recreated. BUILD_ROOT=dir puts the builds under dir/
# instead of build/. JOBS=n sets compile and test parallelism (default 2).
# The exit status is the summary's: non-zero if any test (or any build)
# failed, or if no test ran. See docs/building.md.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
root=${BUILD_ROOT:-build}
jobs=${JOBS:-2}

usage() {
	echo "usage: $0 [--quick] [--build release|asan|tsan|fuzz|fuzz-tsan]..." >&2
	exit 2
}

builds=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) builds+=(release) ;;
	--build)
		[ $# -ge 2 ] || usage
		builds+=("$2")
		shift
		;;
	--build=*) builds+=("${1#--build=}") ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done
[ ${#builds[@]} -gt 0 ] || builds=(release asan tsan fuzz fuzz-tsan)
mapfile -t builds < <(printf '%s\n' "${builds[@]}" | awk '!seen[$0]++')

common_opts=(-Dtests=true -Dbench=disabled -Dfuzz=disabled)

# Per build: the compilers, the meson options, the runtime options of the
# sanitizers and how many tests run at once.
configure_build() {
	local name=$1
	cc=gcc cxx=g++ opts=() test_env=() test_opts=(--num-processes "$jobs")
	case "$name" in
	release) ;;
	asan)
		# Both sanitizers come from clang: see docs/building.md, "Sanitizers".
		cc=clang cxx=clang++
		opts=("-Db_sanitize=address,undefined" -Db_lundef=false -Djemalloc=disabled
			-Dc_args=-fno-omit-frame-pointer -Dcpp_args=-fno-omit-frame-pointer)
		test_env=(UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1)
		# Leaks that are by design (immortal objects nothing points to).
		[ -f tests/lsan.supp ] && test_env+=("LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp")
		test_opts+=(--timeout-multiplier 2)
		;;
	tsan)
		cc=clang cxx=clang++
		opts=(-Db_sanitize=thread -Db_lundef=false -Djemalloc=disabled
			-Dc_args=-fno-omit-frame-pointer -Dcpp_args=-fno-omit-frame-pointer)
		local tsan="halt_on_error=1 second_deadlock_stack=1"
		[ -f tests/tsan.supp ] && tsan+=" suppressions=$PWD/tests/tsan.supp"
		test_env=("TSAN_OPTIONS=$tsan")
		# TSan multiplies memory and time; stress tests run one at a time.
		test_opts=(--num-processes 1 --timeout-multiplier 3)
		# clang 14's TSan cannot map its shadow memory with more than 28
		# bits of mmap randomisation (newer kernels' default): run the
		# tests without address randomisation there.
		if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ]; then
			test_opts+=(--wrapper "setarch $(uname -m) -R")
		fi
		;;
	fuzz)
		# The harnesses bring their own sanitizers (fuzz/meson.build).
		cc=clang cxx=clang++
		opts=(-Dfuzz=enabled -Djemalloc=disabled -Dtests=false)
		;;
	fuzz-tsan)
		# fuzz/meson.build builds only fuzz_threads under TSan and
		# gives it tests/tsan.supp.
		cc=clang cxx=clang++
		opts=(-Dfuzz=enabled -Db_sanitize=thread -Db_lundef=false -Djemalloc=disabled
			-Dtests=false -Dpython=disabled -Dc_args=-fno-omit-frame-pointer)
		test_opts=(--num-processes 1)
		if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ]; then
			test_opts+=(--wrapper "setarch $(uname -m) -R")
		fi
		;;
	*)
		echo "unknown build '$name' (release, asan, tsan, fuzz, fuzz-tsan)" >&2
		return 2
		;;
	esac
	return 0
}

# Marks a build as failed before its tests could run; ci-summary.py counts
# it as one failed test.
mark_failed() {
	mkdir -p "$1/meson-logs"
	echo "$2" >"$1/meson-logs/ci-build-failed"
}

run_build() {
	local name=$1 dir=$root/$1
	configure_build "$name" || return
	# The fuzz build sets tests and fuzz itself; meson rejects an option
	# given twice.
	base_opts=("${common_opts[@]}")
	[[ $name = fuzz* ]] && base_opts=(-Dbench=disabled)

	echo "==== $dir"
	# Results of an earlier run must not count for this one.
	rm -f "$dir/meson-logs/ci-build-failed" "$dir/meson-logs/testlog.json"

	if [ -f "$dir/meson-private/coredata.dat" ]; then
		# The compiler is fixed at first setup; options are applied again.
		meson setup --reconfigure "$dir" "${base_opts[@]}" "${opts[@]}" \
			|| CC=$cc CXX=$cxx meson setup --wipe "$dir" "${base_opts[@]}" "${opts[@]}"
	else
		CC=$cc CXX=$cxx meson setup "$dir" "${base_opts[@]}" "${opts[@]}"
	fi || {
		mark_failed "$dir" configure
		return
	}

	meson compile -C "$dir" -j "$jobs" || {
		mark_failed "$dir" compile
		return
	}

	# A failing test is reported by the summary, not here: keep going.
	env "${test_env[@]}" meson test -C "$dir" --no-rebuild --print-errorlogs "${test_opts[@]}"
}

dirs=()
for b in "${builds[@]}"; do
	configure_build "$b" || exit 2
done
groups=(build test)
[[ " ${builds[*]} " = *" fuzz"* ]] && groups+=(fuzz)
bash tools/deps.sh "${groups[@]}" || exit 1

for b in "${builds[@]}"; do
	run_build "$b"
	dirs+=("$root/$b")
done

echo "==== summary"
exec python3 tools/ci-summary.py "${dirs[@]}"
