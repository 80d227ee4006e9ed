#!/usr/bin/env bash
# check_debian.sh SOURCE_DIR — build the Debian packages from a copy of the
# source (dpkg-buildpackage -b -us -uc: libdi0.2, libdi-dev, libdi-plugins,
# diwire), unpack them into a temporary root, and build and run the outside
# program against them with pkg-config and with find_package(di COMPONENTS
# mhd civetweb evhttp); run the packaged diwire, and check that the packaged
# library finds the packaged plugins.
set -euo pipefail
src=$(cd "$1" && pwd)
for t in dpkg-buildpackage dh dpkg-checkbuilddeps; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not found (Debian: dpkg-dev, debhelper): packages not built"; exit 0; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/libdi"
tree=$tmp/src/libdi
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tree")
else
  (cd "$src" && find . -path './build*' -prune -o -type f -print0 | xargs -0 cp --parents -t "$tree")
fi
cd "$tree"
if ! dpkg-checkbuilddeps >"$tmp/deps.log" 2>&1; then
  echo "SKIP: build dependencies missing: $(cat "$tmp/deps.log")"; exit 0
fi
dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1 \
  || { echo "debian: dpkg-buildpackage failed:"; tail -40 "$tmp/build.log"; exit 1; }
root=$tmp/root
for p in libdi0.2 libdi-dev libdi-plugins diwire; do
  deb=$(ls "$tmp/src/${p}"_*.deb)
  dpkg-deb -x "$deb" "$root"
  echo "debian: $(basename "$deb")"
done
multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=$root/usr/lib/$multi
export LD_LIBRARY_PATH=$libdir
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c99 -Wall -Wextra -Werror "$src/tests/package/main.c" -o "$tmp/with_pc" \
   $(pkg-config --cflags --libs di)
"$tmp/with_pc" "packaged, pkg-config"
cmake -S "$src/tests/package" -B "$tmp/outside" -DCMAKE_PREFIX_PATH="$root/usr" \
  -DDI_COMPONENTS="mhd;civetweb;evhttp" >/dev/null
cmake --build "$tmp/outside" >/dev/null
"$tmp/outside/outside" "packaged, find_package"
for a in mhd civetweb evhttp; do "$tmp/outside/outside_$a"; done
echo "debian: find_package(di COMPONENTS mhd civetweb evhttp) links against the packages"
got=$("$tmp/with_pc" plugindir)
[ "$got" = "$libdir/di/plugins" ] && [ -e "$got/sqlite.so" ] && [ -e "$got/postgres.so" ] \
  || { echo "debian: the packaged library looks for plugins in $got"; exit 1; }
"$root/usr/bin/diwire" --version | grep -q "^diwire 0" || { echo "debian: diwire does not run"; exit 1; }
"$root/usr/bin/diwire" plugins "$got" >/dev/null \
  || { echo "debian: diwire refuses the packaged plugins"; exit 1; }
echo "debian: packages built and used: pkg-config, find_package, diwire, plugins"
