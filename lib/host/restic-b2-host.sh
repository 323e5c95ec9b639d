#!/bin/sh
# restic-b2-host: puts the nixos-restic-b2 module on a NixOS host (or takes it
# away) and switches the system, restoring the previous state on any failure.
#
# nixos-restic-b2 runs, over SSH as root (or under `sudo -n`), a short command
#   sh -s -- ACTION OPTION...
# and sends on its stdin a bundle (lib/host/shell.ts hostStdin): this file
# without its last line, one `rb2_file REL 'TEXT'` line per file (TEXT quoted
# by shellQuote), then `main "$@"`. The shell reads the bundle as a script, so
# nothing of it appears on a command line or in a temporary file, and nothing
# runs before the final `main "$@"` arrives: a cut connection runs nothing.
#
#   install   --host-config-dir DIR --backup-name NAME --import-mode auto|manual
#             --project PROJECT --stack STACK
#             --file REL=SHA256 [--file REL=SHA256]... [--run-first-backup 0|1]
#             [--verify-on-deploy 0|1] [--system-profile PATH]
#   uninstall --host-config-dir DIR --backup-name NAME [--import-mode auto|manual]
#             [--project PROJECT --stack STACK] [--system-profile PATH]
#
# Options are named after the stack config keys they carry (--run-first-backup
# is runFirstBackup). Every name and path the script uses comes from the host
# contract, lib/host/layout.ts, spliced in below as layout.sh: the directory
# it owns in DIR ($install_dir, restic-b2), the module in it ($module_ref),
# and the backup's units and credentials check (rb2_layout NAME).
# Each --file names a file of the bundle and its sha256; the bundle must hold
# exactly those files with exactly those hashes.
# Layout: DIR/restic-b2/module.nix (0644) and e.g. DIR/restic-b2/secrets/*.age
# (0600, directory 0700), root-owned. REL is a path below DIR/restic-b2/.
# `auto` adds one marked import to DIR/configuration.nix (see plan_import);
# `manual` expects the user to import the module.
# Working files (lock, staging, backup, logs) live in DIR/.restic-b2.* while a
# run is active and are removed at the end.
#
# The owner record ($owner_record, root-only, one host-wide file) says which
# stack owns the install: project, stack, backup name and config dir. install
# refuses a host another stack owns (nothing is changed) and writes the record
# as the last step of a successful run; uninstall removes only the install its
# own stack owns (the config dir and backup name the record names) and says so
# when the host belongs to another stack. A host installed before the record
# existed has none: the first install adopts what is in DIR. A test host
# (test/support/sshd.ts) moves the record into its fake root with the
# environment variable RESTIC_B2_OWNER_RECORD.
# A run never uninstalls before it installs: a new backup name is the same
# directory swap as any update, and a new config dir installs in the new one
# and takes the old install and its marked import out of the old one in the
# same transaction, with one switch. Any failure puts every byte back (both
# directories, configuration.nix, the record) and rolls the system back.
#
# Style: POSIX sh only; everything runs from main().

PROG=restic-b2-host
MARK_TEXT='# added by nixos-restic-b2; removed by pulumi destroy'
SW_BIN=/run/current-system/sw/bin
# Failure output: the last TAIL_LINES lines of a log, each cut to TAIL_WIDTH
# bytes, so that a failing `pulumi up` (which quotes it once, beside the
# command line three times) stays under 8 KiB.
TAIL_LINES=30
TAIL_WIDTH=120
VERIFY_SECONDS=120
rb2_n=0

# @include backup-name.sh
# @include stack-id.sh
# @include layout.sh

# A line of its own inside an existing imports list:
MARK="./$module_ref $MARK_TEXT"
# An imports attribute added where the file had none:
ADD_MARK="imports = [ ./$module_ref ]; $MARK_TEXT"
# Inserted right after the `[` of a list that has entries on the same line:
INLINE_MARK=" ./$module_ref /* added by nixos-restic-b2; removed by pulumi destroy */"
MANUAL_LINE="imports = [ ./$module_ref ];"
LOCK=.$install_dir.lock
OWNER_LOCK_SUFFIX=.lock
# In the owner record: what comes before and after the config dir.
OWNER_DIR_KEY='
host_config_dir='
OWNER_END='
end
'

# One file of the bundle: REL and its exact text (before main runs).
rb2_file() {
  rb2_n=$((rb2_n + 1))
  eval "rb2_rel_$rb2_n=\$1 rb2_txt_$rb2_n=\$2"
}

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
  warn "usage: $PROG install --host-config-dir DIR --backup-name NAME --import-mode auto|manual --project PROJECT --stack STACK --file REL=SHA256... [--run-first-backup 0|1] [--verify-on-deploy 0|1]"
  warn "       $PROG uninstall --host-config-dir DIR --backup-name NAME [--import-mode auto|manual] [--project PROJECT --stack STACK]"
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
  host_config_dir='' backup_name='' import_mode='' run_first_backup=0 verify_on_deploy=0 nfiles=0 has_module=0
  project='' stack=''
  owner_record=${RESTIC_B2_OWNER_RECORD:-$owner_record}
  profile=/nix/var/nix/profiles/system
  while [ $# -gt 0 ]; do
    opt=$1
    case $opt in
      --host-config-dir | --backup-name | --import-mode | --file | --run-first-backup | --verify-on-deploy | --system-profile | --project | --stack)
        [ $# -ge 2 ] || usage_die "$opt needs a value"
        val=$2
        shift 2
        ;;
      *) usage_die "unknown argument: $opt" ;;
    esac
    case $opt in
      --host-config-dir) host_config_dir=$val ;;
      --backup-name) backup_name=$val ;;
      --import-mode) import_mode=$val ;;
      --run-first-backup) run_first_backup=$val ;;
      --verify-on-deploy) verify_on_deploy=$val ;;
      --system-profile) profile=$val ;;
      --project) project=$val ;;
      --stack) stack=$val ;;
      --file)
        [ "$action" = install ] || usage_die "--file is only valid for install"
        rel=${val%%=*}
        [ "$rel" != "$val" ] || usage_die "--file needs REL=SHA256"
        valid_rel "$rel" || usage_die "--file: invalid relative path: $rel"
        case ${val#*=} in
          *[!0-9a-f]*) usage_die "--file $rel: not a sha256 (64 lowercase hex digits)" ;;
        esac
        [ ${#val} -eq $((${#rel} + 65)) ] || usage_die "--file $rel: not a sha256 (64 lowercase hex digits)"
        [ "$rel" != "$module_file" ] || has_module=1
        nfiles=$((nfiles + 1))
        ;;
    esac
  done
  case $host_config_dir in
    /*) ;;
    '') usage_die "--host-config-dir is required" ;;
    *) usage_die "--host-config-dir must be an absolute path" ;;
  esac
  case $owner_record in
    /*/*) ;;
    *) usage_die "RESTIC_B2_OWNER_RECORD must be an absolute path below a directory" ;;
  esac
  rb2_backup_name_ok "$backup_name" ||
    usage_die "--backup-name must be 1 to 64 letters, digits, '_' or '-', not starting with '-': $backup_name"
  rb2_layout "$backup_name"
  if [ -n "$project$stack" ] || [ "$action" = install ]; then
    rb2_stack_id_ok "$project" || usage_die "--project must be 1 to 100 letters, digits, '_', '.' or '-': $project"
    rb2_stack_id_ok "$stack" || usage_die "--stack must be 1 to 100 letters, digits, '_', '.' or '-': $stack"
  fi
  case $import_mode in
    auto | manual) ;;
    '') [ "$action" = uninstall ] || usage_die "--import-mode is required" ;;
    *) usage_die "--import-mode must be auto or manual: $import_mode" ;;
  esac
  case $run_first_backup in
    0 | 1) ;;
    *) usage_die "--run-first-backup must be 0 or 1: $run_first_backup" ;;
  esac
  case $verify_on_deploy in
    0 | 1) ;;
    *) usage_die "--verify-on-deploy must be 0 or 1: $verify_on_deploy" ;;
  esac
  case $profile in
    /*) ;;
    *) usage_die "--system-profile must be an absolute path" ;;
  esac
  if [ "$action" = install ] && [ "$has_module" != 1 ]; then
    usage_die "install needs --file $module_file=SHA256"
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

# Prints the number of the first line of $1 that holds one of our marks
# (nothing if none).
mark_line() {
  RB2_MARK=$MARK RB2_ADD=$ADD_MARK RB2_INLINE=$INLINE_MARK LC_ALL=C awk '
    BEGIN { m = ENVIRON["RB2_MARK"]; a = ENVIRON["RB2_ADD"]; i = ENVIRON["RB2_INLINE"] }
    {
      s = $0; sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s)
      if (s == m || s == a || index($0, i)) { print NR; exit }
    }
  ' "$1"
}

# Lists .nix files outside $install_dir/ that import the module themselves
# (not in a comment, not one of our marks).
find_refs() {
  RB2_MARK=$MARK RB2_ADD=$ADD_MARK RB2_INLINE=$INLINE_MARK RB2_REF=$module_ref LC_ALL=C \
    find . \( -path "./$install_dir" -o -name ".$install_dir.*" \) -prune \
    -o -type f -name '*.nix' -exec awk '
      BEGIN { m = ENVIRON["RB2_MARK"]; a = ENVIRON["RB2_ADD"]; i = ENVIRON["RB2_INLINE"]; r = ENVIRON["RB2_REF"] }
      {
        s = $0; sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s)
        if (s == m || s == a) next
        while ((k = index(s, i)) > 0) s = substr(s, 1, k - 1) substr(s, k + length(i))
        sub(/#.*/, "", s)
        if (index(s, r)) { found = 1; exit }
      }
      END { exit found ? 0 : 1 }
    ' {} \; -print
}

# Reads a NixOS module (configuration.nix) and prints where its top-level
# imports list is, as one line:
#   list LINE COL after    the `[` at LINE:COL ends its line (or a # comment follows)
#   list LINE COL inline   entries follow the `[` on the same line
#   add LINE               no imports: the attribute set opens on LINE, alone
#   refuse REASON...       anything else (nothing is edited)
# It tokenizes Nix (strings, '' strings, ${...}, comments), finds the module's
# attribute set (the first top-level { } that is not a function's argument
# pattern, so `{ ... }:` and `let ... in` are skipped) and accepts only
# `imports = [ ... ];` directly in that set.
plan_import() {
  LC_ALL=C awk '
    function push(k) { stk[++sp] = k }
    function pop() { if (sp > 0) sp-- }
    function rest_blank(s, c,   r) {
      r = substr(s, c + 1); sub(/^[ \t\r]+/, "", r)
      return r == "" || substr(r, 1, 1) == "#"
    }
    # One significant token t at line ln, column col of line text s.
    function tok(t, ln, col, s) {
      if (pend) {
        pend = 0
        if (t != ":" && t != "@" && !have) { have = 1; copy_cand() }
      }
      if (sp == 0 && t == "{") {
        c_open = ln; c_blank = rest_blank(s, col); c_state = ""; c_iline = 0
        c_nested = 0; c_reason = ""; c_lline = 0; c_lcol = 0; c_lblank = 0
        push("{"); prev = t; return
      }
      if (sp == 1 && stk[1] == "{") {
        if (c_state == "need=") {
          if (t == "=") c_state = "need["
          else { c_state = "bad"; c_reason = "imports on line " c_iline " is not set with `imports = [ ... ];`" }
        } else if (c_state == "need[") {
          if (t == "[") { c_state = "in"; c_lline = ln; c_lcol = col; c_lblank = rest_blank(s, col) }
          else { c_state = "bad"; c_reason = "imports on line " c_iline " is not a plain list (`imports = [ ... ];`)" }
        } else if (c_state == "need;") {
          if (t == ";") c_state = "ok"
          else { c_state = "bad"; c_reason = "the imports list on line " c_iline " is combined with something else (`++`, a function call)" }
        } else if (t == "w:imports" && prev != ".") {
          if (c_state == "") { c_state = "need="; c_iline = ln }
        }
      } else if (t == "w:imports" && sp > 1 && prev != "." && !c_nested && stk[1] == "{") {
        c_nested = ln
      }
      if (t == "{" || t == "[" || t == "(") push(t)
      else if (t == "}" || t == "]" || t == ")") {
        pop()
        if (sp == 1 && t == "]" && c_state == "in") c_state = "need;"
        if (sp == 0 && t == "}") pend = 1
      } else if (t == "w:let") push("let")
      else if (t == "w:in" && sp > 0 && stk[sp] == "let") pop()
      prev = t
    }
    function copy_cand() {
      b_open = c_open; b_blank = c_blank; b_state = c_state; b_iline = c_iline
      b_nested = c_nested; b_reason = c_reason; b_lline = c_lline; b_lcol = c_lcol; b_lblank = c_lblank
    }
    { line[NR] = $0 }
    END {
      sp = 0; mode = "code"; have = 0; pend = 0; prev = ""
      for (ln = 1; ln <= NR; ln++) {
        s = line[ln]; n = length(s); c = 1
        while (c <= n) {
          ch = substr(s, c, 1)
          if (mode == "bc") {
            if (ch == "*" && substr(s, c + 1, 1) == "/") { mode = "code"; c += 2 } else c++
            continue
          }
          if (mode == "dq") {
            if (ch == "\\") c += 2
            else if (ch == "\"") { mode = "code"; c++ }
            else if (ch == "$" && substr(s, c + 1, 1) == "{") { push("$dq"); mode = "code"; c += 2 }
            else c++
            continue
          }
          if (mode == "ind") {
            if (ch == "\047" && substr(s, c + 1, 1) == "\047") {
              nx = substr(s, c + 2, 1)
              if (nx == "$" || nx == "\047") c += 3
              else if (nx == "\\") c += 4
              else { mode = "code"; c += 2 }
            } else if (ch == "$" && substr(s, c + 1, 1) == "{") { push("$ind"); mode = "code"; c += 2 }
            else c++
            continue
          }
          if (ch == " " || ch == "\t" || ch == "\r") { c++; continue }
          if (ch == "#") break
          if (ch == "/" && substr(s, c + 1, 1) == "*") { mode = "bc"; c += 2; continue }
          if (ch == "\"") { tok("str", ln, c, s); mode = "dq"; c++; continue }
          if (ch == "\047" && substr(s, c + 1, 1) == "\047") { tok("str", ln, c, s); mode = "ind"; c += 2; continue }
          if (ch ~ /[A-Za-z_]/) {
            j = c + 1
            while (j <= n && substr(s, j, 1) ~ /[A-Za-z0-9_\047-]/) j++
            tok("w:" substr(s, c, j - c), ln, c, s); c = j; continue
          }
          if (ch ~ /[0-9.~\/<]/) {
            j = c + 1
            while (j <= n && substr(s, j, 1) ~ /[A-Za-z0-9._+\/>-]/) j++
            if (j - c == 1 && ch == ".") { tok(".", ln, c, s); c++; continue }
            tok("v", ln, c, s); c = j; continue
          }
          if (ch == "}" && sp > 0 && (stk[sp] == "$dq" || stk[sp] == "$ind")) {
            mode = (stk[sp] == "$dq") ? "dq" : "ind"; pop(); c++; continue
          }
          tok(ch, ln, c, s); c++
        }
      }
      if (pend && !have) { have = 1; copy_cand() }
      if (mode == "dq" || mode == "ind" || mode == "bc" || sp != 0) { print "refuse it has an unterminated string, comment or bracket"; exit }
      if (!have) { print "refuse no top-level attribute set { ... } found (a function call such as lib.mkMerge?)"; exit }
      if (b_state == "ok") { print "list", b_lline, b_lcol, (b_lblank ? "after" : "inline"); exit }
      if (b_state == "") {
        if (b_nested) { print "refuse imports appears only inside a nested expression (line " b_nested ", e.g. lib.mkIf)"; exit }
        if (b_blank) { print "add", b_open; exit }
        print "refuse no imports list, and the attribute set on line " b_open " does not open on a line of its own"; exit
      }
      print "refuse", b_reason
    }
  ' "$1"
}

# Leading whitespace of line $2 of file $1, followed by "." (kept by $(...)).
line_indent() {
  awk -v n="$2" 'NR == n { match($0, /^[ \t]*/); printf "%s.", substr($0, 1, RLENGTH); exit }' "$1"
}

# Writes $1 edited to $2, keeping every other byte (line endings, a missing
# final newline). $3: after LINE TEXT (a new line after LINE, with LINE's
# line ending), inline LINE COL (INLINE_MARK after column COL of LINE), or
# remove (every mark taken out again).
edit_file() {
  ef_in=$1 ef_out=$2 ef_op=$3
  final_nl=0
  if [ -s "$ef_in" ] && [ -z "$(tail -c 1 "$ef_in")" ]; then final_nl=1; fi
  RB2_MARK=$MARK RB2_ADD=$ADD_MARK RB2_INLINE=$INLINE_MARK RB2_TEXT=${5-} LC_ALL=C awk \
    -v op="$ef_op" -v at="${4-0}" -v nl="$final_nl" '
    BEGIN { m = ENVIRON["RB2_MARK"]; a = ENVIRON["RB2_ADD"]; i = ENVIRON["RB2_INLINE"]; t = ENVIRON["RB2_TEXT"]; k = 0 }
    {
      s = $0
      if (op == "remove") {
        u = s; sub(/^[ \t]+/, "", u); sub(/[ \t\r]+$/, "", u)
        if (u == m || u == a) next
        while ((p = index(s, i)) > 0) s = substr(s, 1, p - 1) substr(s, p + length(i))
        out[++k] = s
        next
      }
      if (op == "inline" && NR == at) s = substr(s, 1, t) i substr(s, t + 1)
      out[++k] = s
      if (op == "after" && NR == at) out[++k] = t (s ~ /\r$/ ? "\r" : "")
    }
    END {
      for (j = 1; j <= k; j++) printf "%s%s", out[j], (j < k || nl ? "\n" : "")
    }
  ' "$ef_in" >"$ef_out"
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

# The last $3 (default TAIL_LINES) lines of $2, each cut to TAIL_WIDTH bytes, on stderr.
print_tail() { # $1 title, $2 file, [$3 lines]
  if [ -s "$2" ]; then
    warn "---- $1 (last ${3:-$TAIL_LINES} lines) ----"
    tail -n "${3:-$TAIL_LINES}" "$2" 2>/dev/null | LC_ALL=C awk -v w="$TAIL_WIDTH" \
      '{ sub(/\r$/, ""); if (length($0) > w) $0 = substr($0, 1, w) " [...]"; print }' >&2 2>/dev/null || :
    warn "---- end ----"
  fi
}

# ---- transaction state and rollback --------------------------------------------

# Puts back exactly what was there before this run: the previous $install_dir/
# (same inode, so same bytes and modes) or its absence, configuration.nix
# (the original inode, kept as a hard link or copy), and the system generation.
restore_previous() {
  ok=0
  if [ "$conf_changed" = 1 ]; then
    if mv -f "$tmp/conf.orig" configuration.nix; then conf_changed=0; else ok=1; fi
  fi
  if [ "$placed_new" = 1 ]; then
    if mv "$install_dir" "$tmp/discard"; then placed_new=0; else ok=1; fi
  fi
  if [ "$moved_old" = 1 ] && [ "$placed_new" = 0 ]; then
    if [ -e "$install_dir" ] || [ -L "$install_dir" ]; then
      ok=1
    elif mv "$tmp/old" "$install_dir"; then
      moved_old=0
    else
      ok=1
    fi
  fi
  if ! restore_old_dir; then ok=1; fi
  if [ "$switched" = 1 ] && [ "$(profile_target)" != "$profile_before" ]; then
    warn "system profile changed; running nixos-rebuild switch --rollback"
    if run_child "$rebuild" switch --rollback >"$tmp/rollback.log" 2>&1 </dev/null; then
      switched=0
    else
      print_tail "nixos-rebuild switch --rollback" "$tmp/rollback.log" 10
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
      warn "restored the previous state of $host_config_dir${old_dir:+ and $old_dir}: $before_msg"
    else
      keep=1
      warn "RESTORE INCOMPLETE: the previous files are kept in $host_config_dir/${tmp#./}${old_tmp:+ and $old_tmp}; the lock $host_config_dir/$LOCK stays until this is fixed by hand"
    fi
  fi
  [ -z "$owner_new" ] || rm -f "$owner_new"
  if [ "$keep" = 0 ]; then
    [ -z "$tmp" ] || rm -rf "$tmp"
    [ "$locked" = 0 ] || rmdir "$LOCK" 2>/dev/null
    [ -z "$old_tmp" ] || rm -rf "$old_tmp"
    [ "$old_locked" = 0 ] || rmdir "$old_dir/$LOCK" 2>/dev/null
    [ "$host_locked" = 0 ] || rmdir "$owner_record$OWNER_LOCK_SUFFIX" 2>/dev/null
    # The record's directory goes when this run made it, or took the record
    # out of it, and nothing else is in it (a backup's state directory stays).
    if [ "$made_owner_dir" = 1 ] || [ "$removed_owner" = 1 ]; then
      if [ ! -e "$owner_record" ]; then rmdir "${owner_record%/*}" 2>/dev/null; fi
    fi
  fi
  exit "$rc"
}

# ---- the owner record ----------------------------------------------------------

# The host-wide lock (one run per host, whatever its config dir), taken before
# the record is read. Creates the record's directory (0755, as systemd makes
# the backups' StateDirectory parent) when it is missing.
take_host_lock() {
  od=${owner_record%/*}
  if [ ! -d "$od" ]; then
    [ -d "${od%/*}" ] || die "${od%/*} does not exist (it holds the owner record's directory $od); nothing was changed"
    mkdir -m 0755 "$od"
    made_owner_dir=1
  fi
  mkdir "$owner_record$OWNER_LOCK_SUFFIX" 2>/dev/null ||
    die "another restic-b2-host run holds $owner_record$OWNER_LOCK_SUFFIX (remove that directory if no run is active)"
  host_locked=1
}

# Sets owner_present (0/1) and owner_project, owner_stack, owner_backup_name,
# owner_host_config_dir from the record. A record that cannot be read is
# refused: it is never taken for "no owner".
read_owner() {
  owner_present=0 owner_project='' owner_stack='' owner_backup_name='' owner_host_config_dir=''
  if [ ! -e "$owner_record" ] && [ ! -L "$owner_record" ]; then return 0; fi
  [ -f "$owner_record" ] && [ ! -L "$owner_record" ] && [ -r "$owner_record" ] ||
    die "$owner_record is not a readable file; nothing was changed. Look at it, and remove it if no stack owns this host"
  # The one-line fields come before host_config_dir; the directory (any
  # bytes but NUL, line breaks too) runs from host_config_dir= to the final
  # line "end".
  owner_project=$(sed -n '/^host_config_dir=/q; s/^project=//p' "$owner_record")
  owner_stack=$(sed -n '/^host_config_dir=/q; s/^stack=//p' "$owner_record")
  owner_backup_name=$(sed -n '/^host_config_dir=/q; s/^backup_name=//p' "$owner_record")
  rec=$(cat "$owner_record" && printf x) || rec=''
  rec=${rec%x}
  owner_host_config_dir=''
  case $rec in
    *"$OWNER_DIR_KEY"*"$OWNER_END")
      owner_host_config_dir=${rec#*"$OWNER_DIR_KEY"}
      owner_host_config_dir=${owner_host_config_dir%"$OWNER_END"}
      ;;
  esac
  if ! rb2_stack_id_ok "$owner_project" || ! rb2_stack_id_ok "$owner_stack" ||
    ! rb2_backup_name_ok "$owner_backup_name" || [ "${owner_host_config_dir#/}" = "$owner_host_config_dir" ]; then
    die "$owner_record is damaged (it needs project=, stack=, backup_name= and host_config_dir= lines); nothing was changed. Look at it, and remove it if no stack owns this host"
  fi
  owner_present=1
}

owner_is_us() {
  [ "$owner_present" = 1 ] && [ "$owner_project" = "$project" ] && [ "$owner_stack" = "$stack" ]
}

# The record of this run, staged beside the record (moved into place by commit_owner).
stage_owner() {
  owner_new=$owner_record.new
  {
    printf '%s\n' "# nixos-restic-b2: the stack that owns the backup installed on this host."
    printf '%s\n' "# Written by restic-b2-host on every successful pulumi up, removed by that stack's pulumi destroy."
    printf '%s\n' "# To hand this host to another stack: remove this file, then pulumi up in that stack (it adopts the install)."
    printf 'project=%s\nstack=%s\nbackup_name=%s%s%s%s' "$project" "$stack" "$backup_name" "$OWNER_DIR_KEY" "$host_config_dir" "$OWNER_END"
  } >"$owner_new"
  chmod 0600 "$owner_new"
}

commit_owner() {
  mv -f "$owner_new" "$owner_record"
  owner_new=''
}

remove_owner() {
  rm -f "$owner_record"
  removed_owner=1
}

refuse_foreign_owner() {
  die "this host's backup belongs to stack $owner_project/$owner_stack (backup $owner_backup_name in $owner_host_config_dir, recorded in $owner_record); stack $project/$stack does not replace it. Nothing was changed. One stack backs up one machine: point this stack at another host, or move the machine to this stack: either run pulumi destroy in stack $owner_stack first, or (keeping the backup running) remove $owner_record on the host and run pulumi up here, which adopts the install; a later pulumi destroy of $owner_stack then leaves the host alone"
}

# ---- the old config dir (hostConfigDir changed) ----------------------------------

# Everything about the install in the old config dir is checked and staged
# before anything changes; apply_old_dir takes it out after the new install is
# in place, restore_old_dir puts it back byte for byte.
prepare_old_dir() {
  old_has_mark=0 old_has_dir=0
  if [ ! -d "$old_dir" ]; then old_dir=''; return 0; fi
  # The same directory under another name (a symlink): nothing moves.
  if [ "$(cd -P "$old_dir" && pwd)" = "$(pwd -P)" ]; then old_dir=''; return 0; fi
  if [ -f "$old_dir/configuration.nix" ] && [ -n "$(mark_line "$old_dir/configuration.nix")" ]; then old_has_mark=1; fi
  if [ -e "$old_dir/$install_dir" ] || [ -L "$old_dir/$install_dir" ]; then old_has_dir=1; fi
  if [ "$old_has_mark" = 0 ] && [ "$old_has_dir" = 0 ]; then old_dir=''; return 0; fi
  if [ "$old_has_mark" = 1 ] && [ -L "$old_dir/configuration.nix" ]; then
    die "the install moves from $old_dir to $host_config_dir, but $old_dir/configuration.nix is a symlink; remove the line '$MARK' from it yourself, then run again. Nothing was changed"
  fi
  old_refs=$(cd "$old_dir" && find_refs) || old_refs=''
  [ -z "$old_refs" ] ||
    die "the install moves from $old_dir to $host_config_dir, but these files still import the old ./$module_ref: ${old_refs}. Import $host_config_dir/$module_ref instead (or nothing, in import mode auto), then run again. Nothing was changed"
  [ ! -e "$old_dir/$LOCK" ] ||
    die "another restic-b2-host run holds $old_dir/$LOCK (remove that directory if no run is active)"
  mkdir "$old_dir/$LOCK"
  old_locked=1
  old_tmp=$(mktemp -d "$old_dir/.$install_dir.tmp.XXXXXX")
  if [ "$old_has_mark" = 1 ]; then
    cp -p "$old_dir/configuration.nix" "$old_tmp/conf.new"
    edit_file "$old_dir/configuration.nix" "$old_tmp/conf.new" remove
  fi
}

apply_old_dir() {
  [ -n "$old_dir" ] || return 0
  if [ "$old_has_mark" = 1 ]; then
    ln "$old_dir/configuration.nix" "$old_tmp/conf.orig" 2>/dev/null || cp -p "$old_dir/configuration.nix" "$old_tmp/conf.orig"
    mv -f "$old_tmp/conf.new" "$old_dir/configuration.nix"
    old_conf_changed=1
  fi
  if [ "$old_has_dir" = 1 ]; then
    mv "$old_dir/$install_dir" "$old_tmp/old"
    old_moved=1
  fi
}

restore_old_dir() {
  rok=0
  if [ "$old_conf_changed" = 1 ]; then
    if mv -f "$old_tmp/conf.orig" "$old_dir/configuration.nix"; then old_conf_changed=0; else rok=1; fi
  fi
  if [ "$old_moved" = 1 ]; then
    if [ -e "$old_dir/$install_dir" ] || [ -L "$old_dir/$install_dir" ]; then
      rok=1
    elif mv "$old_tmp/old" "$old_dir/$install_dir"; then
      old_moved=0
    else
      rok=1
    fi
  fi
  return "$rok"
}

take_lock() {
  mkdir "$LOCK" 2>/dev/null ||
    die "another restic-b2-host run holds $host_config_dir/$LOCK (remove that directory if no run is active)"
  locked=1
  tmp=$(mktemp -d "./.$install_dir.tmp.XXXXXX")
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

# Writes the bundle's files into $tmp/new and checks them against the --file
# list: the same names, each exactly once, with the given sha256.
stage_files() {
  mkdir "$tmp/new"
  [ "$rb2_n" -eq "$nfiles" ] ||
    die "the bundle on stdin holds $rb2_n file(s), the command names $nfiles; nothing was changed"
  while [ $# -gt 0 ]; do
    if [ "$1" = --file ]; then
      rel=${2%%=*}
      want=${2#*=}
      dst=$tmp/new/$rel
      if [ -e "$dst" ] || [ -L "$dst" ]; then die "--file $rel given twice"; fi
      i=1 found=0
      while [ "$i" -le "$rb2_n" ]; do
        eval "r=\$rb2_rel_$i"
        if [ "$r" = "$rel" ]; then found=$i; break; fi
        i=$((i + 1))
      done
      [ "$found" != 0 ] || die "$rel is named on the command line but not in the bundle on stdin; nothing was changed"
      case $rel in
        */*) mkdir -p "${dst%/*}" ;;
      esac
      eval "printf '%s' \"\$rb2_txt_$found\"" >"$dst"
      got=$(sha256sum <"$dst") || die "sha256sum failed"
      got=${got%% *}
      [ "$got" = "$want" ] || die "$rel from the bundle has sha256 $got, the command expects $want; nothing was changed"
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

refuse_auto() {
  die "cannot add the import to $host_config_dir/configuration.nix safely: $*. Nothing was changed. Add this line to the module's attribute set yourself and set importMode to manual: $MANUAL_LINE"
}

# Decides how the module gets imported (import_plan: present, user, manual,
# edit) and, for edit, the edit (edit_op, edit_line, edit_arg).
install_preflight() {
  import_plan=manual
  if [ "$import_mode" = auto ]; then
    if [ -e flake.nix ] || [ -L flake.nix ]; then
      die "$host_config_dir/flake.nix exists: nixos-rebuild builds the flake, which need not use configuration.nix and sees only files git tracks, so import mode auto does not edit anything. Nothing was changed. Add ./$module_ref to the modules of your nixosSystem (and git add $install_dir if $host_config_dir is a git repository), then set importMode to manual"
    fi
    [ ! -L configuration.nix ] || refuse_auto "it is a symlink"
    [ -f configuration.nix ] || die "$host_config_dir/configuration.nix not found. Nothing was changed. Import the module from your configuration and set importMode to manual: $MANUAL_LINE"
    if [ -z "$(find configuration.nix -prune -perm -u=w)" ] || ! [ -w configuration.nix ]; then
      refuse_auto "it is not writable"
    fi
    if [ -n "$(mark_line configuration.nix)" ]; then
      import_plan=present
    elif [ -n "$(find_refs)" ]; then
      import_plan=user
    else
      plan=$(plan_import configuration.nix)
      set -f
      # shellcheck disable=SC2086 # split the plan into words
      set -- $plan
      set +f
      case ${1-} in
        list)
          if [ "$4" = after ]; then
            indent=$(line_indent configuration.nix "$2")
            edit_op=after edit_line=$2 edit_arg="${indent%.}  $MARK"
          else
            edit_op=inline edit_line=$2 edit_arg=$3
          fi
          ;;
        add)
          indent=$(line_indent configuration.nix "$2")
          edit_op=after edit_line=$2 edit_arg="${indent%.}  $ADD_MARK"
          ;;
        refuse)
          shift
          refuse_auto "$*"
          ;;
        *) refuse_auto "it could not be read" ;;
      esac
      import_plan=edit
    fi
  elif [ -f configuration.nix ] && [ -n "$(mark_line configuration.nix)" ]; then
    import_plan=present # left by an earlier install in auto mode
  else
    [ -n "$(find_refs)" ] ||
      die "import mode is manual but no .nix file in $host_config_dir imports the module; add this line to your configuration, then run again: $MANUAL_LINE"
  fi
  find_tool nixos-rebuild || die "nixos-rebuild not found on PATH or in $SW_BIN"
  rebuild=$tool
  find_tool systemctl || die "systemctl not found on PATH or in $SW_BIN"
  systemctl=$tool
  journalctl=''
  if find_tool journalctl; then journalctl=$tool; fi
  command -v sha256sum >/dev/null 2>&1 || die "sha256sum (coreutils) not found"
}

# Parses with nix-instantiate when the host has it; prints nothing.
nix_parses() {
  find_tool nix-instantiate || return 0
  run_child "$tool" --parse "$PWD/$1" >/dev/null 2>&1 </dev/null
}

# The edited configuration.nix in $tmp/conf.new (a copy that keeps owner and
# mode), checked before anything is changed.
prepare_import() {
  cp -p configuration.nix "$tmp/conf.new"
  edit_file configuration.nix "$tmp/conf.new" "$edit_op" "$edit_line" "$edit_arg"
  if nix_parses configuration.nix && ! nix_parses "${tmp#./}/conf.new"; then
    refuse_auto "the edited file would not parse"
  fi
}

# Puts it in place with one rename; the original inode is kept as the backup.
apply_import() {
  ln configuration.nix "$tmp/conf.orig" 2>/dev/null || cp -p configuration.nix "$tmp/conf.orig"
  changed=1
  mv -f "$tmp/conf.new" configuration.nix
  conf_changed=1
}

# After the switch: $verify_command (installed by the module) opens the
# repository with the deployed credentials. 0, 10 and 11 (locked by another
# restic) pass, 20 warns, anything else fails (and so rolls back).
verify_repository() {
  verify_msg=skipped
  [ "$verify_on_deploy" = 1 ] || return 0
  vcmd=$verify_command
  find_tool "$vcmd" ||
    die "$vcmd is not on PATH or in $SW_BIN after the switch (the module installs it); rolling back"
  vtool=$tool
  set -- "$vtool"
  if find_tool timeout; then set -- "$tool" "$VERIFY_SECONDS" "$vtool"; fi
  vrc=0
  run_child "$@" >"$tmp/verify.log" 2>&1 </dev/null || vrc=$?
  vline=$(tail -n 1 "$tmp/verify.log" 2>/dev/null | LC_ALL=C cut -c "1-$TAIL_WIDTH") || vline=''
  case $vrc in
    0) verify_msg="repository opens" ;;
    10) verify_msg="repository does not exist yet; the first backup run will create it" ;;
    11) verify_msg="repository opens; it is locked by another restic process right now (not a failure)" ;;
    20)
      verify_msg="warning: repository not reachable, credentials not checked (exit 20${vline:+: $vline})"
      ;;
    12 | 13)
      warn "$vcmd refused the deployed credentials (exit $vrc)"
      print_tail "$vcmd" "$tmp/verify.log"
      exit 1
      ;;
    124)
      warn "$vcmd did not finish within $VERIFY_SECONDS seconds"
      print_tail "$vcmd" "$tmp/verify.log"
      exit 1
      ;;
    *)
      warn "$vcmd failed (exit $vrc)"
      print_tail "$vcmd" "$tmp/verify.log"
      exit 1
      ;;
  esac
}

# What the host had before this run, for the summary and the restore message;
# sets owner_msg and before_msg.
describe_before() {
  had_dir=0
  if [ -e "$install_dir" ] || [ -L "$install_dir" ]; then had_dir=1; fi
  if owner_is_us; then
    owner_msg="$project/$stack"
    before_msg="backup $owner_backup_name as before this run"
    if [ "$owner_host_config_dir" != "$host_config_dir" ]; then
      owner_msg="$owner_msg (moved from $owner_host_config_dir/$install_dir)"
    fi
    if [ "$owner_backup_name" != "$backup_name" ]; then
      owner_msg="$owner_msg (backup $owner_backup_name renamed to $backup_name)"
    fi
  elif [ "$had_dir" = 1 ]; then
    owner_msg="$project/$stack (recorded now: adopted the install made before owner records)"
    before_msg="the install found before this run"
  else
    owner_msg="$project/$stack"
    before_msg="nothing installed, as before this run"
  fi
}

do_install() {
  if [ "$owner_present" = 1 ] && ! owner_is_us; then refuse_foreign_owner; fi
  old_dir=''
  if owner_is_us && [ "$owner_host_config_dir" != "$host_config_dir" ]; then old_dir=$owner_host_config_dir; fi
  install_preflight
  describe_before
  take_lock
  stage_files "$@"
  if [ "$import_plan" = edit ]; then prepare_import; fi
  if [ -n "$old_dir" ]; then prepare_old_dir; fi
  stage_owner

  changed=1
  if [ -e "$install_dir" ] || [ -L "$install_dir" ]; then
    mv "$install_dir" "$tmp/old"
    moved_old=1
  fi
  mv "$tmp/new" "$install_dir"
  placed_new=1
  if [ "$import_plan" = edit ]; then apply_import; fi
  apply_old_dir

  switch_system "install"

  state=$(run_child "$systemctl" is-active "$backup_timer" 2>/dev/null) || :
  if [ "$state" != active ]; then
    warn "$backup_timer is '${state:-unknown}', expected 'active' after the switch"
    exit 1
  fi

  verify_repository

  backup_msg=skipped
  if [ "$run_first_backup" = 1 ]; then
    svc=$backup_service
    if ! run_child "$systemctl" start "$svc" >"$tmp/start.log" 2>&1 </dev/null; then
      warn "first backup failed: systemctl start $svc"
      print_tail "systemctl start $svc" "$tmp/start.log" 5
      if [ -n "$journalctl" ]; then
        run_child "$journalctl" -u "$svc" -n 25 --no-pager >"$tmp/journal.log" 2>&1 </dev/null || :
        print_tail "journalctl -u $svc" "$tmp/journal.log"
      fi
      exit 1
    fi
    backup_msg=ok
  fi

  commit_owner
  changed=0
  case $import_plan in
    edit) import_msg="added to configuration.nix" ;;
    present) import_msg="already in configuration.nix" ;;
    user) import_msg="already imported by your configuration" ;;
    *) import_msg="manual (found in your configuration)" ;;
  esac
  say "installed $nfiles file(s) in $host_config_dir/$install_dir"
  say "import: $import_msg"
  say "nixos-rebuild switch: ok"
  say "$backup_timer: active"
  say "verify: $verify_msg"
  say "first backup: $backup_msg"
  if [ -n "$old_dir" ]; then say "removed the old install from $old_dir"; fi
  say "owner: $owner_msg"
}

# ---- uninstall -----------------------------------------------------------------

# Which install this uninstall may remove: only its own stack's. Sets
# host_config_dir (and the layout) to the record's when the record is ours;
# exits 0 without changing anything when the host belongs to another stack.
uninstall_owner() {
  [ "$owner_present" = 1 ] || return 0
  if [ -n "$stack" ] && owner_is_us; then
    host_config_dir=$owner_host_config_dir backup_name=$owner_backup_name
    rb2_layout "$backup_name"
    return 0
  fi
  if [ -n "$stack" ]; then
    say "this host's backup belongs to stack $owner_project/$owner_stack (backup $owner_backup_name in $owner_host_config_dir, $owner_record), not to $project/$stack: nothing removed"
  else
    say "this host's backup is recorded as stack $owner_project/$owner_stack's (backup $owner_backup_name in $owner_host_config_dir, $owner_record), and this uninstall does not say which stack it is: nothing removed (run pulumi up once, then pulumi destroy, or remove it with that stack)"
  fi
  exit 0
}

do_uninstall() {
  before_msg="the install as before this run"
  has_mark=0
  if [ -f configuration.nix ] && [ -n "$(mark_line configuration.nix)" ]; then
    [ ! -L configuration.nix ] || die "$host_config_dir/configuration.nix is a symlink; remove the line '$MARK' yourself"
    has_mark=1
  fi
  if [ "$has_mark" = 0 ] && [ ! -e "$install_dir" ] && [ ! -L "$install_dir" ]; then
    if owner_is_us; then remove_owner; fi
    say "nothing installed in $host_config_dir; nothing to do"
    return 0
  fi
  refs=$(find_refs)
  [ -z "$refs" ] ||
    die "these files still import ./$module_ref; remove that import first, then run again: $refs"
  find_tool nixos-rebuild || die "nixos-rebuild not found on PATH or in $SW_BIN"
  rebuild=$tool

  take_lock
  if [ "$has_mark" = 1 ]; then
    cp -p configuration.nix "$tmp/conf.new"
    edit_file configuration.nix "$tmp/conf.new" remove
    ln configuration.nix "$tmp/conf.orig" 2>/dev/null || cp -p configuration.nix "$tmp/conf.orig"
    changed=1
    mv -f "$tmp/conf.new" configuration.nix
    conf_changed=1
  fi
  if [ -e "$install_dir" ] || [ -L "$install_dir" ]; then
    changed=1
    mv "$install_dir" "$tmp/old"
    moved_old=1
  fi

  switch_system "uninstall"

  if owner_is_us; then remove_owner; fi
  changed=0
  say "removed $host_config_dir/$install_dir"
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

  tmp='' locked=0 changed=0 moved_old=0 placed_new=0 conf_changed=0 switched=0
  profile_before='' rebuild='' before_msg='' old_dir='' old_tmp='' old_locked=0
  old_conf_changed=0 old_moved=0 host_locked=0 made_owner_dir=0 owner_new='' removed_owner=0
  trap 'on_exit $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  take_host_lock
  read_owner
  if [ "$action" = uninstall ]; then uninstall_owner; fi

  if [ ! -d "$host_config_dir" ]; then
    if [ "$action" = uninstall ] && owner_is_us; then
      remove_owner
      say "nothing installed in $host_config_dir (the directory is gone); nothing to do"
      exit 0
    fi
    die "config dir $host_config_dir does not exist"
  fi
  cd -P "$host_config_dir" || die "cannot enter $host_config_dir"
  if [ -e "$LOCK" ]; then
    die "another restic-b2-host run holds $host_config_dir/$LOCK (remove that directory if no run is active)"
  fi

  if [ "$action" = install ]; then
    do_install "$@"
  else
    do_uninstall
  fi
}

main "$@"
