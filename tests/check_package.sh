#!/usr/bin/env bash
# check_package.sh BUILD_DIR SOURCE_DIR — install libdi to a temporary
# prefix, then build and run an outside program twice: with pkg-config
# (plain cc ... -ldi) and with CMake's find_package(di CONFIG); and run the
# installed diwire tool. The outside programs are built with DI_CC and
# DI_SAN_FLAGS when set (a sanitizer build's compiler and flags).
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${DI_CC:-cc}
san=${DI_SAN_FLAGS:-}
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libdi.so' | head -1)")

export PKG_CONFIG_PATH="$libdir/pkgconfig"
$cc $san -std=c99 -Wall -Wextra -Werror "$src/tests/package/main.c" -o "$tmp/with_pc" \
   $(pkg-config --cflags --libs di)
LD_LIBRARY_PATH="$libdir" "$tmp/with_pc" pkg-config

cmake -S "$src/tests/package" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$tmp/outside" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/outside/outside" find_package
# each adapter that was built links through its own .pc file
for a in mhd civetweb evhttp; do
  [ -f "$libdir/pkgconfig/di-$a.pc" ] || { echo "package: di-$a not built"; continue; }
  printf '#include <di/%s.h>\nint main(void) { return di_%s_port(0); }\n' "$a" "$a" > "$tmp/$a.c"
  $cc $san -std=c99 -Wall -Wextra -Werror "$tmp/$a.c" -o "$tmp/$a" $(pkg-config --cflags --libs "di-$a")
  LD_LIBRARY_PATH="$libdir" "$tmp/$a"
  echo "package: di-$a links through its .pc file"
done

# the diwire tool is installed and finds the library through its RPATH
"$tmp/prefix/bin/diwire" --version | grep -q "^diwire [0-9]" || { echo "package: bin/diwire does not run"; exit 1; }
# the man pages are installed and render without a warning
for m in man1/diwire.1 man3/libdi.3; do
  page=$(find "$tmp/prefix" -path "*/man/$m")
  [ -n "$page" ] || { echo "package: $m not installed"; exit 1; }
  if command -v groff >/dev/null; then
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warn" ] || { echo "package: $m: $warn"; exit 1; }
  else
    echo "SKIP: groff not found: $m not rendered"
  fi
done
echo "package: pkg-config and find_package(di) builds both ran; bin/diwire runs; man pages installed"
