#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Writes the ABI baseline that tests/infra/abi.sh checks the library
# against: abidw (Debian's abigail-tools) over build/release's
# libsysfast.so, the public headers' types only.
#
#   tools/abi-baseline.sh [BUILD_DIR]     (default build/release)
#
# Run it after a deliberate ABI change that came with a new soname, or
# after an addition, and commit tests/infra/abi/libsysfast.abi with the
# change. See docs/building.md, "ABI and soname".
set -euo pipefail

cd "$(dirname "$0")/.."
build=${1:-build/release}
lib=$(ls "$build"/core/libsysfast.so.*.*.* 2>/dev/null | head -1)
[ -n "$lib" ] || {
	echo "abi-baseline: no libsysfast.so in $build/core (build it first)" >&2
	exit 1
}
abidw --headers-dir core/include/sysfast --no-corpus-path --no-comp-dir-path \
	--out-file tests/infra/abi/libsysfast.abi "$lib"
echo "abi-baseline: wrote tests/infra/abi/libsysfast.abi from $lib"
