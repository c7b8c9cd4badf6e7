#!/usr/bin/env bash
# The README's second command: installs what is missing, builds into build/ and runs
# every test through CTest. Exit status is non-zero when anything fails.
#   scripts/test.sh              all tests
#   scripts/test.sh -R REGEX     only matching tests (passed to ctest)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-deps.sh
scripts/build.sh

export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$root/build/pocl-cache}
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600 "$@"
