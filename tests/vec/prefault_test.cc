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
 *  - A vector made with a capacity populates nothing.
 *  - Populating is a hint: when it fails, through the OS table or at the
 *    raw madvise with any error code, the growth succeeds all the same,
 *    without pre-faulting (EINVAL: by touching the pages instead, as on
 *    kernels without MADV_POPULATE_WRITE); a failure of any other call of
 *    the growth leaves the vector as it was.
 */
#include <sys/mman.h>

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

TYPED_TEST(PrefaultTest, ACapacityAskedForIsNotPopulated) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    V v;
    ASSERT_EQ(MP_OK, Ops::WithCapacity((size_t{48} << 20) / sizeof(Elem), &v));
    EXPECT_EQ(0u, ResidentBytes(Ops::Data(&v), Ops::Capacity(&v) * sizeof(Elem)));
    ASSERT_EQ(MP_OK, Ops::Free(&v));
}

/* Populate failing through the OS table: growth succeeds without it. */
mp_status FailingPopulate(void *, size_t) {
    return mp__fail_os(MP_ENOMEM, ENOMEM);
}

TYPED_TEST(PrefaultTest, AFailedPopulateGrowsWithoutPrefault) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t n = (size_t{6} << 20) / sizeof(Elem);
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    mp__os.populate = FailingPopulate;
    mp_status s = MP_OK;
    for (size_t i = 0; i < n && s == MP_OK; i++)
        s = Ops::Push(&v, MakeElem<Elem>(i));
    mp__os.populate = mp__os_native.populate;
    ASSERT_EQ(MP_OK, s);
    ASSERT_EQ(n, Ops::Len(&v));
    for (size_t i = 0; i < n; i += 4099)
        ASSERT_TRUE(SameElem(MakeElem<Elem>(i), *Ops::At(&v, i))) << "element " << i;
    /* Only the pages the pushes wrote are resident. */
    const size_t used = RoundUp(n * sizeof(Elem), Page());
    EXPECT_LE(ResidentBytes(Ops::Data(&v), RoundUp(Ops::Capacity(&v) * sizeof(Elem), Page())),
              used);
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

} // namespace
} // namespace vec_test
