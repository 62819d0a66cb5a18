#!/bin/sh
# check-core-libc.sh: the core never calls a function libgreen interposes.
#
# Inside libgreen.so a plain call from src/ to, say, sigaction binds to
# libgreen's own interposer, which takes it for the program's call: the
# core reaches those functions through green__libc (struct green_libc in
# green.h) instead. This check lists the undefined symbols of every core
# object (nm -u) and fails on any name preload/exports.txt lists that
# the core does not define itself (the green_* API is the core's own).
#
# One exception, named here with its reason: syscall(2), which the core
# uses for raw system calls (futexes, gettid, tgkill) from any OS thread,
# before green_init too; an interposer of syscall must send calls whose
# caller lies in libgreen straight to the kernel.
allowed="syscall"
#
# Environment (set by make check): GREEN_CORE (the core's static archive,
# src/.libs/libgreencore.a), GREEN_SRCDIR, GREEN_NM. Exit 0 when all
# holds, 1 if not.

nm=${GREEN_NM:-nm}
core=${GREEN_CORE:?GREEN_CORE is not set (run with make check)}
list=${GREEN_SRCDIR:?GREEN_SRCDIR is not set (run with make check)}/preload/exports.txt
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

echo "check-core-libc: the objects of $core call no name of $list"
[ -f "$core" ] || { echo "FAIL: $core does not exist"; exit 1; }
[ -f "$list" ] || { echo "FAIL: $list does not exist"; exit 1; }

sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list" | LC_ALL=C sort -u >"$tmp/listed"
if ! $nm --defined-only "$core" >"$tmp/defined" 2>/dev/null ||
    ! $nm -u "$core" >"$tmp/undefined" 2>/dev/null; then
    echo "FAIL: $nm cannot read $core"
    exit 1
fi
{ awk 'NF >= 3 { print $3 }' "$tmp/defined"; printf '%s\n' $allowed; } | LC_ALL=C sort -u >"$tmp/own"
LC_ALL=C comm -23 "$tmp/listed" "$tmp/own" >"$tmp/interposed"
# "object.o:" heads each member's list; "U name[@version]" follow.
awk 'NR == FNR { bad[$1] = 1; next }
     /:$/ { obj = $0; sub(/:$/, "", obj); next }
     $1 == "U" { n = $2; sub(/@.*/, "", n); if (n in bad) print "    " obj ": " n }' \
    "$tmp/interposed" "$tmp/undefined" >"$tmp/hits"
echo "  $(wc -l <"$tmp/interposed") interposed names, $(grep -c ':$' "$tmp/undefined") objects"
if [ -s "$tmp/hits" ]; then
    echo "FAIL: the core calls interposed names (use green__libc, see green.h):"
    cat "$tmp/hits"
    exit 1
fi
echo "  ok: no core object calls an interposed name"
