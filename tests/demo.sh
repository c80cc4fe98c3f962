#!/bin/bash
# demo.sh [BUILD_DIR]: set up the host, build, boot the guest kernel and show
# Libra at work on a real nginx: the module loaded, bodies proxied, figures.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}

"$src/tests/setup-host.sh"
cmake -S "$src" -B "$build" -DLIBRA_REQUIRE_GUEST=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
kver=$(ls "$build/kmod" | sort -V | head -n 1)
"$src/tests/guest/run-guest" --kernel "$kver" --src "$src" --build "$build" --scenario demo \
	--timeout 900 | grep -v '^\[ *[0-9]'
