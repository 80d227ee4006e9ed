#!/usr/bin/env bash
# run.sh [--postgres [--loop]] [SERVER OPTIONS] — install what is missing,
# build libdi and start the main example: the notes REST service on
# libmicrohttpd, printing the curl commands to try. Ctrl-C stops it.
#   (default)   SQLite, database file build/notes.db
#   --postgres  a private PostgreSQL server started for the occasion (as the
#               tests do: tests/pg.sh, Unix socket only, in build/notes-pg),
#               reached through DATABASE_URL by examples/notes/notes-postgres.json,
#               and stopped when the server stops
#   --postgres --loop  the same server on one libevent loop thread with the
#               asynchronous PostgreSQL kinds (examples/notes/notes-async.json)
# Other options are passed to the server (e.g. --port 9000, --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=0
if [ "${1:-}" = "--postgres" ]; then
  postgres=1
  shift
fi
bash tests/deps.sh --example
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
cd build
if [ "$postgres" = 0 ]; then
  exec ./examples/notes/notes "$@"
fi
work=$PWD/notes-pg
mkdir -p "$work"
trap 'sh ../tests/pg.sh stop "$work" >/dev/null' EXIT
sh ../tests/pg.sh start "$work"
if [ ! -f "$work/pg.conninfo" ]; then
  echo "run.sh: no PostgreSQL server could be started (see above)" >&2
  exit 1
fi
DATABASE_URL=$(cat "$work/pg.conninfo")
export DATABASE_URL
echo "DATABASE_URL=$DATABASE_URL"
# the server stops on Ctrl-C; then the trap stops PostgreSQL
trap '' INT
config=../examples/notes/notes-postgres.json
for a in "$@"; do
  [ "$a" = "--loop" ] && config=../examples/notes/notes-async.json
done
./examples/notes/notes --config "$config" "$@" &
server=$!
trap 'kill -INT $server 2>/dev/null' INT
wait $server || wait $server || true
