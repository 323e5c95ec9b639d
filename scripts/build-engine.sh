#!/usr/bin/env bash
# Builds the Pulumi engine pieces from the Go module proxy into a cache
# directory outside the repository, skipping what is already built at the
# right version, then prints the environment to use them.
#
#   scripts/build-engine.sh            build what can be built; report the rest
#   scripts/build-engine.sh --require-all   fail unless all three pieces exist
#
# The pieces:
#   pulumi                   module github.com/pulumi/pulumi/pkg/v3 (tagged releases)
#   pulumi-language-nodejs   module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
#                            (untagged: only reachable by commit pseudo-version)
#   pulumi-resource-command  module github.com/pulumi/pulumi-command/provider at the commit of
#                            the @pulumi/command version in package-lock.json
# Nothing is committed; the cache is $PULUMI_ENGINE_CACHE (default ~/.cache/nixos-restic-b2-engine).
set -euo pipefail

ENGINE_VERSION=${ENGINE_VERSION:-3.274.1}
CACHE=${PULUMI_ENGINE_CACHE:-$HOME/.cache/nixos-restic-b2-engine}
BIN=$CACHE/bin
SRC=$CACHE/src
require_all=0
[ "${1:-}" = --require-all ] && require_all=1

cd "$(dirname "$0")/.."
COMMAND_VERSION=$(node -p 'require("./package-lock.json").packages["node_modules/@pulumi/command"].version')
# Git commits of @pulumi/command release tags (the provider module has no tags of its own).
case $COMMAND_VERSION in
  1.2.1) COMMAND_COMMIT=7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25 ;;
  *) COMMAND_COMMIT='' ;;
esac
# The language host must come from the same release as the CLI; sdk/v3.259.0's
# tag commit is the only one known without access to the repository.
case $ENGINE_VERSION in
  3.259.0) LANGUAGE_COMMIT=0ac56e876614aedf12771d73ef7e80959b8a6fd4 ;;
  *) LANGUAGE_COMMIT='' ;;
esac

mkdir -p "$BIN" "$SRC"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
LDFLAGS_PULUMI="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$ENGINE_VERSION"
missing=()

log() { printf 'build-engine: %s\n' "$*" >&2; }

# --- the CLI ---------------------------------------------------------------
if [ "$("$BIN/pulumi" version 2>/dev/null || true)" = "v$ENGINE_VERSION" ]; then
  log "pulumi v$ENGINE_VERSION already built"
else
  log "building pulumi v$ENGINE_VERSION (first build: about 1.5 GB of modules, a few minutes)"
  (
    cd "$SRC"
    [ -f go.mod ] || printf 'module local/pulumi-engine\n\ngo 1.26\n' >go.mod
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$ENGINE_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$ENGINE_VERSION"
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDFLAGS_PULUMI" -o "$BIN/pulumi.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  )
  mv -f "$BIN/pulumi.partial" "$BIN/pulumi"
  [ "$("$BIN/pulumi" version)" = "v$ENGINE_VERSION" ] || { log "built pulumi reports $("$BIN/pulumi" version)"; exit 1; }
fi

# --- a module the proxy may refuse: probe it, and say exactly what happened --
probe() { # $1 name, $2 module@version
  local out
  if out=$(cd "$SRC" && go list -m -json "$2" 2>&1); then
    return 0
  fi
  log "UNAVAILABLE $1: go list -m -json $2"
  printf '%s\n' "$out" | sed 's/^/build-engine:   /' >&2
  missing+=("$1")
  return 1
}

# --- the Node.js language host --------------------------------------------
LANG_MOD=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
if [ "$("$BIN/pulumi-language-nodejs" -version 2>/dev/null || true)" = "v$ENGINE_VERSION" ]; then
  log "pulumi-language-nodejs v$ENGINE_VERSION already built"
elif probe pulumi-language-nodejs "$LANG_MOD@${LANGUAGE_COMMIT:-v$ENGINE_VERSION}"; then
  (
    cd "$SRC"
    go get "$LANG_MOD@${LANGUAGE_COMMIT:-v$ENGINE_VERSION}"
    go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDFLAGS_PULUMI" -o "$BIN/pulumi-language-nodejs" "$LANG_MOD"
  )
fi

# --- the command provider --------------------------------------------------
CMD_MOD=github.com/pulumi/pulumi-command/provider
if [ "$("$BIN/pulumi-resource-command" -version 2>/dev/null || true)" = "$COMMAND_VERSION" ]; then
  log "pulumi-resource-command $COMMAND_VERSION already built"
elif [ -z "$COMMAND_COMMIT" ]; then
  log "UNAVAILABLE pulumi-resource-command: no known commit for @pulumi/command $COMMAND_VERSION"
  missing+=(pulumi-resource-command)
elif probe pulumi-resource-command "$CMD_MOD@$COMMAND_COMMIT"; then
  GOBIN=$BIN go install -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$COMMAND_VERSION" \
    "$CMD_MOD/cmd/pulumi-resource-command@$COMMAND_COMMIT"
fi

cat <<EOF
export PATH=$BIN:\$PATH
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# per test run: PULUMI_HOME=<temp dir>, PULUMI_BACKEND_URL=file://<temp dir>, PULUMI_CONFIG_PASSPHRASE=<anything>
EOF

if [ "${#missing[@]}" -gt 0 ]; then
  log "not built: ${missing[*]} (the Go module proxy refuses them; see above)"
  [ "$require_all" = 0 ] || exit 3
fi
