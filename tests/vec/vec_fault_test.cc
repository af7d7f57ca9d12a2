/*
 * Every OS failure path of PagedVec: each operation runs once per OS call it
 * makes, with that call made to fail (tests/internals/fault_injection.h),
 * until a run makes no failing call. A run that fails must return the
 * injected status, report the injected OS error, and leave every vector it
 * was given exactly as it was, and still usable. Only a hint (huge_hint),
 * a large reservation (retried at the size needed) or the release of the old
 * mapping after a completed move may fail without failing the operation.
 */
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "runtime/os.h"
#include "tests/internals/fault_injection.h"
#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

/* The objects an operation works on: a vector, a frozen vector and a second
 * vector to thaw into. */
template <class V> struct State {
    using Ops = VecOps<V>;
    V v;
    typename Ops::Frozen f;
    V w;

    State() {
        std::memset(static_cast<void *>(this), 0, sizeof *this);
        EXPECT_EQ(MP_OK, Ops::New(&v));
        EXPECT_EQ(MP_OK, Ops::New(&w));
    }
    ~State() {
        /* Whatever is still live; the others answer MP_ESTALE. */
        Ops::Free(&v);
        Ops::Free(&w);
        Ops::FrozenFree(&f);
    }
};

/* Everything of a State that a failed call must leave alone. */
template <class V> struct StateSnapshot {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;

    explicit StateSnapshot(const State<V> &s) : v(s.v), w(s.w) {
        std::memcpy(frozen_raw, &s.f, sizeof s.f);
        for (size_t i = 0; i < Ops::FrozenLen(&s.f); i++)
            frozen.push_back(*Ops::FrozenAt(&s.f, i));
    }

    void ExpectSame(const State<V> &s) const {
        v.ExpectSame(s.v);
        w.ExpectSame(s.w);
        EXPECT_EQ(0, std::memcmp(frozen_raw, &s.f, sizeof s.f)) << "the frozen vector changed";
        ASSERT_EQ(frozen.size(), Ops::FrozenLen(&s.f));
        for (size_t i = 0; i < frozen.size(); i++) {
            ASSERT_TRUE(SameElem(frozen[i], *Ops::FrozenAt(&s.f, i))) << "frozen element " << i;
        }
    }

    Snapshot<V> v, w;
    unsigned char frozen_raw[sizeof(typename Ops::Frozen)];
    std::vector<Elem> frozen;
};

/* A live vector still works after a failure: its committed capacity is
 * writable, and it can grow and shrink. */
template <class V> void ExpectUsable(V *v) {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    if (Ops::Reserve(v, 0) == MP_ESTALE) return; /* consumed before the call, as set up */
    std::vector<Elem> keep(Ops::Data(v), Ops::Data(v) + Ops::Len(v));
    size_t cap = Ops::Capacity(v);
    if (cap > keep.size()) {
        std::memset(static_cast<void *>(Ops::DataMut(v) + keep.size()), 0x3C,
                    (cap - keep.size()) * sizeof(Elem));
    }
    ASSERT_EQ(MP_OK, Ops::Push(v, MakeElem<Elem>(99)));
    ASSERT_EQ(MP_OK, Ops::Pop(v, nullptr));
    ASSERT_EQ(keep.size(), Ops::Len(v));
    for (size_t i = 0; i < keep.size(); i++)
        ASSERT_TRUE(SameElem(keep[i], *Ops::At(v, i)));
}

/* Replaces the OS layer's remap with a platform's that has none. */
mp_status NoRemap(void *, size_t, void *, size_t) {
    return MP_ENOTSUP;
}

struct Case {
    std::string name;
    bool copy_moves; /* moves copy, as where the OS cannot move pages */
};

/* Runs op on a fresh State from setup once per OS call it makes, that call
 * failing; then checks with done that the run without failures did its
 * job. Calls that may fail without failing op are in may_fail. Every run
 * starts with an empty cache of freed reservations, so that each makes the
 * same OS calls; setup may fill it. */
template <class V>
void Walk(const Case &c, const std::function<void(State<V> *)> &setup,
          const std::function<mp_status(State<V> *)> &op,
          const std::function<void(State<V> *)> &done, std::vector<std::string> may_fail = {}) {
    SCOPED_TRACE(c.name);
    for (unsigned nth = 1;; nth++) {
        ASSERT_LT(nth, 40u) << "the walk does not end";
        SCOPED_TRACE(testing::Message() << "OS call " << nth << " fails");
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        State<V> s;
        setup(&s);
        if (testing::Test::HasFatalFailure()) return;
        StateSnapshot<V> before(s);
        fault_arm(nth, MP_ENOMEM, ENOMEM);
        if (c.copy_moves) mp__os.remap = NoRemap;
        mp_status status = op(&s);
        int os_error = mp_os_error();
        const char *fired = fault_fired();
        fault_disarm();
        if (fired == nullptr) {
            ASSERT_EQ(MP_OK, status) << "with no failing call";
            /* Every operation walked here calls the OS: a walk that failed
             * nothing tested nothing. */
            EXPECT_GT(nth, 1u) << "no OS call was made to fail";
            done(&s);
            return;
        }
        SCOPED_TRACE(testing::Message() << "the failing call: " << fired);
        if (status == MP_OK) {
            bool allowed = false;
            for (const std::string &m : may_fail)
                allowed = allowed || m == fired;
            EXPECT_TRUE(allowed) << fired << " failed and the operation succeeded";
            done(&s);
            continue;
        }
        EXPECT_EQ(MP_ENOMEM, status);
        EXPECT_EQ(ENOMEM, os_error) << "mp_os_error() after the failure";
        before.ExpectSame(s);
        ExpectUsable(&s.v);
        ExpectUsable(&s.w);
    }
}

template <class V> class VecFaultTest : public ::testing::Test {};
TYPED_TEST_SUITE(VecFaultTest, AllVecs);

/* Elements that fill `pages` pages, at least 1. */
template <class Elem> size_t PerPages(size_t pages) {
    return std::max<size_t>(1, pages * mp_page_size() / sizeof(Elem));
}

template <class V> void Fill(V *v, size_t n) {
    using Ops = VecOps<V>;
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(MP_OK, Ops::Push(v, MakeElem<typename Ops::Elem>(i)));
}

/* Fills v to its capacity, at least n elements. */
template <class V> void FillToCapacity(V *v, size_t n) {
    using Ops = VecOps<V>;
    Fill(v, n);
    Fill(v, Ops::Capacity(v) - Ops::Len(v));
}

/* Leaves a reservation with `pages` pages committed in the cache of freed
 * reservations, for the next new vector to take. */
template <class V> void CacheReservation(size_t pages) {
    using Ops = VecOps<V>;
    V t;
    ASSERT_EQ(MP_OK, Ops::New(&t));
    ASSERT_EQ(MP_OK, Ops::Reserve(&t, PerPages<typename Ops::Elem>(pages)));
    ASSERT_EQ(MP_OK, Ops::Free(&t));
}

/* Fills the cache of freed reservations, so that the next free releases:
 * four vectors live at once, then freed, since a vector made after a free
 * takes the reservation just cached (one at a time, the cache never held
 * more than one). */
template <class V> void FillCache() {
    using Ops = VecOps<V>;
    V t[4];
    for (V &x : t) {
        ASSERT_EQ(MP_OK, Ops::New(&x));
        ASSERT_EQ(MP_OK, Ops::Reserve(&x, 1));
    }
    for (V &x : t)
        ASSERT_EQ(MP_OK, Ops::Free(&x));
}

template <class V> void ExpectElems(const V &v, size_t n) {
    using Ops = VecOps<V>;
    ASSERT_EQ(n, Ops::Len(&v));
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(SameElem(MakeElem<typename Ops::Elem>(i), *Ops::At(&v, i))) << "element " << i;
    }
}

TYPED_TEST(VecFaultTest, Growth) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t page_elems = PerPages<Elem>(1);
    for (bool copy : {false, true}) {
        Case c{"first push", copy};
        Walk<V>(
            c, [](S *) {}, [](S *s) { return Ops::Push(&s->v, MakeElem<Elem>(0)); },
            [](S *s) { ExpectElems(s->v, 1); }, {"reserve"});
        c.name = "push growing in place";
        Walk<V>(
            c, [&](S *s) { FillToCapacity(&s->v, page_elems); },
            [](S *s) { return Ops::Push(&s->v, MakeElem<Elem>(Ops::Len(&s->v))); },
            [](S *s) { ExpectElems(s->v, Ops::Len(&s->v)); });
        c.name = copy ? "push moving by copy" : "push moving by remap";
        Walk<V>(
            c,
            [&](S *s) {
                mp_vec_opts opts = {};
                opts.max_capacity = page_elems;
                opts.guard = true;
                ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                FillToCapacity(&s->v, page_elems);
            },
            [](S *s) {
                const Elem *before = Ops::Data(&s->v);
                mp_status st = Ops::Push(&s->v, MakeElem<Elem>(Ops::Len(&s->v)));
                if (st == MP_OK) {
                    EXPECT_NE(before, Ops::Data(&s->v)) << "did not move";
                }
                return st;
            },
            [](S *s) { ExpectElems(s->v, Ops::Len(&s->v)); }, {"reserve", "release"});
        c.name = "extend from itself, moving";
        Walk<V>(
            c,
            [&](S *s) {
                mp_vec_opts opts = {};
                opts.max_capacity = page_elems;
                ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                FillToCapacity(&s->v, page_elems);
            },
            [](S *s) { return Ops::Extend(&s->v, Ops::Data(&s->v), Ops::Len(&s->v)); },
            [](S *s) {
                size_t half = Ops::Len(&s->v) / 2;
                for (size_t i = 0; i < 2 * half; i++) {
                    ASSERT_TRUE(SameElem(MakeElem<Elem>(i % half), *Ops::At(&s->v, i)));
                }
            },
            {"reserve", "release"});
    }
    Case c{"reserve", false};
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, 2); }, [&](S *s) { return Ops::Reserve(&s->v, 4 * page_elems); },
        [&](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 4 * page_elems + 2); });
    c.name = "insert growing";
    Walk<V>(
        c, [&](S *s) { FillToCapacity(&s->v, page_elems); },
        [](S *s) { return Ops::Insert(&s->v, 0, MakeElem<Elem>(7)); },
        [](S *s) { EXPECT_TRUE(SameElem(MakeElem<Elem>(7), *Ops::At(&s->v, 0))); });
    c.name = "reserve in a cached reservation";
    Walk<V>(
        c, [](S *) { CacheReservation<V>(1); },
        [&](S *s) { return Ops::Reserve(&s->v, 4 * page_elems); },
        [&](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 4 * page_elems); });
    c.name = "resize growing";
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, 1); },
        [&](S *s) { return Ops::Resize(&s->v, 3 * page_elems, MakeElem<Elem>(5)); },
        [&](S *s) { EXPECT_EQ(3 * page_elems, Ops::Len(&s->v)); });
}

/* The functions of issue 13 that may reach the OS: every failure leaves
 * both vectors as they were (clone writes *out only on success). */
TYPED_TEST(VecFaultTest, ReserveExactInsertNAndClone) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t page_elems = PerPages<Elem>(1);
    Case c{"reserve_exact", false};
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, 2); },
        [&](S *s) { return Ops::ReserveExact(&s->v, 4 * page_elems); },
        [&](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 4 * page_elems + 2); });
    for (bool copy : {false, true}) {
        c = Case{copy ? "insert_n moving by copy" : "insert_n moving by remap", copy};
        Walk<V>(
            c,
            [&](S *s) {
                mp_vec_opts opts = {};
                opts.max_capacity = page_elems;
                ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                FillToCapacity(&s->v, page_elems);
            },
            [&](S *s) {
                std::vector<Elem> src(page_elems + 1, MakeElem<Elem>(7));
                return Ops::InsertN(&s->v, 1, src.data(), src.size());
            },
            [&](S *s) {
                ASSERT_LE(page_elems + 2, Ops::Len(&s->v));
                EXPECT_TRUE(SameElem(MakeElem<Elem>(0), *Ops::At(&s->v, 0)));
                EXPECT_TRUE(SameElem(MakeElem<Elem>(7), *Ops::At(&s->v, page_elems + 1)));
            },
            {"reserve", "release"});
    }
    c = Case{"clone", false};
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, 3 * page_elems); },
        [](S *s) { return Ops::Clone(&s->v, &s->w); },
        [&](S *s) {
            ExpectElems(s->w, 3 * page_elems);
            ExpectElems(s->v, 3 * page_elems);
        },
        {"reserve"});
}

/* push_within_capacity, clear, truncate and remove_range never call the
 * OS: with the first OS call armed to fail, each succeeds and none fired. */
TYPED_TEST(VecFaultTest, NoOsCallToFail) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    V v;
    ASSERT_EQ(MP_OK, Ops::WithCapacity(PerPages<Elem>(2), &v));
    Fill(&v, 4);
    fault_arm(1, MP_ENOMEM, ENOMEM);
    EXPECT_EQ(MP_OK, Ops::PushWithinCapacity(&v, MakeElem<Elem>(4)));
    EXPECT_EQ(MP_OK, Ops::RemoveRange(&v, 1, 3, nullptr));
    EXPECT_EQ(MP_OK, Ops::Truncate(&v, 2));
    EXPECT_EQ(MP_OK, Ops::Clear(&v));
    while (Ops::Len(&v) < Ops::Capacity(&v))
        ASSERT_EQ(MP_OK, Ops::PushWithinCapacity(&v, MakeElem<Elem>(1)));
    EXPECT_EQ(MP_ENOMEM, Ops::PushWithinCapacity(&v, MakeElem<Elem>(1)));
    const char *fired = fault_fired();
    fault_disarm();
    EXPECT_EQ(nullptr, fired) << fired;
    EXPECT_EQ(MP_OK, Ops::Free(&v));
}

TYPED_TEST(VecFaultTest, Making) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    Case c{"with_capacity", false};
    Walk<V>(
        c, [](S *) {}, [](S *s) { return Ops::WithCapacity(10, &s->v); },
        [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 10u); }, {"reserve"});
    c.name = "with_capacity in a cached reservation";
    Walk<V>(
        c, [](S *) { CacheReservation<V>(1); },
        [](S *s) { return Ops::WithCapacity(PerPages<Elem>(4), &s->v); },
        [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), PerPages<Elem>(4)); });
    c.name = "new_opts with every option";
    Walk<V>(
        c, [](S *) {},
        [](S *s) {
            mp_vec_opts opts = {};
            opts.capacity = 10;
            opts.max_capacity = PerPages<Elem>(3) + 10;
            opts.huge = MP_HUGE_TRY;
            opts.guard = true;
            return Ops::NewOpts(&opts, &s->v);
        },
        [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 10u); }, {"huge_hint"});
}

TYPED_TEST(VecFaultTest, GivingMemoryBack) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t n = PerPages<Elem>(4);
    Case c{"shrink_to_fit of an emptied vector", false};
    Walk<V>(
        c,
        [&](S *s) {
            Fill(&s->v, n);
            ASSERT_EQ(MP_OK, Ops::Clear(&s->v));
        },
        [](S *s) { return Ops::ShrinkToFit(&s->v); },
        [](S *s) { EXPECT_EQ(0u, Ops::Capacity(&s->v)); });
    c.name = "shrink_to_fit";
    Walk<V>(
        c,
        [&](S *s) {
            Fill(&s->v, n);
            ASSERT_EQ(MP_OK, Ops::Truncate(&s->v, 1));
        },
        [](S *s) { return Ops::ShrinkToFit(&s->v); },
        [](S *s) { EXPECT_LT(Ops::Capacity(&s->v), PerPages<Elem>(1) + 1); });
    /* Free keeps the reservation in the cache, giving back the pages past
     * its first 64 KiB; if that fails, or the cache is full, it releases. */
    c.name = "free into the cache";
    const size_t past_cached = PerPages<Elem>(20);
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, past_cached); }, [](S *s) { return Ops::Free(&s->v); },
        [](S *s) { EXPECT_EQ(MP_ESTALE, Ops::Free(&s->v)); }, {"discard"});
    c.name = "free with the cache full";
    Walk<V>(
        c,
        [&](S *s) {
            /* The vector first: its first push would take a cached
             * reservation. */
            Fill(&s->v, n);
            FillCache<V>();
        },
        [](S *s) { return Ops::Free(&s->v); },
        [](S *s) { EXPECT_EQ(MP_ESTALE, Ops::Free(&s->v)); });
}

TYPED_TEST(VecFaultTest, FreezeAndThaw) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t n = PerPages<Elem>(2) + 1;
    Case c{"freeze", false};
    Walk<V>(
        c, [&](S *s) { Fill(&s->v, n); }, [](S *s) { return Ops::Freeze(&s->v, &s->f); },
        [&](S *s) { EXPECT_EQ(n, Ops::FrozenLen(&s->f)); });
    c.name = "thaw";
    Walk<V>(
        c,
        [&](S *s) {
            Fill(&s->v, n);
            ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f));
        },
        [](S *s) { return Ops::Thaw(&s->f, &s->w); }, [&](S *s) { ExpectElems(s->w, n); });
    c.name = "frozen free";
    Walk<V>(
        c,
        [&](S *s) {
            Fill(&s->v, n);
            ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f));
        },
        [](S *s) { return Ops::FrozenFree(&s->f); },
        [](S *s) { EXPECT_EQ(0u, Ops::FrozenLen(&s->f)); });
}

/* A reserve that always fails, as in a process out of address space. */
mp_status NoAddressSpace(size_t, size_t, unsigned, void **) {
    return MP_ENOMEM;
}

TYPED_TEST(VecFaultTest, NoAddressSpaceAtAll) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    /* Cached reservations are address space taken earlier. */
    ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    V v, w;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    mp_vec_opts opts = {};
    opts.max_capacity = PerPages<Elem>(1);
    opts.capacity = opts.max_capacity;
    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &w));
    FillToCapacity(&w, 1);
    Snapshot<V> v_before(v), w_before(w);
    mp__os.reserve = NoAddressSpace;
    EXPECT_EQ(MP_ENOMEM, Ops::Push(&v, MakeElem<Elem>(0)));
    EXPECT_EQ(MP_ENOMEM, Ops::Push(&w, MakeElem<Elem>(0)));
    EXPECT_EQ(MP_ENOMEM, Ops::Reserve(&w, 1000));
    V x = v;
    EXPECT_EQ(MP_ENOMEM, Ops::WithCapacity(1, &x));
    mp__os = mp__os_native;
    v_before.ExpectSame(v);
    w_before.ExpectSame(w);
    v_before.ExpectSame(x);
    EXPECT_EQ(MP_OK, Ops::Free(&w));
}

} // namespace
} // namespace vec_test
