#!/usr/bin/env bash
# check_package.sh BUILD_DIR SOURCE_DIR — install libdi to a temporary
# prefix, then build and run an outside program twice: with pkg-config
# (plain cc ... -ldi) and with CMake's find_package(di CONFIG); and run the
# installed di tool.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libdi.so' | head -1)")

export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c99 -Wall -Wextra -Werror "$src/tests/package/main.c" -o "$tmp/with_pc" \
   $(pkg-config --cflags --libs di)
LD_LIBRARY_PATH="$libdir" "$tmp/with_pc" pkg-config

cmake -S "$src/tests/package" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/outside" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/outside/outside" find_package
# the di tool is installed and finds the library through its RPATH
"$tmp/prefix/bin/di" --version | grep -q "^di [0-9]" || { echo "package: bin/di does not run"; exit 1; }
echo "package: pkg-config and find_package(di) builds both ran; bin/di runs"
