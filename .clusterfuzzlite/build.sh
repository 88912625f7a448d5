#!/bin/bash -eu
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ClusterFuzzLite's build step: liburcu as a static library (without the
# sanitizer flags: it is a dependency, not under test), then every harness
# through fuzz/build.sh, which reads $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE and writes to $OUT.
(
	cd "$SRC/userspace-rcu"
	./bootstrap
	CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC" ./configure --prefix="$WORK/urcu" \
		--disable-shared --enable-static
	make -j"$(nproc)" CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC"
	make install
)
export PKG_CONFIG_PATH="$WORK/urcu/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
"$SRC/libsysfast/fuzz/build.sh"
