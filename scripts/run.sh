#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the demo on
# 127.0.0.1 only: a bcoin regtest node, the bridge (config/examples/regtest-bcoin.json)
# and a CPU miner pointed at the bridge's Stratum port. Ctrl-C stops all three.
#   scripts/run.sh [--seconds N]    stop by itself after N seconds (default: run until Ctrl-C)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=0
if [[ ${1:-} == --seconds ]]; then seconds=${2:?--seconds needs a value}; fi

scripts/install-deps.sh
scripts/build.sh

demo=$root/build/demo
rm -rf "$demo"
mkdir -p "$demo"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  [[ -f $demo/node/node.env ]] && scripts/regtest-node.sh stop "$demo/node" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/regtest-node.sh start "$demo/node"
set -a; source "$demo/node/node.env"; set +a

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
stratum_port=$(free_port)
http_port=$(free_port)
export SB_STRATUM_LISTEN=127.0.0.1:$stratum_port SB_HTTP_LISTEN=127.0.0.1:$http_port SB_DATA_DIR=$demo/bridge-data

build/solobridge --config config/examples/regtest-bcoin.json >"$demo/bridge.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$stratum_port") 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the bridge exited; its log:" >&2; cat "$demo/bridge.log" >&2; exit 1; }
  sleep 0.1
done

# The dashboard answers once the bridge has started its HTTP listener.
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$http_port/api/v1/status" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$http_port/" || { echo "the dashboard does not answer; the bridge's log:" >&2; cat "$demo/bridge.log" >&2; exit 1; }

build/solobridge cpu-miner --url "stratum+tcp://127.0.0.1:$stratum_port" --user demo.cpu0 >"$demo/miner.log" 2>&1 &
pids+=($!)

cat <<EOT

solobridge demo is running on 127.0.0.1:
  regtest node   RPC $SB_NODE_RPC_URL   P2P $SB_NODE_P2P   (log $demo/node/node.log)
  bridge         Stratum stratum+tcp://127.0.0.1:$stratum_port   (log $demo/bridge.log)
  miner          solobridge cpu-miner, one CPU thread   (log $demo/miner.log)
  dashboard      http://127.0.0.1:$http_port/   (JSON API /api/v1/, live /ws, Prometheus /metrics)

Point another miner at stratum+tcp://<this machine>:$stratum_port to join (any username).
Ctrl-C stops everything.

EOT

start=$SECONDS
while :; do
  sleep 5
  height=$(curl -s -u "x:$SB_NODE_RPC_PASSWORD" --data '{"method":"getblockcount","params":[]}' "$SB_NODE_RPC_URL" |
           sed -n 's/.*"result":\([0-9]*\).*/\1/p')
  echo "node height ${height:-?}; miner: $(tail -n 1 "$demo/miner.log" 2>/dev/null)"
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a demo process exited; see the logs in $demo" >&2; exit 1; }
  done
  if ((seconds > 0 && SECONDS - start >= seconds)); then break; fi
done
