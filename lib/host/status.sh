#!/bin/sh
# restic-b2-status: prints one machine's backup state for `npm run status`, in
# sections marked with a nonce the caller chose (so no output of a command
# can pass for a marker). Read-only: it changes nothing on the host.
#
#   sh -c '<this file>' restic-b2-status BACKUP_NAME NONCE     (as root, or under sudo -n)
#
# The names and paths it reads come from the host contract, lib/host/layout.ts,
# spliced in below as layout.sh (rb2_layout NAME).
#
# Sections: service and timer (`systemctl show` properties, timestamps as
# @<unix seconds>), snapshots (the `restic-NAME` wrapper's
# `snapshots --latest 1 --json`), snapshoterr (its last stderr lines, then
# "<nonce> exit <status>"), drill (the last drill's result, or "none"),
# repoid ("expected <id>|none", the id the backup unit recorded after its first
# backup, and "found <id>|none", the id of the repository the wrapper opens now:
# `cat config`, only when an id is recorded).

# @include backup-name.sh
# @include layout.sh

backup_name=$1
nonce=$2
rb2_backup_name_ok "$backup_name" || { echo "restic-b2-status: invalid backup name" >&2; exit 2; }
case $nonce in '' | *[!A-Za-z0-9]*) echo "restic-b2-status: invalid nonce" >&2; exit 2; esac
rb2_layout "$backup_name"

# NixOS puts the wrapper and systemctl in the system profile.
PATH=/run/current-system/sw/bin:$PATH

section() { printf '\n==%s %s==\n' "$nonce" "$1"; }

bounded() {
  if command -v timeout > /dev/null 2>&1; then timeout "$@"; else shift; "$@"; fi
}

show() {
  unit=$1
  props=$2
  # --timestamp=unix needs systemd 247; older ones print local time.
  systemctl show "$unit" --property="$props" --timestamp=unix 2> /dev/null ||
    systemctl show "$unit" --property="$props" 2> /dev/null
}

main() {
  section version
  echo 1
  section service
  show "$backup_service" LoadState,ActiveState,SubState,Result,ExecMainStartTimestamp,ExecMainExitTimestamp,ExecMainCode,ExecMainStatus
  section timer
  show "$backup_timer" LoadState,ActiveState,NextElapseUSecRealtime,LastTriggerUSec
  section snapshots
  # stdout (restic's JSON) straight through; stderr and the exit status go to
  # their own section, so the two streams can never interleave.
  exec 3>&1
  if command -v "$wrapper_command" > /dev/null 2>&1; then
    err=$({ bounded 120 "$wrapper_command" --no-lock snapshots --latest 1 --json 1>&3 3>&-; echo "$nonce exit $?" >&2; } 2>&1)
  else
    err="$wrapper_command is not installed (is the module switched on?)
$nonce exit 127"
  fi
  exec 3>&-
  section snapshoterr
  printf '%s\n' "$err" | tail -n 20
  section drill
  if [ -r "$drill_result" ]; then head -c 65536 "$drill_result"; else echo none; fi
  section repoid
  expected=none
  if [ -r "$repository_id_file" ]; then
    expected=$(head -c 64 "$repository_id_file" | tr -cd 0123456789abcdef)
  fi
  echo "expected ${expected:-none}"
  if [ "$expected" != none ] && command -v "$wrapper_command" > /dev/null 2>&1; then
    found=$(bounded 60 "$wrapper_command" --no-lock cat config 2> /dev/null |
      sed -n 's/^ *"id": *"\([0-9a-f]\{64\}\)".*/\1/p' | head -n 1)
    echo "found ${found:-none}"
  fi
  section end
}

main
