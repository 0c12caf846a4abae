#!/bin/sh
# tests/readme_code.sh - the C code of README.md is real code: every ```c block is a whole C file,
# written to OUTDIR/block_N.c (N from 1, in the README's order) and compiled to OUTDIR/block_N with
# webfw.h on the include path; a block that is a test program (WF_TEST_MAIN) is run and must pass.
#
# Usage: tests/readme_code.sh OUTDIR CC [FLAGS...]      (`make` runs it with gcc and with clang)
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUTDIR CC [FLAGS...]" >&2; exit 2; }
out=$1 cc=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
rm -f "$out"/block_*
awk -v out="$out" '
    /^```c[ \t]*$/ { n++; file = out "/block_" n ".c"; inside = 1; printf "" > file; next }
    inside && /^```[ \t]*$/ { inside = 0; close(file); next }
    inside { print > file }
    END {
        if (inside) { print "README.md: block " n " is not closed" > "/dev/stderr"; exit 1 }
        if (n == 0) { print "README.md: no ```c block" > "/dev/stderr"; exit 1 }
    }' "$root/README.md"
for src in "$out"/block_*.c; do
    bin=${src%.c}
    echo "README.md ${bin##*/}: $cc $* -I$root"
    "$cc" "$@" -I"$root" -o "$bin" "$src" -lpthread
    if grep -q 'WF_TEST_MAIN' "$src"; then
        if ! "$bin" >"$bin.out" 2>&1; then
            cat "$bin.out" >&2
            echo "README.md ${bin##*/}: its tests failed" >&2
            exit 1
        fi
    fi
done
