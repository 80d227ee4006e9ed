#!/usr/bin/env bash
# run.sh — install what is missing, build libdi with clang (debug), gcc
# Release (-O2, debug checks off) and gcc debug (-Wall -Wextra -Werror
# everywhere), and run the unit tests on clang, the unit tests and valgrind
# on Release, and the whole suite on gcc debug:
# CUnit suites, examples, header and packaging checks, and every suite again
# under valgrind memcheck (CTest labels: unit, example, package, memcheck).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== clang build (warnings are errors) =="
cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DDI_DEBUG=ON >/dev/null
cmake --build build-clang -j"$jobs" >/dev/null
ctest --test-dir build-clang -L unit --output-on-failure -j"$jobs"

echo "== gcc Release build (-O2, debug checks off: the fast paths), also under valgrind =="
cmake -S . -B build-release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release -DDI_DEBUG=OFF >/dev/null
cmake --build build-release -j"$jobs" >/dev/null
ctest --test-dir build-release -L "unit|memcheck" --output-on-failure -j"$jobs"

echo "== gcc build: the whole suite =="
cmake -S . -B build -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DDI_DEBUG=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
ctest --test-dir build --output-on-failure -j"$jobs"
