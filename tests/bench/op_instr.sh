#!/bin/sh
# op_instr.sh DI_BENCH [--smoke] — the timed cases counted in instructions
# per operation: callgrind counts only what runs inside bench_ops() (the
# measured region), for two run lengths of each side, libdi and hand-wired,
# and the difference divided by the difference of the lengths is one
# operation's count, with the set-up and first-use costs (a singleton built
# once, a spare block kept) dropped out. A count does not move with the
# machine's speed. Prints a table row and a "json: " line per case; judges
# nothing yet; exits 77 (skip) without valgrind. --smoke: short runs.
set -u
bench=$1
smoke=${2:-}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed: no instruction counts"
    exit 77
fi
if [ "$smoke" = "--smoke" ]; then short=200; long=400; else short=2000; long=4000; fi

# count CASE libdi|hand OPS: instructions inside bench_ops()
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

printf '%-16s %-10s %12s %12s %7s\n' case unit libdi hand-wired ratio
for c in call_floor singleton_key singleton_name request_3 aspnetcore complex; do
    ds=$(count "$c" libdi $short) || exit 1
    dl=$(count "$c" libdi $long) || exit 1
    hs=$(count "$c" hand $short) || exit 1
    hl=$(count "$c" hand $long) || exit 1
    awk -v c="$c" -v ds="$ds" -v dl="$dl" -v hs="$hs" -v hl="$hl" \
        -v n=$((long - short)) -v smoke="$smoke" 'BEGIN {
        d = (dl - ds) / n; h = (hl - hs) / n
        r = h > 0 ? d / h : 0
        printf "%-16s %-10s %12.1f %12.1f %7.2f\n", c, "instr/op", d, h, r
        printf "json: {\"case\":\"%s_instr\",\"unit\":\"instr/op\",\"libdi\":%.1f,\"hand\":%.1f,\"ratio\":%.3f,\"smoke\":%s}\n",
               c, d, h, r, smoke == "--smoke" ? "true" : "false"
    }'
done
