#!/bin/sh
# Runs a Windows test program under wine: bazel test --config=mingw uses it
# as --run_under. Usage: run_wine.sh PROGRAM [ARGS...]
#
# Tests that are not Windows programs (py_test and sh_test scripts, which run
# on this machine) are run directly: wine would start them as Unix programs
# and lose their exit status, so that a failing script would pass.
#
# All tests share one scratch wine prefix outside the test sandboxes
# (MP_WINEPREFIX, default /tmp/memory_pages-wine-UID), so that wine sets it up
# once (about 30 s) instead of once per test. A persistent wineserver serves
# every test; it is started with all of its output detached, or the test
# runner would wait for it forever on the inherited pipes.
set -eu

if [ "$(head -c 2 "$1")" != "MZ" ]; then
    exec "$@"
fi

# Tests that check what only a real kernel does (not what the contract
# promises) may skip visibly under an emulator; this names it.
MP_TEST_EMULATOR=wine
export MP_TEST_EMULATOR

WINEPREFIX=${MP_WINEPREFIX:-/tmp/memory_pages-wine-$(id -u)}
# No debug chatter; no winedbg when a death test makes its child crash.
WINEDEBUG=-all
WINEDLLOVERRIDES=winedbg.exe=d
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES

# Sets the prefix up and starts the server once, even when many tests start
# at the same moment.
mkdir -p "$(dirname "$WINEPREFIX")"
(
    flock 9
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        wineboot --init </dev/null >/dev/null 2>&1
    fi
    wineserver -p </dev/null >/dev/null 2>&1 &
) 9>"$WINEPREFIX.lock"

# Windows programs see the Unix root as drive Z:, and GoogleTest on Windows
# cannot create files at Unix paths: hand it the Z:\ form of every path that
# Bazel passes (the XML report, the temporary and output directories, the
# premature-exit and shard-status files).
to_windows_path() {
    printf 'Z:%s' "$1" | tr / '\134'
}
for var in XML_OUTPUT_FILE TEST_TMPDIR TEST_SRCDIR TEST_UNDECLARED_OUTPUTS_DIR \
    TEST_UNDECLARED_OUTPUTS_ANNOTATIONS_DIR TEST_PREMATURE_EXIT_FILE TEST_SHARD_STATUS_FILE \
    TEST_WARNINGS_OUTPUT_FILE TEST_INFRASTRUCTURE_FAILURE_FILE; do
    value=$(printenv "$var" || true)
    case "$value" in
    /*) eval "export $var=\"\$(to_windows_path \"\$value\")\"" ;;
    esac
done
case "${GTEST_OUTPUT:-}" in
xml:/*) GTEST_OUTPUT="xml:$(to_windows_path "${GTEST_OUTPUT#xml:}")" && export GTEST_OUTPUT ;;
esac

exec wine "$@"
