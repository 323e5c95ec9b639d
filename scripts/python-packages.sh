#!/usr/bin/env bash
# Installs scripts/python-packages.txt into a venv outside the repository:
# $NIXOS_RESTIC_B2_PYTHON_CACHE/venv (default ~/.cache/nixos-restic-b2-python),
# where test/support/b2-simulator.ts looks for it. Does nothing when the venv
# already holds this exact list. Needs python3 with venv and pip (Debian:
# python3-venv) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${NIXOS_RESTIC_B2_PYTHON_CACHE:-$HOME/.cache/nixos-restic-b2-python}/venv
list=scripts/python-packages.txt
if [ -x "$venv/bin/python" ] && cmp -s "$list" "$venv/.installed-list"; then
  echo "Python packages present in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$list"
"$venv/bin/python" -c 'from b2sdk.v3 import RawSimulator'
cp "$list" "$venv/.installed-list"
echo "installed into $venv: $(grep -v '^#' "$list" | sed 's/#.*//' | xargs)"
