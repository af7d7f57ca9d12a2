/*
 * Pre-faulting on growth (issue 13, docs/paged_vec.md "Growth"): what the OS
 * reports after each growth call against the bound the docs state.
 *
 *  - Growth that leaves a vector with less than kFrom bytes committed
 *    populates nothing: only the pages the elements were written to are
 *    resident (mincore).
 *  - Past that, every growth call (push, extend, resize, reserve) populates
 *    at most one chunk (kChunk) past the end of the elements, and commits in
 *    the same steps: the resident pages and the capacity never run more than
 *    one chunk ahead of the elements, and the commit charge (Committed_AS)
 *    of a vector grown by pushes follows its elements, not a doubling.
 *  - A vector made with a capacity populates nothing, and capacity made
 *    ahead (with_capacity, reserve, reserve_exact) is populated as pushes
 *    reach it, within the same bound, without committing or staling copies.
 *  - Populating is a hint: when it fails, through the OS table or at the
 *    raw madvise with any error code, the growth succeeds all the same,
 *    without pre-faulting (EINVAL: by touching the pages instead, as on
 *    kernels without MADV_POPULATE_WRITE); a failure of any other call of
 *    the growth leaves the vector as it was.
 *  - The adaptive huge-page policy (runtime/vec.c, "Huge pages for large
 *    vectors"), where the kernel offers transparent huge pages: a default
 *    vector asks for them past kHugeFrom, gets them (smaps AnonHugePages)
 *    and keeps the bound (smaps Rss); when populating its huge pages costs
 *    more than small pages (a fake clock makes it so), it drops them for the
 *    rest of its reservation (VmFlags "nh", no AnonHugePages there); a
 *    failing MADV_HUGEPAGE or MADV_NOHUGEPAGE changes nothing but speed.
 */
#include <sys/mman.h>

#include <algorithm>
#include <utility>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "runtime/os.h"
#include "runtime/status.h"
#include "runtime/sys_posix.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/sys_faults.h"
#include "tests/support/memory_facts.h"
#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

/* The constants of runtime/vec.c, as docs/paged_vec.md states them. */
constexpr size_t kFrom = size_t{1} << 20;
constexpr size_t kChunk = size_t{4} << 20;
constexpr size_t kHugeFrom = size_t{32} << 20;

size_t Page() {
    return mp_page_size();
}

size_t RoundUp(size_t n, size_t unit) {
    return (n + unit - 1) / unit * unit;
}

/* The bytes of [data, data + len) that are resident in RAM. */
size_t ResidentBytes(const void *data, size_t len) {
    size_t pages = 0;
    EXPECT_TRUE(mp_test::ResidentPages(data, RoundUp(len, Page()), &pages));
    return pages * Page();
}

#define SKIP_UNLESS_POPULATE_VISIBLE()                                                             \
    do {                                                                                           \
        if (!mp_test::PopulateIsVisible())                                                         \
            GTEST_SKIP() << "madvise(MADV_POPULATE_WRITE) succeeds here without faulting pages "   \
                            "in (an emulator?)";                                                   \
    } while (0)

template <class V> class PrefaultTest : public ::testing::Test {
  protected:
    /* A fresh reservation for every vector: a cached one keeps pages. */
    void SetUp() override {
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    }
};
TYPED_TEST_SUITE(PrefaultTest, AllVecs);

/* Checks v against the bound right after a growth call: the resident bytes
 * and the capacity end at most one chunk (and a page of rounding) past the
 * elements; below kFrom nothing past the elements' pages is resident; from
 * kFrom on, the populated chunk is resident. */
template <class V> void ExpectBound(const V &v, const char *what) {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t used = RoundUp(Ops::Len(&v) * sizeof(Elem), Page());
    const size_t cap = Ops::Capacity(&v) * sizeof(Elem);
    const size_t committed = RoundUp(cap, Page());
    const size_t resident = ResidentBytes(Ops::Data(&v), committed);
    SCOPED_TRACE(std::string(what) + ": " + std::to_string(Ops::Len(&v)) + " elements, capacity " +
                 std::to_string(Ops::Capacity(&v)));
    EXPECT_LE(resident, used + kChunk) << "more than one chunk resident past the elements";
    EXPECT_LE(committed, std::max(used + kChunk, RoundUp(sizeof(Elem), Page())))
        << "more than one chunk committed past the elements";
    if (committed < kFrom) {
        EXPECT_LE(resident, used) << "a small vector was pre-faulted";
    }
}

TYPED_TEST(PrefaultTest, PushGrowthStaysWithinOneChunk) {
    SKIP_UNLESS_POPULATE_VISIBLE();
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t n = (size_t{14} << 20) / sizeof(Elem);
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    const Elem x = MakeElem<Elem>(7);
    size_t growths = 0, prefaulted = 0;
    for (size_t i = 0; i < n; i++) {
        size_t cap = Ops::Capacity(&v);
        ASSERT_EQ(MP_OK, Ops::Push(&v, x));
        if (Ops::Capacity(&v) == cap) continue;
        growths++;
        ExpectBound(v, "push");
        const size_t committed = RoundUp(Ops::Capacity(&v) * sizeof(Elem), Page());
        if (committed >= kFrom) {
            /* The whole commit is resident: the elements' pages, and the
             * chunk populated ahead of them. */
            EXPECT_EQ(committed, ResidentBytes(Ops::Data(&v), committed))
                << "growth to " << committed << " bytes did not pre-fault";
            prefaulted++;
        }
        if (testing::Test::HasFailure()) break;
    }
    std::printf("[ prefault ] %zu-byte elements: %zu growths, %zu pre-faulted, capacity %zu\n",
                sizeof(Elem), growths, prefaulted, Ops::Capacity(&v));
    EXPECT_GE(prefaulted, 3u);
    ASSERT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(PrefaultTest, ExtendResizeAndReserveStayWithinOneChunk) {
    SKIP_UNLESS_POPULATE_VISIBLE();
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t n = (size_t{9} << 20) / sizeof(Elem);
    std::vector<Elem> src(n, MakeElem<Elem>(3));
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    ASSERT_EQ(MP_OK, Ops::Extend(&v, src.data(), n));
    ExpectBound(v, "extend");
    /* What extend wrote is resident. */
    const size_t used = RoundUp(n * sizeof(Elem), Page());
    EXPECT_GE(ResidentBytes(Ops::Data(&v), used), used);
    ASSERT_EQ(MP_OK, Ops::Resize(&v, 2 * n + 1, MakeElem<Elem>(4)));
    ExpectBound(v, "resize");
    EXPECT_TRUE(SameElem(MakeElem<Elem>(4), *Ops::At(&v, 2 * n)));
    EXPECT_TRUE(SameElem(MakeElem<Elem>(3), *Ops::At(&v, n - 1)));
    /* Reserve writes nothing: it populates one chunk past the elements. */
    const size_t before =
        ResidentBytes(Ops::Data(&v), RoundUp(Ops::Capacity(&v) * sizeof(Elem), Page()));
    const size_t more = (size_t{40} << 20) / sizeof(Elem);
    ASSERT_EQ(MP_OK, Ops::Reserve(&v, more));
    EXPECT_GE(Ops::Capacity(&v), Ops::Len(&v) + more);
    const size_t len_b = RoundUp(Ops::Len(&v) * sizeof(Elem), Page());
    const size_t resident =
        ResidentBytes(Ops::Data(&v), RoundUp(Ops::Capacity(&v) * sizeof(Elem), Page()));
    EXPECT_LE(resident, len_b + kChunk) << "reserve pre-faulted more than one chunk";
    EXPECT_GE(resident, std::min(len_b + kChunk - Page(), before)) << "reserve pre-faulted nothing";
    ASSERT_EQ(MP_OK, Ops::Free(&v));
}

/* The ranges populated since the last Clear, as offsets from base. */
struct PopulateLog {
    static std::vector<std::pair<size_t, size_t>> ranges;
    static uintptr_t base;
    static mp_status Record(void *addr, size_t size) {
        const size_t at = static_cast<size_t>(reinterpret_cast<uintptr_t>(addr) - base);
        ranges.emplace_back(at, at + size);
        return mp__os_native.populate(addr, size);
    }
    /* Whether the logged ranges cover [lo, hi). */
    static bool Covers(size_t lo, size_t hi) {
        std::vector<std::pair<size_t, size_t>> sorted = ranges;
        std::sort(sorted.begin(), sorted.end());
        for (const auto &r : sorted) {
            if (r.first > lo) break;
            lo = std::max(lo, r.second);
        }
        return lo >= hi;
    }
};
std::vector<std::pair<size_t, size_t>> PopulateLog::ranges;
uintptr_t PopulateLog::base;

/* Pushes into capacity committed ahead (V_with_capacity, reserve,
 * reserve_exact) are pre-faulted as growth is: the push frontier moves a
 * chunk at a time from 1 MiB on, each step populates the range it moves
 * over and nothing more than one chunk past the elements, and no step
 * commits, moves the vector or makes a copy of it stale. */
template <class V> class PrefaultFrontierTest : public PrefaultTest<V> {};
/* Sizes that divide the page, do not, and exceed it: with 1- and 3-byte
 * elements the test makes 27 million pushes, 80 s under valgrind. */
using FrontierVecs = ::testing::Types<vec8, vec24, vec5000>;
TYPED_TEST_SUITE(PrefaultFrontierTest, FrontierVecs);

TYPED_TEST(PrefaultFrontierTest, PushesIntoCommittedCapacityArePrefaulted) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t room = (size_t{12} << 20) / sizeof(Elem);
    const size_t n = (size_t{9} << 20) / sizeof(Elem);
    const char *const ways[] = {"with_capacity", "reserve", "reserve_exact"};
    const bool visible = mp_test::PopulateIsVisible();
    for (const char *way : ways) {
        SCOPED_TRACE(way);
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        V v;
        if (std::strcmp(way, "with_capacity") == 0) {
            ASSERT_EQ(MP_OK, Ops::WithCapacity(room, &v));
        } else {
            ASSERT_EQ(MP_OK, Ops::New(&v));
            ASSERT_EQ(MP_OK, std::strcmp(way, "reserve") == 0 ? Ops::Reserve(&v, room)
                                                              : Ops::ReserveExact(&v, room));
        }
        const V copy = v;
        const size_t cap = Ops::Capacity(&v);
        const Elem *data = Ops::Data(&v);
        PopulateLog::ranges.clear();
        PopulateLog::base = reinterpret_cast<uintptr_t>(data);
        mp__os.populate = PopulateLog::Record;
        size_t steps = 0;
        for (size_t i = 0; i < n; i++) {
            const size_t logged = PopulateLog::ranges.size();
            ASSERT_EQ(MP_OK, Ops::Push(&v, MakeElem<Elem>(i)));
            if (PopulateLog::ranges.size() == logged) continue;
            steps++;
            const size_t used = RoundUp((i + 1) * sizeof(Elem), Page());
            EXPECT_LE(PopulateLog::ranges.back().second, used + kChunk)
                << "a push populated more than one chunk past " << i + 1 << " elements";
            if (visible) {
                EXPECT_LE(ResidentBytes(data, cap * sizeof(Elem)), used + kChunk)
                    << "more than one chunk resident past " << i + 1 << " elements";
            }
            if (testing::Test::HasFailure()) break;
        }
        mp__os.populate = mp__os_native.populate;
        std::printf("[ prefault ] %zu-byte elements, %s: %zu steps to %zu bytes\n", sizeof(Elem),
                    way, steps, n * sizeof(Elem));
        /* reserve populated the first chunk itself, with_capacity nothing:
         * the pushes populated the rest of the elements' pages from 1 MiB
         * on, in steps of at most a chunk. */
        const size_t from = std::strcmp(way, "with_capacity") == 0 ? kFrom : kChunk;
        EXPECT_TRUE(PopulateLog::Covers(from, RoundUp(n * sizeof(Elem), Page()) - Page()))
            << "pushes into the capacity were not pre-faulted";
        EXPECT_GE(steps, (n * sizeof(Elem) - from) / kChunk);
        EXPECT_EQ(cap, Ops::Capacity(&v)) << "a push into the capacity committed more";
        EXPECT_EQ(data, Ops::Data(&v));
        EXPECT_EQ(cap, Ops::Capacity(&copy)) << "moving the push frontier made a copy stale";
        for (size_t i = 0; i < n; i += 4099)
            ASSERT_TRUE(SameElem(MakeElem<Elem>(i), *Ops::At(&v, i))) << "element " << i;
        ASSERT_EQ(MP_OK, Ops::Free(&v));
    }
}

/* Populate failing through the OS table: growth succeeds without it. */
mp_status FailingPopulate(void *, size_t) {
    return mp__fail_os(MP_ENOMEM, ENOMEM);
}

/* Pushes n elements i into v while every populate fails, and expects all
 * of them to land and only the pages they were written to to be resident. */
template <class V> void PushWhilePopulateFails(V *v, size_t n) {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    mp__os.populate = FailingPopulate;
    mp_status s = MP_OK;
    for (size_t i = 0; i < n && s == MP_OK; i++)
        s = Ops::Push(v, MakeElem<Elem>(i));
    mp__os.populate = mp__os_native.populate;
    ASSERT_EQ(MP_OK, s);
    ASSERT_EQ(n, Ops::Len(v));
    for (size_t i = 0; i < n; i += 4099)
        ASSERT_TRUE(SameElem(MakeElem<Elem>(i), *Ops::At(v, i))) << "element " << i;
    const size_t committed = RoundUp(Ops::Capacity(v) * sizeof(Elem), Page());
    EXPECT_LE(ResidentBytes(Ops::Data(v), committed), RoundUp(n * sizeof(Elem), Page()));
}

TYPED_TEST(PrefaultTest, AFailedPopulateGrowsWithoutPrefault) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    PushWhilePopulateFails(&v, (size_t{6} << 20) / sizeof(Elem));
    ASSERT_EQ(MP_OK, Ops::Free(&v));
}

/* A capacity asked for is not populated until pushes reach it; where the
 * populate of those pushes fails, they fault the pages in. */
TYPED_TEST(PrefaultFrontierTest, ACapacityAskedForWaitsForPushes) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    V v;
    ASSERT_EQ(MP_OK, Ops::WithCapacity((size_t{48} << 20) / sizeof(Elem), &v));
    const size_t cap = Ops::Capacity(&v);
    EXPECT_EQ(0u, ResidentBytes(Ops::Data(&v), cap * sizeof(Elem)));
    PushWhilePopulateFails(&v, (size_t{9} << 20) / sizeof(Elem));
    EXPECT_EQ(cap, Ops::Capacity(&v));
    ASSERT_EQ(MP_OK, Ops::Free(&v));
}

/* The raw madvise of populate failing with every error code, and every
 * other raw call of the same growth failing: fill v to just past kFrom,
 * then push once more, which grows it and populates the next chunk. */
TYPED_TEST(PrefaultTest, RawPopulateFaults) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const bool visible = mp_test::PopulateIsVisible();
    fault_install();
    sys_fault_install();
    int populate_faults = 0;
    for (const sys_faults::OsError &e : sys_faults::OsErrors()) {
        int here = 0;
        for (unsigned nth = 1; nth < 50; nth++) {
            ASSERT_EQ(MP_OK, mp__vec_cache_drain());
            V v;
            ASSERT_EQ(MP_OK, Ops::New(&v));
            while (Ops::Len(&v) < Ops::Capacity(&v) || Ops::Capacity(&v) * sizeof(Elem) < kFrom) {
                ASSERT_EQ(MP_OK, Ops::Push(&v, MakeElem<Elem>(Ops::Len(&v))));
            }
            Snapshot<V> before(v);
            const size_t len = Ops::Len(&v), cap = Ops::Capacity(&v);
            sys_fault_arm(nth, e.code);
            mp_status s = Ops::Push(&v, MakeElem<Elem>(len));
            int os_error = mp_os_error();
            sys_fault_disarm();
            const sys_call *fired = sys_fault_fired();
            const bool populate = fired != nullptr && std::strcmp(fired->entry, "madvise") == 0 &&
                                  fired->arg[2] == MADV_POPULATE_WRITE;
            SCOPED_TRACE(std::string(e.name) + ", raw call " + std::to_string(nth) +
                         (fired ? ": " + sys_faults::Describe(*fired) : ""));
            if (fired == nullptr || populate) {
                ASSERT_EQ(MP_OK, s);
                ASSERT_EQ(len + 1, Ops::Len(&v));
                ASSERT_GT(Ops::Capacity(&v), cap);
                for (size_t i = 0; i <= len; i += 997)
                    ASSERT_TRUE(SameElem(MakeElem<Elem>(i), *Ops::At(&v, i)));
                ASSERT_TRUE(SameElem(MakeElem<Elem>(len), *Ops::At(&v, len)));
                const size_t committed = RoundUp(Ops::Capacity(&v) * sizeof(Elem), Page());
                const size_t resident = ResidentBytes(Ops::Data(&v), committed);
                const size_t used = RoundUp((len + 1) * sizeof(Elem), Page());
                if (populate) here++;
                if (populate && e.code != EINVAL) {
                    /* Grown without pre-faulting. */
                    EXPECT_LE(resident, used);
                } else if (visible) {
                    /* Populated, or touched where madvise said EINVAL. */
                    EXPECT_EQ(committed, resident);
                }
            } else {
                /* Any other failure of the growth: the vector as it was. */
                EXPECT_EQ(sys_faults::PlatformExpected(*fired, e.code).status, s);
                EXPECT_NE(MP_OK, s);
                EXPECT_EQ(e.code, os_error);
                before.ExpectSame(v);
            }
            ASSERT_EQ(MP_OK, Ops::Free(&v));
            if (fired == nullptr) break;
        }
        EXPECT_GE(here, 1) << "populate never failed with " << e;
        populate_faults += here;
    }
    sys_fault_uninstall();
    fault_uninstall();
    std::printf("[ faults   ] %d injected into populate on growth\n", populate_faults);
}

/* Committed_AS in bytes, or -1 where /proc/meminfo does not say. */
long long CommittedAs() {
    FILE *f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) return -1;
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::sscanf(line, "Committed_AS: %lld kB", &kib) == 1) break;
    }
    std::fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

/* Growing by pushes charges the commit limit for the elements and at most
 * one chunk more, where doubling would charge up to twice the elements:
 * 600 MiB of elements charge about 600 MiB, not 1 GiB (on 32-bit, 96 MiB,
 * not 128). Committed_AS counts the whole system, so a scenario that other
 * processes disturbed is tried again, up to three times. */
TEST(PrefaultCharge, PushGrowthChargesAtMostOneChunkAhead) {
    SKIP_UNLESS_POPULATE_VISIBLE();
    if (CommittedAs() < 0) GTEST_SKIP() << "not Linux: no Committed_AS in /proc/meminfo";
    ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    const long long size = sizeof(void *) >= 8 ? 600ll << 20 : 96ll << 20;
    const long long tolerance = sizeof(void *) >= 8 ? 150ll << 20 : 12ll << 20;
    const size_t batch = 1u << 20;
    std::vector<elem8> src(batch / sizeof(elem8), MakeElem<elem8>(1));
    long long charged = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        vec8 v;
        ASSERT_EQ(MP_OK, vec8_new(&v));
        ASSERT_EQ(MP_OK, vec8_push(&v, MakeElem<elem8>(1)));
        const long long start = CommittedAs();
        while (vec8_len(&v) * sizeof(elem8) < static_cast<size_t>(size))
            ASSERT_EQ(MP_OK, vec8_extend(&v, src.data(), src.size()));
        charged = CommittedAs() - start;
        EXPECT_LE(vec8_capacity(&v) * sizeof(elem8), vec8_len(&v) * sizeof(elem8) + kChunk);
        ASSERT_EQ(MP_OK, vec8_free(&v));
        if (charged > size - tolerance && charged < size + tolerance) break;
    }
    std::printf("[ charge   ] %lld MiB of elements grown by extend charged %+lld MiB\n", size >> 20,
                charged >> 20);
    EXPECT_GT(charged, size - tolerance);
    EXPECT_LT(charged, size + tolerance) << "growth charged more than the elements and a chunk";
}

/* ---- The adaptive huge-page policy ---- */

/* What /proc/self/smaps says of the mappings that overlap [lo, hi): their
 * Rss and AnonHugePages summed, in bytes. */
struct SmapsSum {
    size_t rss = 0;
    size_t anon_huge = 0;
};

bool SumSmaps(const void *lo_p, const void *hi_p, SmapsSum *out) {
    FILE *f = std::fopen("/proc/self/smaps", "r");
    if (f == nullptr) return false;
    const uintptr_t lo = reinterpret_cast<uintptr_t>(lo_p), hi = reinterpret_cast<uintptr_t>(hi_p);
    bool inside = false;
    char line[512];
    *out = SmapsSum();
    while (std::fgets(line, sizeof line, f) != nullptr) {
        unsigned long start, end, kib;
        if (std::sscanf(line, "%lx-%lx ", &start, &end) == 2) {
            inside = start < hi && end > lo;
        } else if (inside && std::sscanf(line, "Rss: %lu kB", &kib) == 1) {
            out->rss += kib * 1024;
        } else if (inside && std::sscanf(line, "AnonHugePages: %lu kB", &kib) == 1) {
            out->anon_huge += kib * 1024;
        }
    }
    std::fclose(f);
    return true;
}

#define SKIP_UNLESS_THP()                                                                          \
    do {                                                                                           \
        if (!mp__os_cfg.thp || mp__os_cfg.huge_page_size == 0)                                     \
            GTEST_SKIP() << "the kernel has no transparent huge pages, or they are turned off "    \
                            "(/sys/kernel/mm/transparent_hugepage/enabled)";                       \
        if (!mp_test::HugePageHintIsVisible())                                                     \
            GTEST_SKIP() << "madvise(MADV_HUGEPAGE) does not show in /proc/self/smaps here (an "   \
                            "emulator?)";                                                          \
        SKIP_UNLESS_POPULATE_VISIBLE();                                                            \
    } while (0)

/* A fake clock for the policy's timing: it moves only inside populate, by
 * a cost per MiB that the test sets for the small pages before the huge
 * start of the vector under test and for its huge part past it. So the
 * policy's choice is the test's, whatever the machine's load. */
uint64_t fake_ns;
uintptr_t fake_huge_from; /* the address of the vector's huge start */
uint64_t fake_small_per_mib, fake_huge_per_mib;

uint64_t FakeClock() {
    return fake_ns;
}

mp_status TimedPopulate(void *addr, size_t size) {
    mp_status s = mp__os_native.populate(addr, size);
    const bool huge = reinterpret_cast<uintptr_t>(addr) >= fake_huge_from;
    fake_ns += (huge ? fake_huge_per_mib : fake_small_per_mib) * size / (size_t{1} << 20);
    return s;
}

/* The first huge-page boundary at or after kHugeFrom bytes into data. */
uintptr_t HugeStart(const void *data) {
    const uintptr_t hp = mp__os_cfg.huge_page_size;
    return (reinterpret_cast<uintptr_t>(data) + kHugeFrom + hp - 1) / hp * hp;
}

/* Pushes into v until it holds bytes of elements, checking the bound after
 * every growth: the resident pages of the vector (mincore, which counts a
 * huge page as its small pages) and its committed bytes stay within one
 * chunk of its elements. (The Rss of smaps would count a neighbouring
 * mapping that the kernel merged with the vector's.) Once v has
 * memory, the fake clock (if installed) learns where its huge start is. */
void PushTo(vec8 *v, size_t bytes) {
    const size_t n = bytes / sizeof(elem8);
    for (size_t i = vec8_len(v); i < n; i++) {
        const size_t cap = vec8_capacity(v);
        ASSERT_EQ(MP_OK, vec8_push(v, MakeElem<elem8>(i)));
        if (vec8_capacity(v) == cap) continue;
        fake_huge_from = HugeStart(vec8_data(v));
        const unsigned char *data = reinterpret_cast<const unsigned char *>(vec8_data(v));
        const size_t used = RoundUp(vec8_len(v) * sizeof(elem8), Page());
        const size_t committed = RoundUp(vec8_capacity(v) * sizeof(elem8), Page());
        ASSERT_LE(committed, used + kChunk) << "at " << vec8_len(v) << " elements";
        ASSERT_LE(ResidentBytes(data, committed), used + kChunk)
            << "resident set past one chunk at " << vec8_len(v) << " elements";
    }
}

class PrefaultHuge : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        fake_ns = 1;
        fake_huge_from = UINTPTR_MAX;
    }
    void TearDown() override {
        mp__os.clock_ns = mp__os_native.clock_ns;
        mp__os.populate = mp__os_native.populate;
        mp__os.huge_hint = mp__os_native.huge_hint;
        mp__sys.madvise = mp__sys_native.madvise;
    }
    /* Times populates with the fake clock: small pages cost small per MiB,
     * the huge part of the vector under test huge per MiB. */
    static void FakeCosts(uint64_t small, uint64_t huge) {
        fake_small_per_mib = small;
        fake_huge_per_mib = huge;
        mp__os.clock_ns = FakeClock;
        mp__os.populate = TimedPopulate;
    }
};

/* Where a vector that NewPushedTo made lies: its first element, the end
 * of its elements, and its huge start. */
struct Pushed {
    const unsigned char *data, *end, *huge_start;
};

/* Makes *v with vec8_new and pushes bytes of elements into it (PushTo). */
void NewPushedTo(vec8 *v, size_t bytes, Pushed *at) {
    /* A reservation with room for it all, so that the vector never moves
     * (32-bit vectors reserve 8 MiB by default): the checks read the
     * mappings where the policy acted. */
    mp_vec_opts opts = {};
    opts.max_capacity = 2 * bytes / sizeof(elem8);
    ASSERT_EQ(MP_OK, vec8_new_opts(&opts, v));
    PushTo(v, bytes);
    at->data = reinterpret_cast<const unsigned char *>(vec8_data(v));
    at->end = at->data + vec8_len(v) * sizeof(elem8);
    at->huge_start = reinterpret_cast<const unsigned char *>(fake_huge_from);
}

/* Checks that v holds what PushTo pushed (every 4099th element), and frees
 * it. */
void ExpectPushedAndFree(vec8 *v) {
    for (size_t i = 0; i < vec8_len(v); i += 4099)
        ASSERT_TRUE(SameElem(MakeElem<elem8>(i), *vec8_at(v, i))) << "element " << i;
    ASSERT_EQ(MP_OK, vec8_free(v));
}

/* Huge populates cheaper than small pages (as on a machine with free huge
 * pages): past its huge start the vector asks for huge pages and gets them,
 * within the bound, and never refuses them. */
TEST_F(PrefaultHuge, LargeVectorTakesHugePagesPastTheThreshold) {
    SKIP_UNLESS_THP();
    FakeCosts(2000000, 200000);
    vec8 v;
    Pushed at;
    ASSERT_NO_FATAL_FAILURE(NewPushedTo(&v, size_t{96} << 20, &at));
    const unsigned char *data = at.data, *end = at.end, *start = at.huge_start;
    SmapsSum below, past;
    ASSERT_TRUE(SumSmaps(data, start, &below));
    ASSERT_TRUE(SumSmaps(start, end, &past));
    mp_test::SmapsEntry tail;
    ASSERT_TRUE(mp_test::ReadSmaps(end - 1, &tail));
    std::printf(
        "[ huge     ] 96 MiB pushed: %zu MiB in huge pages past the huge start, %zu below\n",
        past.anon_huge >> 20, below.anon_huge >> 20);
    EXPECT_TRUE(tail.HasFlag("hg")) << "no MADV_HUGEPAGE past the huge start";
    EXPECT_FALSE(tail.HasFlag("nh")) << "huge pages refused though they were cheap";
    /* Every whole chunk past the huge start is huge where the kernel has
     * free huge pages; at least half of them, so that a few taken by
     * others cannot fail the test. */
    EXPECT_GE(past.anon_huge, (static_cast<size_t>(end - start) / 2))
        << "the policy did not give the vector huge pages";
    ExpectPushedAndFree(&v);
}

/* Huge populates three times dearer than small pages (as compaction stalls
 * make them on a fragmented machine): the vector drops huge pages after two
 * of them, for the rest of its reservation, and keeps the bound. */
TEST_F(PrefaultHuge, DearHugePagesAreDroppedForTheRestOfTheVector) {
    SKIP_UNLESS_THP();
    FakeCosts(2000000, 6000000);
    vec8 v;
    Pushed at;
    ASSERT_NO_FATAL_FAILURE(NewPushedTo(&v, size_t{96} << 20, &at));
    const unsigned char *data = at.data, *end = at.end, *start = at.huge_start;
    /* Two populates of a chunk each, then the drop: well before here. */
    const unsigned char *late = start + 4 * kChunk;
    mp_test::SmapsEntry first, tail;
    ASSERT_TRUE(mp_test::ReadSmaps(start, &first));
    ASSERT_TRUE(mp_test::ReadSmaps(end - 1, &tail));
    SmapsSum early, rest;
    ASSERT_TRUE(SumSmaps(start, late, &early));
    ASSERT_TRUE(SumSmaps(late, data + vec8_capacity(&v) * sizeof(elem8), &rest));
    std::printf(
        "[ huge     ] dear huge pages: %zu MiB huge in the mappings up to the drop, %zu after\n",
        early.anon_huge >> 20, rest.anon_huge >> 20);
    EXPECT_TRUE(first.HasFlag("hg")) << "the policy never asked for huge pages";
    EXPECT_TRUE(tail.HasFlag("nh")) << "dear huge pages were not dropped";
    EXPECT_FALSE(tail.HasFlag("hg"));
    EXPECT_EQ(0u, rest.anon_huge) << "huge pages after the drop";
    ExpectPushedAndFree(&v);
}

/* MP_HUGE_NEVER opts a vector out of the policy and of the kernel's
 * setting: with huge pages as cheap as in the first test, its whole
 * reservation carries MADV_NOHUGEPAGE, also the part a shrink mapped
 * afresh, and none of it is ever huge. */
TEST_F(PrefaultHuge, NeverVectorTakesNoHugePagesThroughAShrink) {
    SKIP_UNLESS_THP();
    FakeCosts(2000000, 200000);
    mp_vec_opts opts = {};
    opts.huge = MP_HUGE_NEVER;
    vec8 v;
    ASSERT_EQ(MP_OK, vec8_new_opts(&opts, &v));
    for (int round = 0; round < 2; round++) {
        SCOPED_TRACE(round);
        PushTo(&v, size_t{96} << 20);
        const unsigned char *data = reinterpret_cast<const unsigned char *>(vec8_data(&v));
        const unsigned char *end = data + vec8_len(&v) * sizeof(elem8);
        SmapsSum sum;
        ASSERT_TRUE(SumSmaps(data, end, &sum));
        EXPECT_EQ(0u, sum.anon_huge) << "huge pages in a vector made with MP_HUGE_NEVER";
        for (const unsigned char *at : {data, end - 1}) {
            mp_test::SmapsEntry e;
            ASSERT_TRUE(mp_test::ReadSmaps(at, &e));
            EXPECT_TRUE(e.HasFlag("nh")) << "no MADV_NOHUGEPAGE at offset " << at - data;
            EXPECT_FALSE(e.HasFlag("hg")) << "MADV_HUGEPAGE at offset " << at - data;
        }
        /* Shrinking to 8 MiB maps the rest of the committed part afresh. */
        ASSERT_EQ(MP_OK, vec8_truncate(&v, (size_t{8} << 20) / sizeof(elem8)));
        ASSERT_EQ(MP_OK, vec8_shrink_to_fit(&v));
        mp_test::SmapsEntry freed;
        ASSERT_TRUE(mp_test::ReadSmaps(data + (size_t{48} << 20), &freed));
        EXPECT_TRUE(freed.HasFlag("nh")) << "the shrink lost MADV_NOHUGEPAGE";
    }
    ExpectPushedAndFree(&v);
}

/* The raw madvise refusing MADV_HUGEPAGE and MADV_NOHUGEPAGE with error:
 * every growth succeeds and every element is intact, through the ask and
 * through the drop. */
int huge_advice_calls[2];
int huge_advice_error;

int RefusingHugeAdvice(void *addr, size_t size, int advice) {
    if (advice == MADV_HUGEPAGE || advice == MADV_NOHUGEPAGE) {
        huge_advice_calls[advice == MADV_NOHUGEPAGE]++;
        errno = huge_advice_error;
        return -1;
    }
    return mp__sys_native.madvise(addr, size, advice);
}

TEST_F(PrefaultHuge, FailingHugeAdviceChangesNothingButSpeed) {
    SKIP_UNLESS_THP();
    for (int code : {EINVAL, ENOMEM, EAGAIN}) {
        SCOPED_TRACE(code);
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        huge_advice_calls[0] = huge_advice_calls[1] = 0;
        huge_advice_error = code;
        /* Dear huge populates, so that both the ask and the drop happen. */
        FakeCosts(2000000, 6000000);
        mp__sys.madvise = RefusingHugeAdvice;
        vec8 v;
        ASSERT_EQ(MP_OK, vec8_new(&v));
        PushTo(&v, size_t{64} << 20);
        std::vector<elem8> more(size_t{8} << 17, MakeElem<elem8>(5));
        ASSERT_EQ(MP_OK, vec8_extend(&v, more.data(), more.size()));
        ASSERT_EQ(MP_OK, vec8_reserve(&v, size_t{16} << 17));
        ASSERT_EQ(MP_OK, vec8_shrink_to_fit(&v));
        mp__sys.madvise = mp__sys_native.madvise;
        EXPECT_EQ(1, huge_advice_calls[0]) << "MADV_HUGEPAGE was not asked once";
        EXPECT_GE(huge_advice_calls[1], 1) << "MADV_NOHUGEPAGE was never asked";
        const size_t pushed = (size_t{64} << 20) / sizeof(elem8);
        ASSERT_EQ(pushed + more.size(), vec8_len(&v));
        for (size_t i = 0; i < pushed; i += 4099)
            ASSERT_TRUE(SameElem(MakeElem<elem8>(i), *vec8_at(&v, i))) << "element " << i;
        ASSERT_TRUE(SameElem(MakeElem<elem8>(5), *vec8_at(&v, vec8_len(&v) - 1)));
        ASSERT_EQ(MP_OK, vec8_free(&v));
    }
}

/* A refused MADV_NOHUGEPAGE leaves an MP_HUGE_NEVER vector working: made,
 * grown past the pre-fault threshold, shrunk (the advice given again) and
 * freed with MP_OK, every element intact. */
TEST_F(PrefaultHuge, NeverVectorSurvivesRefusedAdvice) {
    SKIP_UNLESS_THP();
    for (int code : {EINVAL, ENOMEM, EAGAIN}) {
        SCOPED_TRACE(code);
        huge_advice_calls[0] = huge_advice_calls[1] = 0;
        huge_advice_error = code;
        mp__sys.madvise = RefusingHugeAdvice;
        mp_vec_opts opts = {};
        opts.huge = MP_HUGE_NEVER;
        /* Room for it all: a move would advise its new reservation too
         * (32-bit vectors reserve 8 MiB by default). */
        opts.max_capacity = (size_t{32} << 20) / sizeof(elem8);
        vec8 v;
        ASSERT_EQ(MP_OK, vec8_new_opts(&opts, &v));
        PushTo(&v, size_t{16} << 20);
        ASSERT_EQ(MP_OK, vec8_truncate(&v, 1000));
        ASSERT_EQ(MP_OK, vec8_shrink_to_fit(&v));
        mp__sys.madvise = mp__sys_native.madvise;
        EXPECT_EQ(0, huge_advice_calls[0]) << "MADV_HUGEPAGE asked for a never-huge vector";
        EXPECT_EQ(2, huge_advice_calls[1]) << "MADV_NOHUGEPAGE not asked at new and at the shrink";
        ASSERT_EQ(1000u, vec8_len(&v));
        for (size_t i = 0; i < vec8_len(&v); i++)
            ASSERT_TRUE(SameElem(MakeElem<elem8>(i), *vec8_at(&v, i))) << "element " << i;
        ASSERT_EQ(MP_OK, vec8_free(&v));
    }
}

} // namespace
} // namespace vec_test
