# rb2_stack_id_ok NAME: a Pulumi project or stack name in POSIX sh, the twin of
# STACK_ID_PATTERN in lib/host/layout.ts (test/unit/layout.test.ts runs one
# table of names through both): 1 to 100 letters, digits, '_', '.' or '-'.
# The character list is spelled out, so no locale can widen it.
# lib/host/scripts.ts splices this file into the deploy script.
rb2_stack_id_ok() {
  case $1 in
    '' | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-]*) return 1 ;;
  esac
  [ "${#1}" -le 100 ]
}
