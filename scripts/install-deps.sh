#!/usr/bin/env bash
# Installs what solobridge needs to build and test on Debian 12, and nothing that is
# already there. Safe to run again. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev rapidjson-dev doctest-dev libssl-dev libsqlite3-dev sqlite3
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd
  nodejs npm curl
  libjs-chart.js
  prometheus chromium
)
# libjs-chart.js: the dashboard's chart library, embedded into the binary at build time.
# prometheus (with promtool) and chromium: the dashboard's integration test scrapes /metrics
# with a real Prometheus and loads the page in a real browser (tests/browser/).

missing=()
for p in "${packages[@]}"; do
  # A package counts as present when dpkg says "install ok installed".
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # Node.js and npm may come from outside Debian's packages; the commands are enough.
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The browser driver for tests/browser (playwright-core, pinned by its package-lock.json);
# it drives Debian's Chromium and never downloads a browser of its own.
browser_driver() {
  local dir=$here/../tests/browser
  if [[ -f $dir/node_modules/playwright-core/package.json ]] &&
     cmp -s <(node -e 'console.log(require(process.argv[1]).dependencies["playwright-core"])' "$dir/package.json") \
            <(node -e 'console.log(require(process.argv[1]).version)' "$dir/node_modules/playwright-core/package.json"); then
    return
  fi
  echo "install-deps: installing playwright-core from npm into tests/browser"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

if ((${#missing[@]} == 0)); then
  echo "install-deps: all build and test packages are present"
  "$here/regtest-node.sh" install
  browser_driver
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The regtest node for the demo and the integration tests comes from npm.
"$here/regtest-node.sh" install
browser_driver
