#!/bin/sh
# The `vec` subcommand of gen/mpgen.py: every bad entry stops it with exit
# status 2 and one line on stderr that names the entry (no traceback), and
# writes nothing; good input gives the same header whatever the order of the
# entries.
set -u

MPGEN="$TEST_SRCDIR/$TEST_WORKSPACE/gen/mpgen.py"
OUT="$TEST_TMPDIR/out"
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_error NEEDLE ARGS...: the run fails with status 2, one stderr line
# holding NEEDLE, and no header written.
expect_error() {
    needle=$1
    shift
    rm -rf "$OUT"
    mkdir -p "$OUT"
    python3 "$MPGEN" vec --out "$OUT/v.h" "$@" 2>"$OUT/err"
    status=$?
    lines=$(wc -l <"$OUT/err")
    if [ "$status" -ne 2 ]; then fail "[$*]: exit status $status, not 2"; fi
    if [ "$lines" -ne 1 ]; then fail "[$*]: $lines lines on stderr, not 1"; cat "$OUT/err" >&2; fi
    if ! grep -qF -- "$needle" "$OUT/err"; then fail "[$*]: stderr does not name $needle: $(cat "$OUT/err")"; fi
    if grep -q Traceback "$OUT/err"; then fail "[$*]: a traceback"; fi
    if [ -e "$OUT/v.h" ]; then fail "[$*]: wrote a header anyway"; fi
}

# Vector names.
expect_error "'1vec'" --vector 1vec=int
expect_error "'my-vec'" --vector my-vec=int
expect_error "'int'" --vector int=int
expect_error "'mp_ints'" --vector mp_ints=int
expect_error "'MP_ints'" --vector MP_ints=int
expect_error "'a'" --vector a=int --vector a=long
expect_error "'x_frozen'" --vector x=int --vector x_frozen=int
expect_error "'x_len'" --vector x=int --vector x_len=int
expect_error "'x_frozen_at'" --vector x=int --vector x_frozen_at=int
expect_error "'noequals'" --vector noequals
expect_error "'empty='" --vector empty=
# Element types.
expect_error "'int[3]'" --vector a='int[3]'
expect_error "'int (*)(void)'" --vector a='int (*)(void)'
expect_error "'void'" --vector a=void
expect_error "'const int'" --vector a='const int'
expect_error "'int * const'" --vector a='int * const'
expect_error "'struct'" --vector a=struct
expect_error "'static int'" --vector a='static int'
expect_error "'int; int'" --vector a='int; int'
expect_error "'int x'" --vector a='int x'
expect_error "'struct a b'" --vector a='struct a b'
expect_error "'long float'" --vector a='long float'
# Entries as JSON objects (paged_vec_library's dict entries): drop and clone.
expect_error "vector 'r'" --vector 'r={"type": "res", "drop": "1x"}'
expect_error "vector 'r'" --vector 'r={"type": "res", "drop": "int"}'
expect_error "vector 'r'" --vector 'r={"type": "res", "clone": null}'
expect_error "vector 'r'" --vector 'r={"type": "res", "drop": ["f"]}'
expect_error "vector 'r'" --vector 'r={"type": "res", "dorp": "f"}'
expect_error "vector 'r'" --vector 'r={"drop": "f"}'
expect_error "vector 'r'" --vector 'r={"type": 3}'
expect_error "vector 'r'" --vector 'r={"type": "int[3]"}'
expect_error "vector 'r'" --vector 'r={"type": "res",'
expect_error "vector 'r'" --vector 'r={}'
expect_error "'x_clone'" --vector x=int --vector x_clone=int
expect_error "'x_INIT'" --vector x=int --vector x_INIT=int
# Includes and arguments.
expect_error 'a"b.h' --vector a=int --include 'a"b.h'
# A path that is not UTF-8 (the byte 0xfc) cannot go into the header.
expect_error "try/point.h" --vector a=int --include "$(printf 'geom\374try/point.h')"
expect_error "--vector" --include x.h
expect_error "unrecognized" --vector a=int --bogus

# Good input: accepted, and the same header for any order of the entries.
mkdir -p "$OUT/one" "$OUT/two"
if ! python3 "$MPGEN" vec --out "$OUT/one/v.h" --vector 'b=const char *' --vector a=uint32_t \
    --vector 'c=struct point' --vector 'd=unsigned long long' --include p.h 2>"$OUT/err"; then
    fail "good input refused: $(cat "$OUT/err")"
fi
python3 "$MPGEN" vec --out "$OUT/two/v.h" --vector 'd=unsigned   long long' --vector 'c=struct point' \
    --vector a=uint32_t --vector 'b=const char*' --include p.h
if ! cmp -s "$OUT/one/v.h" "$OUT/two/v.h"; then fail "the order or spacing of entries changed the header"; fi
for name in a b c d a_frozen a_push d_frozen_thaw; do
    grep -q "[ *]${name}(" "$OUT/one/v.h" || grep -q "} ${name};" "$OUT/one/v.h" ||
        fail "the header lacks $name"
done
grep -q '#include "p.h"' "$OUT/one/v.h" || fail "the header does not include p.h"

# A type with drop and clone has _clone and _resize; one with drop only has
# neither, so x_clone may then be a vector of its own.
python3 "$MPGEN" vec --out "$OUT/one/d.h" --vector 'r={"type": "res", "drop": "res_drop", "clone": "res_clone"}' \
    --vector 'm={"type": "res", "drop": "res_drop"}' --vector 'm_clone=int' 2>"$OUT/err" ||
    fail "good drop entries refused: $(cat "$OUT/err")"
grep -q ' r_clone(' "$OUT/one/d.h" || fail "r lacks r_clone"
grep -q ' r_resize(' "$OUT/one/d.h" || fail "r lacks r_resize"
grep -q ' m_resize(' "$OUT/one/d.h" && fail "m, with drop and no clone, has m_resize"
grep -q 'res_drop((res \*)e)' "$OUT/one/d.h" || fail "the drop adapter does not call res_drop"

if [ "$failures" -ne 0 ]; then
    echo "$failures checks failed" >&2
    exit 1
fi
echo "all generator checks passed"
