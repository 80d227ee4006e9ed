#!/usr/bin/env bash
# check_headers.sh INCLUDE_DIR — every public header compiles alone as C99
# and as C++11 with -Wall -Wextra -pedantic -Werror.
set -euo pipefail
inc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$inc"/di.h "$inc"/di/*.h; do
  rel=${h#"$inc"/}
  printf '#include <%s>\nint di_header_check_%d;\n' "$rel" "$n" > "$tmp/t.c"
  cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
  if command -v c++ >/dev/null; then
    c++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
  else
    echo "SKIP: no C++ compiler, $rel checked as C only"
  fi
  n=$((n + 1))
done
echo "headers: $n compile alone as C99 and C++11"
