/*
 * PagedVec behaviour (shared/API.md section 5), typed over vectors of 1-,
 * 3-, 8-, 24- and 5000-byte elements: every function with good and bad
 * input, exact capacity, pointer stability, moves past the reservation,
 * freeze and thaw (with death tests for writes to frozen pages), the guard
 * page, huge pages, and memory going back to the OS.
 */
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#ifdef _WIN32
#define PSAPI_VERSION 2 /* GetProcessMemoryInfo from kernel32 */
#include <windows.h>
#include <psapi.h>
#endif

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "runtime/os.h"
#include "tests/support/fault.h"
#include "tests/support/memory_facts.h"
#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

template <class V> class VecTest : public ::testing::Test {};
TYPED_TEST_SUITE(VecTest, AllVecs);

/* The names every typed test below uses for its vector's parts. */
#define VEC_TYPES                                                                                  \
    using V = TypeParam;                                                                           \
    using Ops = VecOps<V>;                                                                         \
    using Elem = typename Ops::Elem;                                                               \
    using Frozen = typename Ops::Frozen;                                                           \
    (void)sizeof(Elem);                                                                            \
    (void)sizeof(Frozen)

/* Appends the elements of seeds first .. first + n - 1 to v. */
template <class V> void Fill(V *v, size_t n, uint64_t first = 0) {
    using Ops = VecOps<V>;
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(MP_OK, Ops::Push(v, MakeElem<typename Ops::Elem>(first + i))) << "push " << i;
    }
}

/* Checks that v holds exactly the elements of seeds first .. first + n - 1. */
template <class V> void ExpectSeeds(const V &v, size_t n, uint64_t first = 0) {
    using Ops = VecOps<V>;
    ASSERT_EQ(n, Ops::Len(&v));
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(SameElem(MakeElem<typename Ops::Elem>(first + i), *Ops::At(&v, i)))
            << "element " << i;
    }
}

/* Elements that fill `pages` pages, at least 1. */
template <class Elem> size_t PerPages(size_t pages) {
    return std::max<size_t>(1, pages * mp_page_size() / sizeof(Elem));
}

/* Returns a T whose every byte is 0xA5, to show whether a failed call wrote
 * to it. */
template <class T> T Sentinel() {
    T t;
    std::memset(static_cast<void *>(&t), 0xA5, sizeof t);
    return t;
}

template <class T> bool IsSentinel(const T &t) {
    const unsigned char *b = reinterpret_cast<const unsigned char *>(&t);
    return std::all_of(b, b + sizeof t, [](unsigned char c) { return c == 0xA5; });
}

TYPED_TEST(VecTest, NewIsEmptyAndReservesNothing) {
    VEC_TYPES;
    V v = Sentinel<V>();
    ASSERT_EQ(MP_OK, Ops::New(&v));
    EXPECT_EQ(0u, Ops::Len(&v));
    EXPECT_EQ(0u, Ops::Capacity(&v));
    EXPECT_EQ(nullptr, Ops::Data(&v));
    EXPECT_EQ(nullptr, Ops::DataMut(&v));
    EXPECT_EQ(nullptr, Ops::At(&v, 0));
    EXPECT_EQ(nullptr, Ops::AtMut(&v, 0));
    Elem out = Sentinel<Elem>();
    EXPECT_EQ(MP_EINVAL, Ops::Pop(&v, &out));
    EXPECT_TRUE(IsSentinel(out));
    EXPECT_EQ(MP_OK, Ops::Clear(&v));
    EXPECT_EQ(MP_OK, Ops::ShrinkToFit(&v));
    EXPECT_EQ(MP_OK, Ops::Truncate(&v, 0));
    EXPECT_EQ(MP_OK, Ops::Reserve(&v, 0));
    EXPECT_EQ(0u, Ops::Capacity(&v));
    // It owns nothing: free leaves it an empty, usable vector, every time.
    EXPECT_EQ(MP_OK, Ops::Free(&v));
    EXPECT_EQ(MP_OK, Ops::Free(&v));
    EXPECT_EQ(0u, Ops::Len(&v));
    ASSERT_EQ(MP_OK, Ops::Push(&v, MakeElem<Elem>(1)));
    EXPECT_EQ(1u, Ops::Len(&v));
    // Once it owns a reservation, free consumes it.
    EXPECT_EQ(MP_OK, Ops::Free(&v));
    EXPECT_EQ(MP_ESTALE, Ops::Free(&v));
    EXPECT_EQ(MP_ESTALE, Ops::Push(&v, MakeElem<Elem>(1)));
    EXPECT_EQ(0u, Ops::Len(&v));
}

TYPED_TEST(VecTest, NullArgumentsAreRefused) {
    VEC_TYPES;
    Elem e = MakeElem<Elem>(3);
    EXPECT_EQ(MP_EINVAL, Ops::New(nullptr));
    EXPECT_EQ(MP_EINVAL, Ops::WithCapacity(1, nullptr));
    EXPECT_EQ(MP_EINVAL, Ops::NewOpts(nullptr, nullptr));
    EXPECT_EQ(0u, Ops::Len(nullptr));
    EXPECT_EQ(0u, Ops::Capacity(nullptr));
    EXPECT_EQ(nullptr, Ops::Data(nullptr));
    EXPECT_EQ(nullptr, Ops::DataMut(nullptr));
    EXPECT_EQ(nullptr, Ops::At(nullptr, 0));
    EXPECT_EQ(nullptr, Ops::AtMut(nullptr, 0));
    EXPECT_EQ(MP_EINVAL, Ops::Push(nullptr, e));
    EXPECT_EQ(MP_EINVAL, Ops::Pop(nullptr, &e));
    EXPECT_EQ(MP_EINVAL, Ops::Insert(nullptr, 0, e));
    EXPECT_EQ(MP_EINVAL, Ops::Remove(nullptr, 0, &e));
    EXPECT_EQ(MP_EINVAL, Ops::SwapRemove(nullptr, 0, &e));
    EXPECT_EQ(MP_EINVAL, Ops::Extend(nullptr, &e, 1));
    EXPECT_EQ(MP_EINVAL, Ops::Resize(nullptr, 1, e));
    EXPECT_EQ(MP_EINVAL, Ops::Truncate(nullptr, 0));
    EXPECT_EQ(MP_EINVAL, Ops::Clear(nullptr));
    EXPECT_EQ(MP_EINVAL, Ops::Reserve(nullptr, 1));
    EXPECT_EQ(MP_EINVAL, Ops::ShrinkToFit(nullptr));
    EXPECT_EQ(MP_EINVAL, Ops::Free(nullptr));
    Frozen f;
    EXPECT_EQ(MP_EINVAL, Ops::Freeze(nullptr, &f));
    EXPECT_EQ(0u, Ops::FrozenLen(nullptr));
    EXPECT_EQ(nullptr, Ops::FrozenData(nullptr));
    EXPECT_EQ(nullptr, Ops::FrozenAt(nullptr, 0));
    EXPECT_EQ(MP_EINVAL, Ops::FrozenFree(nullptr));
    V v;
    EXPECT_EQ(MP_EINVAL, Ops::Thaw(nullptr, &v));
    EXPECT_EQ(0, mp_os_error());
}

TYPED_TEST(VecTest, PushPopAndAtAcrossPages) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    size_t n = PerPages<Elem>(3) + 5;
    Fill(&v, n);
    ExpectSeeds(v, n);
    EXPECT_GE(Ops::Capacity(&v), n);
    EXPECT_EQ(Ops::Data(&v), Ops::At(&v, 0));
    EXPECT_EQ(nullptr, Ops::At(&v, n));
    EXPECT_EQ(nullptr, Ops::AtMut(&v, n));
    *Ops::AtMut(&v, 1) = MakeElem<Elem>(1000);
    EXPECT_TRUE(SameElem(MakeElem<Elem>(1000), Ops::Data(&v)[1]));
    *Ops::AtMut(&v, 1) = MakeElem<Elem>(1);
    for (size_t i = n; i-- > 0;) {
        Elem out;
        ASSERT_EQ(MP_OK, Ops::Pop(&v, &out));
        ASSERT_TRUE(SameElem(MakeElem<Elem>(i), out)) << "pop " << i;
    }
    EXPECT_EQ(MP_EINVAL, Ops::Pop(&v, nullptr));
    Fill(&v, 2);
    EXPECT_EQ(MP_OK, Ops::Pop(&v, nullptr));
    ExpectSeeds(v, 1);
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

/* The bytes of the accessible mapping that starts at data, read from
 * /proc/self/maps: the vector's committed bytes, since the reservation
 * after them has no access. Returns 0 where the maps are not available. */
size_t AccessibleBytesFrom(const void *data) {
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) return 0;
    const mp_test::Mapping *m = mp_test::FindMapping(maps, data);
    if (m == nullptr || !m->write) return 0;
    return m->end - reinterpret_cast<uintptr_t>(data);
}

TYPED_TEST(VecTest, CapacityIsExactForTheCommittedPages) {
    VEC_TYPES;
    size_t per_page = mp_page_size() / sizeof(Elem);
    for (size_t n :
         {size_t{1}, size_t{10}, per_page, per_page + 1, 2 * per_page + 1, PerPages<Elem>(5) + 3}) {
        if (n == 0) continue;
        for (bool with_capacity : {false, true}) {
            SCOPED_TRACE(testing::Message()
                         << "n " << n << (with_capacity ? " with_capacity" : ""));
            // A reservation from the cache of freed ones keeps what it had
            // committed (tests/vec/cache_test.cc); this is about fresh ones.
            ASSERT_EQ(MP_OK, mp__vec_cache_drain());
            V v;
            if (with_capacity) {
                ASSERT_EQ(MP_OK, Ops::WithCapacity(n, &v));
            } else {
                ASSERT_EQ(MP_OK, Ops::New(&v));
                ASSERT_EQ(MP_OK, Ops::Reserve(&v, n));
            }
            size_t cap = Ops::Capacity(&v);
            ASSERT_GE(cap, n);
            // Every byte of every element of the capacity is writable.
            std::memset(static_cast<void *>(Ops::DataMut(&v)), 0x5A, cap * sizeof(Elem));
            size_t bytes = AccessibleBytesFrom(Ops::Data(&v));
            if (bytes != 0) {
                // Exact: the capacity is all the elements that fit in the
                // committed pages, and those are just the pages n needs.
                EXPECT_EQ(bytes / sizeof(Elem), cap);
                size_t page = mp_page_size();
                EXPECT_EQ((n * sizeof(Elem) + page - 1) / page * page, bytes);
            }
            ASSERT_EQ(MP_OK, Ops::Free(&v));
        }
    }
}

TYPED_TEST(VecTest, InsertRemoveAndSwapRemove) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    std::vector<Elem> model;
    auto same = [&] {
        ASSERT_EQ(model.size(), Ops::Len(&v));
        for (size_t i = 0; i < model.size(); i++)
            ASSERT_TRUE(SameElem(model[i], *Ops::At(&v, i)));
    };
    for (uint64_t s = 0; s < 6; s++) {
        ASSERT_EQ(MP_OK, Ops::Insert(&v, 0, MakeElem<Elem>(s)));
        model.insert(model.begin(), MakeElem<Elem>(s));
    }
    ASSERT_EQ(MP_OK, Ops::Insert(&v, 3, MakeElem<Elem>(100)));
    model.insert(model.begin() + 3, MakeElem<Elem>(100));
    ASSERT_EQ(MP_OK, Ops::Insert(&v, Ops::Len(&v), MakeElem<Elem>(101)));
    model.push_back(MakeElem<Elem>(101));
    same();
    Elem out;
    ASSERT_EQ(MP_OK, Ops::Remove(&v, 2, &out));
    EXPECT_TRUE(SameElem(model[2], out));
    model.erase(model.begin() + 2);
    same();
    ASSERT_EQ(MP_OK, Ops::SwapRemove(&v, 1, &out));
    EXPECT_TRUE(SameElem(model[1], out));
    model[1] = model.back();
    model.pop_back();
    same();
    ASSERT_EQ(MP_OK, Ops::SwapRemove(&v, Ops::Len(&v) - 1, nullptr));
    model.pop_back();
    ASSERT_EQ(MP_OK, Ops::Remove(&v, 0, nullptr));
    model.erase(model.begin());
    same();
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, ExtendResizeAndTruncate) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    std::vector<Elem> src;
    for (uint64_t s = 0; s < PerPages<Elem>(2) + 1; s++)
        src.push_back(MakeElem<Elem>(s));
    ASSERT_EQ(MP_OK, Ops::Extend(&v, src.data(), src.size()));
    ASSERT_EQ(MP_OK, Ops::Extend(&v, nullptr, 0));
    ExpectSeeds(v, src.size());
    // From its own elements.
    size_t n = src.size();
    ASSERT_EQ(MP_OK, Ops::Extend(&v, Ops::Data(&v), n));
    ASSERT_EQ(2 * n, Ops::Len(&v));
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(SameElem(src[i], *Ops::At(&v, n + i)));
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, n));
    ExpectSeeds(v, n);
    Elem fill = MakeElem<Elem>(77);
    ASSERT_EQ(MP_OK, Ops::Resize(&v, n + 3, fill));
    ASSERT_EQ(n + 3, Ops::Len(&v));
    for (size_t i = n; i < n + 3; i++)
        ASSERT_TRUE(SameElem(fill, *Ops::At(&v, i)));
    ASSERT_EQ(MP_OK, Ops::Resize(&v, 2, fill));
    ExpectSeeds(v, 2);
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, 2));
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, 0));
    EXPECT_EQ(0u, Ops::Len(&v));
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, ExtendFromItselfAcrossAMove) {
    VEC_TYPES;
    mp_vec_opts opts = {};
    opts.max_capacity = PerPages<Elem>(1);
    opts.capacity = opts.max_capacity;
    V v;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    size_t n = Ops::Capacity(&v);
    ASSERT_GE(n, opts.capacity);
    Fill(&v, n);
    const Elem *before = Ops::Data(&v);
    ASSERT_EQ(MP_OK, Ops::Extend(&v, Ops::Data(&v) + 0, n));
    EXPECT_NE(before, Ops::Data(&v)) << "the vector should have moved past its reservation";
    ASSERT_EQ(2 * n, Ops::Len(&v));
    for (size_t i = 0; i < 2 * n; i++) {
        ASSERT_TRUE(SameElem(MakeElem<Elem>(i % n), *Ops::At(&v, i))) << "element " << i;
    }
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, ClearKeepsTheCapacity) {
    VEC_TYPES;
    for (bool with_capacity : {false, true}) {
        SCOPED_TRACE(with_capacity ? "made with capacity" : "made by new");
        V v;
        if (with_capacity) {
            ASSERT_EQ(MP_OK, Ops::WithCapacity(PerPages<Elem>(2), &v));
        } else {
            ASSERT_EQ(MP_OK, Ops::New(&v));
        }
        Fill(&v, PerPages<Elem>(8));
        size_t grown = Ops::Capacity(&v);
        const Elem *data = Ops::Data(&v);
        // A copy made before stays live: clear changed no memory, so it
        // renewed no generation (it made no system call).
        V copy = v;
        ASSERT_EQ(MP_OK, Ops::Clear(&v));
        EXPECT_EQ(0u, Ops::Len(&v));
        EXPECT_EQ(grown, Ops::Capacity(&v));
        EXPECT_EQ(data, Ops::Data(&v)) << "clear keeps the reservation";
        EXPECT_EQ(grown, Ops::Capacity(&copy)) << "clear renewed the generation";
        // Refilled up to the capacity, it neither grows nor moves.
        Fill(&v, grown, 50);
        EXPECT_EQ(grown, Ops::Capacity(&v));
        EXPECT_EQ(data, Ops::Data(&v));
        ExpectSeeds(v, grown, 50);
        // Giving the memory back is shrink_to_fit's job.
        ASSERT_EQ(MP_OK, Ops::Clear(&v));
        ASSERT_EQ(MP_OK, Ops::ShrinkToFit(&v));
        EXPECT_EQ(0u, Ops::Capacity(&v));
        EXPECT_EQ(MP_OK, Ops::Free(&v));
    }
}

TYPED_TEST(VecTest, ShrinkToFitKeepsJustThePagesOfTheElements) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    size_t n = PerPages<Elem>(8);
    Fill(&v, n);
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, n / 4 + 1));
    ASSERT_EQ(MP_OK, Ops::ShrinkToFit(&v));
    size_t len = Ops::Len(&v);
    size_t page = mp_page_size();
    size_t pages_bytes = (len * sizeof(Elem) + page - 1) / page * page;
    EXPECT_EQ(pages_bytes / sizeof(Elem), Ops::Capacity(&v));
    ExpectSeeds(v, len);
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, 0));
    ASSERT_EQ(MP_OK, Ops::ShrinkToFit(&v));
    EXPECT_EQ(0u, Ops::Capacity(&v));
    Fill(&v, 3);
    ExpectSeeds(v, 3);
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, FailuresLeaveTheVectorUnchanged) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    Fill(&v, PerPages<Elem>(1) + 2);
    size_t len = Ops::Len(&v);
    const size_t half = UnreservableCount(len, sizeof(Elem));
    const mp_status huge = UnreservableStatus(len, half, sizeof(Elem));
    Snapshot<V> before(v);
    Elem e = MakeElem<Elem>(9);
    Elem out = Sentinel<Elem>();

    EXPECT_EQ(huge, Ops::Reserve(&v, half));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EOVERFLOW, Ops::Reserve(&v, SIZE_MAX));
    before.ExpectSame(v);
    EXPECT_EQ(huge, Ops::Extend(&v, Ops::Data(&v), half));
    before.ExpectSame(v);
    EXPECT_EQ(huge, Ops::Resize(&v, len + half, e));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Extend(&v, nullptr, 1));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Insert(&v, len + 1, e));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Insert(&v, SIZE_MAX, e));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Remove(&v, len, &out));
    EXPECT_EQ(MP_EINVAL, Ops::SwapRemove(&v, len, &out));
    EXPECT_EQ(MP_EINVAL, Ops::Remove(&v, SIZE_MAX, &out));
    EXPECT_TRUE(IsSentinel(out));
    before.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Truncate(&v, len + 1));
    before.ExpectSame(v);
    EXPECT_EQ(nullptr, Ops::At(&v, len));
    EXPECT_EQ(nullptr, Ops::At(&v, SIZE_MAX));
    EXPECT_EQ(nullptr, Ops::AtMut(&v, len));
    EXPECT_EQ(MP_EINVAL, Ops::Freeze(&v, nullptr));
    before.ExpectSame(v);
    EXPECT_EQ(0, mp_os_error()) << "no OS call failed";

    // The vector still works.
    ASSERT_EQ(MP_OK, Ops::Push(&v, e));
    ASSERT_EQ(MP_OK, Ops::Pop(&v, &out));
    EXPECT_TRUE(SameElem(e, out));
    ExpectSeeds(v, len);
    EXPECT_EQ(MP_OK, Ops::Free(&v));

    // Pop on empty.
    ASSERT_EQ(MP_OK, Ops::New(&v));
    Snapshot<V> empty(v);
    out = Sentinel<Elem>();
    EXPECT_EQ(MP_EINVAL, Ops::Pop(&v, &out));
    EXPECT_TRUE(IsSentinel(out));
    empty.ExpectSame(v);
    EXPECT_EQ(MP_EINVAL, Ops::Remove(&v, 0, &out));
    empty.ExpectSame(v);

    // Making a vector that cannot be made writes nothing.
    V w = Sentinel<V>();
    const size_t half0 = UnreservableCount(0, sizeof(Elem));
    EXPECT_EQ(UnreservableStatus(0, half0, sizeof(Elem)), Ops::WithCapacity(half0, &w));
    EXPECT_TRUE(IsSentinel(w));
    mp_vec_opts opts = {};
    opts.capacity = 10;
    opts.max_capacity = 9;
    EXPECT_EQ(MP_EINVAL, Ops::NewOpts(&opts, &w));
    opts = {};
    opts.huge = static_cast<mp_huge>(7);
    EXPECT_EQ(MP_EINVAL, Ops::NewOpts(&opts, &w));
    opts = {};
    opts.max_capacity = half0;
    EXPECT_EQ(UnreservableStatus(0, half0, sizeof(Elem)), Ops::NewOpts(&opts, &w));
    opts.max_capacity = SIZE_MAX;
    EXPECT_EQ(MP_EOVERFLOW, Ops::NewOpts(&opts, &w));
    EXPECT_TRUE(IsSentinel(w));
}

TYPED_TEST(VecTest, PointersStayValidWhileGrowingTo10MillionElements) {
    VEC_TYPES;
    // 10^7 elements, or as many as fit in 256 MiB for the large ones.
    const size_t n = std::min<size_t>(10000000, (256u << 20) / sizeof(Elem));
    V v;
    mp_vec_opts opts = {};
    opts.max_capacity = n;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    const Elem *data = nullptr;
    std::vector<std::pair<size_t, const Elem *>> seen;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        // The element's index is its seed here, so that checking 10^7 of
        // them stays cheap for large elements.
        Elem e;
        std::memset(static_cast<void *>(&e), 0, sizeof e);
        std::memcpy(e.b, &i, std::min(sizeof i, sizeof e.b));
        ASSERT_EQ(MP_OK, Ops::Push(&v, e));
        if (i == 0) data = Ops::Data(&v);
        if (Ops::Capacity(&v) != cap) {
            // Growth happened: every pointer taken so far is still good.
            cap = Ops::Capacity(&v);
            ASSERT_EQ(data, Ops::Data(&v)) << "moved at " << i;
            seen.emplace_back(i, Ops::At(&v, i));
        }
    }
    ASSERT_EQ(n, Ops::Len(&v));
    EXPECT_GE(seen.size(), 2u);
    for (const auto &p : seen) {
        ASSERT_EQ(p.second, Ops::At(&v, p.first));
        size_t got = 0;
        std::memcpy(&got, p.second->b, std::min(sizeof got, sizeof p.second->b));
        size_t mask =
            sizeof(Elem) >= sizeof(size_t) ? SIZE_MAX : (size_t{1} << (8 * sizeof(Elem))) - 1;
        ASSERT_EQ(p.first & mask, got);
    }
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, DefaultReservationHoldsAnOrdinaryVector) {
    VEC_TYPES;
    // 64 MiB of elements (4 MiB on 32-bit systems) grow inside the default
    // reservation of _new.
    const size_t n = (sizeof(void *) >= 8 ? 64u << 20 : 4u << 20) / sizeof(Elem);
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    Fill(&v, 1);
    const Elem *data = Ops::Data(&v);
    ASSERT_EQ(MP_OK, Ops::Resize(&v, n, MakeElem<Elem>(5)));
    EXPECT_EQ(data, Ops::Data(&v));
    EXPECT_TRUE(SameElem(MakeElem<Elem>(0), *Ops::At(&v, 0)));
    EXPECT_TRUE(SameElem(MakeElem<Elem>(5), *Ops::At(&v, n - 1)));
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

/* Makes the OS layer's remap fail as a platform without it does, for the
 * life of the object, so that moves copy. */
class NoRemap {
  public:
    NoRemap() : saved_(mp__os.remap) {
        mp__os.remap = [](void *, size_t, void *, size_t) { return MP_ENOTSUP; };
    }
    ~NoRemap() {
        mp__os.remap = saved_;
    }

  private:
    mp_status (*saved_)(void *, size_t, void *, size_t);
};

/* Grows a vector with a small reservation through four moves, checking
 * after each that the elements came along and that a copy from before the
 * move is stale. */
template <class V> void GrowPastReservations() {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    mp_vec_opts opts = {};
    opts.max_capacity = PerPages<Elem>(2);
    V v;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    const Elem *data = Ops::Data(&v);
    size_t n = 0;
    for (int moves = 0; moves < 4;) {
        ASSERT_LT(n, PerPages<Elem>(64)) << "the vector never moved";
        V copy = v;
        ASSERT_EQ(MP_OK, Ops::Push(&v, MakeElem<Elem>(n)));
        n++;
        if (Ops::Data(&v) == data) continue;
        moves++;
        data = Ops::Data(&v);
        SCOPED_TRACE(testing::Message() << "move " << moves << " at " << n);
        ExpectSeeds(v, n);
        EXPECT_EQ(MP_ESTALE, Ops::Reserve(&copy, 0)) << "a copy from before the move";
        EXPECT_EQ(MP_ESTALE, Ops::Free(&copy));
    }
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, MovesPastItsReservationKeepingTheElements) {
    VEC_TYPES;
    GrowPastReservations<V>();
}

TYPED_TEST(VecTest, MovesByCopyWhereTheOsCannotMovePages) {
    VEC_TYPES;
    NoRemap no_remap;
    GrowPastReservations<V>();
}

TYPED_TEST(VecTest, MaxCapacityIsReservedUpFront) {
    VEC_TYPES;
    mp_vec_opts opts = {};
    opts.max_capacity = PerPages<Elem>(4) + 1;
    opts.capacity = 3;
    V v;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    EXPECT_GE(Ops::Capacity(&v), 3u);
    EXPECT_LT(Ops::Capacity(&v), opts.max_capacity);
    Fill(&v, 1);
    const Elem *data = Ops::Data(&v);
    Fill(&v, opts.max_capacity - 1, 1);
    EXPECT_EQ(data, Ops::Data(&v)) << "growth up to max_capacity never moves";
    ExpectSeeds(v, opts.max_capacity);
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, StaleCopiesAreRefused) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    Fill(&v, 3);
    V copy = v;
    ASSERT_EQ(MP_OK, Ops::Free(&v));
    EXPECT_EQ(MP_ESTALE, Ops::Free(&copy));
    EXPECT_EQ(MP_ESTALE, Ops::Reserve(&copy, 1));
    EXPECT_EQ(MP_ESTALE, Ops::Clear(&copy));
    EXPECT_EQ(MP_ESTALE, Ops::Truncate(&copy, 0));
    Frozen f;
    EXPECT_EQ(MP_ESTALE, Ops::Freeze(&copy, &f));
    // A zeroed frozen vector names nothing.
    std::memset(static_cast<void *>(&f), 0, sizeof f);
    EXPECT_EQ(0u, Ops::FrozenLen(&f));
    EXPECT_EQ(MP_ESTALE, Ops::FrozenFree(&f));
    EXPECT_EQ(MP_ESTALE, Ops::Thaw(&f, &v));
}

TYPED_TEST(VecTest, FreezeMakesThePagesReadOnlyAndThawWritable) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    size_t n = PerPages<Elem>(2) + 1;
    Fill(&v, n);
    Elem *p = Ops::AtMut(&v, n - 1);
    Frozen f;
    ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f));
    // The frozen vector has the elements, in the same place.
    EXPECT_EQ(n, Ops::FrozenLen(&f));
    EXPECT_EQ(p, Ops::FrozenAt(&f, n - 1));
    EXPECT_EQ(nullptr, Ops::FrozenAt(&f, n));
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(SameElem(MakeElem<Elem>(i), Ops::FrozenData(&f)[i]));
    EXPECT_EQ(p->b[0], mp_test::ReadByte(&p->b[0]));
    // v is consumed.
    EXPECT_EQ(0u, Ops::Len(&v));
    EXPECT_EQ(0u, Ops::Capacity(&v));
    EXPECT_EQ(nullptr, Ops::Data(&v));
    EXPECT_EQ(nullptr, Ops::At(&v, 0));
    EXPECT_EQ(MP_ESTALE, Ops::Push(&v, MakeElem<Elem>(1)));
    EXPECT_EQ(MP_ESTALE, Ops::Pop(&v, nullptr));
    EXPECT_EQ(MP_ESTALE, Ops::Reserve(&v, 1));
    EXPECT_EQ(MP_ESTALE, Ops::Freeze(&v, &f));
    EXPECT_EQ(MP_ESTALE, Ops::Free(&v));
    EXPECT_EQ(n, Ops::FrozenLen(&f)) << "failed calls on v left f alone";
    // Writes through old pointers fault.
    MP_EXPECT_FAULT(mp_test::WriteByte(&p->b[0], 1));
    // Casting the const away is the bug the read-only pages catch.
    MP_EXPECT_FAULT(mp_test::WriteByte(const_cast<uint8_t *>(&Ops::FrozenData(&f)[0].b[0]), 1));

    Frozen copy = f;
    V w;
    ASSERT_EQ(MP_OK, Ops::Thaw(&f, &w));
    ExpectSeeds(w, n);
    EXPECT_EQ(p, Ops::AtMut(&w, n - 1));
    // The frozen vector and its copies are stale.
    for (Frozen *g : {&f, &copy}) {
        EXPECT_EQ(0u, Ops::FrozenLen(g));
        EXPECT_EQ(nullptr, Ops::FrozenData(g));
        EXPECT_EQ(nullptr, Ops::FrozenAt(g, 0));
        EXPECT_EQ(MP_ESTALE, Ops::FrozenFree(g));
        V x = Sentinel<V>();
        EXPECT_EQ(MP_ESTALE, Ops::Thaw(g, &x));
        EXPECT_TRUE(IsSentinel(x));
    }
    // Writing works again, and so does growth.
    mp_test::WriteByte(&p->b[0], 42);
    EXPECT_EQ(42, Ops::At(&w, n - 1)->b[0]);
    *Ops::AtMut(&w, n - 1) = MakeElem<Elem>(n - 1);
    Fill(&w, PerPages<Elem>(3), n);
    ExpectSeeds(w, n + PerPages<Elem>(3));
    EXPECT_EQ(MP_OK, Ops::Free(&w));
}

TYPED_TEST(VecTest, FreezeAndThawManyTimes) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    for (int round = 0; round < 300; round++) {
        Fill(&v, 1, round);
        Frozen f, g;
        ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f));
        g = f;
        ASSERT_EQ(static_cast<size_t>(round + 1), Ops::FrozenLen(&g));
        ASSERT_EQ(MP_OK, Ops::Thaw(&f, &v));
        ASSERT_EQ(0u, Ops::FrozenLen(&g));
    }
    ExpectSeeds(v, 300);
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecTest, EmptyVectorsFreezeThawAndFree) {
    VEC_TYPES;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    Frozen f;
    ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f));
    EXPECT_EQ(0u, Ops::FrozenLen(&f));
    EXPECT_EQ(nullptr, Ops::FrozenAt(&f, 0));
    Frozen copy = f;
    ASSERT_EQ(MP_OK, Ops::FrozenFree(&f));
    EXPECT_EQ(MP_ESTALE, Ops::FrozenFree(&f));
    EXPECT_EQ(MP_ESTALE, Ops::FrozenFree(&copy));

    ASSERT_EQ(MP_OK, Ops::New(&v));
    ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f));
    ASSERT_EQ(MP_OK, Ops::Thaw(&f, &v));
    Fill(&v, 2);
    ExpectSeeds(v, 2);

    // A frozen vector with elements frees its pages.
    ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f));
    ASSERT_EQ(MP_OK, Ops::FrozenFree(&f));
    EXPECT_EQ(0u, Ops::FrozenLen(&f));
    EXPECT_EQ(MP_ESTALE, Ops::Thaw(&f, &v));
}

TYPED_TEST(VecTest, GuardPageFollowsTheReservation) {
    VEC_TYPES;
    mp_vec_opts opts = {};
    opts.max_capacity = PerPages<Elem>(1);
    opts.capacity = opts.max_capacity;
    opts.guard = true;
    V v;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    size_t page = mp_page_size();
    size_t reserved = (opts.max_capacity * sizeof(Elem) + page - 1) / page * page;
    unsigned char *end = reinterpret_cast<unsigned char *>(Ops::DataMut(&v)) + reserved;
    // The last byte of the reservation is writable, the next one faults.
    mp_test::WriteByte(end - 1, 1);
    MP_EXPECT_FAULT(mp_test::WriteByte(end, 1));
    MP_EXPECT_FAULT(mp_test::ReadByte(end));
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

/* The ranges the OS layer was asked to back with huge pages, recorded by a
 * wrapper around its huge_hint while a HugeHints object lives (refusals,
 * huge_hint with on false, are not recorded). */
class HugeHints {
  public:
    HugeHints() : saved_(mp__os.huge_hint) {
        ranges().clear();
        mp__os.huge_hint = [](void *addr, size_t size, bool on) {
            if (on) ranges().emplace_back(static_cast<unsigned char *>(addr), size);
            return mp__os_native.huge_hint(addr, size, on);
        };
    }
    ~HugeHints() {
        mp__os.huge_hint = saved_;
    }
    /* Whether a hinted range holds [p, p + len). */
    bool Cover(const void *p, size_t len) const {
        const unsigned char *b = static_cast<const unsigned char *>(p);
        for (const auto &r : ranges()) {
            if (b >= r.first && b + len <= r.first + r.second) return true;
        }
        return false;
    }

  private:
    static std::vector<std::pair<unsigned char *, size_t>> &ranges() {
        static std::vector<std::pair<unsigned char *, size_t>> r;
        return r;
    }
    mp_status (*saved_)(void *, size_t, bool);
};

TYPED_TEST(VecTest, HugePagesTryIsAHint) {
    VEC_TYPES;
    mp_vec_opts opts = {};
    opts.huge = MP_HUGE_TRY;
    opts.capacity = (4u << 20) / sizeof(Elem);
    V v;
    HugeHints hints;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
    Fill(&v, 100);
    ExpectSeeds(v, 100);
    // The whole capacity was hinted (whether the OS then gives huge pages
    // is up to it: TRY is only a hint).
    EXPECT_TRUE(hints.Cover(Ops::Data(&v), Ops::Capacity(&v) * sizeof(Elem)));
    EXPECT_EQ(MP_OK, Ops::Free(&v));

    // Without it, nothing is hinted.
    HugeHints none;
    ASSERT_EQ(MP_OK, Ops::WithCapacity(opts.capacity, &v));
    EXPECT_FALSE(none.Cover(Ops::Data(&v), 1));
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

/* The number of huge pages in the kernel's pool, or -1 if unknown. */
long HugePagePool() {
    FILE *f = std::fopen("/proc/sys/vm/nr_hugepages", "r");
    if (f == nullptr) return -1;
    long n = -1;
    if (std::fscanf(f, "%ld", &n) != 1) n = -1;
    std::fclose(f);
    return n;
}

TYPED_TEST(VecTest, HugePagesRequireFailsCleanlyOrGivesHugePages) {
    VEC_TYPES;
    mp_vec_opts opts = {};
    opts.huge = MP_HUGE_REQUIRE;
    opts.capacity = 10;
    V v = Sentinel<V>();
    mp_status s = Ops::NewOpts(&opts, &v);
    long pool = HugePagePool();
    if (pool == 0) {
        EXPECT_TRUE(s == MP_ENOMEM || s == MP_ENOTSUP) << mp_status_str(s);
        EXPECT_TRUE(IsSentinel(v));
        return;
    }
    if (s != MP_OK) {
        // A pool that other processes have emptied, or no huge pages here.
        EXPECT_TRUE(s == MP_ENOMEM || s == MP_ENOTSUP) << mp_status_str(s);
        EXPECT_TRUE(IsSentinel(v));
        GTEST_SKIP() << "no free huge page (pool " << pool << "): " << mp_status_str(s);
    }
    Fill(&v, 10);
    ExpectSeeds(v, 10);
    mp_test::SmapsEntry smaps;
    if (mp_test::ReadSmaps(Ops::Data(&v), &smaps)) {
        EXPECT_GT(smaps.kernel_page_size, mp_page_size());
    }
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

/* Sets *bytes to the resident memory of this process: the working set on
 * Windows, Linux's /proc/self/statm elsewhere. Returns false where neither
 * is available. */
bool ResidentBytes(size_t *bytes) {
#ifdef _WIN32
    PROCESS_MEMORY_COUNTERS counters;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters)) return false;
    *bytes = counters.WorkingSetSize;
    return true;
#else
    FILE *f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return false;
    unsigned long size = 0, resident = 0;
    bool ok = std::fscanf(f, "%lu %lu", &size, &resident) == 2;
    std::fclose(f);
    *bytes = static_cast<size_t>(resident) * mp_page_size();
    return ok;
#endif
}

TYPED_TEST(VecTest, MemoryGoesBackToTheOs) {
    VEC_TYPES;
    size_t rss;
    if (!ResidentBytes(&rss)) GTEST_SKIP() << "no way to read this process's RSS here";
    const size_t bytes = 64u << 20;
    const size_t n = bytes / sizeof(Elem);
    const size_t slack = 8u << 20; /* other allocations of the process */
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    // Fills v with n elements and returns the RSS it added.
    auto fill = [&](size_t before) {
        EXPECT_EQ(MP_OK, Ops::Resize(&v, n, MakeElem<Elem>(1)));
        size_t after = 0;
        EXPECT_TRUE(ResidentBytes(&after));
        EXPECT_GE(after, before + bytes - slack) << "the elements are not resident";
        return after;
    };
    // Checks that the elements' memory left the RSS: it fell by all of
    // their bytes but the slack since the vector was full.
    auto expect_back = [&](const char *what, size_t full) {
        size_t now = 0;
        ASSERT_TRUE(ResidentBytes(&now));
        EXPECT_LE(now + bytes - slack, full)
            << what << " gave back only " << (full > now ? (full - now) >> 10 : 0) << " KiB of "
            << (bytes >> 10) << " KiB";
    };
    ASSERT_TRUE(ResidentBytes(&rss));
    size_t full = fill(rss);
    // clear keeps the memory: the elements' pages stay resident.
    ASSERT_EQ(MP_OK, Ops::Clear(&v));
    size_t cleared = 0;
    ASSERT_TRUE(ResidentBytes(&cleared));
    EXPECT_GE(cleared + slack, full) << "clear gave memory back";
    ASSERT_EQ(MP_OK, Ops::ShrinkToFit(&v));
    expect_back("clear and shrink_to_fit", full);
    full = fill(rss);
    ASSERT_EQ(MP_OK, Ops::Truncate(&v, 1));
    ASSERT_EQ(MP_OK, Ops::ShrinkToFit(&v));
    expect_back("shrink_to_fit", full);
    full = fill(rss);
    ASSERT_EQ(MP_OK, Ops::Free(&v));
    expect_back("free", full);
}

} // namespace
} // namespace vec_test
