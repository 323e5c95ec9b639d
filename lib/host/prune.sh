#!/usr/bin/env bash
# restic-b2-prune: the backup unit's `restic forget --prune`, run by the NixOS
# module as the ExecStart= step after `restic backup` (instead of the restic
# module's own prune step, so a locked repository can be told from a failure).
#
#   prune.sh --restic PATH --state-dir DIR [--retry-lock DURATION] [--skip-limit N] -- OPTION...
#
# The repository, password and key come from the unit's environment
# (RESTIC_REPOSITORY_FILE, RESTIC_PASSWORD_FILE, the EnvironmentFile), as for
# the backup itself. One run:
#  1. `restic unlock`: removes locks left by killed runs (only stale ones;
#     a lock a live process holds stays);
#  2. `restic forget --prune OPTION...`, with `--retry-lock=DURATION` where the
#     installed restic has it (0.16 and newer; found at run time from
#     `restic version`), so a prune that meets another process's lock waits
#     for it instead of failing;
#  3. when restic still could not lock the repository (exit 11, or exit 1 with
#     restic's "already locked" message before 0.17): the snapshot is saved and
#     nothing is lost but the pruning, so this is a warning, not a failed
#     backup: it says so and exits 0, and the next backup prunes. The count of
#     such runs in a row is kept in DIR/prune-skipped; at the --skip-limit'th
#     (default 7) the lock error fails the unit, so a repository that stays
#     locked is not ignored for ever.
# Any other failure of forget exits with restic's status (the unit fails).

set -u -o pipefail
umask 077
PROG=restic-b2-prune
say() { printf '%s: %s\n' "$PROG" "$*"; }
usage() { say "error: $1" >&2; say "usage: $PROG --restic PATH --state-dir DIR [--retry-lock DURATION] [--skip-limit N] -- OPTION..." >&2; exit 2; }

restic='' state_dir='' retry_lock='' skip_limit=7
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; break ;;
    --restic | --state-dir | --retry-lock | --skip-limit)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case $1 in
        --restic) restic=$2 ;;
        --state-dir) state_dir=$2 ;;
        --retry-lock) retry_lock=$2 ;;
        --skip-limit) skip_limit=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done
[ -n "$restic" ] || usage "--restic is required"
case $state_dir in /*) ;; *) usage "--state-dir must be absolute" ;; esac
case $skip_limit in '' | *[!0-9]* | 0) usage "--skip-limit must be a whole number from 1" ;; esac
case $retry_lock in '' | [0-9]*[smh]) ;; *) usage "--retry-lock must be a duration like 30m or 2h" ;; esac

counter="$state_dir/prune-skipped"
write_count() { # atomically
  local tmp
  mkdir -p -m 0700 -- "$state_dir" && tmp=$(mktemp "$state_dir/.prune-skipped.XXXXXXXX") &&
    printf '%s\n' "$1" >"$tmp" && mv -f -- "$tmp" "$counter" || { rm -f -- "${tmp:-}"; say "warning: could not write $counter"; }
}

# --retry-lock exists since restic 0.16.
version=$("$restic" version 2>/dev/null | sed -n 's/^restic \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')
read -r major minor <<<"${version:-0 0}"
retry=()
if [ -n "$retry_lock" ]; then
  if [ "$major" -gt 0 ] || [ "$minor" -ge 16 ]; then
    retry=("--retry-lock=$retry_lock")
  else
    say "restic ${major}.${minor} has no --retry-lock (0.16+): a lock held by another process is not waited for"
  fi
fi

"$restic" unlock || say "warning: restic unlock failed (exit $?); trying forget --prune anyway"

say "restic forget --prune $* ${retry[*]}"
# Shown as it comes, and kept (restic prints no secrets) to tell a lock error
# from another failure. A file, not /dev/fd/N: under systemd stdout is the
# journal's socket, which cannot be opened again by name.
mkdir -p -m 0700 -- "$state_dir" || usage "cannot create $state_dir"
log="$state_dir/.prune.out"
"$restic" forget --prune "$@" "${retry[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
out=$(cat -- "$log" 2>/dev/null)
rm -f -- "$log"
if [ "$rc" -eq 0 ]; then
  [ ! -e "$counter" ] || rm -f -- "$counter"
  exit 0
fi
shopt -s nocasematch
if [ "$rc" -eq 11 ] || { [ "$rc" -eq 1 ] && [[ $out =~ unable\ to\ create\ lock\ in\ backend|repository\ is\ already\ locked ]]; }; then
  n=$(head -c 16 "$counter" 2>/dev/null | tr -dc 0-9)
  n=$((${n:-0} + 1))
  write_count "$n"
  if [ "$n" -lt "$skip_limit" ]; then
    say "warning: the snapshot is saved, but forget --prune could not lock the repository (another process holds it, exit $rc); pruning is skipped this time ($n in a row, a failure at $skip_limit) and the next backup prunes"
    exit 0
  fi
  say "error: forget --prune could not lock the repository for the $n-th backup in a row (exit $rc): something holds the repository's lock; see 'restic list locks' and README Troubleshooting"
  exit "$rc"
fi
say "error: restic forget --prune failed (exit $rc)"
exit "$rc"
