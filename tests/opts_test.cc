// Tests of mp_pages_opts (shared/API.md section 3): guard pages, huge pages,
// populate, lock and no_dump, checked against what the OS reports about the
// pages (/proc/self/maps, /proc/self/smaps, mincore) where it reports it.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/bytes.h"
#include "tests/support/memory_facts.h"
#include "tests/support/states.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;

size_t Page() {
    return mp_page_size();
}

/* Reads a whole file. */
bool ReadFile(const char *path, std::string *out) {
    std::ifstream in(path);
    if (!in) return false;
    out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

/* Reads a file that holds one number. */
bool ReadNumber(const char *path, size_t *out) {
    std::ifstream in(path);
    return static_cast<bool>(in >> *out);
}

/* Whether the platform has the no_dump option. */
bool HaveNoDump() {
    mp_pages_opts opts = {};
    opts.no_dump = true;
    mp_pages_rw p;
    const mp_status s = mp_pages_rw_new_opts(mp_page_size(), &opts, &p);
    if (s == MP_OK) mp_pages_rw_free(&p);
    return s == MP_OK;
}

/* Whether /proc/self/smaps describes this process's memory. */
bool HaveSmaps() {
    static const int probe = 0;
    mp_test::SmapsEntry smaps;
    return mp_test::ReadSmaps(&probe, &smaps);
}

/* Reads "<field>: <n>" from /proc/meminfo (the number as written). */
bool ReadMeminfo(const std::string &field, size_t *out) {
    std::ifstream in("/proc/meminfo");
    std::string name;
    size_t value = 0;
    std::string rest;
    while (in >> name >> value) {
        std::getline(in, rest);
        if (name == field + ":") {
            *out = value;
            return true;
        }
    }
    return false;
}

/* Expects the mapping holding addr to have exactly the given access. */
void ExpectAccess(const std::vector<mp_test::Mapping> &maps, const void *addr, bool r, bool w,
                  bool x, const char *what) {
    const mp_test::Mapping *m = mp_test::FindMapping(maps, addr);
    ASSERT_NE(m, nullptr) << what << " at " << addr << " is not mapped";
    EXPECT_EQ(m->read, r) << what << ": " << m->line;
    EXPECT_EQ(m->write, w) << what << ": " << m->line;
    EXPECT_EQ(m->exec, x) << what << ": " << m->line;
}

/* Expects before guard pages before and after guard pages after the data
 * [data, data + len) of a page set of state S, with no access, and the data
 * itself to have the access of S. */
template <class S> void ExpectGuards(const void *data, size_t len, size_t before, size_t after) {
    std::vector<mp_test::Mapping> maps;
    ASSERT_TRUE(mp_test::ReadMaps(&maps));
    const uint8_t *d = static_cast<const uint8_t *>(data);
    for (size_t i = 1; i <= before; i++) {
        ExpectAccess(maps, d - i * Page(), false, false, false, "guard page before the data");
    }
    for (size_t i = 0; i < after; i++) {
        ExpectAccess(maps, d + len + i * Page(), false, false, false, "guard page after the data");
    }
    ExpectAccess(maps, d, S::kReadable, S::kWritable, S::kExecutable, "first data page");
    ExpectAccess(maps, d + len - 1, S::kReadable, S::kWritable, S::kExecutable, "last data page");
}

/* Skips the current test unless /proc/self/maps can be read. */
#define SKIP_WITHOUT_PROC_MAPS()                                                                   \
    do {                                                                                           \
        std::vector<mp_test::Mapping> maps_;                                                       \
        if (!mp_test::ReadMaps(&maps_))                                                            \
            GTEST_SKIP() << "no mappings view (/proc/self/maps, VirtualQuery) on this platform";   \
    } while (0)

template <class S> class OptsTest : public ::testing::Test {};
TYPED_TEST_SUITE(OptsTest, mp_test::AllStates, mp_test::StateName);

// ---- Guard pages ----

TYPED_TEST(OptsTest, GuardPagesAreOutsideTheLength) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    opts.guard_pages_before = 2;
    opts.guard_pages_after = 3;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(Page() + 1, &opts, &p), MP_OK);
    EXPECT_EQ(S::Len(&p), 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(OptsTest, GuardPagesHaveNoAccess) {
    using S = TypeParam;
    SKIP_WITHOUT_PROC_MAPS();
    mp_pages_opts opts = {};
    opts.guard_pages_before = 2;
    opts.guard_pages_after = 1;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(3 * Page(), &opts, &p), MP_OK);
    ExpectGuards<S>(S::Address(&p), 3 * Page(), 2, 1);
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(OptsTest, GuardPagesOnOneSideOnly) {
    using S = TypeParam;
    SKIP_WITHOUT_PROC_MAPS();
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(Page(), &opts, &p), MP_OK);
    ExpectGuards<S>(S::Address(&p), Page(), 1, 0);
    EXPECT_EQ(S::Free(&p), MP_OK);

    opts = mp_pages_opts{};
    opts.guard_pages_after = 2;
    ASSERT_EQ(S::NewOpts(Page(), &opts, &p), MP_OK);
    ExpectGuards<S>(S::Address(&p), Page(), 0, 2);
    EXPECT_EQ(S::Free(&p), MP_OK);
}

template <class T> class GuardTransitionTest : public ::testing::Test {};
TYPED_TEST_SUITE(GuardTransitionTest, mp_test::AllTransitions, mp_test::TransitionName);

TYPED_TEST(GuardTransitionTest, GuardPagesKeepNoAccess) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    SKIP_WITHOUT_PROC_MAPS();
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    typename From::Handle from;
    ASSERT_EQ(From::NewOpts(2 * Page(), &opts, &from), MP_OK);
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    EXPECT_EQ(To::Len(&to), 2 * Page());
    ExpectGuards<To>(To::Address(&to), 2 * Page(), 1, 1);
    EXPECT_EQ(To::Free(&to), MP_OK);
}

TYPED_TEST(OptsTest, GuardPageCountsThatOverflowAreRefused) {
    using S = TypeParam;
    auto p = Sentinel<typename S::Handle>();
    // Each of these overflows on its own, before or after the data.
    for (size_t count : {SIZE_MAX, SIZE_MAX / Page(), SIZE_MAX / Page() + 1}) {
        mp_pages_opts opts = {};
        opts.guard_pages_before = count;
        EXPECT_EQ(S::NewOpts(Page(), &opts, &p), MP_EOVERFLOW) << "before " << count;
        opts.guard_pages_before = 0;
        opts.guard_pages_after = count;
        EXPECT_EQ(S::NewOpts(Page(), &opts, &p), MP_EOVERFLOW) << "after " << count;
    }
    // Half the address space on each side overflows only together.
    mp_pages_opts opts = {};
    opts.guard_pages_before = SIZE_MAX / 2 / Page() + 1;
    opts.guard_pages_after = SIZE_MAX / 2 / Page() + 1;
    EXPECT_EQ(S::NewOpts(Page(), &opts, &p), MP_EOVERFLOW);
    EXPECT_TRUE(IsSentinel(p));
    EXPECT_EQ(mp_os_error(), 0);
}

// ---- Huge pages ----

TYPED_TEST(OptsTest, HugeTryIsAHintThatAlwaysGivesUsablePages) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    opts.huge = MP_HUGE_TRY;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(3 * Page(), &opts, &p), MP_OK);
    EXPECT_GE(S::Len(&p), 3 * Page());
    EXPECT_EQ(S::Len(&p) % Page(), 0u);
    if constexpr (S::kWritable) {
        mp_test::FillPattern(S::DataMut(&p), S::Len(&p), 1);
        EXPECT_EQ(mp_test::PatternMismatch(S::Data(&p), S::Len(&p), 1), S::Len(&p));
    }
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TEST(HugePagesTest, TryAsksForTransparentHugePagesWhereTheKernelHasThem) {
    std::string modes;
    if (!ReadFile("/sys/kernel/mm/transparent_hugepage/enabled", &modes)) {
        GTEST_SKIP() << "the kernel has no transparent huge pages";
    }
    if (modes.find("[never]") != std::string::npos) {
        GTEST_SKIP() << "transparent huge pages are turned off: " << modes;
    }
    if (!mp_test::HugePageHintIsVisible()) {
        GTEST_SKIP() << "madvise(MADV_HUGEPAGE) does not show in /proc/self/smaps here";
    }
    mp_pages_opts opts = {};
    opts.huge = MP_HUGE_TRY;
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new_opts(4 * Page(), &opts, &p), MP_OK);
    mp_test::SmapsEntry smaps;
    ASSERT_TRUE(mp_test::ReadSmaps(mp_pages_rw_data(&p), &smaps));
    EXPECT_TRUE(smaps.HasFlag("hg")) << "MP_HUGE_TRY must reach madvise(MADV_HUGEPAGE)";
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

// MP_HUGE_NEVER refuses transparent huge pages for the data, whatever the
// kernel's setting: VmFlags "nh" (MADV_NOHUGEPAGE), and not "hg". The
// advice shows wherever MADV_HUGEPAGE's does: the same flag word of smaps.
TEST(HugePagesTest, NeverRefusesTransparentHugePagesWhereTheKernelHasThem) {
    if (!mp_os_capabilities()->thp) {
        GTEST_SKIP() << "the kernel has no transparent huge pages, or they are turned off "
                        "(/sys/kernel/mm/transparent_hugepage/enabled)";
    }
    if (!mp_test::HugePageHintIsVisible()) {
        GTEST_SKIP() << "madvise(MADV_HUGEPAGE) does not show in /proc/self/smaps here";
    }
    mp_pages_opts opts = {};
    opts.huge = MP_HUGE_NEVER;
    opts.guard_pages_after = 1;
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new_opts(4 * Page(), &opts, &p), MP_OK);
    mp_test::SmapsEntry smaps;
    ASSERT_TRUE(mp_test::ReadSmaps(mp_pages_rw_data(&p), &smaps));
    EXPECT_TRUE(smaps.HasFlag("nh")) << "MP_HUGE_NEVER must reach madvise(MADV_NOHUGEPAGE)";
    EXPECT_FALSE(smaps.HasFlag("hg"));
    mp_test::FillPattern(mp_pages_rw_data_mut(&p), mp_pages_rw_len(&p), 3);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&p, &r), MP_OK);
    ASSERT_TRUE(mp_test::ReadSmaps(mp_pages_r_data(&r), &smaps));
    EXPECT_TRUE(smaps.HasFlag("nh")) << "a transition lost MADV_NOHUGEPAGE";
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_r_data(&r), mp_pages_r_len(&r), 3),
              mp_pages_r_len(&r));
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

TEST(HugePagesTest, RequireGivesHugePagesOrFailsCleanlyWithoutThem) {
    mp_pages_opts opts = {};
    opts.huge = MP_HUGE_REQUIRE;
    auto p = Sentinel<mp_pages_rw>();
    const mp_status s = mp_pages_rw_new_opts(1, &opts, &p);

    size_t pool = 0;
    size_t huge_kib = 0;
    size_t huge_free = 0;
    if (!ReadNumber("/proc/sys/vm/nr_hugepages", &pool) ||
        !ReadMeminfo("Hugepagesize", &huge_kib) || !ReadMeminfo("HugePages_Free", &huge_free)) {
        // Not Linux: huge pages may or may not exist, but nothing else.
        EXPECT_TRUE(s == MP_OK || s == MP_ENOTSUP || s == MP_ENOMEM) << mp_status_str(s);
        if (s == MP_OK) {
            EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
        }
        return;
    }
    if (pool == 0 || huge_free == 0) {
        // No huge page to be had: the pool is empty (nr_hugepages = 0) or in
        // use by others.
        EXPECT_TRUE(s == MP_ENOMEM || s == MP_ENOTSUP)
            << "nr_hugepages " << pool << ", free " << huge_free << ": " << mp_status_str(s);
        EXPECT_TRUE(IsSentinel(p)) << "a failed new must not write its out parameter";
        if (s == MP_ENOMEM) {
            EXPECT_EQ(mp_os_error(), ENOMEM);
        }
        return;
    }
    ASSERT_EQ(s, MP_OK) << "nr_hugepages " << pool << ", free " << huge_free;
    const size_t huge = huge_kib * 1024;
    EXPECT_EQ(mp_pages_rw_len(&p), huge) << "the length rounds up to whole huge pages";
    mp_test::SmapsEntry smaps;
    ASSERT_TRUE(mp_test::ReadSmaps(mp_pages_rw_data(&p), &smaps));
    EXPECT_EQ(smaps.kernel_page_size, huge);
    mp_test::FillPattern(mp_pages_rw_data_mut(&p), huge, 2);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&p), huge, 2), huge);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

// ---- populate ----

TYPED_TEST(OptsTest, PopulateFaultsEveryPageIn) {
    using S = TypeParam;
    if (!mp_test::PopulateIsVisible()) {
        GTEST_SKIP() << "madvise(MADV_POPULATE_WRITE) succeeds here without faulting pages in "
                        "(an emulator?)";
    }
    mp_pages_opts opts = {};
    opts.populate = true;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(6 * Page(), &opts, &p), MP_OK);
    size_t resident = 0;
    const bool known = mp_test::ResidentPages(S::Address(&p), 6 * Page(), &resident);
    if constexpr (S::kReadable) {
        EXPECT_EQ(mp_test::NonZeroAt(S::Data(&p), 6 * Page()), 6 * Page());
    }
    EXPECT_EQ(S::Free(&p), MP_OK);
    if (!known) GTEST_SKIP() << "this platform does not report which pages are resident";
    EXPECT_EQ(resident, 6u);
}

// The control of PopulateFaultsEveryPageIn: it shows that residency is
// measured, since pages nobody touched are not resident.
TYPED_TEST(OptsTest, WithoutPopulateNoPageIsResidentBeforeUse) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(6 * Page(), &p), MP_OK);
    size_t resident = 0;
    const bool known = mp_test::ResidentPages(S::Address(&p), 6 * Page(), &resident);
    EXPECT_EQ(S::Free(&p), MP_OK);
    if (!known) GTEST_SKIP() << "this platform does not report which pages are resident";
    EXPECT_EQ(resident, 0u);
}

// ---- lock ----

TYPED_TEST(OptsTest, LockKeepsThePagesInRam) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    opts.lock = true;
    auto p = Sentinel<typename S::Handle>();
    // Locking is limited by RLIMIT_MEMLOCK and privileges. The probe locks 2
    // pages of its own first: only when the OS refuses that may this test
    // skip, and then the library must refuse cleanly, with the same error.
    const int lock_error = mp_test::LockProbeError(2);
    const mp_status s = S::NewOpts(2 * Page(), &opts, &p);
    if (lock_error != 0) {
        ASSERT_TRUE(mp_test::IsLockLimitError(lock_error))
            << "locking 2 scratch pages failed with " << mp_test::LockErrorText(lock_error);
        EXPECT_TRUE(s == MP_ENOMEM || s == MP_EACCES) << mp_status_str(s);
        EXPECT_EQ(mp_os_error(), lock_error);
        EXPECT_TRUE(IsSentinel(p));
        GTEST_SKIP() << "this process may not lock 2 pages: " << mp_test::LockErrorText(lock_error);
    }
    ASSERT_EQ(s, MP_OK) << "the OS lets this process lock 2 pages";
    if (!mp_test::LockIsVisible()) {
        EXPECT_EQ(S::Free(&p), MP_OK);
        GTEST_SKIP() << "mlock does not show in /proc/self/smaps here (not Linux; "
                        "AddressSanitizer, which ignores mlock; or qemu-user, whose "
                        "/proc/self/smaps never shows VmFlags \"lo\")";
    }
    size_t resident = 0;
    const bool known = mp_test::ResidentPages(S::Address(&p), 2 * Page(), &resident);
    if (!known && std::getenv("MP_TEST_EMULATOR") != nullptr) {
        EXPECT_EQ(S::Free(&p), MP_OK);
        GTEST_SKIP() << "mincore fails here for pages of this state (qemu-user)";
    }
    ASSERT_TRUE(known);
    EXPECT_EQ(resident, 2u);
    mp_test::SmapsEntry smaps;
    ASSERT_TRUE(mp_test::ReadSmaps(S::Address(&p), &smaps));
    EXPECT_TRUE(smaps.HasFlag("lo"));
    EXPECT_EQ(smaps.locked, 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// The control of LockKeepsThePagesInRam.
TYPED_TEST(OptsTest, WithoutLockNothingIsLocked) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(2 * Page(), &p), MP_OK);
    mp_test::SmapsEntry smaps;
    if (!mp_test::ReadSmaps(S::Address(&p), &smaps)) GTEST_SKIP() << "no /proc/self/smaps";
    EXPECT_FALSE(smaps.HasFlag("lo"));
    EXPECT_EQ(smaps.locked, 0u);
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// ---- no_dump ----

TYPED_TEST(OptsTest, NoDumpLeavesThePagesOutOfCoreDumps) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    opts.no_dump = true;
    typename S::Handle p;
    const mp_status s = S::NewOpts(Page(), &opts, &p);
    if (!HaveSmaps()) {
        // Not Linux: the option exists or is reported as missing.
        EXPECT_TRUE(s == MP_OK || s == MP_ENOTSUP) << mp_status_str(s);
        if (s == MP_OK) {
            EXPECT_EQ(S::Free(&p), MP_OK);
        }
        return;
    }
    ASSERT_EQ(s, MP_OK);
    if (!mp_test::NoDumpIsVisible()) {
        EXPECT_EQ(S::Free(&p), MP_OK);
        GTEST_SKIP() << "madvise(MADV_DONTDUMP) does not show in /proc/self/smaps here "
                        "(an emulator?)";
    }
    mp_test::SmapsEntry smaps;
    ASSERT_TRUE(mp_test::ReadSmaps(S::Address(&p), &smaps));
    EXPECT_TRUE(smaps.HasFlag("dd"));
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// The control of NoDumpLeavesThePagesOutOfCoreDumps.
TYPED_TEST(OptsTest, WithoutNoDumpThePagesAreDumped) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    mp_test::SmapsEntry smaps;
    if (!mp_test::ReadSmaps(S::Address(&p), &smaps)) GTEST_SKIP() << "no /proc/self/smaps";
    EXPECT_FALSE(smaps.HasFlag("dd"));
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// ---- Every option at once ----

TYPED_TEST(GuardTransitionTest, EveryOptionAtOnceSurvivesTheTransition) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    opts.huge = MP_HUGE_TRY;
    opts.populate = true;
    opts.lock = true;
    opts.no_dump = HaveNoDump();
    // Only the lock may be refused (RLIMIT_MEMLOCK, privileges): the probe
    // locks 3 pages alone first, and only its refusal lets this test skip.
    // Otherwise every option must work.
    const int lock_error = mp_test::LockProbeError(3);
    typename From::Handle from;
    const mp_status s = From::NewOpts(3 * Page(), &opts, &from);
    if (lock_error != 0) {
        ASSERT_TRUE(mp_test::IsLockLimitError(lock_error))
            << "locking 3 scratch pages failed with " << mp_test::LockErrorText(lock_error);
        EXPECT_TRUE(s == MP_ENOMEM || s == MP_EACCES) << mp_status_str(s);
        GTEST_SKIP() << "this process may not lock 3 pages: " << mp_test::LockErrorText(lock_error);
    }
    ASSERT_EQ(s, MP_OK) << mp_status_str(s);
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    const void *data = To::Address(&to);
    mp_test::SmapsEntry smaps;
    if (mp_test::ReadSmaps(data, &smaps)) {
        EXPECT_EQ(smaps.HasFlag("lo"), mp_test::LockIsVisible());
        EXPECT_EQ(smaps.HasFlag("dd"), opts.no_dump && mp_test::NoDumpIsVisible());
        EXPECT_EQ(smaps.locked, mp_test::LockIsVisible() ? 3 * Page() : 0);
        ExpectGuards<To>(data, 3 * Page(), 1, 1);
    }
    EXPECT_EQ(To::Free(&to), MP_OK);
}

} // namespace
