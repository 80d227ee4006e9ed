# http_common.sh — sourced by the http benchmarks: a work folder removed on
# exit with the servers started in it, starting a server and reading its
# port, and the notes config they run. Needs $build set; sets $work.
# need_wrk=no: a script that does not drive wrk. HTTP_KEEP=DIR copies the
# work folder there at exit (logs, databases, dumps).
if [ "${need_wrk:-yes}" != no ] && ! command -v wrk >/dev/null 2>&1; then
    echo "SKIP: wrk is not installed: no http benchmark"
    exit 77
fi
notes=$build/examples/notes/notes
if [ ! -x "$notes" ]; then
    echo "SKIP: the notes server was not built"
    exit 77
fi
work=$(mktemp -d)
pids=""
cleanup() {
    # and those started in a command substitution's subshell, whose $pids
    # never reached this one: they wrote theirs to $work/pids
    [ -f "$work/pids" ] && pids="$pids $(cat "$work/pids")"
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do
        wait "$p" 2>/dev/null
        # not this shell's child: wait until it is gone (60 s at most)
        for _ in $(seq 1 600); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
    done
    [ -n "${HTTP_KEEP:-}" ] && cp -r "$work" "$HTTP_KEEP"
    rm -rf "$work"
}
trap cleanup EXIT

# start_server LOGFILE CMD... : run it, wait for its port (in $port). Not
# in a subshell: $pids must reach the cleanup
start_server() {
    log=$1; shift
    "$@" >"$log" 2>&1 &
    pids="$pids $!"
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "http bench: $* did not start:" >&2
    cat "$log" >&2
    return 1
}

# notes_config FILE DB READ_BEGIN: the notes wiring on SQLite file DB, its
# GET routes' session begun READ_BEGIN (deferred, immediate)
notes_config() {
    cat >"$1" <<JSON
{ "plugins": ["sqlite"], "providers": {
  "db": { "use": "sqlite.pool", "params": { "path": "$2", "size": 4, "busy_timeout_ms": 10000 } },
  "session": { "use": "sqlite.session", "deps": { "pool": "db" } },
  "read_session": { "use": "sqlite.session", "deps": { "pool": "db" }, "params": { "begin": "$3" } },
  "repo": { "use": "notes.sqlite_repo", "deps": { "session": "session" } },
  "read_repo": { "use": "notes.sqlite_repo", "deps": { "session": "read_session" } } } }
JSON
}
