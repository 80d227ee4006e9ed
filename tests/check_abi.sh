#!/usr/bin/env bash
# check_abi.sh LIBDI_SO SOURCE_DIR [--update] — compare libdi.so's ABI with
# the dump kept in tests/abi/libdi.abi (libabigail's abidw and abidiff):
#   - no change, or only additions (new functions): passes (additions are
#     listed; refresh the dump with --update when the version is released);
#   - an incompatible change (a function removed, a public struct or an
#     enum changed, a parameter's type) passes only when the SONAME changed
#     too: the dump's SONAME against the library's.
# --update writes the library's ABI as the new dump.
set -euo pipefail
lib=$1
src=$2
dump=$src/tests/abi/libdi.abi
sup=$src/tests/abi/suppressions
if ! command -v abidiff >/dev/null; then
  echo "SKIP: abidiff not found (Debian: abigail-tools): ABI not checked"
  exit 0
fi
if [ "${3:-}" = "--update" ]; then
  abidw --headers-dir "$src/include" --drop-private-types --no-corpus-path \
        --no-show-locs --no-comp-dir-path \
        --suppressions "$sup" --out-file "$dump" "$lib"
  # translation units by their path in the source tree, not on this machine
  sed -i "s|path='$(cd "$src" && pwd)/|path='|" "$dump"
  echo "abi: wrote $dump"
  exit 0
fi
set +e
abidiff --suppressions "$sup" "$dump" "$lib" > "${TMPDIR:-/tmp}/abi.$$" 2>&1
rc=$?
set -e
report=$(cat "${TMPDIR:-/tmp}/abi.$$"); rm -f "${TMPDIR:-/tmp}/abi.$$"
old=$(sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$dump")
new=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ $((rc & 3)) -ne 0 ]; then
  echo "abi: abidiff could not compare (exit $rc):"; echo "$report"; exit 1
fi
# abidiff sets bit 8 for what it knows breaks (a symbol removed) and bit 4
# for any other change; a changed function or variable (a struct it reaches
# changed size or layout, a parameter's type) breaks callers too: only
# additions are compatible
removed_or_changed=$(echo "$report" | sed -n 's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed\(, [0-9]* Removed ([^)]*)\)*, \([0-9]*\) Changed.*/\2 \4/p' \
  | awk '{n += $1 + $2} END {print n + 0}')
if [ $((rc & 8)) -ne 0 ] || { [ $((rc & 4)) -ne 0 ] && [ "$removed_or_changed" -gt 0 ]; }; then
  if [ "$old" = "$new" ]; then
    echo "FAIL: an incompatible ABI change, and the SONAME is still $new:"
    echo "$report"
    echo "(bump the version in include/di/version.h, which changes the SONAME,"
    echo " and refresh the dump: tests/check_abi.sh LIB SOURCE_DIR --update)"
    exit 1
  fi
  echo "abi: incompatible changes with a new SONAME ($old -> $new): refresh the dump with --update"
  exit 0
fi
if [ $((rc & 4)) -ne 0 ]; then
  echo "abi: compatible additions against the dump ($new):"
  echo "$report" | grep -E "Added|^  \[A\]" || true
  exit 0
fi
echo "abi: $new matches tests/abi/libdi.abi"
