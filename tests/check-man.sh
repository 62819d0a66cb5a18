#!/bin/sh
# check-man.sh: the man pages document what libgreen.so exports, and
# render without warnings.
#   - every exported symbol named green_* appears in man/green.3, every
#     other one (the interposed libc functions) in the INTERPOSED
#     FUNCTIONS section of man/libgreen.7;
#   - greenrun.1, libgreen.7 and green.3 pass groff -ww -man -z cleanly
#     (skipped, saying so, when groff is not installed: scripts/setup
#     installs groff-base).
#
# Environment (set by make check): GREEN_LIB, GREEN_SRCDIR, GREEN_NM.
# Exit 0 when all holds, 1 if not.

nm=${GREEN_NM:-nm}
lib=${GREEN_LIB:?GREEN_LIB is not set (run with make check)}
man=${GREEN_SRCDIR:?GREEN_SRCDIR is not set (run with make check)}/man
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

fail() {
    echo "FAIL: $*"
    status=1
}

# The words of man page $1 with font and escape sequences removed, one per
# line (\fB, \fI, \f(xx, \f[xx], \-, \&, \(xx and the like). With $2, only
# the words of section $2 (from ".SH $2" to the next ".SH").
words() {
    awk -v sh="${2-}" '
        /^\.SH/ { name = $0; sub(/^\.SH[ \t]+/, "", name); gsub(/"/, "", name); in_sh = name == sh }
        sh == "" || in_sh' "$1" |
        sed -e 's/\\f\[[^]]*\]//g' -e 's/\\f([A-Za-z][A-Za-z]//g' -e 's/\\f[A-Za-z0-9]//g' \
            -e 's/\\(..//g' -e 's/\\[-&|^%]//g' |
        tr -cs 'A-Za-z0-9_' '\n' | LC_ALL=C sort -u
}

# ---- exported symbols are documented -----------------------------------------
echo "check-man: symbols exported by $lib are documented"
if [ ! -f "$lib" ]; then
    fail "$lib does not exist"
elif ! $nm -D --defined-only "$lib" >"$tmp/nm"; then
    fail "$nm -D --defined-only $lib failed"
else
    awk 'NF >= 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" |
        LC_ALL=C sort -u >"$tmp/exported"
    # The API anywhere in green.3; the others in the list of libgreen.7.
    for page in green.3 libgreen.7; do
        [ -f "$man/$page" ] || { fail "$man/$page does not exist"; continue; }
    done
    [ -f "$man/green.3" ] && words "$man/green.3" >"$tmp/green.3.words"
    [ -f "$man/libgreen.7" ] && words "$man/libgreen.7" "INTERPOSED FUNCTIONS" >"$tmp/libgreen.7.words"
    grep '^green_' "$tmp/exported" >"$tmp/api" || :
    grep -v '^green_' "$tmp/exported" >"$tmp/libc" || :
    echo "  $(wc -l <"$tmp/api") green_* symbols against green.3," \
        "$(wc -l <"$tmp/libc") others against libgreen.7"
    for pair in api:green.3 libc:libgreen.7; do
        set -- "${pair%%:*}" "${pair#*:}"
        [ -f "$tmp/$2.words" ] || continue
        LC_ALL=C comm -23 "$tmp/$1" "$tmp/$2.words" >"$tmp/undoc"
        if [ -s "$tmp/undoc" ]; then
            if [ "$2" = libgreen.7 ]; then
                fail "exported but not in the INTERPOSED FUNCTIONS of man/$2:"
            else
                fail "exported but not in man/$2:"
            fi
            sed 's/^/    /' "$tmp/undoc"
        fi
    done
fi

# ---- the pages render cleanly ------------------------------------------------
echo "check-man: greenrun.1 libgreen.7 green.3 render with groff -ww -man without warnings"
if ! command -v groff >/dev/null 2>&1; then
    echo "  SKIPPED: groff is not installed (apt-get install groff-base; scripts/setup does)"
else
    for page in greenrun.1 libgreen.7 green.3; do
        [ -f "$man/$page" ] || { fail "$man/$page does not exist"; continue; }
        if ! LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$man/$page" >"$tmp/groff" 2>&1 ||
            [ -s "$tmp/groff" ]; then
            fail "groff warns about man/$page:"
            sed 's/^/    /' "$tmp/groff"
        fi
    done
fi

[ $status -ne 0 ] || echo "  ok: the man pages are complete and clean"
exit $status
