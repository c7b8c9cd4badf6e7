#!/usr/bin/env bash
# The bcoin regtest node used by the demo and the integration tests (bcoin 1.0.2 from
# npm, pure JavaScript, in-memory chain; see scripts/regtest-node/package.json).
#
#   scripts/regtest-node.sh install            npm install into scripts/regtest-node (idempotent)
#   scripts/regtest-node.sh start DIR [KEY]     start on free loopback ports; writes DIR/node.env
#   scripts/regtest-node.sh stop DIR            stop the node started in DIR
#
# DIR/node.env holds SB_NODE_RPC_URL, SB_NODE_RPC_USER, SB_NODE_RPC_PASSWORD, SB_NODE_P2P,
# REGTEST_NODE_PID and the wallet RPC URL, ready to `source`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pkg=$here/regtest-node

install() {
  if [[ -f $pkg/node_modules/bcoin/bin/node ]] && [[ -f $pkg/node_modules/.package-lock.json ]] &&
     cmp -s <(node -e 'console.log(require(process.argv[1]).dependencies.bcoin)' "$pkg/package.json") \
            <(node -e 'console.log(require(process.argv[1]).version)' "$pkg/node_modules/bcoin/package.json"); then
    echo "regtest-node: bcoin $(node -e 'console.log(require(process.argv[1]).version)' "$pkg/node_modules/bcoin/package.json") is installed"
    return
  fi
  echo "regtest-node: installing bcoin from npm into $pkg"
  # --ignore-scripts: no native builds (they fail on current Node); the pure-JS backend
  # is selected with NODE_BACKEND=js at start.
  (cd "$pkg" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

wait_tcp() {  # host port seconds pid
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$4" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

start() {
  local dir=$1 key=${2:-regtest-$RANDOM$RANDOM}
  [[ -f $pkg/node_modules/bcoin/bin/node ]] || install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local p2p rpc wallet
  p2p=$(free_port); rpc=$(free_port); wallet=$(free_port)
  NODE_BACKEND=js nohup node "$pkg/node_modules/bcoin/bin/node" --network=regtest --memory=true \
    --prefix="$dir" --wallet-prefix="$dir/regtest" --host=127.0.0.1 --port="$p2p" --only=127.0.0.2 \
    --http-host=127.0.0.1 --http-port="$rpc" --wallet-http-host=127.0.0.1 --wallet-http-port="$wallet" \
    --api-key="$key" --log-level=info --workers=false >"$dir/node.log" 2>&1 &
  local pid=$!
  if ! wait_tcp 127.0.0.1 "$rpc" 60 "$pid" || ! wait_tcp 127.0.0.1 "$p2p" 60 "$pid"; then
    echo "regtest-node: bcoin exited or did not open its ports within 60 s; log: $dir/node.log" >&2
    kill "$pid" 2>/dev/null || true
    tail -20 "$dir/node.log" >&2 || true
    exit 1
  fi
  cat >"$dir/node.env" <<ENV
SB_NODE_RPC_URL=http://127.0.0.1:$rpc
SB_NODE_RPC_USER=solobridge
SB_NODE_RPC_PASSWORD=$key
SB_NODE_P2P=127.0.0.1:$p2p
REGTEST_WALLET_RPC_URL=http://127.0.0.1:$wallet
REGTEST_NODE_PID=$pid
ENV
  echo "regtest-node: bcoin regtest running (pid $pid): RPC 127.0.0.1:$rpc, P2P 127.0.0.1:$p2p; $dir/node.env"
}

stop() {
  local dir=$1
  [[ -f $dir/node.env ]] || { echo "regtest-node: no node.env in $dir" >&2; exit 1; }
  local pid
  pid=$(sed -n 's/^REGTEST_NODE_PID=//p' "$dir/node.env")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "regtest-node: stopped pid $pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) [[ $# -ge 2 ]] || { echo "usage: $0 start DIR [API_KEY]" >&2; exit 2; }; start "$2" "${3:-}" ;;
  stop) [[ $# -ge 2 ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 install | start DIR [API_KEY] | stop DIR" >&2; exit 2 ;;
esac
