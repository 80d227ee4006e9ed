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
# the installed libdi finds the plugins installed beside it, wherever the
# prefix is: the directory pkg-config names
want=$(realpath "$(pkg-config --variable=plugindir di)")
got=$(LD_LIBRARY_PATH="$libdir" "$tmp/with_pc" plugindir)
[ "$got" = "$want" ] || { echo "package: di_plugin_system_dir() is $got, not $want"; exit 1; }
[ -e "$got/sqlite.so" ] || [ -z "$(find "$tmp/prefix" -name sqlite.so)" ] \
  || { echo "package: no sqlite.so in $got"; exit 1; }
echo "package: di_plugin_system_dir() is the installed plugindir, $got"

# find_package(di CONFIG COMPONENTS ...) with every adapter installed
comps=""
for a in mhd civetweb evhttp; do
  [ -f "$libdir/pkgconfig/di-$a.pc" ] && comps="$comps${comps:+;}$a"
done
cmake -S "$src/tests/package" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DDI_COMPONENTS="$comps" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$tmp/outside" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/outside/outside" find_package
for a in ${comps//;/ }; do
  LD_LIBRARY_PATH="$libdir" "$tmp/outside/outside_$a"
  echo "package: find_package(di COMPONENTS $a) links di::$a"
done
# a component that is not there stops the configuration, saying which
mkdir -p "$tmp/nosuch"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(n LANGUAGES C)\nfind_package(di CONFIG REQUIRED COMPONENTS mhd nosuch)\n' \
  > "$tmp/nosuch/CMakeLists.txt"
if cmake -S "$tmp/nosuch" -B "$tmp/nosuch/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/nosuch.log" 2>&1; then
  echo "package: find_package(di COMPONENTS nosuch) did not fail"; exit 1
fi
grep -q "di: components not found: 'nosuch' (not a component: mhd, civetweb, evhttp)" "$tmp/nosuch.log" \
  || { echo "package: a missing component was not named:"; cat "$tmp/nosuch.log"; exit 1; }
echo "package: find_package(di COMPONENTS nosuch) fails, naming it"
# each adapter that was built links through its own .pc file
for a in mhd civetweb evhttp; do
  [ -f "$libdir/pkgconfig/di-$a.pc" ] || { echo "package: di-$a not built"; continue; }
  printf '#include <di/%s.h>\nint main(void) { return di_%s_port(0); }\n' "$a" "$a" > "$tmp/$a.c"
  $cc $san -std=c99 -Wall -Wextra -Werror "$tmp/$a.c" -o "$tmp/$a" $(pkg-config --cflags --libs "di-$a")
  LD_LIBRARY_PATH="$libdir" "$tmp/$a"
  echo "package: di-$a links through its .pc file"
done

# a program linked with libdi.a loads a plugin when it exports libdi's
# symbols to it (--export-dynamic, and every object of the archive kept);
# without that the plugin is refused, and the reason names the symbol
if [ -n "$(find "$tmp/prefix" -name sqlite.so)" ]; then
  pdir=$(dirname "$(find "$tmp/prefix" -name sqlite.so | head -1)")
  deps="$(pkg-config --libs talloc libcjson) -lpthread -ldl -lm"
  $cc $san -std=c99 -Wall -Wextra -Werror -I"$tmp/prefix/include" "$src/tests/package/static_host.c" \
    -o "$tmp/static_host" -Wl,--export-dynamic -Wl,--whole-archive "$libdir/libdi.a" \
    -Wl,--no-whole-archive $deps
  "$tmp/static_host" "$pdir"
  $cc $san -std=c99 -Wall -Wextra -Werror -I"$tmp/prefix/include" "$src/tests/package/static_host.c" \
    -o "$tmp/static_closed" "$libdir/libdi.a" $deps
  if "$tmp/static_closed" "$pdir" 2>"$tmp/closed.log"; then
    echo "package: a plugin loaded into a static host that exports nothing"; exit 1
  fi
  grep -q "undefined symbol: di_" "$tmp/closed.log" \
    || { echo "package: the refusal does not name the symbol:"; cat "$tmp/closed.log"; exit 1; }
  echo "package: without --export-dynamic the plugin is refused: $(head -1 "$tmp/closed.log")"
else
  echo "SKIP: the sqlite plugin was not built: static host not tried"
fi

# DI_WITH_<X>=ON requires X: with only talloc and cJSON visible to
# pkg-config, configuring with DI_WITH_MHD=ON stops and says why
mkdir -p "$tmp/pc"
for m in talloc libcjson; do
  ln -s "$(pkg-config --variable=pcfiledir "$m")/$m.pc" "$tmp/pc/$m.pc"
done
if PKG_CONFIG_LIBDIR="$tmp/pc" cmake -S "$src" -B "$tmp/without" -DDI_WITH_MHD=ON \
     -DDI_BUILD_TESTS=OFF -DDI_BUILD_EXAMPLES=OFF >"$tmp/without.log" 2>&1; then
  echo "package: DI_WITH_MHD=ON configured without libmicrohttpd"; exit 1
fi
grep -q "DI_WITH_MHD=ON, but libmicrohttpd was not found" "$tmp/without.log" \
  || { echo "package: DI_WITH_MHD=ON failed without saying why:"; cat "$tmp/without.log"; exit 1; }
# ... and AUTO leaves it out with a line
PKG_CONFIG_LIBDIR="$tmp/pc" cmake -S "$src" -B "$tmp/auto" -DDI_BUILD_TESTS=OFF \
  -DDI_BUILD_EXAMPLES=OFF -DDI_WITH_CIVETWEB=OFF >"$tmp/auto.log" 2>&1 \
  || { echo "package: AUTO failed without libmicrohttpd:"; cat "$tmp/auto.log"; exit 1; }
grep -q "libmicrohttpd not found: not built (-DDI_WITH_MHD=ON to require it)" "$tmp/auto.log" \
  || { echo "package: AUTO did not say what it left out"; exit 1; }
echo "package: DI_WITH_MHD=ON fails without libmicrohttpd, AUTO leaves it out"

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
