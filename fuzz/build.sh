#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds every fuzz harness the way OSS-Fuzz and ClusterFuzzLite build a
# project: from the compilers and flags in the environment, into $OUT,
# without meson (their base image need not have it), each harness with its
# seed corpus (NAME_seed_corpus.zip), dictionary (NAME.dict) and options
# (NAME.options). docs/fuzzing.md, "OSS-Fuzz and ClusterFuzzLite".
#
#   CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE OUT [SRC WORK] fuzz/build.sh
#
# CFLAGS carry the sanitizer and -fsanitize=fuzzer-no-link;
# LIB_FUZZING_ENGINE is what links the engine (-fsanitize=fuzzer for
# libFuzzer, a library for AFL++ or honggfuzz). WORK holds the objects
# (default: a directory under $OUT's parent). Needs liburcu >= 0.13
# (pkg-config liburcu-memb, liburcu-cds), linked statically so that the
# binaries run on OSS-Fuzz's runner image, which lacks it; fuzz_cpython is
# built too when pkg-config finds python3-embed >= 3.11 with its static
# libpython.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:?set CC}" "${CXX:?set CXX}" "${OUT:?set OUT}"
: "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE (e.g. -fsanitize=fuzzer)}"
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$OUT" "$WORK/obj" "$WORK/gen/sysfast"

for pc in liburcu-memb liburcu-cds; do
	if ! pkg-config --atleast-version=0.13 "$pc"; then
		echo "build.sh: $pc >= 0.13 not found (apt-get install liburcu-dev)" >&2
		exit 1
	fi
done

# core/include/sysfast/version.h from its template, as meson makes it.
version=$(sed -n "s/^  version : '\([0-9.]*\)',$/\1/p" "$src/meson.build")
IFS=. read -r major minor patch <<<"$version"
sed -e "s/@MAJOR@/$major/" -e "s/@MINOR@/$minor/" -e "s/@PATCH@/$patch/" \
	"$src/core/include/sysfast/version.h.in" >"$WORK/gen/sysfast/version.h"

# What core/meson.build compiles the library with (sysfast_c_args).
lib_flags=(-std=gnu11 -DSYSFAST_BUILDING_LIBRARY -D_LGPL_SOURCE -D_GNU_SOURCE
	-fvisibility=hidden -fno-semantic-interposition
	-I"$WORK/gen" -I"$src/core/include" -I"$src/core/src"
	$(pkg-config --cflags liburcu-memb liburcu-cds))
# shellcheck disable=SC2206 # the flags are words, as OSS-Fuzz passes them
cflags=($CFLAGS)
# shellcheck disable=SC2206
cxxflags=($CXXFLAGS)

objs=()
for c in "$src"/core/src/*.c; do
	o=$WORK/obj/$(basename "$c" .c).o
	"$CC" "${cflags[@]}" "${lib_flags[@]}" -c "$c" -o "$o"
	objs+=("$o")
done

# liburcu, statically: the runner image has no liburcu.
urcu_libs=(-Wl,-Bstatic -lurcu-cds -lurcu-memb -lurcu-common -Wl,-Bdynamic -lpthread)
urcu_libdir=$(pkg-config --variable=libdir liburcu-memb)

harnesses=()
for c in "$src"/fuzz/fuzz_*.c; do
	harnesses+=("$(basename "$c" .c)")
done

python_flags=() python_libs=()
if pkg-config --atleast-version=3.11 python3-embed; then
	pyver=$(pkg-config --modversion python3-embed)
	pylib=$(pkg-config --variable=libdir python3-embed)
	# The static library comes from the interpreter that the headers
	# belong to (pkg-config's prefix), not whichever python3 is first on
	# PATH (a pyenv or venv one may be another build of the same version).
	pyexe=$(pkg-config --variable=exec_prefix python3-embed)/bin/python$pyver
	[ -x "$pyexe" ] || pyexe=python$pyver
	libpy=$("$pyexe" -c 'import sysconfig; print(sysconfig.get_config_var("LIBPL"))' 2>/dev/null || true)/libpython$pyver.a
	read -ra python_flags <<<"$(pkg-config --cflags python3-embed)"
	if [ -f "$libpy" ]; then
		# Debian's static libpython wants these; missing ones are left out.
		python_libs=("$libpy" -ldl -lutil -lm)
		for l in -lz -lexpat; do
			if echo 'int main(void){return 0;}' | "$CC" -x c - "$l" -o /dev/null 2>/dev/null; then
				python_libs+=("$l")
			fi
		done
	fi
	# Debian's libpython3.11.a is built without -fPIC and cannot go into
	# a PIE: then link the shared library (present wherever the harness
	# is built and run from the same machine, as in tools/test.sh).
	if [ ${#python_libs[@]} -gt 0 ] && ! echo 'int Py_IsInitialized(void); int main(void){return Py_IsInitialized();}' \
		| "$CC" -x c - "${python_libs[@]}" -lpthread -o /dev/null 2>/dev/null; then
		python_libs=()
	fi
	if [ ${#python_libs[@]} -eq 0 ]; then
		read -ra python_libs <<<"-L$pylib $(pkg-config --libs python3-embed)"
	fi
fi

built=()
for name in "${harnesses[@]}"; do
	short=${name#fuzz_}
	extra_c=() extra_l=()
	if [ "$short" = cpython ]; then
		if [ ${#python_flags[@]} -eq 0 ]; then
			echo "build.sh: skipping $name (no python3-embed >= 3.11)" >&2
			continue
		fi
		extra_c=("${python_flags[@]}")
		extra_l=("${python_libs[@]}")
	fi
	"$CC" "${cflags[@]}" "${lib_flags[@]}" "${extra_c[@]}" -c "$src/fuzz/$name.c" \
		-o "$WORK/obj/$name.o"
	extra_o=()
	if [ "$short" = audit ]; then
		# fuzz_audit's inline-form call site, a translation unit of its own.
		"$CC" "${cflags[@]}" "${lib_flags[@]}" -c "$src/fuzz/audit_inline.c" \
			-o "$WORK/obj/audit_inline.o"
		extra_o=("$WORK/obj/audit_inline.o")
	fi
	# Linked by the C++ compiler, as OSS-Fuzz asks: the engine is C++.
	"$CXX" "${cxxflags[@]}" "$WORK/obj/$name.o" "${extra_o[@]}" "${objs[@]}" $LIB_FUZZING_ENGINE \
		-L"$urcu_libdir" "${urcu_libs[@]}" "${extra_l[@]}" -o "$OUT/$name"

	# The seeds, flat, as NAME_seed_corpus.zip.
	if [ -d "$src/fuzz/corpus/$short" ]; then
		rm -f "$OUT/${name}_seed_corpus.zip"
		(cd "$src/fuzz/corpus/$short" && find . -type f -print | zip -q -j -@ "$OUT/${name}_seed_corpus.zip")
	fi
	cp "$src/fuzz/dict/$short.dict" "$OUT/$name.dict"
	cp "$src/fuzz/options/$short.options" "$OUT/$name.options"
	built+=("$name")
done
echo "build.sh: built ${built[*]} into $OUT"
