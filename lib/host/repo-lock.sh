#!/usr/bin/env bash
# restic-b2-repo-lock: the backup unit's side of the host lock shared with the
# restore drill (lib/host/drill.sh holds the same lock for its whole run), so a
# backup never starts its `forget --prune` (which needs restic's exclusive
# lock) while the drill reads the repository, and a drill never starts while a
# backup runs. Installed by the NixOS module as the backup's
# backupPrepareCommand (acquire) and backupCleanupCommand (release).
#
#   repo-lock.sh acquire --lock FILE --wait SECONDS --pid-file FILE
#   repo-lock.sh release --pid-file FILE
#
# acquire waits at most SECONDS for the lock, then leaves a holder process
# (flock running sleep) in the unit's cgroup; it holds the lock until release
# stops it, or systemd stops the unit's remaining processes. When the wait
# ends without the lock, the backup goes on (the snapshot is what matters):
# a warning says so, and a prune that then finds the repository locked is
# reported by the monitor as a warning. Exit 0 in both cases; 2 on bad usage.

set -u -o pipefail
umask 077
PROG=restic-b2-repo-lock
say() { printf '%s: %s\n' "$PROG" "$*"; }
usage() { say "error: $1" >&2; say "usage: $PROG acquire --lock FILE --wait SECONDS --pid-file FILE | release --pid-file FILE" >&2; exit 2; }

[ $# -ge 1 ] || usage "no action"
action=$1
shift
lock='' wait='' pid_file=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage "$1 needs a value"
  case $1 in
    --lock) lock=$2 ;;
    --wait) wait=$2 ;;
    --pid-file) pid_file=$2 ;;
    *) usage "unknown argument: $1" ;;
  esac
  shift 2
done
[ -n "$pid_file" ] || usage "--pid-file is required"

stop_holder() {
  local pid
  pid=$(head -c 32 "$pid_file" 2>/dev/null | tr -d ' \n') || pid=''
  case $pid in "" | *[!0-9]*) ;; *) kill -- "-$pid" 2>/dev/null ;; esac
  rm -f -- "$pid_file"
}

case $action in
  release)
    stop_holder
    exit 0
    ;;
  acquire) ;;
  *) usage "unknown action: $action" ;;
esac

[ -n "$lock" ] || usage "--lock is required"
case $wait in '' | *[!0-9]*) usage "--wait must be a whole number of seconds" ;; esac
stop_holder # one left by a run that was killed
mkdir -p -m 0700 -- "$(dirname "$lock")" "$(dirname "$pid_file")" || { say "warning: cannot create the directory of $lock; going on without the lock"; exit 0; }

fifo=$(mktemp -u "$(dirname "$pid_file")/.repo-lock.XXXXXXXX")
mkfifo -m 0600 "$fifo" || { say "warning: cannot make $fifo; going on without the lock"; exit 0; }
# The holder: flock waits, then prints its pid and sleeps holding the lock.
# stdout of the holder is the fifo only; its stderr goes to the journal.
setsid flock -w "$wait" -E 75 "$lock" sh -c 'echo "$$"; exec sleep infinity' >"$fifo" </dev/null &
flock_pid=$!
say "waiting up to ${wait}s for $lock (held while the restore drill runs)"
start=$(date +%s)
if IFS= read -r holder <"$fifo" && [ -n "$holder" ]; then
  rm -f -- "$fifo"
  printf '%s\n' "$flock_pid" >"$pid_file"
  say "lock $lock taken after $(($(date +%s) - start))s"
  exit 0
fi
rm -f -- "$fifo"
wait "$flock_pid" 2>/dev/null
say "warning: the restore drill still held $lock after ${wait}s; the backup goes on without it (a prune that finds the repository locked is a warning)"
exit 0
