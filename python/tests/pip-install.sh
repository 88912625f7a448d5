#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The documented install of the Python package (docs/python.md), offline:
#
#   python3 -m venv --system-site-packages V
#   V/bin/pip install --no-build-isolation TREE
#
# from a copy of the source tree, then `import sysfast` in V/bin/python with
# no environment variables at all, from a directory without the sources.
# Also checks that the wheel held the package and nothing else of the
# project (no C library, headers or pkg-config files).
#
#   pip-install.sh PYTHON SOURCE_ROOT
set -euo pipefail

python=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The tree as a release has it: no build directories, no git metadata.
mkdir "$work/tree"
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./.git \
	--exclude='./.mesonpy-*' -cf - . | tar -C "$work/tree" -xf -

"$python" -m venv --system-site-packages "$work/venv"
# PIP_NO_INDEX: a step that needed the network would fail here.
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
	"$work/venv/bin/pip" install --no-build-isolation --no-input "$work/tree"

cd "$work"
env -i "$work/venv/bin/python" -c '
import sys, sysfast
assert sysfast.__file__.startswith(sys.prefix), sysfast.__file__
seen = []
sysfast.subscribe(lambda event, args: seen.append((event, args)), "pip_install.check")
sys.audit("pip_install.check", 1)
assert seen == [("pip_install.check", (1,))], seen
print("import sysfast:", sysfast.__file__, "libsysfast", sysfast.libsysfast_version)
'

# What pip installed, from the wheel's RECORD: the package and its
# metadata, nothing else.
record=$(find "$work/venv" -path '*/sysfast-*.dist-info/RECORD')
others=$(cut -d, -f1 "$record" | grep -v -E '^(sysfast/|sysfast-[^/]*\.dist-info/)' || true)
if [ -n "$others" ]; then
	echo "pip-install: the wheel carries more than the Python package:" >&2
	echo "$others" >&2
	exit 1
fi
echo "installed files:"
cut -d, -f1 "$record" | sed 's/^/    /'
