#!/bin/bash
# run-all.sh [BUILD_DIR]: set up the host, build everything and run every
# test: host unit tests, BPF parser tests, DKMS, and the kernel scenarios in
# the QEMU guest. This is the command the README and CI run.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}

"$src/tests/setup-host.sh"
cmake -S "$src" -B "$build" -DLIBRA_REQUIRE_GUEST=ON
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 900
