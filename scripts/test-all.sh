#!/usr/bin/env bash
# The one test command. On a fresh Debian machine, as root, from a clone of the
# repository: installs the Debian packages the tests drive
# (scripts/debian-packages.txt), the npm packages (npm ci), the Python packages
# (scripts/python-packages.sh: a venv in ~/.cache/nixos-restic-b2-python), the Pulumi engine
# (scripts/build-engine.sh, cached in ~/.cache/nixos-restic-b2-engine), then
# runs every suite: unit + mocks + integration (npm test), the CLI checks
# (npm run test:cli) and the end-to-end suite (npm run test:e2e). Stops at the
# first failure; prints how long each step took and, last, one line
# "N passed, N failed" over every jest suite that ran.
#
# Needs: root (sshd, a sudo test user), Node.js >= 20.19, Go 1.26 (first
# engine build), and ../shared/engine beside the repository unless the engine
# is already built (see scripts/build-engine.sh).
#
#   scripts/test-all.sh            everything
#   SKIP_NPM_CI=1 scripts/test-all.sh   keep the installed node_modules
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
t_all=$(date +%s)
run() { # $1 step name, then the command
  local name=$1 t0 rc
  shift
  printf '\n==== %s: %s\n' "$name" "$*"
  t0=$(date +%s)
  "$@" && rc=0 || rc=$?
  timings+=("$(printf '%-28s %5ss%s' "$name" "$(($(date +%s) - t0))" "$([ "$rc" = 0 ] || echo "  FAILED ($rc)")")")
  if [ "$rc" != 0 ]; then
    summary
    exit "$rc"
  fi
}
summary() {
  printf '\n==== timings\n'
  printf '%s\n' "${timings[@]}"
  printf '%-28s %5ss\n' total "$(($(date +%s) - t_all))"
  # One closing line over every jest suite that ran ("Tests: [F failed, ]P passed, T total").
  sed -n 's/^Tests: *//p' "$jest_log" | awk '
    { for (i = 1; i < NF; i++) { if ($(i + 1) ~ /^failed/) f += $i; if ($(i + 1) ~ /^passed/) p += $i } }
    END { printf "\n%d passed, %d failed\n", p, f }'
}

# jest's output of every suite is kept here too, for the closing count.
jest_log=$(mktemp)
trap 'rm -f "$jest_log"' EXIT
jest_suite() { # the npm script to run (pipefail is on: npm's status counts)
  npm run "$1" 2>&1 | tee -a "$jest_log"
}

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test-all.sh must run as root (the suites start sshd and create a sudo test user)" >&2
  exit 1
fi

install_packages() {
  local p missing=()
  while read -r p _; do
    case $p in '' | '#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done <scripts/debian-packages.txt
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "all Debian packages present"
    return 0
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_tools() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node.js >= 20.19 needed, found "+process.version); process.exit(1) }'
  node --version
  go version 2>/dev/null || echo "go: not found (only needed when the engine is not built yet)"
}

run "Debian packages" install_packages
run "tools" check_tools
if [ "${SKIP_NPM_CI:-0}" = 1 ]; then
  echo "SKIP_NPM_CI=1: keeping node_modules"
else
  run "npm ci" npm ci --no-audit --no-fund
fi
run "Python packages" scripts/python-packages.sh
run "engine (build-engine.sh)" scripts/build-engine.sh
run "npm test" jest_suite test
run "npm run test:cli" jest_suite test:cli
run "npm run test:e2e" jest_suite test:e2e
summary
