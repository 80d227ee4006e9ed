#!/bin/sh
# http_instr.sh BUILD_DIR [--smoke] — the http case in instructions: the
# notes server built with libdi and notes-handwired (the same handler wired
# by hand) each run under callgrind; a client sends GET /notes/1 over one
# keep-alive connection, the counters are zeroed before a batch and dumped
# after it, for batches of two lengths; the difference over the difference
# of the lengths is one request's count, every thread of the server
# included (the adapter, the router, SQLite, libdi), with start-up and the
# idle loop dropped out. Target: libdi's <= 1.01 x the hand-wired server's.
# Prints a table row and a "json: " line; exits 1 when the target is
# missed (never with --smoke: short batches, nothing judged), 77 (skip)
# without valgrind, curl or the servers. Two runs differ by about 1 %
# (the servers' threads wake on their own): batches of 500 and 1,000. HTTP_KEEP=DIR keeps the work folder (the
# callgrind dumps, to see where a request's instructions go).
set -u
build=$1
smoke=${2:-}
for tool in valgrind callgrind_control curl; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed: no http instruction count"
        exit 77
    fi
done
need_wrk=no
. "$(dirname "$0")/http_common.sh"
hand=$build/examples/notes/notes-handwired
if [ ! -x "$hand" ]; then
    echo "SKIP: the hand-wired notes server was not built"
    exit 77
fi
if [ "$smoke" = "--smoke" ]; then short=20; long=40; else short=500; long=1000; fi
auth="Authorization: Bearer alice-token"

# start NAME CMD...: run CMD under callgrind; sets $port and $pid
start() {
    name=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg.%p" \
        "$@" >"$work/$name.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    echo "$pid" >>"$work/pids" # per_request runs in $(...): see cleanup
    for _ in $(seq 1 600); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' \
               "$work/$name.log" | head -1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "http_instr: $* did not start under callgrind:" >&2
    cat "$work/$name.log" >&2
    return 1
}

# get PORT N: N requests over one connection; fails unless all are 200
get() {
    args="" # curl writes each URL's body where the -o before it says
    for _ in $(seq 1 "$2"); do
        args="$args -o /dev/null http://127.0.0.1:$1/notes/1"
    done
    # shellcheck disable=SC2086
    codes=$(curl -s -w '%{http_code}\n' -H "$auth" $args)
    bad=$(echo "$codes" | grep -vc '^200$')
    if [ "$bad" -ne 0 ] || [ "$(echo "$codes" | grep -c .)" -ne "$2" ]; then
        echo "http_instr: port $1: $bad of $2 requests not answered 200" >&2
        return 1
    fi
}

# batch NAME PID PORT N: the instructions the server ran for N requests
batch() {
    callgrind_control -z "$2" >/dev/null 2>&1 || return 1
    get "$3" "$4" || return 1
    n=$(ls "$work" | grep -c "^$1\.cg\.")
    callgrind_control -d "$2" >/dev/null 2>&1 || return 1
    for _ in $(seq 1 100); do
        [ "$(ls "$work" | grep -c "^$1\.cg\.")" -gt "$n" ] && break
        sleep 0.1
    done
    f=$(ls -t "$work"/"$1".cg.* | head -1)
    sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$f" |
        head -1
}

# per_request NAME CMD...: one request's instructions in that server
per_request() {
    name=$1; shift
    start "$name" "$@" || return 1
    curl -s -o /dev/null -H "$auth" -d '{"title":"first","body":"hello"}' \
        "http://127.0.0.1:$port/notes" || return 1
    get "$port" 20 || return 1 # warm: first uses, caches, learned shapes
    s=$(batch "$name" "$pid" "$port" $short) || return 1
    l=$(batch "$name" "$pid" "$port" $long) || return 1
    [ -n "$s" ] && [ -n "$l" ] || { echo "http_instr: no count" >&2; return 1; }
    echo $(( (l - s) / (long - short) ))
}

notes_config "$work/di.json" "$work/di.db" deferred
d=$(per_request di "$notes" --config "$work/di.json" --port 0 --quiet) || exit 1
h=$(per_request hand "$hand" --db "$work/hand.db" --port 0) || exit 1
awk -v d="$d" -v h="$h" -v smoke="$smoke" 'BEGIN {
    r = d / h
    met = r <= 1.01 ? "yes" : "NO"
    if (smoke == "--smoke") met = "(smoke)"
    printf "%-16s %10s %10s %7s %-10s %s\n", "case", "libdi", "hand", "ratio",
           "target", "met"
    printf "%-16s %10d %10d %7.3f %-10s %s\n", "http_instr", d, h, r,
           "<= 1.01", met
    printf "json: {\"case\":\"http_instr\",\"unit\":\"instr/request\",\"libdi\":%d,\"hand\":%d,\"ratio\":%.4f,\"target\":1.01,\"met\":%s,\"smoke\":%s}\n",
           d, h, r, met == "NO" ? "false" : "true",
           smoke == "--smoke" ? "true" : "false"
    if (met == "NO") exit 1
}'
