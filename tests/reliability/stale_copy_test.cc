// Issue 11, single-threaded: a stale copy of a vector reached another
// vector's memory. The sequences of the issue:
//  - a new + push, b = a, free(&a), a new vector c takes a's cached
//    reservation: push(&b) returned MP_OK and changed c's element, pop(&b)
//    returned c's data;
//  - push on a copy made before freeze faulted (the pages were read-only);
//  - after freeze + thaw an old copy's push wrote into the thawed vector;
// and the other calls that change a vector's memory: a move past the
// reservation (max_capacity), growth (reserve, reserve_exact, insert_n),
// shrink (clear itself keeps the pages since issue 13).
// After each, every function of the vector (inline ones included) is called
// on the stale copy: each must return MP_ESTALE, NULL or 0, leave the copy
// and every out-parameter as they were, and leave the live vector's length,
// capacity, address and elements exactly as they were. Frozen copies get the
// same for every function of the frozen form.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "memory_pages/memory_pages.h"
#include "tests/reliability/race_vecs.h"
#include "tests/support/vec_ops.h"

namespace {

struct U64Ops {
    MP_TEST_VEC_FUNCTIONS(race_u64, uint64_t)
    static constexpr const char *kName = "u64";
};

struct OddOps {
    MP_TEST_VEC_FUNCTIONS(race_odd, odd_elem)
    static constexpr const char *kName = "odd3";
};

template <class T> T Filled(uint8_t byte) {
    T t;
    std::memset(static_cast<void *>(&t), byte, sizeof t);
    return t;
}

template <class T> bool SameBytes(const T &a, const T &b) {
    return std::memcmp(static_cast<const void *>(&a), static_cast<const void *>(&b), sizeof a) == 0;
}

constexpr uint8_t kSentinel = 0xA5;

template <class Ops> class StaleCopyTest : public ::testing::Test {
  protected:
    using Vec = typename Ops::Vec;
    using Frozen = typename Ops::Frozen;
    using Elem = typename Ops::Elem;

    void SetUp() override {
        // The cache of freed reservations starts empty, so that the next
        // vector takes the reservation the test just freed.
        ASSERT_EQ(mp__vec_cache_drain(), MP_OK);
    }

    // Makes *v a vector of n elements whose bytes are seed, seed + 1, ...
    static void Fill(Vec *v, size_t n, uint8_t seed) {
        for (size_t i = 0; i < n; i++) {
            ASSERT_EQ(Ops::Push(v, Filled<Elem>(static_cast<uint8_t>(seed + i))), MP_OK)
                << "push " << i;
        }
    }

    // What a live vector (or frozen vector) looked like, to check that calls
    // on a stale copy did not change it: its length, address, and the bytes
    // of its whole capacity (a stale push writes just past the length).
    struct Snapshot {
        std::function<size_t()> len;
        std::function<const Elem *()> data;
        std::function<size_t()> span; // elements whose bytes are compared
        size_t len0 = 0;
        const Elem *data0 = nullptr;
        std::vector<uint8_t> bytes;

        void Take() {
            len0 = len();
            data0 = data();
            bytes.assign(reinterpret_cast<const uint8_t *>(data0),
                         reinterpret_cast<const uint8_t *>(data0) + span() * sizeof(Elem));
        }
        void Check(const std::string &after) const {
            ASSERT_EQ(len(), len0) << after << ": the live vector's length changed";
            ASSERT_EQ(data(), data0) << after << ": the live vector moved";
            ASSERT_EQ(span() * sizeof(Elem), bytes.size())
                << after << ": the live vector's capacity changed";
            // memcmp takes no null pointer, not even with no bytes (an empty
            // vector's data is NULL).
            EXPECT_TRUE(bytes.empty() || std::memcmp(data(), bytes.data(), bytes.size()) == 0)
                << after << ": the live vector's elements (or bytes up to its capacity) changed";
        }
    };

    static Snapshot Of(Vec *live) {
        Snapshot s;
        s.len = [live] { return Ops::Len(live); };
        s.data = [live] { return Ops::Data(live); };
        s.span = [live] { return Ops::Capacity(live); };
        s.Take();
        return s;
    }

    static Snapshot OfFrozen(Frozen *live) {
        Snapshot s;
        s.len = [live] { return Ops::FrozenLen(live); };
        s.data = [live] { return Ops::FrozenData(live); };
        s.span = s.len;
        s.Take();
        return s;
    }

    // Calls every function of the vector on copies of the stale vector
    // `stale` (which had elements) and checks each answer, that the copy and
    // the out-parameters were not touched, and that every live vector in
    // `live` is unchanged.
    static void ExpectStale(const Vec &stale, const std::vector<const Snapshot *> &live,
                            const std::string &when) {
        const Elem x = Filled<Elem>(0x5A);
        auto after = [&](const char *call, const Vec &copy) {
            EXPECT_TRUE(SameBytes(copy, stale))
                << when << ": " << call << " changed the stale copy";
            for (const Snapshot *s : live)
                s->Check(when + ": " + call + " on the stale copy");
        };
        // Each call gets a fresh copy, so that one call's effect cannot hide
        // another's.
#define MP_STALE_CALL(name, expr, expect)                                                          \
    do {                                                                                           \
        Vec s = stale;                                                                             \
        EXPECT_TRUE((expr) == (expect)) << when << ": " name " on the stale copy";                 \
        after(name, s);                                                                            \
    } while (0)
        MP_STALE_CALL("len", Ops::Len(&s), 0u);
        MP_STALE_CALL("capacity", Ops::Capacity(&s), 0u);
        MP_STALE_CALL("data", Ops::Data(&s), nullptr);
        MP_STALE_CALL("data_mut", Ops::DataMut(&s), nullptr);
        MP_STALE_CALL("at", Ops::At(&s, 0), nullptr);
        MP_STALE_CALL("at_mut", Ops::AtMut(&s, 0), nullptr);
        MP_STALE_CALL("push", Ops::Push(&s, x), MP_ESTALE);
        MP_STALE_CALL("insert", Ops::Insert(&s, 0, x), MP_ESTALE);
        MP_STALE_CALL("extend", Ops::Extend(&s, &x, 1), MP_ESTALE);
        MP_STALE_CALL("resize up", Ops::Resize(&s, stale.raw_.len + 1, x), MP_ESTALE);
        MP_STALE_CALL("resize down", Ops::Resize(&s, 0, x), MP_ESTALE);
        MP_STALE_CALL("truncate", Ops::Truncate(&s, 0), MP_ESTALE);
        MP_STALE_CALL("clear", Ops::Clear(&s), MP_ESTALE);
        MP_STALE_CALL("reserve", Ops::Reserve(&s, 1), MP_ESTALE);
        MP_STALE_CALL("shrink_to_fit", Ops::ShrinkToFit(&s), MP_ESTALE);
        MP_STALE_CALL("free", Ops::Free(&s), MP_ESTALE);
        MP_STALE_CALL("reserve_exact", Ops::ReserveExact(&s, 1), MP_ESTALE);
        MP_STALE_CALL("push_within_capacity", Ops::PushWithinCapacity(&s, x), MP_ESTALE);
        MP_STALE_CALL("insert_n", Ops::InsertN(&s, 0, &x, 1), MP_ESTALE);
        MP_STALE_CALL("insert_n of nothing", Ops::InsertN(&s, 0, &x, 0), MP_ESTALE);
        MP_STALE_CALL("remove_range dropping", Ops::RemoveRange(&s, 0, 1, nullptr), MP_ESTALE);
        MP_STALE_CALL("remove_range of nothing", Ops::RemoveRange(&s, 0, 0, nullptr), MP_ESTALE);
#undef MP_STALE_CALL
        // The calls with out-parameters: those stay as they were.
        using RemoveFn = mp_status (*)(Vec *, Elem *);
        const std::pair<const char *, RemoveFn> removals[] = {
            {"pop", [](Vec *v, Elem *o) { return Ops::Pop(v, o); }},
            {"remove", [](Vec *v, Elem *o) { return Ops::Remove(v, 0, o); }},
            {"swap_remove", [](Vec *v, Elem *o) { return Ops::SwapRemove(v, 0, o); }},
        };
        for (const auto &removal : removals) {
            Vec s = stale;
            Elem out = Filled<Elem>(kSentinel);
            EXPECT_EQ(removal.second(&s, &out), MP_ESTALE) << when << ": " << removal.first;
            EXPECT_TRUE(SameBytes(out, Filled<Elem>(kSentinel)))
                << when << ": " << removal.first << " on the stale copy gave an element out";
            after(removal.first, s);
        }
        {
            Vec s = stale;
            Elem out[2] = {Filled<Elem>(kSentinel), Filled<Elem>(kSentinel)};
            EXPECT_EQ(Ops::RemoveRange(&s, 0, 1, out), MP_ESTALE) << when << ": remove_range";
            EXPECT_TRUE(SameBytes(out[0], Filled<Elem>(kSentinel)))
                << when << ": remove_range on the stale copy gave an element out";
            after("remove_range", s);
        }
        {
            Vec s = stale;
            Vec out = Filled<Vec>(kSentinel);
            EXPECT_EQ(Ops::Clone(&s, &out), MP_ESTALE) << when << ": clone";
            EXPECT_TRUE(SameBytes(out, Filled<Vec>(kSentinel)))
                << when << ": clone of the stale copy wrote its out-parameter";
            after("clone", s);
        }
        {
            Vec s = stale;
            Frozen f = Filled<Frozen>(kSentinel);
            EXPECT_EQ(Ops::Freeze(&s, &f), MP_ESTALE) << when << ": freeze";
            EXPECT_TRUE(SameBytes(f, Filled<Frozen>(kSentinel)))
                << when << ": freeze of the stale copy wrote its out-parameter";
            after("freeze", s);
        }
    }

    // The same for every function of a stale frozen vector.
    static void ExpectStaleFrozen(const Frozen &stale, const std::vector<const Snapshot *> &live,
                                  const std::string &when) {
        Frozen s = stale;
        EXPECT_EQ(Ops::FrozenLen(&s), 0u) << when << ": frozen_len";
        EXPECT_EQ(Ops::FrozenData(&s), nullptr) << when << ": frozen_data";
        EXPECT_EQ(Ops::FrozenAt(&s, 0), nullptr) << when << ": frozen_at";
        EXPECT_EQ(Ops::FrozenFree(&s), MP_ESTALE) << when << ": frozen_free";
        EXPECT_TRUE(SameBytes(s, stale)) << when << ": a call changed the stale frozen copy";
        Vec out = Filled<Vec>(kSentinel);
        EXPECT_EQ(Ops::Thaw(&s, &out), MP_ESTALE) << when << ": thaw";
        EXPECT_TRUE(SameBytes(out, Filled<Vec>(kSentinel)))
            << when << ": thaw of the stale copy wrote its out-parameter";
        for (const Snapshot *l : live)
            l->Check(when + ": a call on the stale frozen copy");
    }
};

using OpsTypes = ::testing::Types<U64Ops, OddOps>;
struct OpsName {
    template <class O> static std::string GetName(int) {
        return O::kName;
    }
};

// The suite name of the defect, for the typed fixture.
template <class Ops> using StaleVectorCopy = StaleCopyTest<Ops>;
TYPED_TEST_SUITE(StaleVectorCopy, OpsTypes, OpsName);

// a new + push, b = a, free(&a), c new takes a's cached reservation.
TYPED_TEST(StaleVectorCopy, NeverWritesAnotherVector) {
    using Ops = TypeParam;
    typename Ops::Vec a, c;
    ASSERT_EQ(Ops::New(&a), MP_OK);
    this->Fill(&a, 3, 1);
    const typename Ops::Vec b = a;
    const void *a_data = Ops::Data(&a);
    ASSERT_EQ(Ops::Free(&a), MP_OK);
    ASSERT_EQ(Ops::New(&c), MP_OK);
    // Longer than b, so that b's push and pop land on c's elements.
    this->Fill(&c, 6, 40);
    // The defect needs c in a's reservation, which the cache of freed
    // reservations gives it; without that the test would prove nothing.
    ASSERT_EQ(static_cast<const void *>(Ops::Data(&c)), a_data)
        << "c did not take a's cached reservation";
    const auto live = this->Of(&c);
    this->ExpectStale(b, {&live}, "a copy of a freed vector whose reservation c took");
    this->ExpectStale(a, {&live}, "the freed vector itself");
    EXPECT_EQ(Ops::Free(&c), MP_OK);
}

// a new + push, b = a, freeze(&a): push on b wrote to read-only pages.
TYPED_TEST(StaleVectorCopy, CopyBeforeFreezeNeverFaults) {
    using Ops = TypeParam;
    typename Ops::Vec a;
    typename Ops::Frozen f;
    ASSERT_EQ(Ops::New(&a), MP_OK);
    this->Fill(&a, 3, 1);
    const typename Ops::Vec b = a;
    ASSERT_EQ(Ops::Freeze(&a, &f), MP_OK);
    const auto live = this->OfFrozen(&f);
    this->ExpectStale(b, {&live}, "a copy made before freeze");
    EXPECT_EQ(Ops::FrozenFree(&f), MP_OK);
}

// freeze + thaw: an old copy's push wrote into the thawed vector; a copy of
// the frozen vector made before the thaw must be stale too.
TYPED_TEST(StaleVectorCopy, CopyBeforeFreezeAndThawNeverWritesTheThawedVector) {
    using Ops = TypeParam;
    typename Ops::Vec a, thawed;
    typename Ops::Frozen f;
    ASSERT_EQ(Ops::New(&a), MP_OK);
    this->Fill(&a, 3, 1);
    const typename Ops::Vec b = a;
    ASSERT_EQ(Ops::Freeze(&a, &f), MP_OK);
    const typename Ops::Frozen f_copy = f;
    ASSERT_EQ(Ops::Thaw(&f, &thawed), MP_OK);
    ASSERT_EQ(static_cast<const void *>(Ops::Data(&thawed)), b.raw_.data)
        << "the thaw moved the elements; the sequence needs them in place";
    // Longer than b, so that b's push and pop land on its elements.
    this->Fill(&thawed, 3, 60);
    const auto live = this->Of(&thawed);
    this->ExpectStale(b, {&live}, "a copy made before freeze + thaw");
    this->ExpectStaleFrozen(f_copy, {&live}, "a copy of the frozen vector made before thaw");
    this->ExpectStaleFrozen(f, {&live}, "the thawed frozen vector itself");
    EXPECT_EQ(Ops::Free(&thawed), MP_OK);
}

// A frozen vector freed, and a new frozen vector made: the old frozen copy is
// stale and never reaches the new one (which may take the same slot).
TYPED_TEST(StaleVectorCopy, FrozenCopyAfterFreeNeverReachesTheNextFrozenVector) {
    using Ops = TypeParam;
    typename Ops::Vec a, g;
    typename Ops::Frozen f, h;
    ASSERT_EQ(Ops::New(&a), MP_OK);
    this->Fill(&a, 3, 1);
    ASSERT_EQ(Ops::Freeze(&a, &f), MP_OK);
    const typename Ops::Frozen f_copy = f;
    ASSERT_EQ(Ops::FrozenFree(&f), MP_OK);
    ASSERT_EQ(Ops::New(&g), MP_OK);
    this->Fill(&g, 5, 70);
    ASSERT_EQ(Ops::Freeze(&g, &h), MP_OK);
    const auto live = this->OfFrozen(&h);
    this->ExpectStaleFrozen(f_copy, {&live}, "a copy of a freed frozen vector");
    EXPECT_EQ(Ops::FrozenFree(&h), MP_OK);
}

// Growth past max_capacity moves the vector to a new reservation: a copy
// from before is stale, for the moved vector and for a new vector that may
// take the old address.
TYPED_TEST(StaleVectorCopy, CopyBeforeMovePastReservationIsStale) {
    using Ops = TypeParam;
    mp_vec_opts o = {};
    o.max_capacity = 8;
    typename Ops::Vec a, d;
    ASSERT_EQ(Ops::NewOpts(&o, &a), MP_OK);
    this->Fill(&a, 1, 1);
    // Fill the reservation (which holds at least max_capacity, in whole
    // pages), so that the next push must move.
    while (Ops::Capacity(&a) > Ops::Len(&a) || Ops::Len(&a) < o.max_capacity) {
        ASSERT_EQ(Ops::Push(&a, Filled<typename Ops::Elem>(7)), MP_OK);
        if (Ops::Len(&a) > 1u << 20) FAIL() << "the reservation never filled";
    }
    const typename Ops::Vec b = a;
    const void *before = Ops::Data(&a);
    // Push until the elements move (the reservation may hold more than its
    // committed pages).
    for (int i = 0; Ops::Data(&a) == before; i++) {
        ASSERT_EQ(Ops::Push(&a, Filled<typename Ops::Elem>(9)), MP_OK);
        ASSERT_LT(i, 1 << 20) << "the vector never moved past its reservation";
    }
    ASSERT_EQ(Ops::NewOpts(&o, &d), MP_OK);
    this->Fill(&d, 2, 90);
    const auto live_a = this->Of(&a);
    const auto live_d = this->Of(&d);
    this->ExpectStale(b, {&live_a, &live_d}, "a copy made before a move past max_capacity");
    EXPECT_EQ(Ops::Free(&a), MP_OK);
    EXPECT_EQ(Ops::Free(&d), MP_OK);
}

// Every other call that changes the vector's memory (commits more, gives
// pages back) makes the copies from before stale.
TYPED_TEST(StaleVectorCopy, CopyBeforeGrowthShrinkOrClearIsStale) {
    using Ops = TypeParam;
    using Vec = typename Ops::Vec;
    using Elem = typename Ops::Elem;
    const Elem x = Filled<Elem>(3);
    struct Change {
        const char *name;
        std::function<mp_status(Vec *)> call;
    };
    const std::vector<Change> changes = {
        {"push past capacity",
         [&](Vec *v) {
             mp_status s = MP_OK;
             for (size_t n = Ops::Capacity(v) - Ops::Len(v) + 1; n > 0 && s == MP_OK; n--)
                 s = Ops::Push(v, x);
             return s;
         }},
        {"reserve", [&](Vec *v) { return Ops::Reserve(v, Ops::Capacity(v) + 1); }},
        {"extend past capacity",
         [&](Vec *v) {
             std::vector<Elem> src(Ops::Capacity(v) + 1, x);
             return Ops::Extend(v, src.data(), src.size());
         }},
        {"resize past capacity", [&](Vec *v) { return Ops::Resize(v, Ops::Capacity(v) + 1, x); }},
        {"insert at capacity",
         [&](Vec *v) {
             mp_status s = Ops::Resize(v, Ops::Capacity(v), x);
             return s == MP_OK ? Ops::Insert(v, 0, x) : s;
         }},
        {"truncate + shrink_to_fit",
         [&](Vec *v) {
             mp_status s = Ops::Truncate(v, 1);
             return s == MP_OK ? Ops::ShrinkToFit(v) : s;
         }},
        {"clear + shrink_to_fit",
         [&](Vec *v) {
             mp_status s = Ops::Clear(v);
             return s == MP_OK ? Ops::ShrinkToFit(v) : s;
         }},
        {"reserve_exact", [&](Vec *v) { return Ops::ReserveExact(v, Ops::Capacity(v) + 1); }},
        {"insert_n past capacity",
         [&](Vec *v) {
             std::vector<Elem> src(Ops::Capacity(v) + 1, x);
             return Ops::InsertN(v, 1, src.data(), src.size());
         }},
    };
    for (const Change &change : changes) {
        Vec a;
        ASSERT_EQ(Ops::New(&a), MP_OK);
        // Two pages' worth or more, so that shrink gives pages back.
        const size_t n = 2 * mp_page_size() / sizeof(Elem) + 3;
        this->Fill(&a, n, 1);
        const Vec b = a;
        const size_t cap_before = Ops::Capacity(&a);
        ASSERT_EQ(change.call(&a), MP_OK) << change.name;
        ASSERT_NE(Ops::Capacity(&a), cap_before)
            << change.name << " did not change the committed memory; the test needs it to";
        // The copy made just before the change is stale; the vector itself
        // stays live and usable.
        const auto live = this->Of(&a);
        this->ExpectStale(b, {&live}, std::string("a copy made before ") + change.name);
        EXPECT_EQ(Ops::Push(&a, x), MP_OK) << "the vector after " << change.name;
        EXPECT_EQ(Ops::Free(&a), MP_OK) << change.name;
    }
}

} // namespace
