#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs fuzz/build.sh with the variables set as OSS-Fuzz sets them for a
# libFuzzer + AddressSanitizer build, into a scratch $OUT, then checks that
# every harness came out with its seed corpus, dictionary and options, and
# that each binary runs its whole seed corpus without a finding. The meson
# test oss_fuzz_build (suite fuzz) runs it; so can a person:
#
#   fuzz/test-build.sh [SCRATCH_DIR]
#
# One difference from OSS-Fuzz: its CXXFLAGS add -stdlib=libc++, whose
# library its image has and Debian's clang does not need.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$(mktemp -d)}
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
rm -rf "$scratch/out" "$scratch/work" "$scratch/seeds"
mkdir -p "$scratch/out" "$scratch/work" "$scratch/seeds"

flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
env CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
	LIB_FUZZING_ENGINE=-fsanitize=fuzzer FUZZING_ENGINE=libfuzzer SANITIZER=address \
	ARCHITECTURE=x86_64 SRC="$src" WORK="$scratch/work" OUT="$scratch/out" \
	bash "$src/fuzz/build.sh"

status=0
for c in "$src"/fuzz/fuzz_*.c; do
	name=$(basename "$c" .c)
	short=${name#fuzz_}
	if [ "$short" = cpython ] && ! pkg-config --atleast-version=3.11 python3-embed; then
		echo "SKIP $name: no python3-embed >= 3.11 here"
		continue
	fi
	for f in "$name" "$name.dict" "$name.options" "${name}_seed_corpus.zip"; do
		if [ ! -s "$scratch/out/$f" ]; then
			echo "FAIL $name: $f missing from \$OUT"
			status=1
		fi
	done
	[ -x "$scratch/out/$name" ] || continue
	unzip -q "$scratch/out/${name}_seed_corpus.zip" -d "$scratch/seeds/$short"
	want=$(find "$src/fuzz/corpus/$short" -type f | wc -l)
	got=$(find "$scratch/seeds/$short" -type f | wc -l)
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: the seed zip holds $got of $want seeds"
		status=1
	fi
	# -runs=0: every seed once, no mutation. The harness's own options
	# apply, as ClusterFuzz would apply them.
	opts=$(sed -n 's/^\([a-z_]*\) = \(.*\)$/-\1=\2/p' "$scratch/out/$name.options")
	# shellcheck disable=SC2086
	if "$scratch/out/$name" -runs=0 -error_exitcode=1 -artifact_prefix="$scratch/" $opts \
		"$scratch/seeds/$short" \
		>"$scratch/$name.log" 2>&1; then
		echo "ok   $name: $got seeds"
	else
		echo "FAIL $name: a seed failed; see $scratch/$name.log"
		tail -20 "$scratch/$name.log"
		status=1
	fi
done
exit $status
