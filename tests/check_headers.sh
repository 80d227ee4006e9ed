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
# DI_PLUGIN() expands cleanly in a plugin written in either language
cat > "$tmp/p.c" <<'SRC'
#include <di/plugin.h>
static int mk(const di_build *b, void **out) { (void)b; *out = 0; return 0; }
static const di_kind_desc k = { "k", 0, "singleton", 0, mk, 0, 0, 0, 0, 0, 0, 0 };
DI_PLUGIN(hdr, "1.0", 0, &k)
SRC
cc -std=c99 -pedantic -Wall -Wextra -Wmissing-prototypes -Werror -I"$inc" \
   -c "$tmp/p.c" -o "$tmp/p.o"
if command -v c++ >/dev/null; then
  c++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" \
      -c "$tmp/p.c" -o "$tmp/p.o"
fi
echo "headers: $n compile alone as C99 and C++11; DI_PLUGIN() expands in both"
