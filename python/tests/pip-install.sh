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
# Then V/bin/sysfast-python, the launcher, with a log of the start-up.
# Also checks that the wheel held the package and the launcher and
# nothing else of the project (no C library, headers or pkg-config
# files).
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

# The launcher, from the venv's scripts directory: its module is the one
# built in, the package is the venv's, and the start-up's import of site
# is in its log.
env -i SYSFAST_LOG="$work/launcher.jsonl" SYSFAST_EVENTS=import \
	"$work/venv/bin/sysfast-python" -c '
import sys, sysfast
assert sysfast.__file__.startswith(sys.prefix), sysfast.__file__
assert sysfast._sysfast.__spec__.origin == "built-in", sysfast._sysfast
assert sysfast.stats()["logged"] > 0, sysfast.stats()
print("sysfast-python:", sys.executable, sysfast.stats())
'
if ! grep -q '"event":"import","args":\["site",' "$work/launcher.jsonl"; then
	echo "pip-install: sysfast-python did not log the import of site" >&2
	exit 1
fi

# What pip installed, from the wheel's RECORD: the package, its metadata
# and the launcher, nothing else.
record=$(find "$work/venv" -path '*/sysfast-*.dist-info/RECORD')
others=$(cut -d, -f1 "$record" |
	grep -v -E '^(sysfast/|sysfast-[^/]*\.dist-info/|(\.\./)+bin/sysfast-python$)' || true)
if [ -n "$others" ]; then
	echo "pip-install: the wheel carries more than the Python package and its launcher:" >&2
	echo "$others" >&2
	exit 1
fi
echo "installed files:"
cut -d, -f1 "$record" | sed 's/^/    /'
