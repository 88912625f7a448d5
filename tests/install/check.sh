#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs a build into a scratch DESTDIR and builds consumer.c against the
# installed copy using nothing but pkg-config, as an outside project would:
#
#   check.sh MESON BUILDDIR SRC_INCLUDE_DIR CC [CC ARGS...]
#
# Checks that every public header (and the generated version.h), the shared
# and the static library and sysfast.pc are installed; builds consumer.c
# with `pkg-config --cflags --libs sysfast` and runs it against the
# installed shared library; then links it statically with
# `pkg-config --static --libs sysfast` (-static) and runs that too.
set -uo pipefail

meson=$1 builddir=$2 src_inc=$3
shift 3
cc=("$@")
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

if ! "$meson" install -C "$builddir" --no-rebuild --quiet --destdir "$root" >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "FAIL: meson install"
	exit 1
fi

# The libdir is multiarch on Debian (lib/x86_64-linux-gnu): find, do not guess.
pc=$(find "$root" -name sysfast.pc -path '*/pkgconfig/*' | head -n 1)
inc=$(find "$root" -type f -name sysfast.h -path '*/sysfast/*' | head -n 1)
if [ -z "$pc" ] || [ -z "$inc" ]; then
	echo "FAIL: sysfast.pc or <sysfast/sysfast.h> not installed; installed files:"
	(cd "$root" && find . -type f | sed 's/^/    /')
	exit 1
fi
libdir=$(dirname "$(dirname "$pc")")
incdir=$(dirname "$inc")
echo "installed: ${pc#"$root"}, headers in ${incdir#"$root"}"

for h in "$src_inc"/sysfast/*.h version.h; do
	h=$(basename "$h")
	[ -f "$incdir/$h" ] || fail "<sysfast/$h> is not installed"
done
for f in libsysfast.so libsysfast.a; do
	[ -e "$libdir/$f" ] || fail "$f is not installed in ${libdir#"$root"}"
done

export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_SYSROOT_DIR=$root

# Shared: the installed library, found through LD_LIBRARY_PATH only.
if flags=$(pkg-config --cflags --libs sysfast); then
	echo "pkg-config --cflags --libs sysfast: $flags"
	# shellcheck disable=SC2086 # pkg-config output is a list of words
	if "${cc[@]}" -Wall -Wextra -Werror "$here/consumer.c" $flags -o "$tmp/consumer"; then
		loaded=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer" | grep libsysfast)
		case "$loaded" in
		*"$root"*) ;;
		*) fail "consumer does not load the installed library: $loaded" ;;
		esac
		LD_LIBRARY_PATH=$libdir "$tmp/consumer" || fail "consumer (shared) exited with status $?"
	else
		fail "consumer does not build against the installed library"
	fi
else
	fail "pkg-config --cflags --libs sysfast"
fi

# The default library loads into a process that did not link it: dlopen
# from python3 (ctypes), with nothing in the environment.
if command -v python3 >/dev/null; then
	if out=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD python3 -c \
		'import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); sys.exit(lib.sysfast_init())' \
		"$libdir/libsysfast.so.0" 2>&1); then
		echo "ctypes.CDLL(${libdir#"$root"}/libsysfast.so.0): loaded, sysfast_init() = 0"
	else
		fail "the installed libsysfast.so.0 does not load with dlopen: $out"
	fi
fi

# The static-TLS variant: same soname in its own directory, chosen with
# pkg-config sysfast-static-tls, which also puts that directory on the
# program's run path (here under DESTDIR, so LD_LIBRARY_PATH stands in).
ie_dir=$libdir/sysfast-static-tls
[ -e "$ie_dir/libsysfast.so.0" ] || fail "sysfast-static-tls/libsysfast.so.0 is not installed"
if flags=$(pkg-config --cflags --libs sysfast-static-tls); then
	echo "pkg-config --cflags --libs sysfast-static-tls: $flags"
	# shellcheck disable=SC2086
	if "${cc[@]}" -Wall -Wextra -Werror "$here/consumer.c" $flags -o "$tmp/consumer-ie"; then
		readelf -d "$tmp/consumer-ie" | grep -q 'R.*PATH.*sysfast-static-tls' \
			|| fail "consumer-ie has no run path to sysfast-static-tls"
		loaded=$(LD_LIBRARY_PATH=$ie_dir ldd "$tmp/consumer-ie" | grep libsysfast)
		case "$loaded" in
		*sysfast-static-tls*) ;;
		*) fail "consumer-ie does not load the static-TLS variant: $loaded" ;;
		esac
		LD_LIBRARY_PATH=$ie_dir "$tmp/consumer-ie" || fail "consumer (static-TLS) exited with status $?"
	else
		fail "consumer does not build with pkg-config sysfast-static-tls"
	fi
else
	fail "pkg-config --cflags --libs sysfast-static-tls"
fi

# Static: libsysfast.a and its Requires.private/Libs.private, -static.
if flags=$(pkg-config --static --cflags --libs sysfast); then
	echo "pkg-config --static --cflags --libs sysfast: $flags"
	# shellcheck disable=SC2086
	if "${cc[@]}" -static -Wall -Wextra -Werror "$here/consumer.c" $flags \
		-o "$tmp/consumer-static" 2>"$tmp/err"; then
		grep -v 'statically linked applications requires at runtime' "$tmp/err" >&2
		"$tmp/consumer-static" || fail "consumer (static) exited with status $?"
	else
		cat "$tmp/err"
		fail "consumer does not link statically with pkg-config --static"
	fi
else
	fail "pkg-config --static --cflags --libs sysfast"
fi

if [ $failures -gt 0 ]; then
	echo "$failures install check(s) failed"
	exit 1
fi
echo "install checks passed"
