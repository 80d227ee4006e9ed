#!/bin/sh
# seal_instr.sh DI_BENCH [--smoke] — the seal cases counted in instructions
# instead of time: valgrind's callgrind counts what one run over the graph
# of 1k, 10k, 100k and 1M providers executes (the container's creation,
# the registrations and the seal, as the timed case measures: freeing it is
# not counted), through libdi and through the hand-wired registry. A count
# does not depend on the machine's speed or its caches, so it shows whether
# the work is linear where the time also measures the memory hierarchy.
# Targets: each size over the one before <= 10.5 (from 10k on), register +
# seal at 1M <= 2,000 instructions per provider, and the heap held once
# sealed at 1M <= 300 bytes per provider (di_bench --seal-heap). Prints a
# table row and a "json: " line per size; exits 1 when a target is missed
# (never with --smoke: 1k and 5k providers, nothing judged), 77 (skip)
# without valgrind.
set -u
bench=$1
smoke=${2:-}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed: no instruction counts"
    exit 77
fi
if [ "$smoke" = "--smoke" ]; then sizes="1000 5000"; else sizes="1000 10000 100000 1000000"; fi

# count N libdi|hand: instructions executed inside the timed calls
count() {
    if [ "$2" = libdi ]; then
        toggles="--toggle-collect=bench_seal_run --toggle-collect=di_container_free"
    else
        toggles="--toggle-collect=bench_seal_run_hand --toggle-collect=talloc_free"
    fi
    # shellcheck disable=SC2086
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $toggles \
          "$bench" --seal-run "$1" "$2" 2>&1)
    n=$(echo "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
        echo "seal_instr: no count for $2 at $1 providers:" >&2
        echo "$out" >&2
        return 1
    fi
    echo "$n"
}

fail=0
printf '%-12s %12s %10s %12s %10s %9s %9s %s\n' providers libdi "per prov" \
       hand "per prov" "x libdi" "x hand" met
pd=""; ph=""
for n in $sizes; do
    d=$(count "$n" libdi) || exit 1
    h=$(count "$n" hand) || exit 1
    line=$(awk -v n="$n" -v d="$d" -v h="$h" -v pd="$pd" -v ph="$ph" \
               -v smoke="$smoke" 'BEGIN {
        xd = pd == "" ? 0 : d / pd; xh = ph == "" ? 0 : h / ph
        met = "yes"
        if (xd > 10.5 && n >= 10000) met = "NO"
        if (n == 1000000 && d / n > 2000) met = "NO"
        if (smoke == "--smoke") met = "(smoke)"
        printf "%-12d %12.0f %10.0f %12.0f %10.0f %9s %9s %s\n", n, d, d / n, h,
               h / n, xd ? sprintf("%.2f", xd) : "-",
               xh ? sprintf("%.2f", xh) : "-", met
        printf "json: {\"case\":\"seal_instr_%d\",\"unit\":\"instr\",\"libdi\":%.0f,\"hand\":%.0f,\"libdi_per_provider\":%.0f,\"scaling\":%.3f,\"hand_scaling\":%.3f,\"met\":%s,\"smoke\":%s}\n",
               n, d, h, d / n, xd, xh, met == "NO" ? "false" : "true",
               smoke == "--smoke" ? "true" : "false"
    }')
    echo "$line"
    echo "$line" | grep -q ' NO$' && fail=1
    pd=$d; ph=$h
done
if [ "$smoke" != "--smoke" ]; then
    heap=$("$bench" --seal-heap 1000000) || exit 1
    echo "$heap"
    per=$(echo "$heap" | sed -n 's/.*libdi \([0-9]*\) bytes.*/\1/p')
    if [ -z "$per" ] || [ "$per" -gt 300 ]; then
        echo "seal_instr: heap per provider at 1M over 300 bytes: NO"
        fail=1
    fi
    exit $fail
fi
exit 0
