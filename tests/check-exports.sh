#!/bin/sh
# check-exports.sh: libgreen.so exports exactly the symbols listed in
# preload/exports.txt, and no C++ runtime enters the process with it.
#
# Environment (set by make check): GREEN_LIB (libgreen.so), GREEN_SRCDIR
# (top source directory), GREEN_NM (nm). Exit 0 when all holds, 1 if not.

nm=${GREEN_NM:-nm}
lib=${GREEN_LIB:?GREEN_LIB is not set (run with make check)}
list=${GREEN_SRCDIR:?GREEN_SRCDIR is not set (run with make check)}/preload/exports.txt
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

echo "check-exports: $lib against $list"
[ -f "$lib" ] || { echo "FAIL: $lib does not exist"; exit 1; }
[ -f "$list" ] || { echo "FAIL: $list does not exist"; exit 1; }

# The list: one symbol per line; blank lines and '#' comments ignored.
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list" | LC_ALL=C sort -u >"$tmp/listed"

# What the dynamic symbol table defines, version suffixes stripped (the
# A entries are version names, not symbols).
if ! $nm -D --defined-only "$lib" >"$tmp/nm"; then
    echo "FAIL: $nm -D --defined-only $lib failed"
    exit 1
fi
awk 'NF >= 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' "$tmp/nm" |
    LC_ALL=C sort -u >"$tmp/exported"

LC_ALL=C comm -13 "$tmp/listed" "$tmp/exported" >"$tmp/extra"
LC_ALL=C comm -23 "$tmp/listed" "$tmp/exported" >"$tmp/missing"
echo "  $(wc -l <"$tmp/exported") symbols exported, $(wc -l <"$tmp/listed") listed"
if [ -s "$tmp/extra" ]; then
    echo "FAIL: exported by libgreen.so but not in preload/exports.txt:"
    sed 's/^/    /' "$tmp/extra"
    status=1
fi
if [ -s "$tmp/missing" ]; then
    echo "FAIL: listed in preload/exports.txt but not exported by libgreen.so:"
    sed 's/^/    /' "$tmp/missing"
    status=1
fi
[ $status -ne 0 ] || echo "  ok: the export list matches"

# fcontext comes from libboost_context.a's asm objects only: neither the
# C++ runtime nor a boost shared object may be pulled in.
echo "check-exports: dependencies of libgreen.so (ldd)"
if ! ldd "$lib" >"$tmp/ldd" 2>&1; then
    echo "FAIL: ldd $lib failed:"
    sed 's/^/    /' "$tmp/ldd"
    status=1
elif grep -E 'libstdc\+\+|libboost' "$tmp/ldd" >"$tmp/cxx"; then
    echo "FAIL: libgreen.so depends on C++ libraries:"
    sed 's/^/    /' "$tmp/cxx"
    status=1
else
    echo "  ok: no libstdc++ or libboost dependency"
fi
exit $status
