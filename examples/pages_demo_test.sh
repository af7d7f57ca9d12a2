#!/usr/bin/env bash
# Runs examples/pages_demo and checks the lines its SIGSEGV handler wrote:
# what mp_query said about each faulting address (a guard page after and
# before a page set, element 12 of a frozen vector, pages with no access, an
# address outside the library). Usage: pages_demo_test.sh PATH_TO_DEMO
set -euo pipefail

out=$("$1")
echo "$out"
fail=0
expect() {
    if ! grep -qE -- "$1" <<<"$out"; then
        echo "pages_demo_test: no line matches: $1" >&2
        fail=1
    fi
}
expect 'the handler says: SIGSEGV at 0x[0-9a-f]+: guard page after page set at 0x[0-9a-f]+, 16 bytes past its end$'
expect 'the handler says: SIGSEGV at 0x[0-9a-f]+: guard page before page set at 0x[0-9a-f]+, 1 byte before its start$'
expect 'the handler says: SIGSEGV at 0x[0-9a-f]+: write to frozen vector at element 12$'
expect 'the handler says: SIGSEGV at 0x[0-9a-f]+: access to page set with no access at offset 40$'
expect 'the handler says: SIGSEGV at 0x10: not memory of this library$'
if grep -q 'did not end in the handler' <<<"$out"; then
    echo "pages_demo_test: a child did not end in the handler" >&2
    fail=1
fi
exit $fail
