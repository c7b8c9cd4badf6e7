#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the demo.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/install-deps.sh
scripts/build.sh

echo
echo "solobridge is built: $root/build/solobridge"
build/solobridge version
echo
echo "The demo will start, on 127.0.0.1 only:"
echo "  1. a bcoin regtest node (RPC and P2P on free ports, in-memory chain)"
echo "  2. the bridge with config/examples/regtest-bcoin.json (Stratum and the dashboard)"
echo "  3. a CPU miner pointed at the bridge's Stratum port"
echo "and print the dashboard address."
echo
echo "Not yet: the bridge daemon itself is not built yet, so the demo stops here."
echo "What works today:"
echo "  build/solobridge hash sha256d HEADER_HEX    block hash of an 80-byte header"
echo "  build/solobridge bench sha256d-cpu           CPU SHA-256d speed per implementation"
echo "  scripts/test.sh                              every test"
