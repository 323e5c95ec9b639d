#!/usr/bin/env bash
# restic-b2-repo-guard: the repository's identity, so that a repository that
# vanished or was replaced is an alarm, never a silent fresh start.
#
#   repo-guard.sh check  --backup-name NAME --restic PATH --id-file FILE
#   repo-guard.sh record --backup-name NAME --restic PATH --id-file FILE
#   repo-guard.sh reset  --backup-name NAME --id-file FILE
#
# The NixOS module runs `check` first in the backup unit's pre-start (before
# the restic module's own `restic cat config || restic init`), `record` after
# a successful backup (postStart), and installs `reset` as the command
# restic-b2-reset-<name> (lib/host/layout.ts: resetCommand). restic finds the
# repository, password and key in the unit's environment (RESTIC_REPOSITORY_FILE,
# RESTIC_PASSWORD_FILE, the env file's B2_* variables), as for the backup itself.
#
# FILE (layout.repositoryIdFile, in the backup's root-only state directory)
# holds the id of the repository this host backs up to (`restic cat config`
# → "id", 64 hex digits) on one line. It is written by the first successful
# backup and removed only by `reset`.
#
#  check   no FILE: exit 0 (a host that never completed a backup, or after a
#          reset: the restic module may initialize the repository).
#          FILE: opens the repository (`restic cat config --no-lock`) and exits
#          0 only when its id is the recorded one. A missing repository, a
#          different id, or a repository that cannot be opened: a message
#          with the expected and the found id, and exit 1, so the unit fails
#          before `restic init` can run, and the failure alerts fire.
#  record  writes FILE (atomically, 0600) when it does not exist yet; a FILE
#          that names another repository is left as it is and is an error
#          (exit 1). When the repository cannot be read right now it says so
#          and exits 0: the backup did succeed, and the next one records.
#  reset   removes FILE (says which id it held), so the next backup may
#          initialize a new repository. Exit 0, also when there was none.
#
# Prints only ids, restic's own messages and file names: never a credential.

set -u -o pipefail
umask 077

action=${1:-}
[ $# -gt 0 ] && shift
backup_name='' restic='' id_file=''
usage() {
  printf 'restic-b2-repo-guard: error: %s\n' "$1" >&2
  printf 'usage: restic-b2-repo-guard check|record|reset --backup-name NAME [--restic PATH] --id-file FILE\n' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --backup-name | --restic | --id-file)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case $1 in
        --backup-name) backup_name=$2 ;;
        --restic) restic=$2 ;;
        --id-file) id_file=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done
case $action in check | record | reset) ;; *) usage "the first argument must be check, record or reset" ;; esac
[ -n "$backup_name" ] || usage "--backup-name is required"
case $id_file in /*) ;; *) usage "--id-file must be an absolute path" ;; esac
[ "$action" = reset ] || [ -n "$restic" ] || usage "--restic is required"

# The reset command's name (lib/host/layout.ts: resetCommand; test/unit/layout.test.ts pins it).
reset_command="restic-b2-reset-$backup_name"
PROG="restic-b2-repo-guard-$backup_name"
say() { printf '%s: %s\n' "$PROG" "$*"; }
reset_hint="To start over on purpose with a new, empty repository, run $reset_command as root; the next backup then creates it."

# recorded_id: sets recorded (empty when there is no record). Exit 1 (with a
# message) when the record is there but is not an id.
recorded_id() {
  recorded=''
  [ -e "$id_file" ] || return 0
  { IFS= read -r recorded || [ -n "$recorded" ]; } < "$id_file" 2> /dev/null
  if ! [[ $recorded =~ ^[0-9a-f]{64}$ ]]; then
    say "error: $id_file does not hold a repository id; not backing up. Restore it, or remove it with $reset_command to accept the repository that is there now."
    return 1
  fi
}

# found_id: sets found (the id of the repository restic opens) and out
# (restic's messages); returns restic's exit status (1 when its output holds
# no id).
found_id() {
  found=''
  local json rc
  json=$("$restic" cat config --no-lock 2> "$err_file")
  rc=$?
  out=$(tail -n 4 "$err_file" | tr '\n' ' ' | sed 's/  */ /g; s/ $//' | cut -c 1-600)
  [ "$rc" -eq 0 ] || return "$rc"
  found=$(printf '%s' "$json" | jq -r '.id // empty' 2> /dev/null)
  [[ $found =~ ^[0-9a-f]{64}$ ]] || { found=''; out="restic cat config printed no repository id"; return 1; }
}

# missing RC: whether restic's failure means "no repository at that location"
# (exit 10 from restic 0.17; older releases only say so).
missing() {
  [ "$1" -eq 10 ] && return 0
  [[ $out =~ Is\ there\ a\ repository\ at\ the\ following\ location ]] && ! [[ $out =~ wrong\ password ]]
}

if [ "$action" = reset ]; then
  recorded=''
  [ -e "$id_file" ] && { IFS= read -r recorded || :; } < "$id_file" 2> /dev/null
  if [ ! -e "$id_file" ]; then
    say "no repository id is recorded ($id_file); nothing to reset. The next backup creates the repository if there is none."
    exit 0
  fi
  rm -f -- "$id_file" || { say "error: cannot remove $id_file"; exit 1; }
  say "removed the record of repository id ${recorded:-(unreadable)} ($id_file). The next backup accepts the repository it finds, or creates a new, empty one if there is none; its id is recorded after that backup."
  exit 0
fi

err_file=$(mktemp) || { say "error: cannot create a temporary file"; exit 1; }
trap 'rm -f -- "$err_file"' EXIT

recorded_id || exit 1

if [ "$action" = check ]; then
  if [ -z "$recorded" ]; then
    say "no repository id recorded yet (this host has not completed a backup, or it was reset): the repository may be created now"
    exit 0
  fi
  found_id
  rc=$?
  if [ "$rc" -eq 0 ] && [ "$found" = "$recorded" ]; then
    say "repository id $recorded, as recorded"
    exit 0
  fi
  if [ "$rc" -eq 0 ]; then
    say "FAIL: expected repository id $recorded, found repository id $found: the repository at the configured location is not the one this host backed up to. Not backing up into it and not creating another. Check the repository location (repositoryPath, bucket); if the new repository is meant, run $reset_command as root."
  elif missing "$rc"; then
    say "FAIL: expected repository id $recorded, found no repository at the configured location (restic exit $rc): it was deleted, emptied or moved, and the snapshots in it may be gone. Not creating a new, empty repository in its place. Check the bucket and repositoryPath. $reset_hint"
  else
    say "FAIL: expected repository id $recorded, but the repository cannot be opened to check it (restic exit $rc): $out"
  fi
  exit 1
fi

# record
found_id
rc=$?
if [ "$rc" -ne 0 ]; then
  say "warning: the backup succeeded, but the repository id could not be read to record it (restic exit $rc): $out; the next successful backup records it"
  exit 0
fi
if [ -n "$recorded" ]; then
  if [ "$recorded" = "$found" ]; then exit 0; fi
  say "FAIL: $id_file records repository id $recorded, but the backup went to repository id $found; the record is kept. $reset_hint"
  exit 1
fi
dir=$(dirname "$id_file")
if ! mkdir -p -m 0700 -- "$dir" || ! tmp=$(mktemp "$dir/.repository-id.XXXXXXXX"); then
  say "error: cannot write in $dir; the repository id is not recorded"
  exit 1
fi
if printf '%s\n' "$found" > "$tmp" && chmod 0600 "$tmp" && mv -f -- "$tmp" "$id_file"; then
  say "recorded repository id $found ($id_file): from now on a missing or different repository fails the backup instead of being replaced"
  exit 0
fi
rm -f -- "$tmp"
say "error: cannot write $id_file; the repository id is not recorded"
exit 1
