// What the seal tests need to know of the kernel, asked of it directly
// rather than of the library under test: whether mseal exists here.
#ifndef MEMORY_PAGES_TESTS_SEAL_SEAL_SUPPORT_H
#define MEMORY_PAGES_TESTS_SEAL_SEAL_SUPPORT_H

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace seal_support {

// Whether the kernel seals: mseal (Linux 6.10+, 64-bit kernels; number 462
// on every architecture the suite runs on) of an empty range succeeds there
// and seals nothing, and fails with ENOSYS or EPERM elsewhere (older
// kernels, 32-bit kernels, qemu-user that does not know the call).
// Windows and macOS have no such call.
inline bool KernelSeals() {
#ifdef __linux__
    return syscall(462, nullptr, 0, 0) == 0;
#else
    return false;
#endif
}

// The reason of the skips where it cannot (tools/test_results.py knows it).
constexpr const char *kNoMseal =
    "this system has no mseal (Linux 6.10+ on a 64-bit kernel): the library said MP_ENOTSUP, "
    "checked above; what a sealed range refuses cannot be checked here";

} // namespace seal_support

#endif // MEMORY_PAGES_TESTS_SEAL_SEAL_SUPPORT_H
