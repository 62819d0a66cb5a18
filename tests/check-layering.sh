#!/bin/sh
# shellcheck disable=SC2046,SC2086
# check-layering.sh: dependencies point down only.
#   - src/ (the core) knows nothing of interposition: it never names
#     dlsym, dlvsym, RTLD_NEXT or a real_* function;
#   - preload/ uses the core through green.h only, and never fcontext.h;
#   - tests/progs/ are plain programs: they include no libgreen header.
# Comments are ignored (stripped by the C preprocessor when one is there).
#
# Environment (set by make check): GREEN_SRCDIR, the top source directory.
# Exit 0 when all holds, 1 if not.

top=${GREEN_SRCDIR:?GREEN_SRCDIR is not set (run with make check)}
cc=${CC:-cc}
status=0
tmp_hits=$(mktemp) || exit 1
trap 'rm -f "$tmp_hits"' EXIT

if echo 'int x; /* c */' | $cc -fpreprocessed -dD -E - >/dev/null 2>&1; then
    strip=yes
else
    strip=no
    echo "note: $cc cannot strip comments; checking the raw text"
fi

# Print file $1 without comments as "file:line:text" lines.
source_lines() {
    if [ $strip = yes ]; then
        $cc -fpreprocessed -dD -E -x c "$1" 2>/dev/null
    else
        cat "$1"
    fi | awk -v f="$1" -v s=$strip '
        s == "yes" && /^# [0-9]+ "/ { line = $2 - 1; next }
        { line++; print f ":" line ":" $0 }'
}

# The files of directory $1 matching the patterns that follow.
files() {
    d=$1
    shift
    for p in "$@"; do
        for f in "$top/$d"/$p; do
            [ -f "$f" ] && echo "$f"
        done
    done
}

# The header named by each #include line of the input, as "where:header".
includes() {
    sed -n 's/^\([^:]*:[0-9]*\):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1:\2/p'
}

# Each #include of file $1 as "where header basename" lines.
include_lines() {
    source_lines "$1" | includes | while IFS= read -r inc; do
        h=${inc##*:}
        where=${inc%:*}
        echo "${where#"$top/"} $h ${h##*/}"
    done
}

src_headers=$(files src '*.h' | sed 's|.*/||')
preload_headers=$(files preload '*.h' | sed 's|.*/||')

# True when basename $1 is one of the words that follow.
among() {
    n=$1
    shift
    for w in "$@"; do
        [ "$n" = "$w" ] && return 0
    done
    return 1
}

fail() {
    echo "FAIL: $*"
    status=1
}

# ---- src/ ------------------------------------------------------------------
set -- $(files src '*.c' '*.h')
echo "check-layering: src/ ($# files) never calls dlsym, dlvsym, RTLD_NEXT or real_*"
[ $# -gt 0 ] || fail "no sources found in $top/src"
# Fail with message $1, listing $tmp_hits, when the loop found anything.
report() {
    if [ -s "$tmp_hits" ]; then
        fail "$1"
        sed 's/^/    /' "$tmp_hits"
    fi
}

for f in "$@"; do
    source_lines "$f" |
        grep -E '(^|[^A-Za-z0-9_])(dlsym|dlvsym|RTLD_NEXT|real_[A-Za-z0-9_]+)([^A-Za-z0-9_]|$)' |
        sed "s|^$top/||" >"$tmp_hits" || :
    report "the core reaches into interposition:"
done

# ---- preload/ ----------------------------------------------------------------
set -- $(files preload '*.c' '*.h')
echo "check-layering: preload/ ($# files) includes no core header but green.h, never fcontext.h"
for f in "$@"; do
    include_lines "$f" | while read -r where h b; do
        if [ "$b" = fcontext.h ]; then
            echo "$where: includes $h"
        elif [ "$b" != green.h ]; then
            case $h in
            *src/*) echo "$where: includes $h" ;;
            *) among "$b" $src_headers && ! among "$b" $preload_headers && echo "$where: includes $h" ;;
            esac
        fi
    done >"$tmp_hits"
    report "preload/ uses the core beyond green.h:"
done

# ---- tests/progs/ -------------------------------------------------------------
set -- $(files tests/progs '*.c' '*.h')
echo "check-layering: tests/progs/ ($# files) include no libgreen header"
for f in "$@"; do
    include_lines "$f" | while read -r where h b; do
        if [ "$b" = green.h ] || among "$b" $src_headers $preload_headers; then
            echo "$where: includes $h"
        fi
    done >"$tmp_hits"
    report "a plain test program includes a libgreen header:"
done

[ $status -ne 0 ] || echo "  ok: the layers hold"
exit $status
