#!/usr/bin/env bash
# deps.sh [--example] — install what libdi needs to build and test on
# Debian 12, as root (--example: all but what only the tests use).
# Runs 'apt-get update' once, and only when a package is missing.
set -euo pipefail

need=(gcc g++ clang libclang-rt-14-dev make cmake pkg-config valgrind
      libtalloc-dev libcjson-dev libcunit1-dev graphviz
      libmicrohttpd-dev libcivetweb-dev libevent-dev libsqlite3-dev
      libpq-dev postgresql-15 curl python3-fastapi python3-injector python3-flasgger
      wrk groff-base
      abigail-tools dpkg-dev debhelper)
# a browser only opens the docs page in a test (tests/openapi/docs_page.sh):
# examples/run.sh passes --example and does without
[ "${1:-}" = "--example" ] || need+=(chromium)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "deps: all present"
fi
