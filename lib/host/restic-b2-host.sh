#!/bin/sh
# restic-b2-host: puts the nixos-restic-b2 module on a NixOS host (or takes it
# away) and switches the system, restoring the previous state on any failure.
#
# nixos-restic-b2 sends this whole file over SSH, as root (or under `sudo -n`):
#   sh -c '<this file>' restic-b2-host ACTION OPTION...
# Every value arrives as its own argument and is only ever used as data.
#
#   install   --config-dir DIR --name NAME --import-mode auto|manual
#             --file REL=BASE64 [--file REL=BASE64]... [--first-backup 0|1]
#             [--system-profile PATH]
#   uninstall --config-dir DIR --name NAME [--import-mode auto|manual]
#             [--system-profile PATH]
#
# Layout: DIR/restic-b2/module.nix (0644) and e.g. DIR/restic-b2/secrets/*.age
# (0600, directory 0700), root-owned. REL is a path below DIR/restic-b2/.
# `auto` adds one marked line to the first `imports` list of
# DIR/configuration.nix; `manual` expects the user to import the module.
# Working files (lock, staging, backup, logs) live in DIR/.restic-b2.* while a
# run is active and are removed at the end.
#
# Style: POSIX sh only; everything runs from main() so the shell has parsed the
# whole file before the first command runs.

PROG=restic-b2-host
MARK='./restic-b2/module.nix # added by nixos-restic-b2; removed by pulumi destroy'
MANUAL_LINE='imports = [ ./restic-b2/module.nix ];'
MODULE_REF='restic-b2/module.nix'
LOCK=.restic-b2.lock
SW_BIN=/run/current-system/sw/bin

# Output helpers never fail: a closed SSH connection must not turn a finished
# install into a rollback, nor stop a rollback half-way.
say() { printf '%s: %s\n' "$PROG" "$*" 2>/dev/null || :; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2 2>/dev/null || :; }
die() {
  warn "error: $*"
  exit 1
}

usage_die() {
  warn "error: $*"
  warn "usage: $PROG install --config-dir DIR --name NAME --import-mode auto|manual --file REL=BASE64... [--first-backup 0|1]"
  warn "       $PROG uninstall --config-dir DIR --name NAME [--import-mode auto|manual]"
  exit 2
}

# ---- argument handling -------------------------------------------------------

valid_rel() {
  case $1 in
    '' | /* | */ | *//* | *[!A-Za-z0-9._/-]*) return 1 ;;
  esac
  case /$1/ in
    */../* | */./*) return 1 ;;
  esac
  return 0
}

parse_args() {
  cfg='' name='' mode='' first=0 nfiles=0 has_module=0
  profile=/nix/var/nix/profiles/system
  while [ $# -gt 0 ]; do
    opt=$1
    case $opt in
      --config-dir | --name | --import-mode | --file | --first-backup | --system-profile)
        [ $# -ge 2 ] || usage_die "$opt needs a value"
        val=$2
        shift 2
        ;;
      *) usage_die "unknown argument: $opt" ;;
    esac
    case $opt in
      --config-dir) cfg=$val ;;
      --name) name=$val ;;
      --import-mode) mode=$val ;;
      --first-backup) first=$val ;;
      --system-profile) profile=$val ;;
      --file)
        [ "$action" = install ] || usage_die "--file is only valid for install"
        rel=${val%%=*}
        [ "$rel" != "$val" ] || usage_die "--file needs REL=BASE64"
        valid_rel "$rel" || usage_die "--file: invalid relative path: $rel"
        case ${val#*=} in
          *[!A-Za-z0-9+/=]*) usage_die "--file $rel: value is not base64" ;;
        esac
        [ "$rel" != module.nix ] || has_module=1
        nfiles=$((nfiles + 1))
        ;;
    esac
  done
  case $cfg in
    /*) ;;
    '') usage_die "--config-dir is required" ;;
    *) usage_die "--config-dir must be an absolute path" ;;
  esac
  case $name in
    '' | [!A-Za-z0-9_]* | *[!A-Za-z0-9_.-]*) usage_die "--name must match [A-Za-z0-9_][A-Za-z0-9_.-]*: $name" ;;
  esac
  case $mode in
    auto | manual) ;;
    '') [ "$action" = uninstall ] || usage_die "--import-mode is required" ;;
    *) usage_die "--import-mode must be auto or manual: $mode" ;;
  esac
  case $first in
    0 | 1) ;;
    *) usage_die "--first-backup must be 0 or 1: $first" ;;
  esac
  case $profile in
    /*) ;;
    *) usage_die "--system-profile must be an absolute path" ;;
  esac
  if [ "$action" = install ] && [ "$has_module" != 1 ]; then
    usage_die "install needs --file module.nix=BASE64"
  fi
}

# ---- helpers (all paths are relative to the config dir after `cd`) ------------

# Sets tool to the command's path, from PATH or the NixOS system profile.
find_tool() {
  tool=$(command -v "$1" 2>/dev/null) || tool=''
  case $tool in
    /*) return 0 ;;
  esac
  if [ -x "$SW_BIN/$1" ]; then
    tool=$SW_BIN/$1
    return 0
  fi
  return 1
}

# Prints the line number of the first marked import line in $1 (nothing if none).
mark_line() {
  RB2_MARK=$MARK awk '
    BEGIN { m = ENVIRON["RB2_MARK"] }
    { s = $0; sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); if (s == m) { print NR; exit } }
  ' "$1"
}

# Lists .nix files outside restic-b2/ that import the module with a line of
# their own (not a comment, not our marked line).
find_refs() {
  RB2_MARK=$MARK RB2_REF=$MODULE_REF find . \( -path ./restic-b2 -o -name '.restic-b2.*' \) -prune \
    -o -type f -name '*.nix' -exec awk '
      BEGIN { m = ENVIRON["RB2_MARK"]; r = ENVIRON["RB2_REF"] }
      {
        s = $0; sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s)
        if (s == m) next
        sub(/#.*/, "", s)
        if (index(s, r)) { found = 1; exit }
      }
      END { exit found ? 0 : 1 }
    ' {} \; -print
}

# Prints the number of the line that opens the first `imports` list of $1:
# `imports = [` on one line, or `imports =` with `[` starting a later line.
# Prints "inline" when that list also closes on the same line, "none" if absent.
imports_line() {
  awk '
    function hit(n, c) {
      sub(/^[^[]*\[/, "", c)
      if (c ~ /\]/) print "inline"; else print n
      found = 1
    }
    pending {
      c = $0; sub(/#.*/, "", c)
      if (c ~ /^[ \t]*$/) next
      if (c ~ /^[ \t]*\[/) { hit(NR, c); exit }
      pending = 0
    }
    {
      c = $0; sub(/#.*/, "", c)
      if (c ~ /^[ \t]*imports[ \t]*=[ \t]*\[/) { hit(NR, c); exit }
      if (c ~ /^[ \t]*imports[ \t]*=[ \t]*$/) pending = 1
    }
    END { if (!found) print "none" }
  ' "$1"
}

# Leading whitespace of line $2 of file $1, followed by "." (kept by $(...)).
line_indent() {
  awk -v n="$2" 'NR == n { match($0, /^[ \t]*/); printf "%s.", substr($0, 1, RLENGTH); exit }' "$1"
}

# Runs a child command from / with default SIGPIPE handling (the script
# itself ignores SIGPIPE and SIGHUP, see main).
run_child() {
  (
    trap - PIPE
    cd / || exit 1
    exec "$@"
  )
}

profile_target() {
  readlink "$profile" 2>/dev/null || :
}

print_tail() { # $1 title, $2 file
  if [ -s "$2" ]; then
    warn "---- $1 (last 30 lines) ----"
    tail -n 30 "$2" >&2 2>/dev/null || :
    warn "---- end ----"
  fi
}

# ---- transaction state and rollback --------------------------------------------

# Puts back exactly what was there before this run: the previous restic-b2/
# (same inode, so same bytes and modes) or its absence, configuration.nix
# (the original inode, kept as a hard link or copy), and the system generation.
restore_previous() {
  ok=0
  if [ "$conf_changed" = 1 ]; then
    if mv -f "$tmp/conf.orig" configuration.nix; then conf_changed=0; else ok=1; fi
  fi
  if [ "$placed_new" = 1 ]; then
    if mv restic-b2 "$tmp/discard"; then placed_new=0; else ok=1; fi
  fi
  if [ "$moved_old" = 1 ] && [ "$placed_new" = 0 ]; then
    if [ -e restic-b2 ] || [ -L restic-b2 ]; then
      ok=1
    elif mv "$tmp/old" restic-b2; then
      moved_old=0
    else
      ok=1
    fi
  fi
  if [ "$switched" = 1 ] && [ "$(profile_target)" != "$profile_before" ]; then
    warn "system profile changed; running nixos-rebuild switch --rollback"
    if run_child "$rebuild" switch --rollback >"$tmp/rollback.log" 2>&1 </dev/null; then
      switched=0
    else
      print_tail "nixos-rebuild switch --rollback" "$tmp/rollback.log"
      ok=1
    fi
  fi
  return "$ok"
}

on_exit() {
  rc=$1
  set +e
  trap - EXIT INT TERM
  keep=0
  if [ "$rc" -ne 0 ] && [ "$changed" = 1 ]; then
    if restore_previous; then
      warn "restored the previous state of $cfg"
    else
      keep=1
      warn "RESTORE INCOMPLETE: the previous files are kept in $cfg/${tmp#./}; the lock $cfg/$LOCK stays until this is fixed by hand"
    fi
  fi
  if [ "$keep" = 0 ]; then
    [ -z "$tmp" ] || rm -rf "$tmp"
    [ "$locked" = 0 ] || rmdir "$LOCK" 2>/dev/null
  fi
  exit "$rc"
}

take_lock() {
  mkdir "$LOCK" 2>/dev/null ||
    die "another restic-b2-host run holds $cfg/$LOCK (remove that directory if no run is active)"
  locked=1
  tmp=$(mktemp -d ./.restic-b2.tmp.XXXXXX)
}

switch_system() { # $1: what to call it in messages
  profile_before=$(profile_target)
  switched=1
  if ! run_child "$rebuild" switch >"$tmp/rebuild.log" 2>&1 </dev/null; then
    warn "nixos-rebuild switch failed ($1)"
    print_tail "nixos-rebuild switch" "$tmp/rebuild.log"
    exit 1
  fi
}

# ---- install -----------------------------------------------------------------

stage_files() {
  mkdir "$tmp/new"
  while [ $# -gt 0 ]; do
    if [ "$1" = --file ]; then
      rel=${2%%=*}
      dst=$tmp/new/$rel
      case $rel in
        */*) mkdir -p "${dst%/*}" ;;
      esac
      if [ -e "$dst" ] || [ -L "$dst" ]; then die "--file $rel given twice"; fi
      printf '%s' "${2#*=}" | base64 -d >"$dst" 2>/dev/null || die "--file $rel: invalid base64"
      case $rel in
        *.age) chmod 0600 "$dst" ;;
        *) chmod 0644 "$dst" ;;
      esac
      shift 2
    else
      shift
    fi
  done
  find "$tmp/new" -type d -exec chmod 0700 {} +
  chmod 0755 "$tmp/new"
  chown -R 0:0 "$tmp/new"
}

install_preflight() {
  import_plan=manual
  if [ "$mode" = auto ]; then
    [ -f configuration.nix ] || die "$cfg/configuration.nix not found (use import mode manual and add: $MANUAL_LINE)"
    [ ! -L configuration.nix ] || die "$cfg/configuration.nix is a symlink; use import mode manual and add: $MANUAL_LINE"
    if [ -n "$(mark_line configuration.nix)" ]; then
      import_plan=present
    elif [ -n "$(find_refs)" ]; then
      import_plan=user
    else
      at=$(imports_line configuration.nix)
      case $at in
        none) die "no 'imports = [' list found in $cfg/configuration.nix; add this line yourself and use import mode manual: $MANUAL_LINE" ;;
        inline) die "the imports list in $cfg/configuration.nix opens and closes on one line; add the module yourself and use import mode manual: $MANUAL_LINE" ;;
      esac
      [ "$at" -le "$(wc -l <configuration.nix)" ] || die "cannot parse the imports list in $cfg/configuration.nix; use import mode manual: $MANUAL_LINE"
      indent=$(line_indent configuration.nix "$at")
      indent="${indent%.}  "
      import_plan=add
    fi
  elif [ -f configuration.nix ] && [ -n "$(mark_line configuration.nix)" ]; then
    import_plan=present # left by an earlier install in auto mode
  else
    [ -n "$(find_refs)" ] ||
      die "import mode is manual but no .nix file in $cfg imports the module; add this line to your configuration, then run again: $MANUAL_LINE"
  fi
  find_tool nixos-rebuild || die "nixos-rebuild not found on PATH or in $SW_BIN"
  rebuild=$tool
  find_tool systemctl || die "systemctl not found on PATH or in $SW_BIN"
  systemctl=$tool
  journalctl=''
  if find_tool journalctl; then journalctl=$tool; fi
  command -v base64 >/dev/null 2>&1 || die "base64 (coreutils) not found"
}

add_import() {
  # configuration.nix: new bytes into a copy that keeps owner and mode, the
  # original inode kept aside as the backup, then one rename.
  cp -p configuration.nix "$tmp/conf.new"
  {
    head -n "$at" configuration.nix
    printf '%s%s\n' "$indent" "$MARK"
    tail -n "+$((at + 1))" configuration.nix
  } >"$tmp/conf.new"
  ln configuration.nix "$tmp/conf.orig" 2>/dev/null || cp -p configuration.nix "$tmp/conf.orig"
  changed=1
  mv -f "$tmp/conf.new" configuration.nix
  conf_changed=1
}

do_install() {
  install_preflight
  take_lock
  stage_files "$@"

  changed=1
  if [ -e restic-b2 ] || [ -L restic-b2 ]; then
    mv restic-b2 "$tmp/old"
    moved_old=1
  fi
  mv "$tmp/new" restic-b2
  placed_new=1
  if [ "$import_plan" = add ]; then add_import; fi

  switch_system "install"

  timer=restic-backups-$name.timer
  state=$(run_child "$systemctl" is-active "$timer" 2>/dev/null) || :
  if [ "$state" != active ]; then
    warn "$timer is '${state:-unknown}', expected 'active' after the switch"
    exit 1
  fi

  backup_msg=skipped
  if [ "$first" = 1 ]; then
    svc=restic-backups-$name.service
    if ! run_child "$systemctl" start "$svc" >"$tmp/start.log" 2>&1 </dev/null; then
      warn "first backup failed: systemctl start $svc"
      print_tail "systemctl start $svc" "$tmp/start.log"
      if [ -n "$journalctl" ]; then
        run_child "$journalctl" -u "$svc" -n 30 --no-pager >"$tmp/journal.log" 2>&1 </dev/null || :
        print_tail "journalctl -u $svc" "$tmp/journal.log"
      fi
      exit 1
    fi
    backup_msg=ok
  fi

  changed=0
  case $import_plan in
    add) import_msg="added to configuration.nix" ;;
    present) import_msg="already in configuration.nix" ;;
    user) import_msg="already imported by your configuration" ;;
    *) import_msg="manual (found in your configuration)" ;;
  esac
  say "installed $nfiles file(s) in $cfg/restic-b2"
  say "import: $import_msg"
  say "nixos-rebuild switch: ok"
  say "$timer: active"
  say "first backup: $backup_msg"
}

# ---- uninstall -----------------------------------------------------------------

do_uninstall() {
  has_mark=0
  if [ -f configuration.nix ] && [ -n "$(mark_line configuration.nix)" ]; then
    [ ! -L configuration.nix ] || die "$cfg/configuration.nix is a symlink; remove the line '$MARK' yourself"
    has_mark=1
  fi
  if [ "$has_mark" = 0 ] && [ ! -e restic-b2 ] && [ ! -L restic-b2 ]; then
    say "nothing installed in $cfg; nothing to do"
    return 0
  fi
  refs=$(find_refs)
  [ -z "$refs" ] ||
    die "these files still import ./restic-b2/module.nix; remove that import first, then run again: $refs"
  find_tool nixos-rebuild || die "nixos-rebuild not found on PATH or in $SW_BIN"
  rebuild=$tool

  take_lock
  if [ "$has_mark" = 1 ]; then
    cp -p configuration.nix "$tmp/conf.new"
    while n=$(mark_line "$tmp/conf.new") && [ -n "$n" ]; do
      {
        head -n "$((n - 1))" "$tmp/conf.new"
        tail -n "+$((n + 1))" "$tmp/conf.new"
      } >"$tmp/conf.cut"
      cat "$tmp/conf.cut" >"$tmp/conf.new"
    done
    ln configuration.nix "$tmp/conf.orig" 2>/dev/null || cp -p configuration.nix "$tmp/conf.orig"
    changed=1
    mv -f "$tmp/conf.new" configuration.nix
    conf_changed=1
  fi
  if [ -e restic-b2 ] || [ -L restic-b2 ]; then
    changed=1
    mv restic-b2 "$tmp/old"
    moved_old=1
  fi

  switch_system "uninstall"

  changed=0
  say "removed $cfg/restic-b2"
  if [ "$has_mark" = 1 ]; then say "import: removed from configuration.nix"; fi
  say "nixos-rebuild switch: ok"
}

main() {
  set -eu
  umask 077
  exec </dev/null
  # A dropped SSH connection must not interrupt a switch or a restore half-way.
  trap '' HUP PIPE
  # Tools come from PATH; on NixOS the system profile is the fallback.
  if [ -d "$SW_BIN" ]; then
    case :$PATH: in
      *:"$SW_BIN":*) ;;
      *) PATH=$PATH:$SW_BIN ;;
    esac
  fi

  [ $# -ge 1 ] || usage_die "missing action"
  action=$1
  shift
  case $action in
    install | uninstall) ;;
    *) usage_die "unknown action: $action" ;;
  esac
  parse_args "$@"

  [ -d "$cfg" ] || die "config dir $cfg does not exist"
  cd -P "$cfg" || die "cannot enter $cfg"
  if [ -e "$LOCK" ]; then
    die "another restic-b2-host run holds $cfg/$LOCK (remove that directory if no run is active)"
  fi

  tmp='' locked=0 changed=0 moved_old=0 placed_new=0 conf_changed=0 switched=0
  profile_before='' rebuild=''
  trap 'on_exit $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  if [ "$action" = install ]; then
    do_install "$@"
  else
    do_uninstall
  fi
}

main "$@"
