#!/bin/sh
# http_bench.sh BUILD_DIR [--smoke] — the http case: wrk on loopback against
# the notes server built with libdi (GET /notes/1: router, current_user,
# SQLite session, repository) and against notes-handwired, the same handler
# wired by hand, in 40 back-to-back pairs of 1 s runs, the order alternating;
# the ratio is the median of the pairs' ratios (both read in a deferred
# transaction, committed before the answer is queued: a read takes no write
# lock in WAL mode). Prints a table row and a "json: " line;
# exits 1 when libdi serves less than 97 % of the hand-wired requests/s,
# 77 (skip) without wrk. --smoke: one short run each, nothing judged.
set -u
build=$1
smoke=${2:-}
hand=$build/examples/notes/notes-handwired
. "$(dirname "$0")/http_common.sh"
if [ ! -x "$hand" ]; then
    echo "SKIP: the hand-wired notes server was not built"
    exit 77
fi
notes_config "$work/di.json" "$work/di.db" deferred
start_server "$work/di.log" "$notes" --config "$work/di.json" --port 0 --quiet || exit 1
di_port=$port
start_server "$work/hand.log" "$hand" --db "$work/hand.db" --port 0 || exit 1
hand_port=$port
auth="Authorization: Bearer alice-token"
curl -s -o /dev/null -H "$auth" -d '{"title":"first","body":"hello"}' \
    "http://127.0.0.1:$di_port/notes"
for p in $di_port $hand_port; do
    body=$(curl -s -H "$auth" "http://127.0.0.1:$p/notes/1")
    case $body in
    *'"title":"first"'*) ;;
    *) echo "http_bench: port $p answered: $body" >&2; exit 1 ;;
    esac
done

if [ "$smoke" = "--smoke" ]; then runs=1; secs=1; else runs=${HTTP_PAIRS:-40}; secs=${HTTP_SECS:-1}; fi
# rps PORT: one wrk run; fails on any non-2xx answer or socket error
rps() {
    out=$(wrk -t2 -c8 -d${secs}s -H "$auth" "http://127.0.0.1:$1/notes/1")
    if echo "$out" | grep -qE "Non-2xx|Socket errors"; then
        echo "http_bench: errors on port $1:" >&2
        echo "$out" >&2
        return 1
    fi
    echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}
# The two servers run in pairs, back to back, the order alternating; the
# ratio is the median of the pairs' ratios, so that the machine's drift
# over the minute (it is shared) cancels within each pair. On the 2-vCPU
# VM a single pair's ratio ranges over 0.76-1.13 (steal, scheduling): 40
# short pairs give the median a standard error of about 1.5 %, where 15
# pairs of 2 s gave about 2.5 % for the same minute and more.
di_runs=""
hand_runs=""
ratios=""
for i in $(seq 1 $runs); do
    if [ $((i % 2)) -eq 1 ]; then
        d=$(rps "$di_port") || exit 1
        h=$(rps "$hand_port") || exit 1
    else
        h=$(rps "$hand_port") || exit 1
        d=$(rps "$di_port") || exit 1
    fi
    di_runs="$di_runs $d"
    hand_runs="$hand_runs $h"
    ratios="$ratios $(awk -v a="$d" -v b="$h" 'BEGIN {printf "%.4f", a / b}')"
done
median() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { echo "$@" | tr ' ' '\n' | grep . | sort -g | awk 'NR==1{m=$1} {M=$1} END {printf "%.0f-%.0f", m, M}'; }
[ -n "${HTTP_VERBOSE:-}" ] && echo "pairs: $ratios" >&2
dm=$(median $di_runs)
hm=$(median $hand_runs)
ratio=$(printf '%.3f' "$(median $ratios)")
met=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.97) ? "yes" : "NO"}')
[ "$smoke" = "--smoke" ] && met="(smoke)"
printf "%-16s %-8s %-26s %-26s %-7s %-16s %s\n" http "req/s" \
    "$(printf '%.0f (%s)' "$dm" "$(minmax $di_runs)")" \
    "$(printf '%.0f (%s)' "$hm" "$(minmax $hand_runs)")" "$ratio" ">= 0.97" "$met"
printf 'json: {"case":"http","unit":"req/s","libdi":{"median":%s},"hand":{"median":%s},"ratio":%s,"target":">= 0.97","met":%s,"smoke":%s}\n' \
    "$dm" "$hm" "$ratio" "$([ "$met" = yes ] && echo true || echo false)" \
    "$([ "$smoke" = --smoke ] && echo true || echo false)"
[ "$met" = "NO" ] && exit 1
exit 0
