#!/usr/bin/env bash
# Configures and builds solobridge into build/ (or $SB_BUILD_DIR). Extra arguments go to
# the CMake configure step, e.g. scripts/build.sh -DSB_CUDA=OFF.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SB_BUILD_DIR:-$root/build}
generator=()
if command -v ninja >/dev/null 2>&1 && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="${SB_BUILD_TYPE:-RelWithDebInfo}" "$@"
cmake --build "$build" --parallel "$(nproc)"
