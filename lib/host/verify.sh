#!/usr/bin/env bash
# restic-b2-verify: can this host open its restic repository with the deployed
# credentials? Installed by the NixOS module as `restic-b2-verify-<name>`
# (a wrapper that passes the production paths below), run as root by the
# deploy after `nixos-rebuild switch`, and by hand whenever you like.
#
#   verify.sh --backup-name NAME --restic PATH --env-file FILE --repository-file FILE
#             --password-file FILE [--timeout SECONDS]
#
# restic gets the same environment as the backup unit: the agenix env file
# (B2_ACCOUNT_ID/B2_ACCOUNT_KEY, sourced like the NixOS restic-<name> wrapper
# does), RESTIC_REPOSITORY_FILE and RESTIC_PASSWORD_FILE. Credentials travel
# only as file paths and environment variables, never as arguments.
#
# It runs `restic --no-lock cat config` (reads the repository's config file,
# which needs the key to decrypt; --no-lock: no lock file is written, so it
# writes nothing, and a lock another restic holds, e.g. a prune or the drill's
# check, cannot make it fail) under a time bound, and exits with:
#    0  the repository opens (password and key accepted)
#   10  there is no repository yet (the first backup creates it: initialize)
#   12  wrong password (the repository exists but no key matches)
#   13  the storage refused the key (HTTP 401/403, B2 unauthorized)
#   20  unreachable (DNS, connection refused/reset, timeout, 5xx)
#   11  the repository is locked (restic >= 0.17's exit code 11, or its
#       "repository is already locked" message): the key was accepted, and a
#       held lock is no reason to fail a deploy
#    1  anything else (an agenix file is missing, an unclassified restic error)
#    2  bad arguments
# It prints one line saying which, and restic's own message for 1/12/13/20.
# restic >= 0.17 reports 10 and 12 as exit codes; older versions only print
# "Is there a repository at the following location?" and "wrong password or
# no key found", so both are recognised.

set -u -o pipefail
umask 077

PROG=restic-b2-verify

backup_name='' restic='' env_file='' repo_file='' password_file='' timeout_s=60

usage() {
  printf '%s: error: %s\n' "$PROG" "$1" >&2
  printf 'usage: %s --backup-name NAME --restic PATH --env-file FILE --repository-file FILE --password-file FILE [--timeout SECONDS]\n' "$PROG" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --backup-name | --restic | --env-file | --repository-file | --password-file | --timeout)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case $1 in
        --backup-name) backup_name=$2 ;;
        --restic) restic=$2 ;;
        --env-file) env_file=$2 ;;
        --repository-file) repo_file=$2 ;;
        --password-file) password_file=$2 ;;
        --timeout) timeout_s=$2 ;;
      esac
      shift 2
      ;;
    *) usage "unknown argument: $1" ;;
  esac
done

[ -n "$backup_name" ] || usage "--backup-name is required"
[ -n "$restic" ] || usage "--restic is required"
[ -n "$repo_file" ] || usage "--repository-file is required"
[ -n "$password_file" ] || usage "--password-file is required"
case $timeout_s in '' | *[!0-9]* | 0) usage "--timeout must be a whole number of seconds above 0" ;; esac

# Messages start with the unit or command name (lib/host/layout.ts), which ends in the backup name.
PROG="restic-b2-verify-$backup_name"
say() { printf '%s: %s\n' "$PROG" "$*"; }

# restic's message, indented, at most 20 lines (never contains a secret: restic
# prints locations without passwords and never echoes keys).
show_restic() {
  [ -n "$1" ] || return 0
  printf '%s\n' "$1" | head -n 20 | sed 's/^/  restic: /'
}

for f in "$repo_file" "$password_file" ${env_file:+"$env_file"}; do
  if [ ! -r "$f" ]; then
    say "cannot read $f (was the agenix secret decrypted? see journalctl -u agenix or the activation output)"
    exit 1
  fi
done

# The environment of the backup unit, and nothing inherited that would
# override it.
unset RESTIC_REPOSITORY RESTIC_PASSWORD RESTIC_PASSWORD_COMMAND RESTIC_KEY_HINT
if [ -n "$env_file" ]; then
  # `.` looks a name without a slash up in PATH.
  case $env_file in */*) ;; *) env_file=./$env_file ;; esac
  set -a
  # shellcheck disable=SC1090
  . "$env_file" || { set +a; say "cannot load $env_file"; exit 1; }
  set +a
fi
export RESTIC_REPOSITORY_FILE="$repo_file" RESTIC_PASSWORD_FILE="$password_file"

out=$(timeout --kill-after=5 "$timeout_s" "$restic" --no-cache --no-lock cat config 2>&1 >/dev/null)
rc=$?

# Classify. Order matters: restic before 0.17 adds "Is there a repository at
# the following location?" to every failure to open the config file, network
# errors included, so those are recognised first.
shopt -s nocasematch
net='dial tcp|connection refused|connection reset|no such host|server misbehaving|name resolution|network is unreachable|no route to host|i/o timeout|tls handshake timeout|context deadline exceeded|connection to b2 failed|unexpected eof|broken pipe'
auth='\(401\)|\(403\)|: 401:|: 403:|401 unauthorized|403 forbidden|bad_auth_token|unauthorized|access_denied|access denied|forbidden'
server='\((500|502|503|504)\)|: (500|502|503|504):|service_unavailable|internal server error|bad gateway|service unavailable|gateway timeout'
missing='Is there a repository at the following location\?'

if [ "$rc" -eq 0 ]; then
  say "repository opens: the password and the storage key are accepted"
  exit 0
elif [ "$rc" -eq 11 ] || [[ $out =~ repository\ is\ already\ locked|unable\ to\ create\ lock ]]; then
  say "repository is locked by another restic process (a backup, prune or check); the password and key were accepted"
  show_restic "$out"
  exit 11
elif [ "$rc" -eq 12 ] || [[ $out =~ wrong\ password\ or\ no\ key\ found ]]; then
  say "wrong password: the repository exists but does not accept the deployed password (resticPassword)"
  show_restic "$out"
  exit 12
elif [[ $out =~ $auth ]]; then
  say "key refused: the storage does not accept the deployed key (access denied)"
  show_restic "$out"
  exit 13
elif [[ $out =~ $net ]] || [[ $out =~ $server ]]; then
  say "unreachable: could not reach the repository's storage (network or service down); not checked"
  show_restic "$out"
  exit 20
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  say "unreachable: no answer within ${timeout_s}s; not checked"
  show_restic "$out"
  exit 20
elif [ "$rc" -eq 10 ] || [[ $out =~ $missing ]]; then
  say "no repository yet: the first backup run will create it (initialize)"
  exit 10
fi
say "could not open the repository (restic exit code $rc)"
show_restic "$out"
exit 1
