/*
 * What the OS says about this process's memory, for tests that check the
 * library's effect on it rather than its return values.
 *
 * Mappings come from Linux's /proc/self/maps, and on Windows from
 * VirtualQuery; smaps from /proc/self/smaps (on Linux only); residency from mincore() (on POSIX
 * systems). Each function returns false where the facts are not available, and the tests skip with
 * a reason then.
 */
#ifndef MEMORY_PAGES_TESTS_SUPPORT_MEMORY_FACTS_H
#define MEMORY_PAGES_TESTS_SUPPORT_MEMORY_FACTS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mp_test {

/* One line of /proc/self/maps, or one region VirtualQuery reports. */
struct Mapping {
    uintptr_t start = 0;
    uintptr_t end = 0;
    bool read = false;
    bool write = false;
    bool exec = false;
    std::string line; /* the whole line, for messages */
};

/* Reads every mapping of this process into *out. */
bool ReadMaps(std::vector<Mapping> *out);

/* Returns the mapping in maps that holds addr, or nullptr. */
const Mapping *FindMapping(const std::vector<Mapping> &maps, const void *addr);

/* Sets *out to the lines of every mapping that is writable and executable
 * at once. */
bool FindWritableAndExecutable(std::vector<std::string> *out);

/* The /proc/self/smaps entry of one mapping. */
struct SmapsEntry {
    std::vector<std::string> vm_flags; /* the two-letter VmFlags, e.g. "dd", "lo", "hg" */
    size_t kernel_page_size = 0;       /* bytes */
    size_t locked = 0;                 /* bytes */

    bool HasFlag(const std::string &flag) const;
};

/* Reads the smaps entry of the mapping that holds addr. */
bool ReadSmaps(const void *addr, SmapsEntry *out);

/* Sets *out to the number of pages of [addr, addr + len) that are resident
 * in RAM. addr is page-aligned. */
bool ResidentPages(const void *addr, size_t len, size_t *out);

/* Whether this platform shows the effect of each option in the facts above.
 * Each tries the option on a scratch mapping of its own, with the system call
 * the library uses, and looks. They are false where the facts are missing,
 * and under emulators such as qemu-user, which accept madvise advice without
 * passing it on to the kernel. */
bool NoDumpIsVisible();       /* MADV_DONTDUMP shows as VmFlags "dd" */
bool HugePageHintIsVisible(); /* MADV_HUGEPAGE shows as VmFlags "hg" */
bool PopulateIsVisible();     /* populating makes pages resident */
bool LockIsVisible();         /* mlock shows as VmFlags "lo" (AddressSanitizer ignores it) */

/* Locks pages pages of scratch memory of its own with the system call the
 * library uses for the lock option (mlock; VirtualLock on Windows), unlocks
 * and unmaps them, and returns 0 when the lock succeeded, else the OS error
 * code (errno; GetLastError() on Windows). Tests that use the lock option
 * call it first, so that they skip only when the OS refuses locking itself,
 * not on any failure of a call that has other options too. */
int LockProbeError(size_t pages);

/* Whether err, from LockProbeError, is how the OS refuses a lock over the
 * process's limit (RLIMIT_MEMLOCK: ENOMEM, EAGAIN) or without the privilege
 * (EPERM); ERROR_WORKING_SET_QUOTA on Windows. */
bool IsLockLimitError(int err);

/* The text of an error code of LockProbeError, for skip messages. */
std::string LockErrorText(int err);

} // namespace mp_test

#endif /* MEMORY_PAGES_TESTS_SUPPORT_MEMORY_FACTS_H */
