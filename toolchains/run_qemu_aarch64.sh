#!/bin/sh
# Runs a Linux aarch64 test program under qemu user-mode emulation: bazel
# test --config=aarch64 uses it as --run_under. binfmt_misc is not mounted
# on these machines, so qemu is called directly; -L points it at Debian's
# aarch64 cross glibc. Usage: run_qemu_aarch64.sh PROGRAM [ARGS...]
#
# Tests that are not aarch64 programs (py_test and sh_test scripts, which run
# on this machine) are run directly.
set -eu

# An aarch64 ELF file: the ELF magic, and machine EM_AARCH64 (183) at offset 18.
magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
machine=$(od -An -tu2 -j18 -N2 "$1" | tr -d ' \n')
if [ "$magic" = "7f454c46" ] && [ "$machine" = "183" ]; then
    # Tests that check what only a real kernel does may skip visibly under
    # an emulator: qemu-user (7.2) accepts madvise() advice such as
    # MADV_DONTDUMP or MADV_POPULATE_WRITE without passing it on.
    MP_TEST_EMULATOR=qemu-user
    export MP_TEST_EMULATOR
    exec qemu-aarch64-static -L /usr/aarch64-linux-gnu "$@"
fi
exec "$@"
