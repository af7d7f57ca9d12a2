#!/bin/sh
# Runs a Linux i686 test program (gcc -m32): bazel test --config=i686 uses it
# as --run_under. Usage: run_i686.sh PROGRAM [ARGS...]
#        run_i686.sh --probe   prints "native" or "qemu" (see below) and exits
#
# A 64-bit x86 kernel runs 32-bit programs only with its IA-32 emulation
# switched on. On the machines of this project it is off ("IA-32 emulation
# off ... i386 execve returns ENOEXEC" in the kernel log), and every i686
# test failed with "Exec format error". So each run first tries a tiny
# 32-bit program (the probe below): when the kernel runs it, the test runs
# natively, as on any machine with IA-32 emulation; when the kernel refuses it
# with ENOEXEC, the test runs under qemu-i386-static (user mode). Any other
# outcome is an error, never a silent choice: the i686 target is never skipped.
#
# Under qemu the program is the same dynamically linked binary as natively.
# qemu-user loads its ELF interpreter, /lib/ld-linux.so.2, and the 32-bit
# libraries (/usr/lib32) from this machine's file system: libc6-i386 (which
# gcc-12-multilib pulls in through libc6-dev-i386) installs them, so no
# sysroot is needed and "-L /" (no prefix) only makes sure that a
# QEMU_LD_PREFIX in the environment does not send qemu elsewhere.
#
# Tests that are not i686 programs (py_test and sh_test scripts, which run on
# this machine) are run directly.
set -eu

# Prints "native" when this machine's kernel executes a 32-bit x86 program,
# "qemu" when it refuses one with ENOEXEC; anything else (a probe that cannot
# be written or run for another reason) is a one-line error and exit status 1.
# The probe is a 96-byte static i386 ELF program made here (so that no
# compiler and no binary file in the repository are needed) whose only code is
# exit(42) through int 0x80; exit status 42 shows that its code really ran.
# Python runs it because it reports the errno of execve() as it is: a shell,
# or execvp(), would run a file the kernel refuses as a shell script instead.
probe() {
    python3 - <<'EOF'
import errno
import os
import struct
import subprocess
import sys
import tempfile

# mov eax, 1 (exit); mov ebx, 42; int 0x80
code = bytes([0xB8, 1, 0, 0, 0, 0xBB, 42, 0, 0, 0, 0xCD, 0x80])
base = 0x08048000
ehdr_size, phdr_size = 52, 32
size = ehdr_size + phdr_size + len(code)
# ELFCLASS32, ELFDATA2LSB, EV_CURRENT; ET_EXEC, EM_386; one PT_LOAD (R+X)
# segment that maps the whole file at base.
ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
ehdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, base + ehdr_size + phdr_size,
                           ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 0, 0, 0)
phdr = struct.pack("<IIIIIIII", 1, 0, base, base, size, size, 5, 0x1000)

with tempfile.TemporaryDirectory(prefix="run_i686-") as folder:
    path = os.path.join(folder, "probe")
    with open(path, "wb") as f:
        f.write(ehdr + phdr + code)
    os.chmod(path, 0o755)
    try:
        status = subprocess.run([path]).returncode
    except OSError as e:
        if e.errno == errno.ENOEXEC:
            print("qemu")
            sys.exit(0)
        sys.exit(f"run_i686: cannot tell whether this machine runs 32-bit x86 programs: "
                 f"running a 32-bit probe in {folder} failed: {e.strerror}")
    if status != 42:
        sys.exit(f"run_i686: a 32-bit probe program exited with {status}, not 42: "
                 f"this machine neither runs it right nor refuses it")
    print("native")
EOF
}

if [ "${1:-}" = "--probe" ]; then
    probe
    exit
fi

# An i386 ELF file: the ELF magic, and machine EM_386 (3) at offset 18.
magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
machine=$(od -An -tu2 -j18 -N2 "$1" | tr -d ' \n')
if [ "$magic" != "7f454c46" ] || [ "$machine" != "3" ]; then
    exec "$@"
fi

mode=$(probe)
if [ "$mode" = "native" ]; then
    echo "run_i686: running natively (this kernel executes 32-bit x86 programs)" >&2
    exec "$@"
fi
if ! command -v qemu-i386-static >/dev/null 2>&1; then
    echo "run_i686: this kernel does not execute 32-bit x86 programs and qemu-i386-static is missing (apt-get install qemu-user-static)" >&2
    exit 1
fi
echo "run_i686: running under qemu-i386-static (this kernel does not execute 32-bit x86 programs)" >&2
# Tests that check what only a real kernel does may skip visibly under an
# emulator, exactly as under qemu-aarch64-static: qemu-user (7.2) accepts
# madvise() advice such as MADV_DONTDUMP or MADV_POPULATE_WRITE without
# passing it on, and does not apply RLIMIT_AS or RLIMIT_DATA to the guest.
MP_TEST_EMULATOR=qemu-user
export MP_TEST_EMULATOR
exec qemu-i386-static -L / "$@"
