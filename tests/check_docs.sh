#!/usr/bin/env bash
# check_docs.sh SOURCE_DIR — the user documentation stays what README.md
# promises: README.md opens with the two commands (.ci/run runs the second
# verbatim) and stays about 12 KB; every relative link in README.md, docs/
# and the examples' READMEs leads to a file that exists.
set -euo pipefail
src=$1
cd "$src"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

size=$(wc -c < README.md)
[ "$size" -le 13000 ] || fail "README.md is $size bytes (at most about 12 KB: move detail to docs/)"
block=$(awk '/^```/{n++; next} n==1' README.md)
[ "$(echo "$block" | grep -c .)" -eq 2 ] || fail "README.md's first block is not exactly two commands"
echo "$block" | sed -n 1p | grep -q '^bash examples/run.sh' || fail "README.md's first command is not the example"
echo "$block" | sed -n 2p | grep -q '^bash tests/run.sh' || fail "README.md's second command is not the test suite"
grep -q 'bash tests/run.sh' .ci/run || fail ".ci/run does not run the README's test command"

for f in README.md CHANGELOG.md docs/*.md examples/*/README.md; do
  [ -f "$f" ] || continue
  dir=$(dirname "$f")
  # [text](target) and ![alt](target), not URLs or anchors
  { grep -o '](\([^)#]*\))' "$f" || true; } | sed 's/^](//; s/)$//' | while read -r target; do
    case $target in http*|mailto:*|'') continue ;; esac
    [ -e "$dir/$target" ] || echo "FAIL: $f links to $target, which does not exist"
  done
done | tee "${TMPDIR:-/tmp}/check_docs.$$"
[ -s "${TMPDIR:-/tmp}/check_docs.$$" ] && fails=$((fails + $(wc -l < "${TMPDIR:-/tmp}/check_docs.$$")))
rm -f "${TMPDIR:-/tmp}/check_docs.$$"

if [ "$fails" -ne 0 ]; then
  echo "docs: $fails problems"
  exit 1
fi
echo "docs: README.md $size bytes, its two commands, every link resolves"
