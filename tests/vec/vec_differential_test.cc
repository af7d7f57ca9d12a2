/*
 * Differential test: 10^6 random operations on a PagedVec and on a
 * std::vector model, for each element size, compared after every step
 * (length, capacity bound, the address of the elements, and every byte of
 * every element). Failing operations (index out of range, pop on empty,
 * overflowing sizes) are part of the mix and must change nothing. Ten
 * times per run the vector is made anew with a small reservation, so that
 * it also moves past its reservation many times.
 *
 * The length stays below 64 KiB of elements (16 elements at least), so that
 * comparing everything after every step stays cheap. Under an emulator
 * (MP_TEST_EMULATOR, set by the cross-run wrappers) the run is ten times
 * shorter, since qemu is some fifty times slower; it says so.
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

constexpr uint64_t kSeed = 20240601;
constexpr size_t kNativeSteps = 1000000;

// The number of steps for this run: kNativeSteps natively, a tenth under
// an emulator.
size_t Steps() {
    static const size_t steps = [] {
        const char *emulator = std::getenv("MP_TEST_EMULATOR");
        if (emulator == nullptr || *emulator == '\0') return kNativeSteps;
        std::printf("[ note     ] under %s: %zu steps instead of %zu\n", emulator,
                    kNativeSteps / 10, kNativeSteps);
        return kNativeSteps / 10;
    }();
    return steps;
}

enum Op {
    kPush,
    kPop,
    kInsert,
    kRemove,
    kSwapRemove,
    kExtend,
    kExtendSelf,
    kResize,
    kTruncate,
    kClear,
    kReserve,
    kShrink,
    kWrite,
    kFreezeThaw,
    kFailing,
    kReserveExact,
    kPushWithinCapacity,
    kInsertN,
    kRemoveRange,
    kClone,
    kOpCount
};

const char *const kOpNames[kOpCount] = {"push",
                                        "pop",
                                        "insert",
                                        "remove",
                                        "swap_remove",
                                        "extend",
                                        "extend from itself",
                                        "resize",
                                        "truncate",
                                        "clear",
                                        "reserve",
                                        "shrink_to_fit",
                                        "write",
                                        "freeze and thaw",
                                        "failing call",
                                        "reserve_exact",
                                        "push_within_capacity",
                                        "insert_n",
                                        "remove_range",
                                        "clone"};

/* Relative frequencies of the operations. */
const unsigned kWeights[kOpCount] = {250, 80, 80,  60, 60, 40, 20, 30, 30, 5,
                                     30,  10, 100, 5,  50, 20, 80, 40, 40, 5};

template <class V> class DifferentialTest : public ::testing::Test {};
TYPED_TEST_SUITE(DifferentialTest, AllVecs);

TYPED_TEST(DifferentialTest, MillionRandomOperationsMatchStdVector) {
    using V = TypeParam;
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;
    const size_t max_len = std::max<size_t>(16, (64u << 10) / sizeof(Elem));
    std::mt19937_64 rng(kSeed);
    auto below = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };

    // Elements come from a pool of random ones, stamped with a counter.
    std::vector<Elem> pool(64);
    for (Elem &e : pool) {
        for (uint8_t &b : e.b)
            b = static_cast<uint8_t>(rng());
    }
    uint64_t counter = 0;
    auto fresh = [&] {
        Elem e = pool[below(pool.size())];
        uint64_t c = ++counter;
        std::memcpy(e.b, &c, std::min(sizeof c, sizeof e.b));
        return e;
    };

    std::discrete_distribution<int> pick(std::begin(kWeights), std::end(kWeights));
    std::vector<Elem> model;
    V v;
    ASSERT_EQ(MP_OK, Ops::New(&v));
    size_t moves = 0;
    std::vector<size_t> count(kOpCount);

    // Ten times per run the vector is made anew with a small reservation.
    const size_t remake_every = Steps() / 10;
    for (size_t step = 0; step < Steps(); step++) {
        if (step % remake_every == remake_every - 1) {
            // Anew, with a reservation of a few pages that growth outruns.
            ASSERT_EQ(MP_OK, Ops::Free(&v));
            mp_vec_opts opts = {};
            opts.max_capacity = std::max<size_t>(1, (1 + below(4)) * mp_page_size() / sizeof(Elem));
            opts.capacity = below(opts.max_capacity + 1);
            opts.guard = below(2) == 1;
            ASSERT_EQ(MP_OK, Ops::NewOpts(&opts, &v));
            ASSERT_EQ(MP_OK, Ops::Extend(&v, model.data(), model.size()));
        }
        int op = pick(rng);
        size_t len = model.size();
        bool full = len >= max_len;
        if (full && (op == kPush || op == kInsert || op == kExtend || op == kExtendSelf ||
                     op == kInsertN || op == kPushWithinCapacity))
            op = kPop;
        count[op]++;
        const Elem *data_before = Ops::Data(&v);
        bool may_move = false;
        mp_status s = MP_OK;
        switch (op) {
        case kPush: {
            Elem e = fresh();
            s = Ops::Push(&v, e);
            model.push_back(e);
            may_move = true;
            break;
        }
        case kPop: {
            if (len == 0) {
                Elem out = fresh(), keep = out;
                ASSERT_EQ(MP_EINVAL, Ops::Pop(&v, &out)) << "step " << step;
                ASSERT_TRUE(SameElem(keep, out));
                break;
            }
            Elem out;
            s = Ops::Pop(&v, &out);
            ASSERT_TRUE(SameElem(model.back(), out)) << "step " << step;
            model.pop_back();
            break;
        }
        case kInsert: {
            size_t i = below(len + 1);
            Elem e = fresh();
            s = Ops::Insert(&v, i, e);
            model.insert(model.begin() + static_cast<ptrdiff_t>(i), e);
            may_move = true;
            break;
        }
        case kRemove:
        case kSwapRemove: {
            if (len == 0) break;
            size_t i = below(len);
            Elem out;
            s = op == kRemove ? Ops::Remove(&v, i, &out) : Ops::SwapRemove(&v, i, &out);
            ASSERT_TRUE(SameElem(model[i], out)) << "step " << step;
            if (op == kRemove) {
                model.erase(model.begin() + static_cast<ptrdiff_t>(i));
            } else {
                model[i] = model.back();
                model.pop_back();
            }
            break;
        }
        case kExtend: {
            size_t n = below(std::min<size_t>(64, max_len - len) + 1);
            std::vector<Elem> src;
            for (size_t i = 0; i < n; i++)
                src.push_back(fresh());
            s = Ops::Extend(&v, src.data(), n);
            model.insert(model.end(), src.begin(), src.end());
            may_move = true;
            break;
        }
        case kExtendSelf: {
            size_t from = below(len + 1);
            size_t n = below(std::min(len - from, max_len - len) + 1);
            s = Ops::Extend(&v, Ops::Data(&v) + from, n);
            std::vector<Elem> copy(model.begin() + static_cast<ptrdiff_t>(from),
                                   model.begin() + static_cast<ptrdiff_t>(from + n));
            model.insert(model.end(), copy.begin(), copy.end());
            may_move = true;
            break;
        }
        case kResize: {
            size_t n = below(max_len + 1);
            Elem fill = fresh();
            s = Ops::Resize(&v, n, fill);
            model.resize(n, fill);
            may_move = true;
            break;
        }
        case kTruncate: {
            size_t n = below(len + 1);
            s = Ops::Truncate(&v, n);
            model.resize(n);
            break;
        }
        case kClear: {
            size_t cap = Ops::Capacity(&v);
            s = Ops::Clear(&v);
            model.clear();
            ASSERT_EQ(cap, Ops::Capacity(&v)) << "step " << step << ": clear keeps the capacity";
            break;
        }
        case kReserveExact: {
            size_t n = below(max_len - std::min(len, max_len) + 1);
            s = Ops::ReserveExact(&v, n);
            ASSERT_GE(Ops::Capacity(&v), len + n) << "step " << step;
            may_move = true;
            break;
        }
        case kPushWithinCapacity: {
            Elem e = fresh();
            bool room = len < Ops::Capacity(&v);
            s = Ops::PushWithinCapacity(&v, e);
            if (room) {
                model.push_back(e);
            } else {
                ASSERT_EQ(MP_ENOMEM, s) << "step " << step;
                s = MP_OK;
            }
            break;
        }
        case kInsertN: {
            size_t i = below(len + 1);
            size_t n = below(std::min<size_t>(64, max_len - len) + 1);
            std::vector<Elem> src;
            for (size_t k = 0; k < n; k++)
                src.push_back(fresh());
            s = Ops::InsertN(&v, i, src.data(), n);
            model.insert(model.begin() + static_cast<ptrdiff_t>(i), src.begin(), src.end());
            may_move = true;
            break;
        }
        case kRemoveRange: {
            size_t from = below(len + 1);
            size_t to = from + below(std::min<size_t>(len - from, 64) + 1);
            bool out = below(2) == 1;
            std::vector<Elem> removed(to - from);
            s = Ops::RemoveRange(&v, from, to, out ? removed.data() : nullptr);
            if (out && to > from) {
                ASSERT_EQ(
                    0, std::memcmp(removed.data(), model.data() + from, (to - from) * sizeof(Elem)))
                    << "step " << step;
            }
            model.erase(model.begin() + static_cast<ptrdiff_t>(from),
                        model.begin() + static_cast<ptrdiff_t>(to));
            break;
        }
        case kClone: {
            // The vector goes on as its clone.
            V c;
            s = Ops::Clone(&v, &c);
            if (s != MP_OK) break;
            ASSERT_EQ(MP_OK, Ops::Free(&v));
            v = c;
            may_move = true;
            break;
        }
        case kReserve:
            s = Ops::Reserve(&v, below(max_len - std::min(len, max_len) + 1));
            may_move = true;
            break;
        case kShrink:
            s = Ops::ShrinkToFit(&v);
            break;
        case kWrite: {
            if (len == 0) break;
            size_t i = below(len);
            Elem e = fresh();
            *Ops::AtMut(&v, i) = e;
            model[i] = e;
            break;
        }
        case kFreezeThaw: {
            typename Ops::Frozen f;
            ASSERT_EQ(MP_OK, Ops::Freeze(&v, &f)) << "step " << step;
            ASSERT_EQ(len, Ops::FrozenLen(&f));
            if (len != 0) {
                ASSERT_EQ(0, std::memcmp(Ops::FrozenData(&f), model.data(), len * sizeof(Elem)));
            }
            s = Ops::Thaw(&f, &v);
            break;
        }
        case kFailing: {
            Snapshot<V> before(v);
            Elem e = fresh();
            switch (below(9)) {
            case 0:
                ASSERT_EQ(MP_EINVAL, Ops::Insert(&v, len + 1 + below(3), e)) << "step " << step;
                break;
            case 1:
                ASSERT_EQ(MP_EINVAL, Ops::Remove(&v, len + below(3), &e)) << "step " << step;
                break;
            case 2:
                ASSERT_EQ(MP_EINVAL, Ops::SwapRemove(&v, len, nullptr)) << "step " << step;
                break;
            case 3:
                ASSERT_EQ(MP_EINVAL, Ops::Truncate(&v, len + 1)) << "step " << step;
                break;
            case 4:
                ASSERT_EQ(MP_EOVERFLOW, Ops::Reserve(&v, SIZE_MAX - below(len + 1) / 2))
                    << "step " << step;
                break;
            case 5:
                ASSERT_EQ(MP_EINVAL, Ops::InsertN(&v, len + 1, &e, below(2))) << "step " << step;
                break;
            case 6:
                if (len == 0) break;
                ASSERT_EQ(MP_EINVAL,
                          Ops::InsertN(&v, below(len + 1), Ops::Data(&v) + below(len), 1))
                    << "step " << step << ": src inside the vector";
                break;
            case 7:
                ASSERT_EQ(MP_EINVAL, Ops::RemoveRange(&v, below(len + 1), len + 1, nullptr))
                    << "step " << step;
                break;
            default:
                size_t n = UnreservableCount(len, sizeof(Elem));
                ASSERT_EQ(UnreservableStatus(len, n, sizeof(Elem)), Ops::Extend(&v, &e, n))
                    << "step " << step;
                break;
            }
            before.ExpectSame(v);
            break;
        }
        }
        ASSERT_EQ(MP_OK, s) << "step " << step << ": " << kOpNames[op];
        // Compare everything.
        ASSERT_EQ(model.size(), Ops::Len(&v)) << "step " << step << ": " << kOpNames[op];
        ASSERT_GE(Ops::Capacity(&v), Ops::Len(&v)) << "step " << step;
        if (!model.empty()) {
            ASSERT_EQ(Ops::Data(&v), Ops::At(&v, 0));
            ASSERT_EQ(0, std::memcmp(Ops::Data(&v), model.data(), model.size() * sizeof(Elem)))
                << "step " << step << ": " << kOpNames[op];
        }
        ASSERT_EQ(nullptr, Ops::At(&v, model.size()));
        if (data_before != nullptr && Ops::Data(&v) != data_before) {
            ASSERT_TRUE(may_move) << "step " << step << ": " << kOpNames[op]
                                  << " moved the elements";
            moves++;
        }
    }
    ASSERT_EQ(MP_OK, Ops::Free(&v));
    // The mix really ran every operation, and the vector really moved.
    for (int op = 0; op < kOpCount; op++)
        EXPECT_GT(count[op], Steps() / 1000) << kOpNames[op];
    EXPECT_GT(moves, 5u);
}

} // namespace
} // namespace vec_test
