#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds and runs the fuzz harnesses (fuzz/README.md).
#
#   tools/fuzz.sh [NAME] [SECONDS]          libFuzzer, default: every harness, 60 s each
#   tools/fuzz.sh --afl NAME [SECONDS]      AFL++ (afl-fuzz) on one harness
#   tools/fuzz.sh --smoke                   every harness over its seeds plus 2000 runs
#
# NAME is format, event_name, audit or intern. Findings land in fuzz/artifacts/
# (libFuzzer) or fuzz/findings/NAME/ (AFL++); the growing corpus in
# fuzz/out/NAME/. All three are gitignored; seeds live in fuzz/corpus/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/deps.sh build fuzz >&2

engine=libfuzzer
smoke=false
case "${1:-}" in
--afl)
	engine=afl
	shift
	;;
--smoke)
	smoke=true
	shift
	;;
esac
names=(format event_name audit intern)
if [ $# -gt 0 ]; then
	names=("$1")
	shift
fi
seconds=${1:-60}

if [ $engine = afl ]; then
	dir=build/fuzz-afl
	export CC=afl-clang-fast CXX=afl-clang-fast++
else
	dir=build/fuzz
	export CC=clang CXX=clang++
fi
if [ -d "$dir" ]; then
	meson setup --reconfigure "$dir" >/dev/null
else
	meson setup "$dir" -Dfuzz=enabled -Djemalloc=disabled -Dtests=false -Dbench=disabled \
		-Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$dir" >/dev/null

for name in "${names[@]}"; do
	bin=$dir/fuzz/fuzz_$name
	seeds=fuzz/corpus/$name
	out=fuzz/out/$name
	mkdir -p "$out" "$seeds" fuzz/artifacts fuzz/findings
	if [ $engine = afl ]; then
		# AFL++ wants at least one seed file.
		[ -n "$(ls -A "$seeds")" ] || printf 'x' >"$seeds/min"
		AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
			timeout "$((seconds + 30))" afl-fuzz -V "$seconds" -i "$seeds" \
			-o "fuzz/findings/$name" -- "$bin"
	elif $smoke; then
		echo "== fuzz_$name: seeds + 2000 runs"
		"$bin" -runs=2000 -seed=1 -artifact_prefix=fuzz/artifacts/ "$out" "$seeds"
	else
		echo "== fuzz_$name: $seconds s"
		"$bin" -max_total_time="$seconds" -artifact_prefix=fuzz/artifacts/ "$out" "$seeds"
	fi
done
