#!/usr/bin/env bash
# restic-b2-repo-lock: the backup unit's side of the host lock it shares with
# the restore drill (lib/host/drill.sh holds the same lock for its whole run),
# so the backup's `forget --prune`, which needs restic's exclusive lock, never
# meets the drill's locks, and a drill never starts while a backup runs.
# Installed by the NixOS module as the backup's backupPrepareCommand (the
# first thing of the unit's pre-start step).
#
#   repo-lock.sh --lock FILE --wait SECONDS
#
# Waits at most SECONDS for the lock (flock), then leaves a holder behind: a
# `sleep infinity` that inherits the locked descriptor, so the lock stays held
# after this script and the pre-start step exit, through the backup, the
# prune and the check. Nothing releases it by hand: when the unit ends, however
# it ends (success, failure, `systemctl stop`, a timeout), systemd stops every
# process left in the unit's cgroup (KillMode=control-group, which the module
# sets), and the kernel drops a flock with its last descriptor, so a killed
# unit, an OOM kill or a crash never leaves the lock behind.
#
# When the wait ends without the lock the backup goes on (the snapshot is what
# matters): a warning says so, and a prune that then finds the repository
# locked is a warning too (lib/host/prune.sh). Exit 0 in every case but bad
# usage (2): the backup never fails because of this step.

set -u -o pipefail
umask 077
PROG=restic-b2-repo-lock
say() { printf '%s: %s\n' "$PROG" "$*"; }
usage() { say "error: $1" >&2; say "usage: $PROG --lock FILE --wait SECONDS" >&2; exit 2; }

lock='' wait=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage "$1 needs a value"
  case $1 in
    --lock) lock=$2 ;;
    --wait) wait=$2 ;;
    *) usage "unknown argument: $1" ;;
  esac
  shift 2
done
[ -n "$lock" ] || usage "--lock is required"
case $wait in '' | *[!0-9]*) usage "--wait must be a whole number of seconds" ;; esac

if ! mkdir -p -m 0700 -- "$(dirname "$lock")" || ! exec 9>>"$lock"; then
  say "warning: cannot open $lock; the backup goes on without waiting for a restore drill"
  exit 0
fi
if ! flock -n 9; then
  start=$(date +%s)
  say "the restore drill is using the repository (lock $lock); the backup waits up to ${wait}s for it to finish"
  if ! flock -w "$wait" 9; then
    say "warning: the restore drill still held $lock after ${wait}s; the backup goes on without it (a prune that finds the repository locked is skipped with a warning)"
    exit 0
  fi
  say "the restore drill finished after $(($(date +%s) - start))s; the backup starts"
fi
# The holder (see above): fd 9 is inherited, nothing else.
sleep infinity </dev/null >/dev/null 2>&1 &
exit 0
