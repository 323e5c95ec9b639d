#!/bin/sh
# restic-b2-monitor: the heartbeat and the failure alert of one systemd unit run
# (the restic backup, or any other unit the NixOS module attaches it to).
#
# Installed by the nixos-restic-b2 module (pkgs.writeShellScript) and run by
# systemd, as root, from the unit itself:
#   ExecStartPre=-+<this> start  --unit UNIT [--healthcheck-url FILE]
#   ExecStopPost=-+<this> finish --unit UNIT [--healthcheck-url FILE]
#                                [--ntfy-url FILE [--ntfy-token FILE]]
#   both:          [--state-dir DIR]
#   tuning (tests): [--max-time S] [--retries N] [--retry-max-time S]
#
# FILE arguments are agenix paths (/run/agenix/...): each holds one value, a
# credential, on its first line. The values only ever reach curl through its
# config file on stdin (`curl --config -`), never an argument, the
# environment, a temporary file or a log line. What this script prints goes to
# the unit's journal and names no URL and no token.
#
#   --healthcheck-url  (the healthcheckUrl key) a Healthchecks ping URL
#                  (https://hc-ping.com/<uuid>, https://hc-ping.com/<ping-key>/<slug>,
#                  a self-hosted .../ping/<uuid>) or an Uptime Kuma push URL
#                  (.../api/push/<token>); drillHealthcheckUrl for the drill's unit
#   --ntfy-url     (ntfyUrl) an ntfy topic URL (https://ntfy.sh/<topic>), published
#                  to when the run failed (priority high; a run that ended with
#                  exit status 3, restic's "snapshot written, some files could not
#                  be read", default priority), and once, a short "recovered"
#                  message, on the first success after a failure;
#                  --ntfy-token (ntfyToken): an access token (Bearer)
#   --state-dir    (lib/host/layout.ts: MONITOR_STATE_DIR, root-only) where the
#                  script keeps, per unit, the start time of the running run (for
#                  Uptime Kuma's ping=, the run's duration in milliseconds) and
#                  whether the last run failed (for the "recovered" message).
#                  Without it: no ping= and no "recovered" message.
#
# The result is judged from systemd's $SERVICE_RESULT, which is set in
# ExecStopPost even when a start step failed ($EXIT_CODE/$EXIT_STATUS are then
# unset). $INVOCATION_ID selects this run's journal and is the Healthchecks
# run id (rid) that pairs the start ping with the end ping.
#
# It always exits 0 and is bounded in time: each request gets --max-time
# seconds per try (default 10) and is retried (default 5 times, only on
# timeouts and HTTP 408/429/5xx, curl's transient errors) for at most
# --retry-max-time seconds (default 30); the heartbeat and the alert are sent
# in parallel, and journalctl gets 15 s. Worst case about 55 s, below
# systemd's default 90 s stop timeout (a hook that overran it would turn the
# result into "timeout"), so a dead or hanging server never changes the
# unit's result.
#
# POSIX sh. Needs curl, journalctl and coreutils on PATH.

PROG=restic-b2-monitor

say() { printf '%s: %s\n' "$PROG" "$*" 2>/dev/null || :; }

# Hosted Healthchecks stores the first 100 000 bytes of a body; a self-hosted
# server stores 10 000 by default (PING_BODY_LIMIT). ntfy: 4 096 bytes.
HOSTED_HC_LIMIT=100000
SELF_HOSTED_HC_LIMIT=10000
NTFY_LIMIT=4096
CUT_MARK='[... earlier lines cut ...]'

parse_args() {
  action='' unit='' healthcheck_url_file='' ntfy_url_file='' ntfy_token_file='' state_dir=''
  max_time=10 retries=5 retry_max=30
  [ $# -ge 1 ] || return 1
  action=$1
  shift
  while [ $# -ge 2 ]; do
    case $1 in
      --unit) unit=$2 ;;
      --healthcheck-url) healthcheck_url_file=$2 ;;
      --ntfy-url) ntfy_url_file=$2 ;;
      --ntfy-token) ntfy_token_file=$2 ;;
      --state-dir) state_dir=$2 ;;
      --max-time) max_time=$2 ;;
      --retries) retries=$2 ;;
      --retry-max-time) retry_max=$2 ;;
      *) return 1 ;;
    esac
    shift 2
  done
  [ $# -eq 0 ] || return 1
  case $action in start | finish) ;; *) return 1 ;; esac
  case $unit in '' | *[!A-Za-z0-9_.@-]*) return 1 ;; esac
  case $state_dir in '' | /*) ;; *) return 1 ;; esac
  for n in "$max_time" "$retries" "$retry_max"; do
    case $n in '' | *[!0-9]*) return 1 ;; esac
  done
  return 0
}

# The first line of a credential file, without CR; empty when unreadable.
# `read` is a shell builtin: the value is never on a command line.
read_value() {
  value=''
  [ -n "$1" ] && [ -r "$1" ] || return 1
  IFS= read -r value < "$1" || [ -n "$value" ] || return 1
  value=${value%"$(printf '\r')"}
  return 0
}

# http_scheme_ok URL: whether URL starts with http:// or https://, the scheme
# in any case (schemes are case-insensitive, RFC 3986 3.1). The twin of
# HTTP_URL_SCHEME in lib/config/monitoring.ts; test/integration/url-scheme.test.ts
# runs one table of URLs through both. The letters are spelled out, so no
# locale can widen them.
http_scheme_ok() {
  case $1 in
    [Hh][Tt][Tt][Pp]://?* | [Hh][Tt][Tt][Pp][Ss]://?*) return 0 ;;
  esac
  return 1
}

# An http(s) URL that can be written into a curl config string as is.
valid_url() {
  http_scheme_ok "$1" || return 1
  case $1 in
    *[\"\\\ ]* | *"$(printf '\t')"*) return 1 ;;
  esac
  return 0
}

# Sets url to the URL in credential file $1 (empty when there is none or it
# is unusable; $2 names it in the message, which never shows the value).
read_url() {
  url=''
  [ -n "$1" ] || return 0
  if ! read_value "$1"; then
    say "$2: cannot read $1; nothing sent"
  elif ! valid_url "$value"; then
    say "$2: $1 does not hold an http(s) URL; nothing sent"
  else
    # The scheme in lower case, so the rest of this script (and curl) sees one spelling.
    scheme=$(printf '%s' "${value%%://*}" | tr ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz)
    url="$scheme://${value#*://}"
  fi
}

# Escapes text for a double-quoted curl config value.
conf_quote() {
  printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'
}

# The run id for Healthchecks: $INVOCATION_ID (32 hex digits) as a UUID.
run_id() {
  rid=''
  id=${INVOCATION_ID:-}
  case $id in '' | *[!0-9a-fA-F]*) return 0 ;; esac
  [ "${#id}" -eq 32 ] || return 0
  rid=$(printf '%s\n' "$id" | sed 's/^\(.\{8\}\)\(.\{4\}\)\(.\{4\}\)\(.\{4\}\)\(.\{12\}\)$/\1-\2-\3-\4-\5/')
}

# This run's journal, from the unit's processes and from systemd about it.
journal() {
  [ -n "$rid" ] || return 0
  set -- journalctl --no-pager --quiet --output=short-iso \
    "_SYSTEMD_INVOCATION_ID=$INVOCATION_ID" + "INVOCATION_ID=$INVOCATION_ID"
  if command -v timeout > /dev/null 2>&1; then set -- timeout 15 "$@"; fi
  "$@" 2> /dev/null
}

# restic's lines of this run, for the alert: the journal without the monitor's
# own lines (journal identifier restic-b2-monitor, lib/host/layout.ts
# LOG_IDENTIFIERS) and systemd's messages about the unit (PID 1), so the
# error restic printed is what the user reads. journal() prints short-iso:
# "<time> <host> <identifier>[<pid>]: <message>".
restic_lines() {
  printf '%s\n' "$log" | sed -e '/^[^ ]* [^ ]* restic-b2-monitor\[[0-9]*\]: /d' -e '/^[^ ]* [^ ]* systemd\[1\]: /d'
}

# stdin cut to at most $1 bytes, keeping the end: when anything is cut, a
# marker line replaces the beginning and the first partial line is dropped.
tail_bytes() {
  t=$(tail -c "$(($1 + 1))")
  size=$(printf '%s\n' "$t" | wc -c)
  if [ "$size" -le "$1" ]; then
    printf '%s\n' "$t"
    return 0
  fi
  printf '%s\n' "$CUT_MARK"
  printf '%s\n' "$t" | tail -c "$(($1 - ${#CUT_MARK} - 1))" | sed 1d
}

# One request. $1: what it is (for the log), $2: the curl config (the URL,
# method, headers), stdin: the body when the config reads it from fd 3.
# Prints one line: the outcome, with curl's exit status and the HTTP code.
request() {
  what=$1
  code=$({ printf '%s\n' "$2" | curl --silent --fail --output /dev/null --write-out '%{http_code}' \
    --max-time "$max_time" --retry "$retries" --retry-max-time "$retry_max" --config - 2> /dev/null; } 3<&0)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    say "$what: sent (HTTP $code)"
  else
    say "$what: not delivered (curl exit $rc, HTTP ${code:-000}); the unit's result is not affected"
  fi
}

# Healthchecks: <base><suffix>?<the URL's own query>&rid=<run id>
healthcheck_ping_url() {
  base=${healthcheck_url%%\?*}
  query=''
  case $healthcheck_url in *\?*) query=${healthcheck_url#*\?} ;; esac
  base=${base%/}
  [ -z "$rid" ] || query=${query:+$query&}rid=$rid
  printf '%s%s%s' "$base" "$1" "${query:+?$query}"
}

healthcheck_body_limit() {
  case $healthcheck_url in
    https://[Hh][Cc]-[Pp][Ii][Nn][Gg].[Cc][Oo][Mm]/*) echo "$HOSTED_HC_LIMIT" ;;
    *) echo "$SELF_HOSTED_HC_LIMIT" ;;
  esac
}

# Sets: ok (1 success, 0 failure) and summary (one line).
judge() {
  result=${SERVICE_RESULT:-}
  status=${EXIT_STATUS:-}
  detail="result ${result:-unknown}"
  [ -z "${EXIT_CODE:-}" ] || detail="$detail, $EXIT_CODE"
  [ -z "$status" ] || detail="$detail, exit status $status"
  [ -n "$status" ] || [ "$result" = success ] || detail="$detail, no main process (a start step failed)"
  if [ "$result" = success ]; then
    ok=1
    summary="$unit succeeded on $host ($detail)"
  else
    ok=0
    summary="$unit FAILED on $host ($detail)"
  fi
  # restic's exit 3: the snapshot was written, some files could not be read.
  partial=0
  if [ "$ok" = 0 ] && [ "${EXIT_CODE:-}" = exited ] && [ "$status" = 3 ]; then partial=1; fi
}

# The Healthchecks suffix of a failed run: /<exit status> for an exit status
# from 1 to 255 of a process that exited, else /fail (never /0 for a failure).
fail_suffix() {
  case ${EXIT_CODE:-exited}:${EXIT_STATUS:-} in
    exited:[1-9] | exited:[1-9][0-9] | exited:1[0-9][0-9] | exited:2[0-4][0-9] | exited:25[0-5]) echo "/$EXIT_STATUS" ;;
    *) echo /fail ;;
  esac
}

kuma_config() {
  base=${healthcheck_url%%\?*}
  msg=$(printf '%s' "$1" | tr -d '\000-\037' | cut -c 1-400)
  printf 'url = "%s"\nget\ndata-urlencode = "status=%s"\ndata-urlencode = "msg=%s"\n' \
    "$(conf_quote "$base")" "$2" "$(conf_quote "$msg")"
  [ -z "$duration_ms" ] || printf 'data-urlencode = "ping=%s"\n' "$duration_ms"
}

# ---- state (--state-dir): per unit, the running run's start and the last failure

# Milliseconds since the epoch (GNU date; whole seconds where %N is not supported).
now_ms() {
  ms=$(date +%s%3N 2> /dev/null)
  case $ms in '' | *[!0-9]*) ms=$(($(date +%s) * 1000)) ;; esac
  echo "$ms"
}

# Writes $2 into STATE/$unit.$1 through a temporary file (atomic); never fails the script.
state_put() {
  [ -n "$state_dir" ] || return 0
  (umask 077 && mkdir -p "$state_dir" && printf '%s\n' "$2" > "$state_dir/.$unit.$1.tmp" &&
    mv -f "$state_dir/.$unit.$1.tmp" "$state_dir/$unit.$1") 2> /dev/null ||
    say "cannot write $state_dir/$unit.$1"
}

# Sets duration_ms from the start time the start hook kept (empty when unknown), and removes it.
run_duration() {
  duration_ms=''
  [ -n "$state_dir" ] && [ -f "$state_dir/$unit.start" ] || return 0
  start=$(head -c 32 "$state_dir/$unit.start" 2> /dev/null | tr -cd 0-9)
  rm -f "$state_dir/$unit.start"
  [ -n "$start" ] || return 0
  end=$(now_ms)
  [ "$end" -ge "$start" ] && duration_ms=$((end - start))
}

heartbeat_start() {
  state_put start "$(now_ms)"
  case $healthcheck_url in
    */api/push/*) say "heartbeat: Uptime Kuma has no start state; nothing sent at start" ;;
    *) request "heartbeat start ping" "url = \"$(conf_quote "$(healthcheck_ping_url /start)")\"" ;;
  esac
}

heartbeat_finish() {
  case $healthcheck_url in
    */api/push/*)
      last=$(printf '%s\n' "$log" | sed '/^$/d' | tail -n 1)
      if [ "$ok" = 1 ]; then
        request "heartbeat (Uptime Kuma, up)" "$(kuma_config "$summary" up)"
      else
        request "heartbeat (Uptime Kuma, down)" "$(kuma_config "$summary${last:+: $last}" down)"
      fi
      ;;
    *)
      if [ "$ok" = 1 ]; then suffix=''; else suffix=$(fail_suffix); fi
      limit=$(healthcheck_body_limit)
      { printf '%s\n' "$summary"; printf '%s\n' "$log" | tail_bytes "$((limit - ${#summary} - 1))"; } |
        request "heartbeat ${suffix:-success} ping" \
          "$(printf 'url = "%s"\ndata-binary = "@/dev/fd/3"\nheader = "Content-Type: text/plain; charset=utf-8"' \
            "$(conf_quote "$(healthcheck_ping_url "$suffix")")")"
      ;;
  esac
}

ntfy_alert() {
  headers=''
  if [ -n "$ntfy_token_file" ]; then
    if read_value "$ntfy_token_file" && [ -n "$value" ]; then
      case $value in
        *[!A-Za-z0-9._~+/=-]*) say "ntfy: the token in $ntfy_token_file has characters a token cannot have; sending without it" ;;
        *) headers="header = \"Authorization: Bearer $value\"" ;;
      esac
    else
      say "ntfy: cannot read the token file $ntfy_token_file; sending without it"
    fi
  fi
  if [ "$ok" = 1 ]; then
    # The first success after a failure: a short message, default priority.
    title=$(printf '%s' "$host: $unit recovered" | tr -d '\000-\037"\\')
    printf '%s\n%s\n' "$summary" "The previous run had failed; this one succeeded." |
      request "ntfy recovered message" "$(printf 'url = "%s"\ndata-binary = "@/dev/fd/3"\nheader = "Title: %s"\nheader = "Priority: default"\nheader = "Tags: white_check_mark,floppy_disk"\n%s' \
        "$(conf_quote "$ntfy_url")" "$title" "$headers")"
    return 0
  fi
  if [ "$partial" = 1 ]; then
    # Not an emergency: the snapshot was written; some files were not in it.
    title=$(printf '%s' "$host: $unit finished with unreadable files (partial snapshot)" | tr -d '\000-\037"\\')
    priority=default
  else
    title=$(printf '%s' "$host: $unit failed" | tr -d '\000-\037"\\')
    priority=high
  fi
  head="$summary
Last journal lines:"
  { printf '%s\n' "$head"; restic_lines | tail -n 40 | tail_bytes "$((NTFY_LIMIT - ${#head} - 2))"; } |
    request "ntfy alert" "$(printf 'url = "%s"\ndata-binary = "@/dev/fd/3"\nheader = "Title: %s"\nheader = "Priority: %s"\nheader = "Tags: warning,floppy_disk"\n%s' \
      "$(conf_quote "$ntfy_url")" "$title" "$priority" "$headers")"
}

main() {
  # The unit's environment (its EnvironmentFile holds the B2 key) is not
  # needed here: keep it away from curl.
  unset B2_ACCOUNT_ID B2_ACCOUNT_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY RESTIC_PASSWORD RESTIC_PASSWORD_COMMAND 2> /dev/null || :
  if ! parse_args "$@"; then
    say "usage: $PROG start|finish --unit UNIT [--healthcheck-url FILE] [--ntfy-url FILE [--ntfy-token FILE]] [--state-dir DIR]; nothing sent"
    exit 0
  fi
  if ! command -v curl > /dev/null 2>&1; then
    say "curl is not on PATH; nothing sent"
    exit 0
  fi
  host=$(cat /proc/sys/kernel/hostname 2> /dev/null || uname -n 2> /dev/null)
  host=$(printf '%s' "${host:-unknown-host}" | tr -cd 'A-Za-z0-9._-')
  run_id

  read_url "$healthcheck_url_file" heartbeat
  healthcheck_url=$url

  if [ "$action" = start ]; then
    [ -z "$healthcheck_url" ] || heartbeat_start
    exit 0
  fi

  read_url "$ntfy_url_file" ntfy
  ntfy_url=$url

  judge
  run_duration
  # Whether the run before this one failed (STATE/$unit.failed), then this run's result in its place.
  recovered=0
  if [ -n "$state_dir" ]; then
    if [ "$ok" = 1 ]; then
      if [ -f "$state_dir/$unit.failed" ]; then recovered=1; fi
      rm -f "$state_dir/$unit.failed" 2> /dev/null || :
    else
      state_put failed "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    fi
  fi
  log=''
  if [ -n "$healthcheck_url" ] || { [ -n "$ntfy_url" ] && [ "$ok" = 0 ]; }; then
    log=$(journal | tail -c "$((HOSTED_HC_LIMIT + 1))")
  fi
  # A backup whose prune was skipped (lib/host/prune.sh: the repository was
  # locked) succeeded: the snapshot is saved. Its heartbeat is a success that
  # says so, and no alert is sent.
  case $ok:$log in
    1:*"restic-b2-prune: warning:"*) summary="$summary; warning: the prune was skipped because the repository was locked (the next backup prunes)" ;;
  esac
  [ -z "$healthcheck_url" ] || heartbeat_finish &
  if [ -n "$ntfy_url" ] && { [ "$ok" = 0 ] || [ "$recovered" = 1 ]; }; then ntfy_alert & fi
  wait
  exit 0
}

main "$@"
exit 0
