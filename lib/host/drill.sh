#!/usr/bin/env bash
# restic-b2-drill: the scheduled restore drill of one backup. Installed by the
# NixOS module as restic-b2-drill-<name>.service (with a monthly timer), which
# passes the production paths below; tests pass their own.
#
#   drill.sh --backup-name NAME --restic PATH --repository-file FILE --password-file FILE
#            [--env-file FILE] --state-dir DIR --scratch-dir DIR
#            [--sample-files N] [--max-file-bytes N] [--check-groups T]
#            [--backup-path PATH]... [--lock-attempts N] [--lock-delay SECONDS]
#            [--repository-lock FILE] [--repository-lock-wait SECONDS]
#            [--repository-id-file FILE]
#
# One run:
#  1. finds the newest snapshot (`restic snapshots --json`; the newest instant,
#     whatever time zone each snapshot's time was written in). None yet, or no
#     repository yet: records "no-snapshot" and exits 0, reading nothing else,
#     but only while FILE (--repository-id-file, written by the backup unit's
#     repository guard after its first successful backup, lib/host/repo-guard.sh)
#     does not exist. Once the host has completed a backup, a missing or empty
#     repository, or one whose id (`restic cat config`) is not the recorded
#     one, is a failed drill.
#  2. `restic check --read-data-subset=n/T`: the structure of the whole
#     repository and the data of pack group n. n is kept in
#     STATE/drill-rotation and moves on (1, 2, ..., T, 1, ...) after each check
#     that passed, so T passing runs read every pack once; a failed check is
#     repeated on the same group next time.
#  3. restores N random files of at most --max-file-bytes bytes (names with
#     control characters are not sampled) from that snapshot with
#     `restore --verify` (restic re-reads each restored file and compares it
#     with the snapshot's content) into a fresh private directory made with
#     mktemp -d under --scratch-dir, and checks each file's size. The directory
#     (also restic's caches and temporary files) is removed when the run ends,
#     whatever happens (trap on exit and on signals; what a killed run left is
#     removed by the next one, which holds STATE/drill.lock like every run).
#  4. writes STATE/drill.json atomically (0600, a temporary file renamed):
#     {"version":1,"time":"<UTC start>","durationSeconds":N,
#      "result":"pass"|"fail"|"no-snapshot"|"skipped","reason":"<empty on pass>",
#      "snapshot":"<short id>","filesRestored":N,"bytesRestored":N,
#      "checkSubset":"n/T" (empty when no check ran)}
#     and exits 0 (pass, no-snapshot, skipped) or 1 (fail), so OnFailure= and
#     monitoring see a failure. The reason holds restic's message, also
#     where restic printed it as JSON. A drill started while another drill of
#     this backup runs does not run: it says so, leaves drill.json alone and
#     exits 0 (not a failure: the running drill reports for itself).
#
# With --repository-lock, the whole run holds that host lock (flock), which the
# backup unit takes too (lib/host/repo-lock.sh): a drill started while a
# backup runs waits for it, up to --repository-lock-wait seconds (then it
# records "skipped", a warning: exit 0, and the next drill runs at its time),
# and a backup started while the drill runs waits for the drill. Each restic command also takes (and releases) restic's
# own lock: snapshots, ls and restore a shared one, check an exclusive one. A command
# that finds the repository locked is retried --lock-attempts times,
# --lock-delay seconds apart. It never writes outside STATE and the scratch
# directory, and refuses a scratch directory inside a --backup-path.
# Credentials reach restic as file paths and the sourced env file only.

set -u -o pipefail
umask 077

PROG=restic-b2-drill

backup_name='' restic='' env_file='' repo_file='' password_file='' state_dir='' scratch_base=''
sample_files=32 max_file_bytes=$((16 * 1024 * 1024)) check_groups=12 lock_attempts=6 lock_delay=300
repository_lock='' repository_lock_wait=21600
backup_paths=() repository_id_file=''

usage() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  printf 'usage: %s --backup-name NAME --restic PATH --repository-file FILE --password-file FILE [--env-file FILE] --state-dir DIR --scratch-dir DIR [--sample-files N] [--max-file-bytes N] [--check-groups T] [--backup-path PATH]... [--lock-attempts N] [--lock-delay SECONDS] [--repository-lock FILE] [--repository-lock-wait SECONDS] [--repository-id-file FILE]\n' "$PROG" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --backup-name | --restic | --env-file | --repository-file | --password-file | --state-dir | --scratch-dir | \
      --sample-files | --max-file-bytes | --check-groups | --backup-path | --lock-attempts | --lock-delay | --repository-lock | --repository-lock-wait | --repository-id-file)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case $1 in
        --backup-name) backup_name=$2 ;;
        --restic) restic=$2 ;;
        --env-file) env_file=$2 ;;
        --repository-file) repo_file=$2 ;;
        --password-file) password_file=$2 ;;
        --state-dir) state_dir=$2 ;;
        --scratch-dir) scratch_base=$2 ;;
        --sample-files) sample_files=$2 ;;
        --max-file-bytes) max_file_bytes=$2 ;;
        --check-groups) check_groups=$2 ;;
        --backup-path) backup_paths+=("$2") ;;
        --lock-attempts) lock_attempts=$2 ;;
        --lock-delay) lock_delay=$2 ;;
        --repository-lock) repository_lock=$2 ;;
        --repository-lock-wait) repository_lock_wait=$2 ;;
        --repository-id-file) repository_id_file=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done

for v in backup_name restic repo_file password_file state_dir scratch_base; do
  [ -n "${!v}" ] || usage "--${v//_/-} is required"
done
whole() { case $2 in '' | *[!0-9]*) usage "$1 must be a whole number" ;; esac; }
whole --sample-files "$sample_files"
whole --max-file-bytes "$max_file_bytes"
whole --check-groups "$check_groups"
whole --lock-attempts "$lock_attempts"
whole --lock-delay "$lock_delay"
whole --repository-lock-wait "$repository_lock_wait"
# restic refuses --read-data-subset=n/t with t above 256.
[ "$check_groups" -ge 1 ] && [ "$check_groups" -le 256 ] || usage "--check-groups must be from 1 to 256"
[ "$lock_attempts" -ge 1 ] || usage "--lock-attempts must be at least 1"
case $state_dir in /*) ;; *) usage "--state-dir must be absolute" ;; esac
case $scratch_base in /*) ;; *) usage "--scratch-dir must be absolute" ;; esac

# Messages start with the unit or command name (lib/host/layout.ts), which ends in the backup name.
PROG="restic-b2-drill-$backup_name"
say() { printf '%s: %s\n' "$PROG" "$*"; }

start_epoch=$(date +%s)
start_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
snap_short='' subset='' files=0 bytes=0 scratch='' recorded=0

# ---- the result file -----------------------------------------------------------

# atomic_write FILE: stdin into FILE through a temporary file in the same
# directory, renamed over it (readers see the old or the new file, never half).
atomic_write() {
  local tmp
  tmp=$(mktemp "$(dirname "$1")/.$(basename "$1").XXXXXXXX") || return 1
  if cat >"$tmp" && chmod 0600 "$tmp" && mv -f "$tmp" "$1"; then return 0; fi
  rm -f "$tmp"
  return 1
}

# record RESULT REASON: writes drill.json once per run.
record() {
  [ "$recorded" -eq 0 ] || return 0
  recorded=1
  local dur=$(($(date +%s) - start_epoch))
  jq -n --arg time "$start_iso" --argjson dur "$dur" --arg result "$1" --arg reason "$2" \
    --arg snapshot "$snap_short" --argjson files "$files" --argjson bytes "$bytes" --arg subset "$subset" \
    '{version: 1, time: $time, durationSeconds: $dur, result: $result, reason: $reason,
      snapshot: $snapshot, filesRestored: $files, bytesRestored: $bytes, checkSubset: $subset}' |
    atomic_write "$state_dir/drill.json" || { say "error: could not write $state_dir/drill.json"; return 1; }
}

finish() { # RESULT REASON
  local rc=0
  record "$1" "$2" || rc=1
  case $1 in
    pass) say "pass: snapshot $snap_short, check $subset, $files files ($bytes bytes) restored and verified" ;;
    no-snapshot) say "no snapshot yet: $2; nothing to check" ;;
    skipped) say "warning: skipped: $2" ;;
    *) say "FAIL: $2"; rc=1 ;;
  esac
  exit "$rc"
}

# ---- cleanup, whatever happens -------------------------------------------------

cleanup() {
  if [ -n "$scratch" ] && [ -d "$scratch" ]; then
    chmod -R u+rwx "$scratch" 2>/dev/null
    rm -rf -- "$scratch"
  fi
}
on_signal() {
  trap - INT TERM HUP
  record fail "interrupted by SIG$1 before the drill finished"
  say "FAIL: interrupted by SIG$1"
  exit $((128 + $2))
}
trap cleanup EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

# ---- preparation ---------------------------------------------------------------

if ! mkdir -p -- "$state_dir" || ! chmod 0700 "$state_dir"; then
  say "error: cannot create $state_dir"
  exit 1
fi

strip_slash() { local p=$1; while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done; printf '%s' "$p"; }
sb=$(strip_slash "$scratch_base")
for p in "${backup_paths[@]}"; do
  p=$(strip_slash "$p")
  if [ "$p" = / ] || [ "$sb" = "$p" ] || [ "${sb#"$p"/}" != "$sb" ]; then
    finish fail "the scratch directory $scratch_base is inside the backed-up path $p; refusing to restore there"
  fi
done

for f in "$repo_file" "$password_file" ${env_file:+"$env_file"}; do
  [ -r "$f" ] || finish fail "cannot read $f (agenix secret not decrypted?)"
done

# One drill at a time per backup (systemd runs one instance of the unit; this
# also covers a run started by hand), so what is left below the scratch
# directory can only come from a run that was killed (SIGKILL, power loss):
# removed first.
if ! exec 9>"$state_dir/drill.lock"; then
  say "error: cannot open the lock $state_dir/drill.lock"
  exit 1
fi
if ! flock -n 9; then
  say "another drill of this backup is running (lock $state_dir/drill.lock): this one does not run; the running drill records its own result"
  exit 0
fi
# The host lock shared with the backup unit: held until this run exits.
if [ -n "$repository_lock" ]; then
  if ! mkdir -p -m 0700 -- "$(dirname "$repository_lock")" || ! exec 8>"$repository_lock"; then
    finish fail "cannot open the repository lock $repository_lock"
  fi
  if ! flock -n 8; then
    say "a backup of $backup_name is running (lock $repository_lock); waiting up to ${repository_lock_wait}s for it"
    flock -w "$repository_lock_wait" 8 ||
      finish skipped "a backup of $backup_name held the repository lock $repository_lock for more than ${repository_lock_wait}s; the drill did not run and runs at its next time"
    say "the backup has finished; the drill starts"
  fi
fi
for d in "$sb"/drill.*; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then
    say "removing $d, left by an interrupted run"
    chmod -R u+rwx "$d" 2>/dev/null
    rm -rf -- "$d"
  fi
done

if ! mkdir -p -m 0700 -- "$scratch_base" || ! scratch=$(mktemp -d "$sb/drill.XXXXXXXX"); then
  scratch=''
  finish fail "cannot create a private directory under $scratch_base"
fi
mkdir -m 0700 "$scratch/tmp" "$scratch/cache" "$scratch/restore" || finish fail "cannot prepare $scratch"

unset RESTIC_REPOSITORY RESTIC_PASSWORD RESTIC_PASSWORD_COMMAND RESTIC_KEY_HINT RESTIC_CACHE_DIR
if [ -n "$env_file" ]; then
  case $env_file in */*) ;; *) env_file=./$env_file ;; esac
  set -a
  # shellcheck disable=SC1090
  . "$env_file" || { set +a; finish fail "cannot load $env_file"; }
  set +a
fi
export RESTIC_REPOSITORY_FILE="$repo_file" RESTIC_PASSWORD_FILE="$password_file"
# restic's temporary files and check's temporary cache land in the scratch directory.
export TMPDIR="$scratch/tmp"

# ---- restic --------------------------------------------------------------------

shopt -s nocasematch
net='dial tcp|connection refused|connection reset|no such host|server misbehaving|name resolution|network is unreachable|no route to host|i/o timeout|tls handshake timeout|context deadline exceeded|connection to b2 failed|unexpected eof|broken pipe|\(401\)|\(403\)|: 401:|: 403:|unauthorized|forbidden|\((500|502|503|504)\)|: (500|502|503|504):'
locked='unable to create lock in backend|repository is already locked'

# run_restic LABEL ARGS...: runs restic with a cache inside the scratch
# directory, retrying while the repository is locked by another process.
# Sets out (its stdout and stderr) and rc; restic's output also goes to the
# journal, and to a file in the scratch directory (restic prints no secrets).
run_restic() {
  local label=$1 attempt=1
  shift
  while :; do
    say "restic $label"
    # Shown as it comes (a check can take hours) and kept for the reason field.
    "$restic" --cache-dir "$scratch/cache" "$@" 2>&1 | tee "$scratch/tmp/restic.out"
    rc=${PIPESTATUS[0]}
    out=$(cat "$scratch/tmp/restic.out")
    if [ "$rc" -ne 0 ] && { [ "$rc" -eq 11 ] || [[ $out =~ $locked ]]; } && [ "$attempt" -lt "$lock_attempts" ]; then
      say "the repository is locked by another process; trying again in ${lock_delay}s (attempt $attempt of $lock_attempts)"
      attempt=$((attempt + 1))
      sleep "$lock_delay"
      continue
    fi
    return "$rc"
  done
}

# The last lines of restic's output, on one line, for the reason field. With
# --json, restic 0.17+ prints its errors as JSON lines
# ({"message_type":"exit_error","code":12,"message":"..."}): their message.
tail_of() {
  printf '%s\n' "$1" | grep -v '^\[' |
    jq -Rr '. as $line | (try fromjson catch null) as $j
      | if ($j | type) == "object" and ($j.message | type) == "string" then $j.message
        elif ($j | type) == "object" and ($j.error.message | type) == "string" then $j.error.message
        else $line end' 2>/dev/null |
    tail -n 4 | tr '\n' ' ' | sed 's/  */ /g; s/ $//' | cut -c 1-600
}

# ---- 1. the newest snapshot ------------------------------------------------------

# The repository id recorded by the backup unit after its first successful
# backup (empty: this host has not completed one, or it was reset).
recorded_id=''
if [ -n "$repository_id_file" ] && [ -e "$repository_id_file" ]; then
  { IFS= read -r recorded_id || [ -n "$recorded_id" ]; } <"$repository_id_file" 2>/dev/null
  [[ $recorded_id =~ ^[0-9a-f]{64}$ ]] || finish fail "$repository_id_file does not hold a repository id"
fi
# nothing_yet REASON FOUND: "no-snapshot" (REASON) before the host's first
# backup; after it, a failure that says what was found instead.
nothing_yet() {
  [ -n "$recorded_id" ] || finish no-snapshot "$1"
  finish fail "expected repository id $recorded_id, which this host has backed up to, but $2: the snapshots may be gone"
}

if ! run_restic "snapshots" snapshots --json; then
  if { [ "$rc" -eq 10 ] || [[ $out =~ Is\ there\ a\ repository\ at\ the\ following\ location ]]; } && ! [[ $out =~ $net ]] &&
    ! [[ $out =~ wrong\ password ]]; then
    nothing_yet "there is no repository yet (the first backup creates it)" "found no repository at the configured location"
  fi
  finish fail "restic snapshots failed (exit $rc): $(tail_of "$out")"
fi
snapshots_json=$(printf '%s\n' "$out" | sed -n '/^\[/,$p')
if [ -n "$recorded_id" ]; then
  found_id=$("$restic" --cache-dir "$scratch/cache" cat config --no-lock 2>/dev/null | jq -r '.id // empty' 2>/dev/null)
  [ -n "$found_id" ] || finish fail "could not read the repository's id (restic cat config) to compare it with the recorded $recorded_id"
  [ "$found_id" = "$recorded_id" ] ||
    finish fail "expected repository id $recorded_id, found repository id $found_id: the repository at the configured location is not the one this host backed up to"
fi
# restic writes each snapshot's time in the zone of the machine that made it
# (RFC 3339 with an offset): the newest is the latest instant, not the
# greatest string.
newest_filter='def instant:
    capture("^(?<d>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?<f>[.][0-9]+)?(?<z>Z|[+-][0-9]{2}:[0-9]{2})$")
    | ((.d + "Z") | fromdateiso8601) + ((.f // ".0") | "0" + . | tonumber)
      - (if .z == "Z" then 0 else (.z[0:1] + "1" | tonumber) * ((.z[1:3] | tonumber) * 3600 + (.z[4:6] | tonumber) * 60) end);
  if length == 0 then "" else (max_by(.time | instant) | .id) end'
if ! newest=$(printf '%s' "$snapshots_json" | jq -er "$newest_filter" 2>/dev/null); then
  finish fail "could not read the output of restic snapshots --json"
fi
[ -n "$newest" ] || nothing_yet "the repository has no snapshot yet" "the repository has no snapshot"
snap_short=${newest:0:8}

# ---- 2. the check, rotating over pack groups -------------------------------------

rotation_file="$state_dir/drill-rotation"
n=1
if [ -f "$rotation_file" ]; then
  last=$(head -c 32 "$rotation_file" | tr -d ' \n')
  case $last in
    '' | *[!0-9]*) say "ignoring unreadable $rotation_file; starting at group 1" ;;
    *) if [ "$last" -ge 1 ] && [ "$last" -le "$check_groups" ]; then n=$((last % check_groups + 1)); fi ;;
  esac
fi
subset="$n/$check_groups"
problems=()
if run_restic "check --read-data-subset=$subset" check --read-data-subset="$subset"; then
  printf '%s\n' "$n" | atomic_write "$rotation_file" || say "warning: could not write $rotation_file"
else
  problems+=("check --read-data-subset=$subset failed (exit $rc): $(tail_of "$out")")
fi

# ---- 3. restore a sample and verify it -------------------------------------------

glob_escape() { # restic's --include patterns are globs; match the name literally
  local s=$1 r='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in '*' | '?' | '[' | ']' | '\') r+="\\$c" ;; *) r+=$c ;; esac
  done
  printf '%s' "$r"
}

if [ "$sample_files" -gt 0 ]; then
  say "restic ls --json $snap_short"
  list="$scratch/tmp/sample"
  "$restic" --cache-dir "$scratch/cache" ls --json "$newest" 2>"$scratch/tmp/ls.err" |
    jq -c --argjson max "$max_file_bytes" \
      'select((.struct_type == "node" or .message_type == "node") and .type == "file" and (.size // 0) <= $max
              and (.path | explode | any(. < 32 or . == 127) | not)) | [.path, (.size // 0)]' |
    shuf -n "$sample_files" >"$list"
  ls_rc=("${PIPESTATUS[@]}")
  if [ "${ls_rc[0]}" -ne 0 ] || [ "${ls_rc[1]}" -ne 0 ] || [ "${ls_rc[2]}" -ne 0 ]; then
    problems+=("restic ls failed (exit ${ls_rc[0]}): $(tail_of "$(cat "$scratch/tmp/ls.err")")")
  else
    paths=() sizes=() includes=()
    while IFS= read -r p && IFS= read -r s; do
      paths+=("$p") sizes+=("$s") includes+=(--include "$(glob_escape "$p")")
    done < <(jq -r '.[0], (.[1] | tostring)' "$list")
    if [ "${#paths[@]}" -eq 0 ]; then
      say "warning: the snapshot has no file of at most $max_file_bytes bytes to restore; only the check ran"
    elif run_restic "restore $snap_short --verify (${#paths[@]} files)" \
      restore "$newest" --target "$scratch/restore" --verify "${includes[@]}"; then
      bad=()
      for i in "${!paths[@]}"; do
        f="$scratch/restore${paths[$i]}"
        if [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %s -- "$f")" = "${sizes[$i]}" ]; then
          files=$((files + 1)) bytes=$((bytes + sizes[i]))
        else
          bad+=("${paths[$i]}")
        fi
      done
      if [ "${#bad[@]}" -gt 0 ]; then
        problems+=("${#bad[@]} of ${#paths[@]} sampled files were not restored with their size, e.g. $(printf '%q' "${bad[0]}")")
      fi
    else
      problems+=("restore --verify of ${#paths[@]} sampled files failed (exit $rc): $(tail_of "$out")")
    fi
  fi
fi

# ---- 4. the result ---------------------------------------------------------------

if [ "${#problems[@]}" -eq 0 ]; then
  finish pass ""
fi
reason=${problems[0]}
for ((i = 1; i < ${#problems[@]}; i++)); do reason+="; ${problems[$i]}"; done
finish fail "$reason"
