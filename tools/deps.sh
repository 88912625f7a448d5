#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the Debian packages libsysfast needs, and only those missing.
#
#   tools/deps.sh [GROUP...]      GROUP: build (default), test, bench, fuzz
#
# `apt-get update` runs only when something is missing, so a machine that
# already has everything is left untouched (and the script needs no network).
# Recommends are not installed, so packages that clang only recommends are
# named: libclang-rt-dev holds the ASan/UBSan/TSan and libFuzzer runtimes.
set -euo pipefail

declare -A groups=(
	[build]="meson ninja-build pkg-config gcc g++ liburcu-dev libjemalloc-dev libxxhash-dev libcmocka-dev"
	[test]="clang libclang-rt-dev clang-format binutils abigail-tools python3 python3-dev python3-pytest python3-venv python3-mesonpy libpython3.11-testsuite"
	[bench]="libbenchmark-dev python3-dev python3-matplotlib"
	[fuzz]="clang libclang-rt-dev afl++"
)

usage() {
	echo "usage: $0 [build|test|bench|fuzz]..." >&2
	exit 2
}

[ $# -gt 0 ] || set -- build
wanted=()
for g in "$@"; do
	case "$g" in
	-h | --help) usage ;;
	esac
	[ -n "${groups[$g]+x}" ] || usage
	# Every group needs the build tools first.
	read -ra pkgs <<<"${groups[build]} ${groups[$g]}"
	wanted+=("${pkgs[@]}")
done

missing=()
for pkg in $(printf '%s\n' "${wanted[@]}" | sort -u); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all present ($*)"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo=(sudo)
	else
		echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"
