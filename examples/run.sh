#!/usr/bin/env bash
# run.sh — install what is missing, build libdi and start the main example:
# the notes REST service (libmicrohttpd + the SQLite plugin, database file
# build/notes.db), printing the curl commands to try. Ctrl-C stops it.
# Options are passed to the server (e.g. --port 9000, --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
cd build
exec ./examples/notes/notes "$@"
