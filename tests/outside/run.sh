#!/usr/bin/env bash
# Proves that memory_pages works from another Bazel workspace, set up exactly
# as shared/API.md section 6 says (local_repository + memory_pages_deps()).
#
# It copies tests/outside to a scratch folder, points its local_repository at
# this checkout, and with a Bazel server of its own:
#   1. tests //... with the default features: a program using rw, r and none,
#      a PagedVec of its own struct type, PagedVecs whose hdrs are labels
#      (a subpackage's header, a generated one, one of a third repository),
#      and the must-not-compile cases of the permission states (nc_test);
#   2. tests //... and //:exec_states_test with --@memory_pages//:allow_exec
#      (mp_pages_rx exists, mp_pages_rwx does not);
#   3. the same with --@memory_pages//:deny_xw=false too (mp_pages_rwx exists);
#   4. runs the generator, `bazel run @memory_pages//gen:mpgen -- --help`, and
#      checks that its usage names the three subcommands.
# It stops that server at the end and exits nonzero if any step failed.
#
# Usage: tests/outside/run.sh
# Environment:
#   MP_OUTSIDE_OUTPUT_ROOT  the scratch folder: the workspace copy and Bazel's
#                           output root (default: one per checkout under /tmp,
#                           kept between runs so that reruns are incremental).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
checkout_id=$(printf '%s' "$root" | md5sum | cut -c1-12)
out_root=${MP_OUTSIDE_OUTPUT_ROOT:-/tmp/memory_pages_outside_$checkout_id}
ws="$out_root/workspace"

# A fresh copy of the workspace, without any bazel-* links of an in-place run.
rm -rf "$ws"
mkdir -p "$ws"
cp -R "$root/tests/outside/." "$ws/"
rm -f "$ws"/bazel-*

# The committed WORKSPACE says path = "../.."; the copy needs the real root.
sed -i "s|^    path = \"../..\",\$|    path = \"$root\",|" "$ws/WORKSPACE"
if ! grep -qF "path = \"$root\"," "$ws/WORKSPACE"; then
    echo "run.sh: could not point $ws/WORKSPACE at $root" >&2
    exit 1
fi

bazel_outside() {
    (cd "$ws" && bazel --output_user_root="$out_root/bazel" "$@")
}
trap 'bazel_outside shutdown >/dev/null 2>&1 || true' EXIT

failed=0
step() {
    local name=$1
    shift
    echo "--- outside: $name"
    if bazel_outside "$@"; then
        echo "--- outside: $name: PASSED"
    else
        echo "--- outside: $name: FAILED"
        failed=1
    fi
}

# Test logs of failing tests are shown in full.
test=(test --test_output=errors)
# Each combination gets an output directory of its own (as in the main
# .bazelrc), so that a rerun rebuilds nothing.
exec_flags=(--@memory_pages//:allow_exec --platform_suffix=-exec)
rwx_flags=(--@memory_pages//:allow_exec --@memory_pages//:deny_xw=false --platform_suffix=-rwx)

step "default features" "${test[@]}" //...
step "allow_exec" "${test[@]}" "${exec_flags[@]}" //...
step "allow_exec: mp_pages_rx" "${test[@]}" "${exec_flags[@]}" \
    --test_arg=--expect-rwx=0 //:exec_states_test
step "allow_exec, deny_xw=false" "${test[@]}" "${rwx_flags[@]}" //...
step "allow_exec, deny_xw=false: mp_pages_rwx" "${test[@]}" "${rwx_flags[@]}" \
    --test_arg=--expect-rwx=1 //:exec_states_test

# The generator as a tool of an external repository: its runfiles are laid
# out differently from those in memory_pages's own workspace.
echo "--- outside: bazel run @memory_pages//gen:mpgen -- --help"
if usage=$(bazel_outside run @memory_pages//gen:mpgen -- --help) &&
    grep -q '^usage: mpgen.py .*{states,vec,fnref}' <<<"$usage" &&
    grep -q '^ *states ' <<<"$usage" &&
    grep -q '^ *vec ' <<<"$usage" &&
    grep -q '^ *fnref ' <<<"$usage"; then
    echo "--- outside: bazel run @memory_pages//gen:mpgen -- --help: PASSED"
else
    printf '%s\n' "${usage:-}"
    echo "--- outside: bazel run @memory_pages//gen:mpgen -- --help: FAILED (no usage naming states, vec and fnref)"
    failed=1
fi

exit "$failed"
