#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy (module
# github.com/pulumi/pulumi/pkg/v3, release v3.259.0) into a cache directory
# outside the repository, unless the cache already holds that version. It is
# what `npm run test:cli` and `npm run status` need when no other Pulumi CLI is
# set (lib/engine/find.ts decides which CLI runs).
#
# Only the CLI: the Node.js language host and the command plugin, which the
# end-to-end suite and the bench also need, are not served by any registry, so
# they come from a Pulumi installation on the machine (NIXOS_RESTIC_B2_PULUMI,
# the official installer's ~/.pulumi/bin, or PATH; see docs/testing.md).
# The cache is never taken for one: older versions of this script built a
# language host and a command provider there from sources outside the
# registries; this script removes those leftovers and says so.
#
#   scripts/build-engine.sh     build (or check) the CLI, print where it is
#
# Environment: PULUMI_ENGINE_CACHE (default ~/.cache/nixos-restic-b2-engine).
# Needs Go 1.26 when something has to be built (the first time: about 1.4 GB
# of modules and 6 minutes on 2 cores). A failing step is named and Go's own
# error is shown. Nothing is committed.
set -euo pipefail

ENGINE_VERSION=3.259.0
CACHE=${PULUMI_ENGINE_CACHE:-$HOME/.cache/nixos-restic-b2-engine}
BIN=$CACHE/bin
SRC=$CACHE/src

case "${1:-}" in
  '') ;;
  *) echo "usage: $0 (builds only the Pulumi CLI; the language host and the command plugin come from a Pulumi installation)" >&2; exit 2 ;;
esac

log() { printf 'build-engine: %s\n' "$*" >&2; }
fail() { log "FAILED at step: $1"; shift; [ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/build-engine:   /' >&2; exit 1; }

# Runs a build step; on failure names the step and shows its output (Go's error).
step() { # $1 step name, then the command
  local name=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    fail "$name" "command: $*" "$(printf '%s\n' "$out" | grep -v '^go: downloading ' | tail -n 60)"
  fi
}

# --- leftovers of earlier versions of this script ----------------------------
# (a language host in bin/, a command provider in bin/ or provider/, their
# extracted sources in src/extract/, version stamps): not a Pulumi installation.
for f in "$BIN/pulumi-language-nodejs" "$BIN/pulumi-language-nodejs.partial" "$BIN/pulumi-resource-command" \
  "$BIN/pulumi-resource-command.version" "$CACHE/provider" "$SRC/extract"; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    rm -rf "$f"
    log "removed $f (left by an earlier version of this script, built from sources outside the registries; not used)"
  fi
done

# --- the CLI, from the Go module proxy ---------------------------------------
mkdir -p "$BIN"
if [ "$("$BIN/pulumi" version 2>/dev/null || true)" = "v$ENGINE_VERSION" ]; then
  log "pulumi v$ENGINE_VERSION already built in $BIN"
else
  command -v go >/dev/null 2>&1 ||
    fail "CLI" "Go is not installed (go not on PATH); Go 1.26 is needed to build the Pulumi CLI the first time."
  log "building pulumi v$ENGINE_VERSION from the Go module proxy (first build: about 1.4 GB of modules, about 6 minutes on 2 cores)"
  t0=$(date +%s)
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  cli=$SRC/cli
  mkdir -p "$cli"
  [ -f "$cli/go.mod" ] || printf 'module local/pulumi-engine\n\ngo 1.26\n' >"$cli/go.mod"
  step "CLI: go get pkg/v3 and sdk/v3 v$ENGINE_VERSION" sh -c "cd '$cli' && go get github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$ENGINE_VERSION github.com/pulumi/pulumi/sdk/v3@v$ENGINE_VERSION"
  step "CLI: go build" sh -c "cd '$cli' && go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$ENGINE_VERSION' \
    -o '$BIN/pulumi.partial' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
  mv -f "$BIN/pulumi.partial" "$BIN/pulumi"
  got=$("$BIN/pulumi" version 2>&1 || true)
  [ "$got" = "v$ENGINE_VERSION" ] || fail "CLI: version check" "built pulumi reports '$got', expected v$ENGINE_VERSION"
  log "built pulumi v$ENGINE_VERSION in $(($(date +%s) - t0))s"
fi

cat <<EOF
$BIN/pulumi
# the Pulumi CLI v$ENGINE_VERSION (npm run test:cli, npm run status find it here).
# The e2e suite and npm run bench need a Pulumi installation besides (CLI, Node.js
# language host, command plugin v1.2.1): the official installer, then
# \`pulumi plugin install resource command 1.2.1\`, or NIXOS_RESTIC_B2_PULUMI=<dir>.
EOF
