#!/usr/bin/env bash
# The one test command. On a fresh Debian machine, as root, from a clone of the
# repository: installs what the tests need from the registries (the Debian
# packages of scripts/debian-packages.txt, the npm packages with npm ci, the
# Python packages of scripts/python-packages.txt in a venv in
# ~/.cache/nixos-restic-b2-python, the Pulumi CLI built from the Go module
# proxy by scripts/build-engine.sh, cached in ~/.cache/nixos-restic-b2-engine,
# the restic release NixOS ships, built from the Go module proxy by
# scripts/restic-versions.sh, cached in ~/.cache/nixos-restic-b2-restic),
# then runs every suite: unit + mocks +
# integration (npm test), the CLI checks (npm run test:cli) and the end-to-end
# suite (npm run test:e2e).
#
# A suite whose requirement the machine lacks (the e2e suite without a Pulumi
# installation; the NixOS module-system tests without nixpkgs and agenix) says
# so in one SKIPPED line and its tests count as skipped; see docs/testing.md.
# An install step that fails stops the run; a suite that fails does not stop
# the others, and the run then exits non-zero. Prints how long each step took
# and, last, one line "N passed, N failed, N skipped" over every jest suite
# (skipped: the tests that did not run, jest's skipped and todo).
#
# Needs: root (sshd, a sudo test user), Node.js >= 20.19, Go 1.26 (the first
# CLI build: about 6 minutes on 2 cores).
#
#   scripts/test-all.sh                 everything
#   SKIP_NPM_CI=1 scripts/test-all.sh   keep the installed node_modules
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
failed_steps=()
t_all=$(date +%s)
# Runs one step and records its time; $1 "stop" (an install step: a failure
# ends the run) or "go-on" (a suite: the others still run), $2 its name.
run() {
  local mode=$1 name=$2 t0 rc
  shift 2
  printf '\n==== %s: %s\n' "$name" "$*"
  t0=$(date +%s)
  "$@" && rc=0 || rc=$?
  timings+=("$(printf '%-28s %5ss%s' "$name" "$(($(date +%s) - t0))" "$([ "$rc" = 0 ] || echo "  FAILED ($rc)")")")
  [ "$rc" = 0 ] && return 0
  failed_steps+=("$name (exit $rc)")
  if [ "$mode" = stop ]; then
    summary
    exit "$rc"
  fi
}
summary() {
  printf '\n==== timings\n'
  printf '%s\n' "${timings[@]}"
  printf '%-28s %5ss\n' total "$(($(date +%s) - t_all))"
  [ "${#failed_steps[@]}" -eq 0 ] || printf '\nFAILED: %s\n' "$(IFS=,; echo "${failed_steps[*]}" | sed 's/,/, /g')"
  # One closing line over every jest suite that ran ("Tests: [F failed, ][S skipped, ][T todo, ]P passed, N total").
  # A test file that fails before its tests run ("Test suite failed to run":
  # an import error, a throw at collection) has no test in that line; each
  # counts as one failed.
  local broken
  broken=$(grep -c 'Test suite failed to run' "$jest_log" || true)
  sed -n 's/^Tests: *//p' "$jest_log" | awk -v broken="$broken" '
    { for (i = 1; i < NF; i++) { w = $(i + 1); sub(/,$/, "", w)
        if (w == "failed") f += $i; else if (w == "passed") p += $i; else if (w == "skipped" || w == "todo") s += $i } }
    END { printf "\n%d passed, %d failed, %d skipped\n", p, f + broken, s }'
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
  go version 2>/dev/null || echo "go: not found (only needed when the Pulumi CLI is not built yet)"
}

run stop "Debian packages" install_packages
run stop "tools" check_tools
if [ "${SKIP_NPM_CI:-0}" = 1 ]; then
  echo "SKIP_NPM_CI=1: keeping node_modules"
else
  run stop "npm ci" npm ci --no-audit --no-fund
fi
# npm ci has built bin/ (package.json's prepare); this makes it current after SKIP_NPM_CI=1 too.
run stop "program build (bin/)" node program/build.js
run stop "Python packages" scripts/python-packages.sh
run stop "restic releases (restic-versions.sh)" scripts/restic-versions.sh
run stop "Pulumi CLI (build-engine.sh)" scripts/build-engine.sh
run go-on "npm test" jest_suite test
run go-on "npm run test:cli" jest_suite test:cli
run go-on "npm run test:e2e" jest_suite test:e2e
summary
[ "${#failed_steps[@]}" -eq 0 ]
