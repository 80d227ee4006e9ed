#!/usr/bin/env bash
# run.sh [SECONDS] — build the libFuzzer targets (clang, ASan + UBSan) and
# run each for SECONDS (default 600) on its seed corpus. New inputs that
# reach new code go to build-fuzz/corpus/<target>/ (copy the interesting
# ones into tests/fuzz/corpus/<target>/); a crash, leak or timeout stops the
# run and leaves its input as build-fuzz/<kind>-<hash>.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
bash tests/deps.sh
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDI_SANITIZE=address -DDI_FUZZ=ON -DDI_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_config fuzz_params fuzz_http fuzz_json >/dev/null
for t in config params http json; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== fuzz_$t for ${secs}s =="
  (cd build-fuzz && ./tests/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 \
     -rss_limit_mb=2048 -print_final_stats=1 "corpus/$t" "../tests/fuzz/corpus/$t")
done
