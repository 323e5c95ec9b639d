#!/usr/bin/env bash
# Builds the three Pulumi engine pieces the tests run the program with, into a
# cache directory outside the repository, skipping what is already built at
# the right version:
#
#   pulumi                   the CLI, module github.com/pulumi/pulumi/pkg/v3 v3.259.0 (Go module proxy)
#   pulumi-language-nodejs   the Node.js language host v3.259.0, from the source archive in ../shared/engine/
#   pulumi-resource-command  the command provider v1.2.1 (with pulumi-go-provider v1.3.0), from ../shared/engine/
#
# The Go module proxy refuses the last two modules, so their sources come from
# ../shared/engine/ (checked against its SHA256SUMS, extracted to a writable
# directory in the cache). Everything they depend on comes from the proxy.
#
#   scripts/build-engine.sh                 build (or check) all three, print the environment to use
#   scripts/build-engine.sh --install-plugin PULUMI_HOME
#                                           also register the provider in that PULUMI_HOME
#                                           (what the e2e suite calls for its temporary PULUMI_HOME)
#
# Environment: PULUMI_ENGINE_CACHE (default ~/.cache/nixos-restic-b2-engine),
# NIXOS_RESTIC_B2_SHARED (the shared/ folder; default: found beside the repository).
# Nothing is committed; a failing step is named and Go's own error is shown.
set -euo pipefail

ENGINE_VERSION=3.259.0         # CLI, language host, pkg/v3 and sdk/v3: one release
COMMAND_VERSION=1.2.1          # what @pulumi/command 1.2.1 asks the engine for
GO_PROVIDER_VERSION=1.3.0      # what pulumi-command v1.2.1's go.mod requires
CACHE=${PULUMI_ENGINE_CACHE:-$HOME/.cache/nixos-restic-b2-engine}
BIN=$CACHE/bin            # pulumi and its language host: put this first on PATH
PROVIDER=$CACHE/provider  # the command provider: registered in a PULUMI_HOME, kept off PATH
SRC=$CACHE/src
install_home=''
case "${1:-}" in
  --install-plugin) install_home=${2:?--install-plugin needs a PULUMI_HOME directory} ;;
  '') ;;
  *) echo "usage: $0 [--install-plugin PULUMI_HOME]" >&2; exit 2 ;;
esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
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

cd "$REPO"
lock_version=$(node -p 'require("./package-lock.json").packages["node_modules/@pulumi/command"].version')
[ "$lock_version" = "$COMMAND_VERSION" ] ||
  fail "versions" "package-lock.json pins @pulumi/command $lock_version, but this script builds the command provider $COMMAND_VERSION;" \
    "the engine would not find the plugin version the SDK asks for. Update the script's COMMAND_VERSION and sources together."

mkdir -p "$BIN" "$PROVIDER" "$SRC"
# Earlier builds kept the provider in bin/; on PATH the engine would take it
# from there ("using pulumi-resource-command from $PATH") instead of the
# registered plugin.
rm -f "$BIN/pulumi-resource-command" "$BIN/pulumi-resource-command.version"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
LDFLAGS_PULUMI="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$ENGINE_VERSION"

# ../shared, found the way CI lays it out (shared/ beside the repository) and
# also from a git worktree (beside the main checkout).
find_shared() {
  local c common
  for c in "${NIXOS_RESTIC_B2_SHARED:-}" "$REPO/../shared"; do
    [ -n "$c" ] && [ -d "$c/engine" ] && { (cd "$c" && pwd); return 0; }
  done
  if common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null); then
    c=$(dirname "$(dirname "$common")")/shared
    [ -d "$c/engine" ] && { (cd "$c" && pwd); return 0; }
  fi
  return 1
}

# Go is only needed when something has to be built.
need_go() {
  command -v go >/dev/null 2>&1 ||
    fail "$1" "Go is not installed (go not on PATH); Go 1.26 is needed to build the engine the first time."
}

sources_ready=''
prepare_sources() { # checks and extracts ../shared/engine once
  [ -z "$sources_ready" ] || return 0
  local shared
  shared=$(find_shared) || fail "find sources" \
    "../shared/engine/ (the language host and command provider sources) was not found beside $REPO." \
    "Put the shared/ folder next to the repository, or set NIXOS_RESTIC_B2_SHARED=<path of shared/>," \
    "or install the Pulumi CLI with its Node.js language host on PATH and the command plugin v$COMMAND_VERSION."
  log "sources: $shared/engine"
  step "check sources (sha256sum -c SHA256SUMS in $shared/engine)" sh -c "cd '$shared/engine' && sha256sum -c --strict SHA256SUMS"
  rm -rf "$SRC/extract"
  mkdir -p "$SRC/extract"
  for a in pulumi-language-nodejs-v$ENGINE_VERSION pulumi-command-v$COMMAND_VERSION pulumi-go-provider-v$GO_PROVIDER_VERSION; do
    step "extract $a.tar.gz" tar -xzf "$shared/engine/$a.tar.gz" -C "$SRC/extract" --no-same-owner
  done
  chmod -R u+w "$SRC/extract"
  sources_ready=1
}

# --- 1. the CLI, from the Go module proxy ----------------------------------
if [ "$("$BIN/pulumi" version 2>/dev/null || true)" = "v$ENGINE_VERSION" ]; then
  log "pulumi v$ENGINE_VERSION already built"
else
  log "building pulumi v$ENGINE_VERSION (first build: about 1.5 GB of modules, about 5 minutes)"
  need_go "CLI"
  cli=$SRC/cli
  mkdir -p "$cli"
  [ -f "$cli/go.mod" ] || printf 'module local/pulumi-engine\n\ngo 1.26\n' >"$cli/go.mod"
  step "CLI: go get pkg/v3 and sdk/v3 v$ENGINE_VERSION" sh -c "cd '$cli' && go get github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$ENGINE_VERSION github.com/pulumi/pulumi/sdk/v3@v$ENGINE_VERSION"
  step "CLI: go build" sh -c "cd '$cli' && go build -trimpath -tags osusergo,grpcnotrace -ldflags '$LDFLAGS_PULUMI' -o '$BIN/pulumi.partial' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
  mv -f "$BIN/pulumi.partial" "$BIN/pulumi"
  got=$("$BIN/pulumi" version)
  [ "$got" = "v$ENGINE_VERSION" ] || fail "CLI: version check" "built pulumi reports '$got', expected v$ENGINE_VERSION"
fi

# --- 2. the Node.js language host, from ../shared/engine --------------------
if [ "$("$BIN/pulumi-language-nodejs" -version 2>/dev/null || true)" = "v$ENGINE_VERSION" ]; then
  log "pulumi-language-nodejs v$ENGINE_VERSION already built"
else
  log "building pulumi-language-nodejs v$ENGINE_VERSION (about 2 minutes after the CLI)"
  need_go "language host"
  prepare_sources
  d=$SRC/extract/pulumi-language-nodejs-v$ENGINE_VERSION
  step "language host: go mod edit (drop the monorepo replaces, require pkg/sdk v$ENGINE_VERSION)" sh -c "cd '$d' && go mod edit \
    -dropreplace github.com/pulumi/pulumi/pkg/v3 -dropreplace github.com/pulumi/pulumi/sdk/v3 \
    -require github.com/pulumi/pulumi/pkg/v3@v$ENGINE_VERSION -require github.com/pulumi/pulumi/sdk/v3@v$ENGINE_VERSION"
  step "language host: go build" sh -c "cd '$d' && go build -trimpath -tags osusergo,grpcnotrace -ldflags '$LDFLAGS_PULUMI' -o '$BIN/pulumi-language-nodejs.partial' ."
  mv -f "$BIN/pulumi-language-nodejs.partial" "$BIN/pulumi-language-nodejs"
  got=$("$BIN/pulumi-language-nodejs" -version 2>&1 || true)
  [ "$got" = "v$ENGINE_VERSION" ] || fail "language host: version check" "built pulumi-language-nodejs reports '$got', expected v$ENGINE_VERSION"
fi

# --- 3. the command provider, from ../shared/engine -------------------------
# The provider has no -version flag; a stamp next to it records what was built.
STAMP=$PROVIDER/pulumi-resource-command.version
if [ -x "$PROVIDER/pulumi-resource-command" ] && [ "$(cat "$STAMP" 2>/dev/null || true)" = "v$COMMAND_VERSION go-provider v$GO_PROVIDER_VERSION" ]; then
  log "pulumi-resource-command v$COMMAND_VERSION already built"
else
  log "building pulumi-resource-command v$COMMAND_VERSION"
  need_go "command provider"
  prepare_sources
  d=$SRC/extract/pulumi-command-v$COMMAND_VERSION/provider
  gp=$SRC/extract/pulumi-go-provider-v$GO_PROVIDER_VERSION
  step "command provider: go mod edit -replace pulumi-go-provider=$gp" sh -c "cd '$d' && go mod edit -replace 'github.com/pulumi/pulumi-go-provider=$gp'"
  step "command provider: go build" sh -c "cd '$d' && go build -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$COMMAND_VERSION' -o '$PROVIDER/pulumi-resource-command.partial' ./cmd/pulumi-resource-command"
  mv -f "$PROVIDER/pulumi-resource-command.partial" "$PROVIDER/pulumi-resource-command"
  printf 'v%s go-provider v%s\n' "$COMMAND_VERSION" "$GO_PROVIDER_VERSION" >"$STAMP"
fi

# --- 4. register the provider in a PULUMI_HOME -------------------------------
if [ -n "$install_home" ]; then
  mkdir -p "$install_home"
  step "register the command plugin in $install_home" env PULUMI_HOME="$install_home" PULUMI_SKIP_UPDATE_CHECK=true \
    "$BIN/pulumi" plugin install resource command "v$COMMAND_VERSION" --file "$PROVIDER/pulumi-resource-command" --reinstall --non-interactive
  log "command plugin v$COMMAND_VERSION registered in $install_home"
fi

cat <<EOF
export PATH=$BIN:\$PATH
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# per PULUMI_HOME (the command provider is not on PATH): $0 --install-plugin \$PULUMI_HOME
# per run: PULUMI_HOME=<temp dir>,
# PULUMI_BACKEND_URL=file://<temp dir>, PULUMI_CONFIG_PASSPHRASE=<anything>
EOF
