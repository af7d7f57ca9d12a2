/*
 * Every raw system call of every PagedVec operation is made to fail in turn
 * (tests/internals/fault_injection.h, sys_fault_*), at each of its calls,
 * with each error code of tests/internals/sys_faults.h, until a run makes no
 * call fail. A run whose fault gives a failure must return the status the
 * platform file maps the code to, report the code through mp_os_error(), and
 * leave every vector it was given exactly as it was (fields, generation
 * raw_.ref.gen, elements) and still usable. Runs whose fault is absorbed by
 * a documented branch must succeed:
 *  - the platform's own branches (sys_faults.h: a failed first mremap copies,
 *    MADV_HUGEPAGE hints are ignored, ...);
 *  - a default reservation refused for lack of memory is retried at the
 *    size needed (vec.c map_reserve);
 *  - after a completed move, a failed release of the old mapping leaves the
 *    move standing (vec.c move_mapping): the test releases that mapping
 *    itself, so that the leak check stays exact;
 *  - a free whose reservation cannot give its pages back for the cache
 *    releases it instead (vec.c cache_put).
 * Every run leaves the reservation balance and the mapping count as it found
 * them, with the cache of freed reservations drained. Each walk requires at
 * least one fault, except the operations listed as making no system call,
 * which must make none. The walk one level up, through the OS table, is
 * vec_fault_test.cc.
 */
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "runtime/os.h"
#ifdef _WIN32
#include "runtime/sys_windows.h"
#else
#include <sys/mman.h>

#include "runtime/sys_posix.h"
#endif
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"
#include "tests/internals/sys_faults.h"
#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

using sys_faults::Describe;
using sys_faults::Expected;
using sys_faults::OsError;
using sys_faults::OsErrors;

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

/* Everything of a State that a failed call must leave alone: the bytes of
 * each vector (its generation raw_.ref.gen among them) and the elements. */
template <class V> struct StateSnapshot {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;

    explicit StateSnapshot(const State<V> &s)
        : v(s.v), w(s.w), v_gen(s.v.raw_.ref.gen), f_gen(s.f.raw_.ref.gen) {
        std::memcpy(frozen_raw, &s.f, sizeof s.f);
        for (size_t i = 0; i < Ops::FrozenLen(&s.f); i++)
            frozen.push_back(*Ops::FrozenAt(&s.f, i));
    }

    void ExpectSame(const State<V> &s) const {
        EXPECT_EQ(v_gen, s.v.raw_.ref.gen) << "the vector's generation changed";
        EXPECT_EQ(f_gen, s.f.raw_.ref.gen) << "the frozen vector's generation changed";
        v.ExpectSame(s.v);
        w.ExpectSame(s.w);
        EXPECT_EQ(0, std::memcmp(frozen_raw, &s.f, sizeof s.f)) << "the frozen vector changed";
        ASSERT_EQ(frozen.size(), Ops::FrozenLen(&s.f));
        for (size_t i = 0; i < frozen.size(); i++) {
            ASSERT_TRUE(SameElem(frozen[i], *Ops::FrozenAt(&s.f, i))) << "frozen element " << i;
        }
    }

    Snapshot<V> v, w;
    uint32_t v_gen, f_gen;
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

/* Replaces the OS layer's remap with that of a platform that has none, so
 * that moves copy and the raw calls of the copy are walked too. */
mp_status NoRemap(void *, size_t, void *, size_t) {
    return MP_ENOTSUP;
}

/* Whether a raw call takes address space (a reservation) or gives a whole
 * reservation back. */
bool IsReserve(const sys_call &c) {
#ifdef _WIN32
    return std::strcmp(c.entry, "VirtualAlloc") == 0 && (c.arg[2] & MEM_RESERVE);
#else
    return std::strcmp(c.entry, "mmap") == 0 && !(c.arg[3] & MAP_FIXED);
#endif
}

bool IsRelease(const sys_call &c) {
#ifdef _WIN32
    return std::strcmp(c.entry, "VirtualFree") == 0 && (c.arg[2] & MEM_RELEASE);
#else
    return std::strcmp(c.entry, "munmap") == 0;
#endif
}

/* Gives back, with the system's own call, the reservation whose failed
 * release c was, and takes it off the reservation balance. */
void ReleaseBehindTheLibrary(const sys_call &c) {
    void *base = reinterpret_cast<void *>(c.arg[0]);
#ifdef _WIN32
    ASSERT_TRUE(mp__sys_native.VirtualFree(base, 0, MEM_RELEASE));
#else
    ASSERT_EQ(0, mp__sys_native.munmap(base, c.arg[1]));
#endif
    fault_forget_reservation();
}

/* What an operation's caller-side branches do with a failing call. */
struct Case {
    std::string name;
    bool copy_moves = false; /* moves copy, as where the OS cannot move pages */
    bool retries = false;    /* reserves more than it needs: a refusal for lack of
                                memory is retried at the size needed */
    bool may_retry = false;  /* as retries, where that depends on the element size */
    bool moves = false;      /* moves to a new reservation, releasing the old */
    bool into_cache = false; /* a free that keeps the reservation in the cache */
};

const char *const kRetried = "vector: reservation refused for memory -> retried at the size needed";
const char *const kMoveStands = "vector: release of the old mapping fails -> the move stands";
const char *const kCacheReleases = "vector free: cache discard fails -> released instead";

/* The expected outcome of the fault that fired in a run of case c, given the
 * raw calls the run made. */
Expected VecExpected(const Case &c, const sys_call &fired, int code) {
    if (c.into_cache && !IsRelease(fired)) return {MP_OK, kCacheReleases};
    if (c.moves && IsRelease(fired)) return {MP_OK, kMoveStands};
    Expected want = sys_faults::PlatformExpected(fired, code);
    if (want.status == MP_ENOMEM && IsReserve(fired) && (c.retries || c.may_retry)) {
        const sys_call *calls;
        const size_t n = sys_fault_log(&calls);
        size_t first = 0;
        while (first < n && !IsReserve(calls[first]))
            first++;
        bool later_smaller = false;
        for (size_t i = first + 1; i < n; i++)
            later_smaller =
                later_smaller || (IsReserve(calls[i]) && calls[i].arg[1] < fired.arg[1]);
        /* Only the first reservation is retried, and with may_retry only
         * where the runtime asked for more than it needs (which it shows by
         * asking again for less). */
        if (first < n && calls[first].failed && (c.retries || later_smaller))
            return {MP_OK, kRetried};
    }
    return want;
}

/* Runs op on a fresh State from setup once per raw call it makes, that call
 * failing with e, until a run makes no call fail; then checks with done
 * that the run did its job (also after an absorbed failure). Every run
 * starts and ends with an empty cache of freed reservations, so that each
 * makes the same calls and the leak check compares like with like; setup
 * may fill the cache. Returns the faults injected. */
template <class V>
int Walk(const Case &c, const OsError &e, const std::function<void(State<V> *)> &setup,
         const std::function<mp_status(State<V> *)> &op,
         const std::function<void(State<V> *)> &done) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(MP_OK, mp__vec_cache_drain());
    return sys_faults::Walk(c.name, e, [&](unsigned n) {
        {
            State<V> s;
            setup(&s);
            if (testing::Test::HasFatalFailure()) return;
            StateSnapshot<V> before(s);
            if (c.copy_moves) mp__os.remap = NoRemap;
            sys_fault_arm(n, e.code);
            mp_status status = op(&s);
            int os_error = mp_os_error();
            sys_fault_disarm();
            fault_disarm(); /* puts the OS table's wrappers back over NoRemap */
            const sys_call *fired = sys_fault_fired();
            const std::string where = c.name + ", " + e.name + ", raw call " + std::to_string(n);
            if (fired == nullptr) {
                ASSERT_EQ(MP_OK, status) << where << ": with no failing call";
                done(&s);
            } else {
                Expected want = VecExpected(c, *fired, e.code);
                sys_faults::CountBranch(want.branch);
                const std::string failing = where + " = " + Describe(*fired);
                EXPECT_EQ(want.status, status) << failing << " failing with " << e
                                               << (want.branch.empty() ? "" : ": " + want.branch);
                if (status == MP_OK) {
                    if (want.branch == kMoveStands) ReleaseBehindTheLibrary(*fired);
                    done(&s);
                } else {
                    EXPECT_EQ(e.code, os_error) << failing << ": mp_os_error()";
                    SCOPED_TRACE(failing);
                    before.ExpectSame(s);
                    ExpectUsable(&s.v);
                    ExpectUsable(&s.w);
                }
            }
        }
        EXPECT_EQ(MP_OK, mp__vec_cache_drain());
    });
}

template <class V> class VecSysFaultTest : public ::testing::Test {
  protected:
    void SetUp() override {
        /* What happens once per process happens now: the registry's first
         * slots, the mapping count's first fopen. */
        using Ops = VecOps<V>;
        V warm;
        ASSERT_EQ(MP_OK, Ops::New(&warm));
        ASSERT_EQ(MP_OK, Ops::Push(&warm, MakeElem<typename Ops::Elem>(1)));
        ASSERT_EQ(MP_OK, Ops::Free(&warm));
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        (void)mappings_count();
        fault_install();
        sys_fault_install();
    }
    void TearDown() override {
        sys_fault_uninstall();
        fault_uninstall();
    }
};
TYPED_TEST_SUITE(VecSysFaultTest, AllVecs);

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

/* Fills the cache of freed reservations (4 entries), so that the next free
 * releases: four vectors live at once, then freed, since a vector made
 * after a free would take the reservation just cached. */
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

/* Runs walk(e) for every error code, requires that each injected at least
 * one fault, and returns the total. */
template <class F> int ForEachError(const std::string &name, F walk) {
    int total = 0;
    for (const OsError &e : OsErrors()) {
        int injected = walk(e);
        EXPECT_GE(injected, 1) << name << " with " << e << ": no fault was injected";
        total += injected;
    }
    return total;
}

/* Fails unless each branch named ran at least once in this process. */
void ExpectBranchesRan(const std::vector<std::string> &branches) {
    for (const auto &b : branches) {
        EXPECT_GE(sys_faults::Branches()[b], 1) << "the branch \"" << b << "\" never ran";
    }
}

TYPED_TEST(VecSysFaultTest, Making) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    int total = 0;
    Case c;
    c.name = "with_capacity";
    c.retries = true;
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) {}, [](S *s) { return Ops::WithCapacity(10, &s->v); },
            [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 10u); });
    });
    c = Case();
    c.name = "with_capacity in a cached reservation";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) { CacheReservation<V>(1); },
            [](S *s) { return Ops::WithCapacity(PerPages<Elem>(4), &s->v); },
            [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), PerPages<Elem>(4)); });
    });
    c.name = "new_opts with capacity, max_capacity, huge TRY and a guard";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) {},
            [](S *s) {
                mp_vec_opts opts = {};
                opts.capacity = 10;
                opts.max_capacity = PerPages<Elem>(3) + 10;
                opts.huge = MP_HUGE_TRY;
                opts.guard = true;
                return Ops::NewOpts(&opts, &s->v);
            },
            [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 10u); });
    });
    c.name = "new_opts with a guard";
    c.retries = true; /* no max_capacity: the default reservation, more than needed */
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) {},
            [](S *s) {
                mp_vec_opts opts = {};
                opts.capacity = 1;
                opts.guard = true;
                return Ops::NewOpts(&opts, &s->v);
            },
            [](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 1u); });
    });
    std::printf("[ faults   ] %d injected into making\n", total);
    ExpectBranchesRan({kRetried});
}

TYPED_TEST(VecSysFaultTest, Growth) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t page_elems = PerPages<Elem>(1);
    int total = 0;
    Case c;
    c.name = "first push";
    c.retries = true;
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) {}, [](S *s) { return Ops::Push(&s->v, MakeElem<Elem>(0)); },
            [](S *s) { ExpectElems(s->v, 1); });
    });
    c = Case();
    c.name = "push growing in place";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { FillToCapacity(&s->v, page_elems); },
            [](S *s) { return Ops::Push(&s->v, MakeElem<Elem>(Ops::Len(&s->v))); },
            [](S *s) { ExpectElems(s->v, Ops::Len(&s->v)); });
    });
    for (bool copy : {false, true}) {
        c = Case();
        c.copy_moves = copy;
        c.moves = true;
        c.may_retry = true;
        c.name = copy ? "push moving past max_capacity by copy"
                      : "push moving past max_capacity by remap";
        total += ForEachError(c.name, [&](const OsError &e) {
            return Walk<V>(
                c, e,
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
                [](S *s) { ExpectElems(s->v, Ops::Len(&s->v)); });
        });
        c.name =
            copy ? "extend from itself, moving by copy" : "extend from itself, moving by remap";
        total += ForEachError(c.name, [&](const OsError &e) {
            return Walk<V>(
                c, e,
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
                });
        });
        c.name = copy ? "reserve past max_capacity by copy" : "reserve past max_capacity by remap";
        total += ForEachError(c.name, [&](const OsError &e) {
            return Walk<V>(
                c, e,
                [&](S *s) {
                    mp_vec_opts opts = {};
                    opts.max_capacity = page_elems;
                    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                    Fill(&s->v, 1);
                },
                [&](S *s) { return Ops::Reserve(&s->v, 3 * page_elems); },
                [&](S *s) {
                    EXPECT_GE(Ops::Capacity(&s->v), 3 * page_elems + 1);
                    ExpectElems(s->v, 1);
                });
        });
    }
    c = Case();
    c.name = "reserve";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { Fill(&s->v, 2); },
            [&](S *s) { return Ops::Reserve(&s->v, 4 * page_elems); },
            [&](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 4 * page_elems + 2); });
    });
    c.name = "reserve in a cached reservation";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [](S *) { CacheReservation<V>(1); },
            [&](S *s) { return Ops::Reserve(&s->v, 4 * page_elems); },
            [&](S *s) { EXPECT_GE(Ops::Capacity(&s->v), 4 * page_elems); });
    });
    c.name = "extend growing in place";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { FillToCapacity(&s->v, page_elems); },
            [&](S *s) {
                std::vector<Elem> more(page_elems + 1, MakeElem<Elem>(3));
                return Ops::Extend(&s->v, more.data(), more.size());
            },
            [&](S *s) { EXPECT_GE(Ops::Len(&s->v), 2 * page_elems + 1); });
    });
    c.name = "insert growing";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { FillToCapacity(&s->v, page_elems); },
            [](S *s) { return Ops::Insert(&s->v, 0, MakeElem<Elem>(7)); },
            [](S *s) { EXPECT_TRUE(SameElem(MakeElem<Elem>(7), *Ops::At(&s->v, 0))); });
    });
    c.name = "resize growing";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { Fill(&s->v, 1); },
            [&](S *s) { return Ops::Resize(&s->v, 3 * page_elems, MakeElem<Elem>(5)); },
            [&](S *s) { EXPECT_EQ(3 * page_elems, Ops::Len(&s->v)); });
    });
    std::printf("[ faults   ] %d injected into growth\n", total);
    std::vector<std::string> branches = {kRetried, kMoveStands};
#ifndef _WIN32
    branches.push_back("mremap refused -> copying");
#endif
    ExpectBranchesRan(branches);
}

TYPED_TEST(VecSysFaultTest, GivingMemoryBack) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t n = PerPages<Elem>(4);
    int total = 0;
    Case c;
    c.name = "shrink_to_fit of an emptied vector";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                Fill(&s->v, n);
                ASSERT_EQ(MP_OK, Ops::Clear(&s->v));
            },
            [](S *s) { return Ops::ShrinkToFit(&s->v); },
            [](S *s) { EXPECT_EQ(0u, Ops::Capacity(&s->v)); });
    });
    for (mp_huge huge : {MP_HUGE_TRY, MP_HUGE_NEVER}) {
        c.name = huge == MP_HUGE_TRY ? "shrink_to_fit with huge TRY (the advice given again)"
                                     : "shrink_to_fit with huge NEVER (the advice given again)";
        total += ForEachError(c.name, [&](const OsError &e) {
            return Walk<V>(
                c, e,
                [&](S *s) {
                    mp_vec_opts opts = {};
                    opts.huge = huge;
                    opts.max_capacity = 2 * n;
                    ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                    Fill(&s->v, n);
                    ASSERT_EQ(MP_OK, Ops::Clear(&s->v));
                },
                [](S *s) { return Ops::ShrinkToFit(&s->v); },
                [](S *s) { EXPECT_EQ(0u, Ops::Capacity(&s->v)); });
        });
    }
    c.name = "shrink_to_fit";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                Fill(&s->v, n);
                ASSERT_EQ(MP_OK, Ops::Truncate(&s->v, 1));
            },
            [](S *s) { return Ops::ShrinkToFit(&s->v); },
            [](S *s) { EXPECT_LT(Ops::Capacity(&s->v), PerPages<Elem>(1) + 1); });
    });
    /* Free keeps the reservation in the cache, giving back the pages past
     * its first 64 KiB; if that fails it releases instead. */
    c.name = "free into the cache";
    c.into_cache = true;
    const size_t past_cached = PerPages<Elem>(20);
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { Fill(&s->v, past_cached); }, [](S *s) { return Ops::Free(&s->v); },
            [](S *s) { EXPECT_EQ(MP_ESTALE, Ops::Free(&s->v)); });
    });
    c = Case();
    c.name = "free with the cache full";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                /* The vector first: its first push would take a cached
                 * reservation. */
                Fill(&s->v, n);
                FillCache<V>();
            },
            [](S *s) { return Ops::Free(&s->v); },
            [](S *s) { EXPECT_EQ(MP_ESTALE, Ops::Free(&s->v)); });
    });
    c.name = "free of a vector with options (never cached)";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                mp_vec_opts opts = {};
                opts.guard = true;
                opts.capacity = n;
                ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &s->v));
                Fill(&s->v, n);
            },
            [](S *s) { return Ops::Free(&s->v); },
            [](S *s) { EXPECT_EQ(MP_ESTALE, Ops::Free(&s->v)); });
    });
    std::printf("[ faults   ] %d injected into giving memory back\n", total);
    ExpectBranchesRan({kCacheReleases});
}

TYPED_TEST(VecSysFaultTest, FreezeAndThaw) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    const size_t n = PerPages<Elem>(2) + 1;
    int total = 0;
    Case c;
    c.name = "freeze";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e, [&](S *s) { Fill(&s->v, n); }, [](S *s) { return Ops::Freeze(&s->v, &s->f); },
            [&](S *s) { EXPECT_EQ(n, Ops::FrozenLen(&s->f)); });
    });
    c.name = "thaw";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                Fill(&s->v, n);
                ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f));
            },
            [](S *s) { return Ops::Thaw(&s->f, &s->w); }, [&](S *s) { ExpectElems(s->w, n); });
    });
    c.name = "frozen free";
    total += ForEachError(c.name, [&](const OsError &e) {
        return Walk<V>(
            c, e,
            [&](S *s) {
                Fill(&s->v, n);
                ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f));
            },
            [](S *s) { return Ops::FrozenFree(&s->f); },
            [](S *s) { EXPECT_EQ(0u, Ops::FrozenLen(&s->f)); });
    });
    std::printf("[ faults   ] %d injected into freeze and thaw\n", total);
}

/* The operations that make no system call, listed so that a walk of them is
 * required to make none: a default new (nothing is reserved until the first
 * element), freeing, freezing and thawing a vector that never reserved, a
 * push within the capacity, push_within_capacity past push's frontier, pop
 * and truncate. */
TYPED_TEST(VecSysFaultTest, OperationsWithoutSystemCalls) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    using S = State<V>;
    struct NoCall {
        const char *name;
        std::function<void(S *)> setup;
        std::function<mp_status(S *)> op;
    };
    const NoCall cases[] = {
        {"new", [](S *) {}, [](S *s) { return Ops::New(&s->v); }},
        {"free of an empty vector", [](S *) {}, [](S *s) { return Ops::Free(&s->v); }},
        {"freeze of an empty vector", [](S *) {}, [](S *s) { return Ops::Freeze(&s->v, &s->f); }},
        {"thaw of an empty vector", [](S *s) { ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f)); },
         [](S *s) { return Ops::Thaw(&s->f, &s->w); }},
        {"frozen free of an empty vector",
         [](S *s) { ASSERT_EQ(MP_OK, Ops::Freeze(&s->v, &s->f)); },
         [](S *s) { return Ops::FrozenFree(&s->f); }},
        {"push within the capacity",
         [](S *s) {
             ASSERT_EQ(MP_OK, Ops::Reserve(&s->v, 2));
             Fill(&s->v, 1);
         },
         [](S *s) { return Ops::Push(&s->v, MakeElem<Elem>(1)); }},
        /* Past push's frontier, which lies at 1 MiB for a larger capacity,
         * up to the capacity and one more. */
        {"push_within_capacity to the capacity",
         [](S *s) { ASSERT_EQ(MP_OK, Ops::WithCapacity((size_t{2} << 20) / sizeof(Elem), &s->v)); },
         [](S *s) {
             for (size_t i = 0; i < Ops::Capacity(&s->v); i++) {
                 mp_status st = Ops::PushWithinCapacity(&s->v, MakeElem<Elem>(i));
                 if (st != MP_OK) return st;
             }
             mp_status full = Ops::PushWithinCapacity(&s->v, MakeElem<Elem>(0));
             return full == MP_ENOMEM ? MP_OK : full;
         }},
        {"pop", [](S *s) { Fill(&s->v, 2); }, [](S *s) { return Ops::Pop(&s->v, nullptr); }},
        {"truncate", [](S *s) { Fill(&s->v, 2); }, [](S *s) { return Ops::Truncate(&s->v, 1); }},
    };
    for (const NoCall &c : cases) {
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
        {
            S s;
            c.setup(&s);
            sys_fault_arm(1, OsErrors()[0].code);
            mp_status status = c.op(&s);
            sys_fault_disarm();
            const sys_call *calls;
            const size_t made = sys_fault_log(&calls);
            EXPECT_EQ(0u, made) << c.name << " made a system call"
                                << (made ? ": " + Describe(calls[0]) : std::string());
            EXPECT_EQ(MP_OK, status) << c.name;
        }
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    }
}

} // namespace
} // namespace vec_test
