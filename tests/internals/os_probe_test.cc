// The capabilities the OS layer learns at load (mp_os_caps, runtime/os.h):
// each field against what the system shows when the test asks it by other
// means, and the probe with each of its system calls failing in turn.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif
#endif

#include "memory_pages/runtime.h"
#include "runtime/os.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"

namespace {

#ifdef __linux__
// The contents of a file, or "" when it cannot be read.
std::string Slurp(const char *path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// One fresh read-write page, or nullptr.
void *FreshPage() {
    void *p =
        mmap(nullptr, mp_page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

size_t HugePageSizeFromMeminfo() {
    std::string meminfo = Slurp("/proc/meminfo");
    size_t at = meminfo.find("Hugepagesize:");
    unsigned long kib = 0;
    if (at == std::string::npos ||
        std::sscanf(meminfo.c_str() + at, "Hugepagesize: %lu kB", &kib) != 1) {
        return 0;
    }
    return kib * 1024;
}

// Whether an advice works on a real page (the probe asks with an empty range).
bool AdviceWorks(int advice) {
    void *p = FreshPage();
    if (p == nullptr) return false;
    bool works = madvise(p, mp_page_size(), advice) == 0;
    munmap(p, mp_page_size());
    return works;
}

bool FixedNoReplaceRefuses() {
    void *p = FreshPage();
    if (p == nullptr) return false;
    void *q = mmap(p, mp_page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    bool refused = q == MAP_FAILED && errno == EEXIST;
    if (q != MAP_FAILED && q != p) munmap(q, mp_page_size());
    munmap(p, mp_page_size());
    return refused;
}

// Seals one page of its own for the life of the process, where mseal exists.
// 462 is mseal in the tables of every architecture; a 64-bit kernel
// serves it to 32-bit programs too (i686 natively), qemu-user may not.
bool SealWorks() {
    void *p = FreshPage();
    return p != nullptr && syscall(462, p, mp_page_size(), 0UL) == 0;
}

bool SyncCoreOffered() {
    long cmds = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0);
    return cmds > 0 && (cmds & (1 << 5)) != 0;
}
#endif

std::string Describe(const mp_os_caps &c) {
    std::ostringstream s;
    s << "page " << c.page_size << " B, granularity " << c.granularity << " B, huge pages "
      << c.huge_page_size << " B, thp " << c.thp << ", populate_write " << c.populate_write
      << ", no_dump " << c.no_dump << ", remap " << c.remap << ", mseal " << c.mseal
      << ", fixed_noreplace " << c.fixed_noreplace << ", sync_core " << c.sync_core;
    return s.str();
}

TEST(OsProbe, EachFieldIsWhatTheSystemShows) {
    const mp_os_caps &c = *mp_os_capabilities();
    std::printf("[ caps     ] %s\n", Describe(c).c_str());
    EXPECT_EQ(&c, &mp__os_cfg);
    EXPECT_EQ(c.page_size, mp_page_size());
    EXPECT_EQ(c.granularity, mp_alloc_granularity());
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    EXPECT_EQ(c.page_size, info.dwPageSize);
    EXPECT_EQ(c.granularity, info.dwAllocationGranularity);
    EXPECT_EQ(c.huge_page_size, 0u);
    EXPECT_FALSE(c.thp || c.populate_write || c.no_dump || c.remap || c.mseal);
    EXPECT_TRUE(c.fixed_noreplace);
    EXPECT_TRUE(c.sync_core);
#else
    EXPECT_EQ(c.page_size, static_cast<size_t>(sysconf(_SC_PAGESIZE)));
    EXPECT_EQ(c.granularity, c.page_size);
#ifdef __linux__
    EXPECT_EQ(c.huge_page_size, HugePageSizeFromMeminfo());
    std::string thp = Slurp("/sys/kernel/mm/transparent_hugepage/enabled");
    EXPECT_EQ(c.thp, !thp.empty() && thp.find("[never]") == std::string::npos) << thp;
    EXPECT_EQ(c.populate_write, AdviceWorks(23 /* MADV_POPULATE_WRITE */));
    EXPECT_EQ(c.no_dump, AdviceWorks(MADV_DONTDUMP));
    EXPECT_TRUE(c.remap);
    EXPECT_EQ(c.fixed_noreplace, FixedNoReplaceRefuses());
    EXPECT_EQ(c.sync_core, SyncCoreOffered());
    EXPECT_EQ(c.mseal, SealWorks());
#endif
#endif
}

// Each system call of the probe fails in turn, with each error: the probe
// then reports no more than it did without the failure (a capability it
// could not confirm is absent, the page size falls back to the smallest
// one), keeps errno, and leaves no mapping behind.
TEST(OsProbe, AFailingCallOnlyTakesCapabilitiesAway) {
    const mp_os_caps real = mp__os_cfg;
    const int errors[] = {
#ifdef _WIN32
        8,
        5,
        87,
#else
        ENOMEM,
        EPERM,
        EINVAL,
        ENOSYS,
#endif
    };
    unsigned walked = 0;
    for (int error : errors) {
        for (unsigned n = 1;; n++) {
            const int before = mappings_count();
            mp_os_caps c;
            std::memset(&c, 0xA5, sizeof c);
            errno = 1234;
            sys_fault_arm(n, error);
            mp__os_probe(&c);
            const int errno_after = errno;
            const sys_call *fired = sys_fault_fired();
            sys_fault_uninstall();
            if (fired == nullptr) break;
            walked++;
            const std::string what = std::string(fired->entry) + " #" + std::to_string(fired->nth) +
                                     " failing with " + std::to_string(error);
#ifndef _WIN32
            // A page of the MAP_FIXED_NOREPLACE probe that could not be
            // unmapped stays behind: the test gives it back itself.
            if (std::strcmp(fired->entry, "munmap") == 0) {
                munmap(reinterpret_cast<void *>(fired->arg[0]), fired->arg[1]);
            }
#endif
            EXPECT_EQ(errno_after, 1234) << what;
            EXPECT_EQ(mappings_count(), before) << what;
            const bool sysconf_failed = std::strcmp(fired->entry, "sysconf") == 0;
            EXPECT_EQ(c.page_size, sysconf_failed ? 4096 : real.page_size) << what;
            EXPECT_TRUE(c.huge_page_size == real.huge_page_size || c.huge_page_size == 0) << what;
            EXPECT_LE(c.thp, real.thp) << what;
            EXPECT_LE(c.populate_write, real.populate_write) << what;
            EXPECT_LE(c.no_dump, real.no_dump) << what;
            EXPECT_EQ(c.remap, real.remap) << what;
            EXPECT_LE(c.mseal, real.mseal) << what;
            EXPECT_LE(c.fixed_noreplace, real.fixed_noreplace) << what;
            EXPECT_LE(c.sync_core, real.sync_core) << what;
        }
    }
#ifdef _WIN32
    // GetSystemInfo, the probe's one call, cannot fail.
    EXPECT_EQ(walked, 0u);
#else
    // sysconf, open, madvise, mmap, mseal and membarrier at least.
    EXPECT_GE(walked, 6u * (sizeof errors / sizeof errors[0]));
#endif
    mp_os_caps again;
    mp__os_probe(&again);
    EXPECT_EQ(Describe(again), Describe(real));
}

} // namespace
