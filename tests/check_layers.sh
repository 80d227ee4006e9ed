#!/usr/bin/env bash
# check_layers.sh LIBDI_A — lib/'s files call one another in layers, never
# in a loop: from the static library's objects, each file's calls to names
# another file defines (nm), sorted topologically (tsort); a loop fails and
# is printed. The higher layers reach down, and what the container must do
# for them at its end goes through hooks they register (see lib/di_int.h).
# Only log.c writes to stderr (everything else reports through di__log()).
set -euo pipefail
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "object symbol" for what each object defines, and for what it uses
nm -A --defined-only "$lib" 2>/dev/null \
  | awk '$(NF-1) ~ /^[TDBRV]$/ { split($1, p, ":"); print $NF, p[2] }' \
  | sort -u > "$tmp/defs"
nm -A -u "$lib" 2>/dev/null \
  | awk '{ split($1, p, ":"); print $NF, p[2] }' | sort -u > "$tmp/uses"
# "user definer" for each use of a name another object defines
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"
n=$(wc -l < "$tmp/edges")
[ "$n" -gt 0 ] || { echo "layers: no calls between objects found in $lib"; exit 1; }
if ! tsort "$tmp/edges" > "$tmp/order" 2> "$tmp/loops"; then
  loop=$(sed -n 's/^tsort: \([^ ]*\.o\)$/\1/p' "$tmp/loops" | sort -u)
  echo "FAIL: files of lib/ call one another in a loop:" $loop
  echo "the calls between them:"
  for a in $loop; do for b in $loop; do
    names=$(join "$tmp/uses" "$tmp/defs" | awk -v a="$a" -v b="$b" '$2 == a && $3 == b { print $1 }' | tr '\n' ' ')
    [ -n "$names" ] && echo "  $a -> $b: $names"
  done; done
  exit 1
fi
# one log hook (di/log.h): only log.c writes to stderr, the default hook
writers=$(awk '$1 == "stderr" && $2 != "log.c.o" { print $2 }' "$tmp/uses" | sort -u)
if [ -n "$writers" ]; then
  echo "FAIL: files of lib/ write to stderr themselves instead of through the log hook:" $writers
  exit 1
fi
echo "layers: $n calls between $(wc -l < "$tmp/order") files of lib/, in layers (top first): $(tr '\n' ' ' < "$tmp/order" | sed 's/\.c\.o//g')"
