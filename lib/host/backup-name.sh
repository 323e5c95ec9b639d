# rb2_backup_name_ok NAME: the backup-name rule in POSIX sh, the twin of
# BACKUP_NAME_PATTERN in lib/host/layout.ts (test/unit/layout.test.ts runs one
# table of names through both): 1 to 64 letters, digits, '_' or '-', not
# starting with '-'. The character lists are spelled out, so no locale can
# widen them. lib/host/scripts.ts splices this file into the host scripts
# that include it (the deploy script and the status script).
rb2_backup_name_ok() {
  case $1 in
    '' | [!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_]* | \
      *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]*) return 1 ;;
  esac
  [ "${#1}" -le 64 ]
}
