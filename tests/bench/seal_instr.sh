#!/bin/sh
# seal_instr.sh DI_BENCH [--smoke] — the seal cases counted in instructions
# instead of time: valgrind's callgrind counts what one run over the 10k
# graph and one over the 100k graph execute (the container's creation, the
# registrations and the seal, as the timed case measures: freeing it is not
# counted), through libdi and through the hand-wired registry, and prints
# their 100k/10k. A count does not depend on the machine's speed or its
# caches, so it shows whether the work is linear where the time's
# seal_scaling also measures the memory hierarchy. Prints a table row and
# a "json: " line; judges nothing (the target is seal_scaling's); exits 77
# (skip) without valgrind. --smoke: 1k and 5k providers.
set -u
bench=$1
smoke=${2:-}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed: no instruction counts"
    exit 77
fi
if [ "$smoke" = "--smoke" ]; then small=1000; large=5000; else small=10000; large=100000; fi

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
ds=$(count $small libdi) || exit 1
dl=$(count $large libdi) || exit 1
hs=$(count $small hand) || exit 1
hl=$(count $large hand) || exit 1
dr=$(awk -v a="$dl" -v b="$ds" 'BEGIN {printf "%.2f", a / b}')
hr=$(awk -v a="$hl" -v b="$hs" 'BEGIN {printf "%.2f", a / b}')
ratio=$(awk -v a="$dr" -v b="$hr" 'BEGIN {printf "%.2f", a / b}')
met=yes
[ "$smoke" = "--smoke" ] && met="(smoke)"
mega() { awk -v n="$1" 'BEGIN {printf "%.1f M", n / 1e6}'; }
echo "seal_instr: libdi $(mega "$ds") instructions at $small providers," \
     "$(mega "$dl") at $large; by hand $(mega "$hs") and $(mega "$hl")" >&2
printf "%-16s %-8s %-26s %-26s %-7s %-16s %s\n" seal_instr "x" \
    "$dr ($dr-$dr)" "$hr ($hr-$hr)" "$ratio" "-" "$met"
printf 'json: {"case":"seal_instr","unit":"x","libdi":{"median":%s,"small":%s,"large":%s},"hand":{"median":%s,"small":%s,"large":%s},"ratio":%s,"target":"","met":true,"smoke":%s}\n' \
    "$dr" "$ds" "$dl" "$hr" "$hs" "$hl" "$ratio" \
    "$([ "$smoke" = --smoke ] && echo true || echo false)"
exit 0
