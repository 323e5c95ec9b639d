#!/usr/bin/env bash
# Installs the restic releases the host-script tests run against besides the
# machine's own restic (Debian's, 0.14 on bookworm): the release NixOS ships,
# built from the Go module proxy with `go install`, cached outside the
# repository in ~/.cache/nixos-restic-b2-restic/v<version>/restic (a release
# already there is kept; the first build takes about 2 minutes on 2 cores).
# test/support/restic-versions.ts lists the same releases; a suite whose
# release is missing says so in one line and counts its tests as skipped.
#
#   scripts/restic-versions.sh            install what is missing
#   scripts/restic-versions.sh --list     print "<version> <path>" of each release
set -euo pipefail

# Keep in step with RESTIC_RELEASES in test/support/restic-versions.ts.
VERSIONS=(0.18.1)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/nixos-restic-b2-restic"

if [ "${1:-}" = --list ]; then
  for v in "${VERSIONS[@]}"; do printf '%s %s\n' "$v" "$cache/v$v/restic"; done
  exit 0
fi

for v in "${VERSIONS[@]}"; do
  dir="$cache/v$v"
  if [ -x "$dir/restic" ] && "$dir/restic" version 2>/dev/null | grep -q "^restic $v "; then
    echo "restic $v: present ($dir/restic)"
    continue
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "restic $v: go is not on PATH, not built; the tests that need it are skipped (install Go 1.22+ and run $0)"
    continue
  fi
  echo "restic $v: building with go install (about 2 minutes)"
  mkdir -p "$dir"
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/restic/restic/cmd/restic@v$v"
  "$dir/restic" version
done
