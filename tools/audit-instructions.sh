#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions per audit call, counted by callgrind: a count that, unlike
# a time, does not move with the machine's load (this project's machines
# have no hardware counters).
#
#   tools/audit-instructions.sh [-b BUILD_DIR] [-n CALLS]
#
# Compiles a small driver against BUILD_DIR's libsysfast (default
# build/bench, whose core/static-tls/libsysfast.so the benchmarks use) and
# runs it under valgrind --tool=callgrind once per form, with one no-op
# hook that listens: sysfast_audit("bench.event", "(si)", "x", 1), the
# same through sysfast_audit_args with a prebuilt tuple, and SYSFAST_AUDIT
# in its default form and with SYSFAST_INLINE. Prints, per form, the
# instructions of one call, the loop and the hook included: (the whole
# run - a run with no call) / CALLS. docs/benchmarks.md quotes it.
set -euo pipefail

cd "$(dirname "$0")/.."
build=build/bench n=100000
while getopts b:n: opt; do
	case $opt in
	b) build=$OPTARG ;;
	n) n=$OPTARG ;;
	*) exit 2 ;;
	esac
done
lib=$build/core/static-tls
[ -e "$lib/libsysfast.so" ] || lib=$build/core
lib=$(realpath "$lib")
command -v valgrind >/dev/null || {
	echo "audit-instructions: needs valgrind" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/driver.c" <<'EOF'
#include <stdlib.h>

#include <sysfast/sysfast.h>

static int hook(sysfast_event_id e, const char *name, const sysfast_args *a, void *u)
{
	(void)e;
	(void)name;
	(void)u;
	return a->n == 99;
}

int main(int argc, char **argv)
{
	int form = argc > 1 ? atoi(argv[1]) : -1;
	long calls = argc > 2 ? atol(argv[2]) : 0;
	sysfast_arg items[2] = {SYSFAST_STR("x"), SYSFAST_INT(1)};
	sysfast_args args = {2, items};
	sysfast_event_id id;
	int acc = 0;

	if (sysfast_init() < 0 || !(id = sysfast_event_intern("bench.event"))
	    || sysfast_add_audit_hook(hook, NULL) < 0)
		return 2;
	for (long i = 0; i < calls; i++) {
		if (form == 0)
			acc |= sysfast_audit("bench.event", "(si)", "x", 1);
		else if (form == 1)
			acc |= sysfast_audit_args(id, &args);
		else if (form == 2)
			acc |= SYSFAST_AUDIT("bench.event", SYSFAST_STR("x"), SYSFAST_INT(1));
	}
	return acc;
}
EOF
cflags=(-O2 -Icore/include -I"$build/core/include" -L"$lib" -Wl,-rpath,"$lib")
${CC:-gcc} "${cflags[@]}" "$tmp/driver.c" -o "$tmp/default" -lsysfast
${CC:-gcc} "${cflags[@]}" -DSYSFAST_INLINE "$tmp/driver.c" -o "$tmp/inline" -lsysfast \
	-lurcu-memb

# Instructions of a whole run of `binary form`.
refs() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$tmp/$1" "$2" "$3" 2>&1 |
		awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}

per_call() {
	local base whole
	base=$(refs "$1" "$2" 0)
	whole=$(refs "$1" "$2" "$n")
	echo $(((whole - base) / n))
}

printf '%-52s %s\n' "form ($n calls, 1 hook, callgrind)" "instructions per call"
printf '%-52s %s\n' 'sysfast_audit("bench.event", "(si)", "x", 1)' "$(per_call default 0)"
printf '%-52s %s\n' 'sysfast_audit_args(id, &args)' "$(per_call default 1)"
printf '%-52s %s\n' 'SYSFAST_AUDIT(...), default form' "$(per_call default 2)"
printf '%-52s %s\n' 'SYSFAST_AUDIT(...), SYSFAST_INLINE' "$(per_call inline 2)"
