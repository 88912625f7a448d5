#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Formats the C and C++ sources with the committed .clang-format.
#
#   tools/format.sh            rewrite files in place
#   tools/format.sh --check    change nothing; list what is off and fail
#   tools/format.sh [--check] FILE...   only these files
#
# Covers core/ tests/ bench/ fuzz/ examples/ python/ (*.c *.h *.cc *.cpp *.hh *.hpp), never a
# build directory. The style is pinned to clang-format 14 (Debian 12's);
# other versions may disagree on details. CLANG_FORMAT=path overrides.
set -euo pipefail

cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format}

check=false
if [ "${1:-}" = --check ]; then
	check=true
	shift
fi

if ! command -v "$clang_format" >/dev/null; then
	echo "format: $clang_format not found (tools/deps.sh test installs it)" >&2
	exit 1
fi

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	dirs=()
	for d in core tests bench fuzz examples python; do
		[ -d "$d" ] && dirs+=("$d")
	done
	mapfile -t files < <(find "${dirs[@]}" -name 'build*' -prune -o -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cpp' \
		-o -name '*.hh' -o -name '*.hpp' \) -print | LC_ALL=C sort)
fi
[ ${#files[@]} -gt 0 ] || exit 0

if ! $check; then
	exec "$clang_format" -i --style=file "${files[@]}"
fi

# --dry-run -Werror prints each deviation as a warning with its line and
# exits non-zero if there is any.
bad=()
for f in "${files[@]}"; do
	"$clang_format" --dry-run -Werror --style=file "$f" || bad+=("$f")
done
if [ ${#bad[@]} -eq 0 ]; then
	echo "format: ${#files[@]} files OK ($("$clang_format" --version))"
	exit 0
fi
echo "format: ${#bad[@]} of ${#files[@]} files differ from .clang-format; fix with" \
	"tools/format.sh FILE...:" >&2
printf '    %s\n' "${bad[@]}" >&2
exit 1
