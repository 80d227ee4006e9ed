#!/usr/bin/env bash
# run.sh — install what is missing, then build and test libdi four ways:
#   1. clang, debug, AddressSanitizer + UndefinedBehaviorSanitizer: the
#      whole suite (CUnit suites, examples, end-to-end, package checks);
#   2. gcc Release (-O2, debug checks off: the fast paths): the unit suites,
#      and every suite and example again under valgrind memcheck;
#   3. gcc debug: the whole suite, memcheck included;
#   4. clang ThreadSanitizer (optimised, debug checks off): the suites that
#      run libdi on several threads at once (CTest label "threads").
# Warnings are errors in every build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== clang debug build, ASan + UBSan: the whole suite =="
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DDI_DEBUG=ON -DDI_SANITIZE=address >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== gcc Release build (-O2, debug checks off: the fast paths), also under valgrind =="
cmake -S . -B build-release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release -DDI_DEBUG=OFF >/dev/null
cmake --build build-release -j"$jobs" >/dev/null
ctest --test-dir build-release -L "unit|memcheck" --output-on-failure -j"$jobs"

echo "== gcc build: the whole suite =="
cmake -S . -B build -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DDI_DEBUG=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== clang ThreadSanitizer build: the threaded suites =="
cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DDI_DEBUG=OFF -DDI_SANITIZE=thread -DDI_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs" >/dev/null
ctest --test-dir build-tsan -L threads --output-on-failure -j"$jobs"
