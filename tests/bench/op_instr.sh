#!/bin/sh
# op_instr.sh DI_BENCH [--smoke] — the gate of the timed cases, in
# instructions per operation: callgrind counts only what runs inside
# bench_ops() (the measured region), for two run lengths of each side —
# libdi, hand-wired with talloc per object, and hand-wired with one talloc
# pool per request where the case has one — and the difference divided by
# the difference of the lengths is one operation's count, with the set-up
# and first-use costs (a singleton built once, a spare block kept, a shape
# learned) dropped out. A count does not move with the machine's speed.
# Each case's target (di_bench --op-cases) is on libdi over the faster of
# its baselines. Where a case has one, the generic runner (generic.c: what
# any container calling creates and disposes through pointers must do) is
# counted too and printed as context, with its ratio to the same baseline,
# never judged. Prints a table row and a "json: " line per case, then
# empty_10k against empty_3 (a scope's cost does not depend on how many
# providers its level has: within 10 %). Exits 1 when a target is missed
# (never with --smoke, which runs short and judges nothing), 77 (skip)
# without valgrind.
set -u
bench=$1
smoke=${2:-}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed: no instruction counts"
    exit 77
fi
if [ "$smoke" = "--smoke" ]; then short=200; long=400; else short=2000; long=4000; fi

# count CASE libdi|hand|pool OPS: instructions inside bench_ops()
count() {
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
          --toggle-collect=bench_ops "$bench" --op-run "$1" "$2" "$3" 2>&1)
    n=$(echo "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
        echo "op_instr: no count for $1 ($2, $3 ops):" >&2
        echo "$out" >&2
        return 1
    fi
    echo "$n"
}

# per_op CASE SIDE: one operation's instructions
per_op() {
    s=$(count "$1" "$2" $short) || return 1
    l=$(count "$1" "$2" $long) || return 1
    echo $(( (l - s) / (long - short) ))
}

cases=$("$bench" --op-cases) || exit 1
printf '%-16s %10s %10s %10s %7s %-10s %-7s %s\n' case libdi per-object pool \
       ratio target met generic
fail=0
tmp=${TMPDIR:-/tmp}/op_instr.$$
: > "$tmp"
echo "$cases" | while read -r name pooled target generic; do
    d=$(per_op "$name" libdi) || exit 1
    h=$(per_op "$name" hand) || exit 1
    if [ "$pooled" = 1 ]; then p=$(per_op "$name" pool) || exit 1; else p=-; fi
    if [ "$generic" = 1 ]; then g=$(per_op "$name" generic) || exit 1; else g=-; fi
    echo "$name $d" >> "$tmp"
    awk -v c="$name" -v d="$d" -v h="$h" -v p="$p" -v g="$g" -v t="$target" \
        -v smoke="$smoke" 'BEGIN {
        best = (p != "-" && p < h) ? p : h
        r = best > 0 ? d / best : 0
        met = (t == 0 || r <= t) ? "yes" : "NO"
        if (smoke == "--smoke") met = "(smoke)"
        gen = g == "-" ? "-" : sprintf("%d (%.2f)", g, best > 0 ? g / best : 0)
        printf "%-16s %10d %10d %10s %7.2f %-10s %-7s %s\n", c, d, h, p, r,
               t == 0 ? "-" : "<= " t, met, gen
        printf "json: {\"case\":\"%s_instr\",\"unit\":\"instr/op\",\"libdi\":%d,\"hand\":%d,\"pool\":%s,\"generic\":%s,\"ratio\":%.3f,\"target\":%s,\"met\":%s,\"smoke\":%s}\n",
               c, d, h, p == "-" ? "null" : p, g == "-" ? "null" : g, r, t,
               met == "NO" ? "false" : "true",
               smoke == "--smoke" ? "true" : "false"
        if (met == "NO") exit 3
    }' || echo NO >> "$tmp"
done
echo END >> "$tmp"
# a count that failed ended the loop early (it runs in a subshell)
[ "$(grep -c . "$tmp")" -gt "$(echo "$cases" | grep -c .)" ] ||
    { echo "op_instr: a case could not be counted" >&2; rm -f "$tmp"; exit 1; }
e3=$(sed -n 's/^empty_3 //p' "$tmp")
e10=$(sed -n 's/^empty_10k //p' "$tmp")
if [ -n "$e3" ] && [ -n "$e10" ]; then
    awk -v a="$e3" -v b="$e10" -v smoke="$smoke" 'BEGIN {
        r = b / a
        met = (r <= 1.10 && r >= 1 / 1.10) ? "yes" : "NO"
        if (smoke == "--smoke") met = "(smoke)"
        printf "%-16s %10.2f %10s %10s %7s %-10s %s\n", "empty_10k/3", r,
               "", "", "", "0.91-1.10", met
        if (met == "NO") exit 3
    }' || echo NO >> "$tmp"
fi
grep -q '^NO$' "$tmp" && fail=1
rm -f "$tmp"
[ "$smoke" = "--smoke" ] && exit 0
exit $fail
