// Placement near an address (os.h reserve_near), every raw system call made
// to fail in turn (fault_injection.h, sys_faults.h): the reading of
// /proc/self/maps (open, read, close), each candidate's mmap with
// MAP_FIXED_NOREPLACE, and the calls that follow; on Windows VirtualAlloc2,
// VirtualQuery and each candidate's VirtualAlloc. The status must be the
// mapped one or that of the documented branch, the out handle untouched on
// failure, and no reservation or mapping left behind.
//
// The cache of free gaps (os_posix.c): placements near two targets far
// apart in turn read /proc/self/maps no more once it holds their gaps, and
// with the guesses off every placement reads it.
//
// Then kernels without MAP_FIXED_NOREPLACE, which take the address as a
// hint: a raw mmap that places the first candidate elsewhere must be
// unmapped and the next tried, and when that munmap fails the placement
// fails with its status and leaves nothing but the one mapping it could not
// give back; a stale gap of the cache is never replaced; and with every
// call a plain hint, filling a window until MP_ENOMEM must still replace no
// mapping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "runtime/os.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"
#include "tests/internals/sys_faults.h"

#ifdef __linux__
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/near/stale_gap.h"
#endif

#ifndef _WIN32
#include "runtime/sys_posix.h"
#else
// windef.h (through sys_faults.h) defines `near` as nothing; this file names
// the field mp_pages_opts.near.
#undef near
#endif

namespace {

using sys_faults::Describe;
using sys_faults::OsError;
using sys_faults::OsErrors;
using sys_faults::Walk;

const unsigned kRW = MP__PROT_READ | MP__PROT_WRITE;

extern "C" int near_fault_anchor(int x) {
    return x * 3;
}

const void *Anchor() {
    return reinterpret_cast<const void *>(&near_fault_anchor);
}

uintptr_t Distance(uintptr_t a, uintptr_t b) {
    return a > b ? a - b : b - a;
}

#ifdef __linux__
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#endif

// What a failed raw call of a placement must give: the branches of
// reserve_near, else the platform file's plain rules (sys_faults.h).
sys_faults::Expected NearExpected(const sys_call &c, int code) {
#ifdef _WIN32
    if (sys_faults::Entry(c, "VirtualAlloc2")) {
        return {MP_OK, "VirtualAlloc2 fails -> VirtualQuery listing"};
    }
    if (sys_faults::Entry(c, "VirtualAlloc") && (c.arg[2] & MEM_RESERVE) && c.arg[0] != 0 &&
        (code == ERROR_NOT_ENOUGH_MEMORY || code == ERROR_INVALID_ADDRESS ||
         code == ERROR_INVALID_PARAMETER)) {
        return {MP_OK, "VirtualAlloc at a candidate fails for room -> next candidate"};
    }
    if (sys_faults::Entry(c, "VirtualQuery") && code == ERROR_INVALID_PARAMETER) {
        // Past the highest application address: the listing ends there, and
        // what it found so far decides (MP_OK, or MP_ENOMEM if nothing).
        return {MP_OK, "VirtualQuery ERROR_INVALID_PARAMETER -> the listing ends"};
    }
#else
    // A placement: an address given, without MAP_FIXED (with
    // MAP_FIXED_NOREPLACE, or as a plain hint where the probe found that
    // flag unknown, as under qemu-user).
    if (sys_faults::Entry(c, "mmap") && c.arg[0] != 0 && !(c.arg[3] & MAP_FIXED) &&
        (code == ENOMEM || code == EPERM)) {
        return {MP_OK, "mmap at a candidate ENOMEM/EPERM -> next candidate"};
    }
    if (sys_faults::Entry(c, "close")) {
        return {MP_OK, "close of /proc/self/maps fails -> ignored (the kernel answered)"};
    }
#endif
    return sys_faults::PlatformExpected(c, code);
}

class NearSysFault : public ::testing::Test {
  protected:
    void SetUp() override {
        // The registry's first slots and the page sizes, before any walk.
        mp__ref warm{};
        mp_pages_opts opts{};
        opts.near = Anchor();
        opts.max_distance = 64u << 20;
        ASSERT_EQ(mp__pages_new(1, &opts, kRW, &warm), MP_OK);
        ASSERT_EQ(mp__pages_free(&warm, kRW), MP_OK);
        (void)mappings_count();
        fault_install();
        sys_fault_install();
    }
    void TearDown() override {
        sys_fault_uninstall();
        fault_uninstall();
    }
};

// Every raw call, with the guesses (the last placement, the cache of gaps:
// os_posix.c) first, then with them off, so that the kernel is asked every
// time (mapping by mapping where it knows PROCMAP_QUERY), then with the
// walk off too, so that /proc/self/maps is read every time.
TEST_F(NearSysFault, NewNearEveryCall) {
    const size_t page = mp_page_size(), distance = 64u << 20;
    int total = 0;
#ifdef __linux__
    struct Mode {
        bool cache_off, query_off;
        const char *name;
    };
    for (const Mode &m :
         {Mode{false, false, " (guesses first)"}, Mode{true, false, " (guesses off)"},
          Mode{true, true, " (guesses and walk off)"}}) {
        mp__near_cache_off = m.cache_off;
        mp__near_query_off = m.query_off;
        const char *mode = m.name;
#else
    {
        const char *mode = "";
#endif
        mp_pages_opts opts{};
        opts.near = Anchor();
        opts.max_distance = distance;
        opts.guard_pages_before = opts.guard_pages_after = 1;
        for (const OsError &e : OsErrors()) {
            const std::string what = std::string("new rw near the test's code") + mode;
            int injected = Walk(what, e, [&](unsigned n) {
                mp__ref out{0xdeadbeef, 0xfeedface};
                sys_fault_arm(n, e.code);
                mp_status s = mp__pages_new(2 * page, &opts, kRW, &out);
                int err = mp_os_error();
                sys_fault_disarm();
                const sys_call *fired = sys_fault_fired();
                if (fired == nullptr) {
                    EXPECT_EQ(s, MP_OK) << what << ": with no raw call failing";
                } else {
                    sys_faults::Expected want = NearExpected(*fired, e.code);
                    if (want.branch == "VirtualQuery ERROR_INVALID_PARAMETER -> the listing ends" &&
                        s == MP_ENOMEM) {
                        want.status = MP_ENOMEM;
                    }
                    EXPECT_EQ(s, want.status)
                        << what << ", " << Describe(*fired) << " failing with " << e
                        << (want.branch.empty() ? "" : ": " + want.branch);
                    if (s != MP_OK && want.status != MP_OK && want.branch.empty()) {
                        EXPECT_EQ(err, e.code)
                            << what << ": mp_os_error() after " << Describe(*fired);
                    }
                    sys_faults::CountBranch(want.branch);
                }
                if (s == MP_OK) {
                    const auto data = reinterpret_cast<uintptr_t>(mp__pages_data(&out, kRW));
                    const uintptr_t n0 = reinterpret_cast<uintptr_t>(Anchor());
                    EXPECT_LE(Distance(data - page, n0), distance) << what;
                    EXPECT_LE(Distance(data + 3 * page - 1, n0), distance) << what;
                    EXPECT_EQ(mp__pages_free(&out, kRW), MP_OK) << what;
                } else {
                    EXPECT_EQ(out.slot, 0xdeadbeefu) << what << ": out was written";
                    EXPECT_EQ(out.gen, 0xfeedfaceu) << what << ": out was written";
                }
            });
            EXPECT_GE(injected, 2) << what << " with " << e << ": a placement, a commit";
            total += injected;
        }
    }
#ifdef __linux__
    mp__near_cache_off = mp__near_query_off = false;
#endif
    std::printf("[ faults   ] %d injected into placements near an address\n", total);
    std::vector<std::string> required;
#ifdef _WIN32
    required.push_back("VirtualAlloc2 fails -> VirtualQuery listing");
#else
    required.push_back("mmap at a candidate ENOMEM/EPERM -> next candidate");
    required.push_back("close of /proc/self/maps fails -> ignored (the kernel answered)");
    required.push_back("ioctl(PROCMAP_QUERY) fails -> /proc/self/maps is read");
#endif
    for (const auto &b : required) {
        EXPECT_GE(sys_faults::Branches()[b], 1) << "the branch \"" << b << "\" never ran";
    }
    sys_faults::PrintBranches();
}

#ifdef __linux__
extern "C" int near_fault_far_anchor(int x) {
    return x * 5;
}

// How many times the kernel was asked for the mappings (/proc/self/maps
// opened, to be walked or read) since sys_fault_arm.
int MapsReadings() {
    return sys_faults::Logged("open");
}

// Whether this kernel answers PROCMAP_QUERY (Linux 6.11) on /proc/self/maps:
// asked directly, with the 104 bytes of its argument laid out by hand (size,
// flags: the mapping at or after the address, the address).
bool KernelAnswersProcmapQuery() {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    uint64_t arg[13] = {sizeof arg, 0x10, reinterpret_cast<uintptr_t>(Anchor())};
    const bool answers = ioctl(fd, _IOWR('f', 17, uint64_t[13]), arg) == 0;
    close(fd);
    return answers;
}

// Where the kernel answers PROCMAP_QUERY, a placement that must ask walks
// the mappings of its window and never reads the file: ioctl calls, no read.
TEST_F(NearSysFault, WalkSparesReadingTheFile) {
    if (!KernelAnswersProcmapQuery()) {
        // qemu-user's /proc/self/maps is a file of its own, without it too.
        GTEST_SKIP() << "this kernel has no PROCMAP_QUERY (Linux 6.11+) on /proc/self/maps";
    }
    const size_t page = mp_page_size();
    mp_pages_opts opts{};
    opts.near = Anchor();
    opts.max_distance = 1u << 20;
    mp__near_cache_off = true;
    sys_fault_arm(1000000, EINVAL);
    mp__ref r{};
    const mp_status s = mp__pages_new(page, &opts, kRW, &r);
    const int queries = sys_faults::Logged("ioctl"), reads = sys_faults::Logged("read");
    sys_fault_disarm();
    mp__near_cache_off = false;
    ASSERT_EQ(s, MP_OK);
    const auto at = reinterpret_cast<uintptr_t>(mp__pages_data(&r, kRW));
    EXPECT_LE(Distance(at, reinterpret_cast<uintptr_t>(opts.near)), opts.max_distance);
    EXPECT_LE(Distance(at + page - 1, reinterpret_cast<uintptr_t>(opts.near)), opts.max_distance);
    EXPECT_EQ(mp__pages_free(&r, kRW), MP_OK);
    EXPECT_GE(queries, 1) << "the kernel was not asked mapping by mapping";
    EXPECT_EQ(reads, 0) << "the file was read although the kernel answers PROCMAP_QUERY";
}

// A window crowded with mappings (more than a walk asks for) is listed from
// the file, and the placement lands in the one hole the window has.
TEST_F(NearSysFault, CrowdedWindowIsReadFromTheFile) {
    const size_t page = mp_page_size(), pages = 64;
    auto *field = static_cast<char *>(
        mmap(nullptr, pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(field, MAP_FAILED);
    // Every other page readable: 64 mappings, then a hole of 4 pages in
    // the middle.
    for (size_t i = 1; i < pages; i += 2)
        ASSERT_EQ(mprotect(field + i * page, page, PROT_READ), 0);
    char *hole = field + (pages / 2 - 2) * page;
    ASSERT_EQ(munmap(hole, 4 * page), 0);
    mp_pages_opts opts{};
    opts.near = hole + 2 * page;
    opts.max_distance = 24 * page; // 48 pages of the field, about 44 mappings
    mp__near_cache_off = true;
    sys_fault_arm(1000000, EINVAL);
    mp__ref r{};
    const mp_status s = mp__pages_new(page, &opts, kRW, &r);
    const int reads = sys_faults::Logged("read");
    sys_fault_disarm();
    mp__near_cache_off = false;
    ASSERT_EQ(s, MP_OK);
    char *at = static_cast<char *>(mp__pages_data(&r, kRW));
    EXPECT_TRUE(at >= hole && at + page <= hole + 4 * page)
        << "placed outside the only hole of the window";
    EXPECT_GE(reads, 1) << "the crowded window was not read from the file";
    EXPECT_EQ(mp__pages_free(&r, kRW), MP_OK);
    EXPECT_EQ(munmap(field, pages * page), 0);
}

TEST_F(NearSysFault, CacheSparesReadingTheMap) {
    // Two targets: this binary's code, and a page mapped where the system
    // puts mappings (among the shared libraries, far from the binary on
    // Linux). The window is narrower than the distance between them, so
    // neither's last placement is of use to the other. The page is the
    // middle of a 16 MiB reservation whose rest is given back, so there is
    // room on both sides: the shared libraries can lie packed for more than
    // the window around a page mapped alone (ASan's did, in one run of
    // five, and this test then failed for want of room, not of the cache).
    const size_t page = mp_page_size();
    const size_t room = size_t{16} << 20;
    auto *reserved =
        static_cast<char *>(mmap(nullptr, room, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(reserved, MAP_FAILED);
    char *elsewhere = reserved + room / 2;
    ASSERT_EQ(munmap(reserved, room / 2), 0);
    ASSERT_EQ(munmap(elsewhere + page, room / 2 - page), 0);
    const void *targets[2] = {Anchor(), elsewhere};
    mp_pages_opts opts{};
    opts.max_distance = 1u << 20;
    ASSERT_GT(
        Distance(reinterpret_cast<uintptr_t>(targets[0]), reinterpret_cast<uintptr_t>(targets[1])),
        4 * opts.max_distance)
        << "the system mapped a page within 4 MiB of the test's code";
    auto place_in_turn = [&](int count) {
        for (int i = 0; i < count; i++) {
            opts.near = targets[i % 2];
            mp__ref r{};
            ASSERT_EQ(mp__pages_new(page, &opts, kRW, &r), MP_OK) << "placement " << i;
            const auto at = reinterpret_cast<uintptr_t>(mp__pages_data(&r, kRW));
            EXPECT_LE(Distance(at, reinterpret_cast<uintptr_t>(opts.near)), opts.max_distance);
            EXPECT_LE(Distance(at + page - 1, reinterpret_cast<uintptr_t>(opts.near)),
                      opts.max_distance);
            ASSERT_EQ(mp__pages_free(&r, kRW), MP_OK);
        }
    };
    mp__near_cache_off = false;
    place_in_turn(2); // a reading, if the cache has not got these gaps yet
    sys_fault_arm(1000000, EINVAL);
    place_in_turn(20);
    const int cached = MapsReadings();
    sys_fault_disarm();
    EXPECT_EQ(cached, 0) << "20 placements near far-apart targets in turn read the map: the "
                            "cache did not answer";
    mp__near_cache_off = true;
    sys_fault_arm(1000000, EINVAL);
    place_in_turn(4);
    const int uncached = MapsReadings();
    sys_fault_disarm();
    mp__near_cache_off = false;
    EXPECT_EQ(uncached, 4) << "with the guesses off, every placement reads the map";
    EXPECT_EQ(munmap(elsewhere, page), 0);
}

// ---- Kernels without MAP_FIXED_NOREPLACE (before Linux 4.17) ----

int g_misplace; // how many placements still to place far away
long g_misplaced;
uintptr_t g_window = uintptr_t{64} << 20; // the max_distance of the tests below

// The mmap under the old kernel's: the system's, or the fault table's
// counting one (which the cleanup walk below fails in turn).
void *(*g_next_mmap)(void *, size_t, int, int, int, off_t) = mp__sys_native.mmap;

// An mmap as a kernel that does not know MAP_FIXED_NOREPLACE: the flag is
// ignored, so the address is only a hint. With g_misplace, the next
// placements (an address given without MAP_FIXED) are placed wherever the
// kernel likes (no hint), as such a kernel does when the hinted range is
// taken.
void *OldKernelMmap(void *addr, size_t size, int prot, int flags, int fd, off_t offset) {
    flags &= ~MAP_FIXED_NOREPLACE;
    if (addr != nullptr && !(flags & MAP_FIXED) && g_misplace > 0) {
        // Far from the window (a few GiB off, wrapping on 32-bit). Should
        // the system still put it inside the window, it is not misplaced.
        const uintptr_t far_off = SIZE_MAX > 0xFFFFFFFFu ? uintptr_t{1} << 32 : uintptr_t{1} << 30;
        void *p = g_next_mmap(reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(addr) + far_off),
                              size, prot, flags, fd, offset);
        // A failure the walk injected is the kernel's answer to this call.
        if (p == MAP_FAILED && sys_fault_fired() != nullptr) return p;
        if (p != MAP_FAILED && Distance(reinterpret_cast<uintptr_t>(p),
                                        reinterpret_cast<uintptr_t>(Anchor())) > g_window) {
            g_misplace--;
            g_misplaced++;
            return p;
        }
        if (p != MAP_FAILED) mp__sys_native.munmap(p, size);
    }
    return g_next_mmap(addr, size, prot, flags, fd, offset);
}

// Run twice: with the flag passed (as on a kernel that the probe found to
// know it, but that takes it for a hint, as qemu-user does) and without it
// (mp__os_cfg.fixed_noreplace false, as the probe finds on old kernels).
class NearOldKernel : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        saved_ = mp__os_cfg.fixed_noreplace;
        mp__os_cfg.fixed_noreplace = GetParam();
        mp__sys.mmap = OldKernelMmap;
    }
    void TearDown() override {
        mp__sys.mmap = mp__sys_native.mmap;
        mp__os_cfg.fixed_noreplace = saved_;
        g_misplace = 0;
    }
    bool saved_ = false;
};

INSTANTIATE_TEST_SUITE_P(FlagPassed, NearOldKernel, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool> &p) {
                             return std::string(p.param ? "flag_passed" : "plain_hint");
                         });

TEST_P(NearOldKernel, MisplacedCandidatesAreUnmappedAndTheNextTried) {
    const char *why = "";
    const bool exact = mappings_count_is_exact(&why);
    const size_t distance = 64u << 20, len = 3 * mp_page_size();
    mp_pages_opts opts{};
    opts.near = Anchor();
    opts.max_distance = distance;
    for (int misplace : {1, 3, 7}) {
        const int maps = exact ? mappings_count() : 0;
        g_misplace = misplace;
        g_misplaced = 0;
        mp__ref out{};
        ASSERT_EQ(mp__pages_new(len, &opts, kRW, &out), MP_OK) << misplace << " misplaced";
        EXPECT_EQ(g_misplaced, misplace) << "each misplaced one was a candidate";
        const auto data = reinterpret_cast<uintptr_t>(mp__pages_data(&out, kRW));
        const uintptr_t n0 = reinterpret_cast<uintptr_t>(Anchor());
        EXPECT_LE(Distance(data, n0), distance);
        EXPECT_LE(Distance(data + len - 1, n0), distance);
        ASSERT_EQ(mp__pages_free(&out, kRW), MP_OK);
        if (exact) {
            EXPECT_EQ(mappings_count(), maps) << "a misplaced mapping was left behind";
        }
    }
}

// A gap of the cache mapped behind the library's back (tests/near/
// stale_gap.h): the hint lands elsewhere, is unmapped, and nothing is
// replaced.
TEST_P(NearOldKernel, StaleGapIsNotReplaced) {
    near_stale::Run();
}

// Every raw call of a placement whose first two candidates are misplaced
// failing in turn, the munmap of a misplaced mapping included: the
// placement then fails with that munmap's status, *out untouched, and the
// one mapping it could not give back is the only one left (the walk gives
// it back, as the library cannot); everything else is balanced.
TEST_P(NearOldKernel, MisplacedCleanupFailing) {
    const size_t len = 2 * mp_page_size();
    mp_pages_opts opts{};
    opts.near = Anchor();
    opts.max_distance = g_window;
    fault_install();
    sys_fault_install();
    int total = 0, cleanups = 0;
    for (const OsError &e : OsErrors()) {
        const std::string what = "new rw near, candidates misplaced";
        total += Walk(what, e, [&](unsigned n) {
            mp__ref out{0xdeadbeef, 0xfeedface};
            sys_fault_arm(n, e.code);
            g_next_mmap = mp__sys.mmap; // the counting one
            mp__sys.mmap = OldKernelMmap;
            g_misplace = 2;
            mp_status s = mp__pages_new(len, &opts, kRW, &out);
            int err = mp_os_error();
            sys_fault_disarm();
            mp__sys.mmap = g_next_mmap;
            g_next_mmap = mp__sys_native.mmap;
            g_misplace = 0;
            const sys_call *fired = sys_fault_fired();
            if (fired == nullptr) {
                EXPECT_EQ(s, MP_OK) << what;
            } else {
                sys_faults::Expected want = NearExpected(*fired, e.code);
                EXPECT_EQ(s, want.status)
                    << what << ", " << Describe(*fired) << " failing with " << e;
                if (s != MP_OK && want.branch.empty()) {
                    EXPECT_EQ(err, e.code) << what << ": mp_os_error() after " << Describe(*fired);
                }
                if (sys_faults::Entry(*fired, "munmap") && s != MP_OK) {
                    // The misplaced mapping: far from the window, and what
                    // the library could not give back.
                    const auto at = static_cast<uintptr_t>(fired->arg[0]);
                    EXPECT_GT(Distance(at, reinterpret_cast<uintptr_t>(Anchor())), g_window)
                        << "the failed munmap was not of a misplaced mapping";
                    EXPECT_EQ(mp__sys_native.munmap(reinterpret_cast<void *>(at), fired->arg[1]),
                              0);
                    cleanups++;
                }
            }
            if (s == MP_OK) {
                const auto data = reinterpret_cast<uintptr_t>(mp__pages_data(&out, kRW));
                EXPECT_LE(Distance(data, reinterpret_cast<uintptr_t>(Anchor())), g_window);
                EXPECT_EQ(mp__pages_free(&out, kRW), MP_OK);
            } else {
                EXPECT_EQ(out.slot, 0xdeadbeefu) << what << ": out was written";
                EXPECT_EQ(out.gen, 0xfeedfaceu) << what << ": out was written";
            }
        });
    }
    sys_fault_uninstall();
    fault_uninstall();
    mp__sys.mmap = OldKernelMmap; // as SetUp left it, for TearDown
    std::printf("[ faults   ] %d injected, %d into the munmap of a misplaced mapping\n", total,
                cleanups);
    EXPECT_GE(cleanups, static_cast<int>(OsErrors().size()))
        << "the munmap of a misplaced mapping never failed with some error code";
}

TEST_P(NearOldKernel, FillingAWindowReplacesNothing) {
    const char *why = "";
    if (!mappings_count_is_exact(&why)) GTEST_SKIP() << "no exact map of this process: " << why;
    const size_t distance = 8u << 20, len = 256 * 1024;
    mp_pages_opts opts{};
    opts.near = Anchor();
    opts.max_distance = distance;
    std::vector<mp__ref> made;
    mp_status s = MP_OK;
    const int maps = mappings_count();
    while (made.size() < 500) {
        mp__ref r{};
        if ((s = mp__pages_new(len, &opts, kRW, &r)) != MP_OK) break;
        made.push_back(r);
    }
    EXPECT_EQ(s, MP_ENOMEM);
    EXPECT_GT(made.size(), 2u);
    EXPECT_EQ(near_fault_anchor(5), 15) << "the code near which everything went still runs";
    for (mp__ref &r : made) {
        const auto data = reinterpret_cast<uintptr_t>(mp__pages_data(&r, kRW));
        EXPECT_LE(Distance(data, reinterpret_cast<uintptr_t>(Anchor())), distance);
        EXPECT_EQ(mp__pages_free(&r, kRW), MP_OK);
    }
    EXPECT_EQ(mappings_count(), maps) << "every mapping given back, no other one lost";
}
#endif

} // namespace
