#!/bin/sh
# Lines of at most 110 columns in the C sources. A column is a character (UTF-8 counted once; a tab
# counts as one, the code indents with spaces). Lists `file:line: N columns` for every longer line
# and fails if there is any. Checks the given files, or else the header, examples and tests.
max=110
if [ $# -eq 0 ]; then
    cd "$(dirname "$0")/.." || exit 1
    set -- webfw.h examples/*.c tests/*.c tests/*.h tests/fuzz/*.c tests/bench/*.c
fi
# bytes in awk (mawk has no other mode), so a character is a byte that is not a UTF-8 continuation
LC_ALL=C awk -v max="$max" '
    { s = $0; gsub(/[\200-\277]/, "", s) }
    length(s) > max { printf "%s:%d: %d columns\n", FILENAME, FNR, length(s); n++ }
    END { if (n) { printf "%d lines over %d columns\n", n, max; exit 1 } }
' "$@"
