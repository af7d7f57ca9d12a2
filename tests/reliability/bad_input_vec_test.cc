// The bad-input sweep over every PagedVec function (shared/API.md section
// 5), for 8-byte and 3-byte elements: NULL vectors and out-parameters, sizes
// that overflow, indexes out of range, bad options, consumed vectors, and
// copies of frozen vectors that were thawed or freed. Each case must give
// its exact status (or NULL or 0) and leave the live vector exactly as it
// was. Copies of a vector itself are not swept: their inline fast paths are
// unchecked by design (docs/paged_vec.md, docs/security.md).
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tests/reliability/sweep.h"
#include "tests/reliability/vecs.h"
#include "tests/support/bytes.h"
#include "tests/support/vec_ops.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;
using sweep::Cases;

// The functions of one generated vector type, under common names.
#define SWEEP_VEC(V, T)                                                                            \
    struct V##_sweep {                                                                             \
        MP_TEST_VEC_FUNCTIONS(V, T)                                                                \
        static constexpr const char *kName = #V;                                                   \
    };

SWEEP_VEC(rel_u64, uint64_t)
SWEEP_VEC(rel_odd, odd_elem)

template <class Elem> Elem Make(int seed) {
    Elem e;
    std::memset(static_cast<void *>(&e), seed, sizeof e);
    return e;
}

// A live vector of 100 elements, and a check that it is still exactly so.
template <class O> struct LiveVec {
    typename O::Vec v;
    LiveVec() {
        EXPECT_EQ(O::New(&v), MP_OK);
        for (int i = 0; i < 100; i++)
            EXPECT_EQ(O::Push(&v, Make<typename O::Elem>(i)), MP_OK);
    }
    void ExpectUnchanged(const std::string &after) const {
        ASSERT_EQ(O::Len(&v), 100u) << after;
        for (int i = 0; i < 100; i++) {
            const auto want = Make<typename O::Elem>(i);
            ASSERT_EQ(std::memcmp(O::At(&v, i), &want, sizeof want), 0) << after << ": " << i;
        }
    }
};

template <class O> class SweepVec : public ::testing::Test {};
using SweptVecs = ::testing::Types<rel_u64_sweep, rel_odd_sweep>;
struct VecName {
    template <class O> static std::string GetName(int) {
        return O::kName;
    }
};
TYPED_TEST_SUITE(SweepVec, SweptVecs, VecName);

TYPED_TEST(SweepVec, NullVectorsAndOutParameters) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Cases c(std::string(O::kName) + " functions with NULL");
    const Elem x = Make<Elem>(1);
    Elem out = Sentinel<Elem>();
    typename O::Frozen f = Sentinel<typename O::Frozen>();
    typename O::Vec v = Sentinel<typename O::Vec>();
    mp_vec_opts opts = {};

    c.Status("new(NULL)", O::New(nullptr), MP_EINVAL);
    c.Status("with_capacity(8, NULL)", O::WithCapacity(8, nullptr), MP_EINVAL);
    c.Status("new_opts(opts, NULL)", O::NewOpts(&opts, nullptr), MP_EINVAL);
    c.Nothing("len(NULL)", O::Len(nullptr));
    c.Nothing("capacity(NULL)", O::Capacity(nullptr));
    c.Nothing("data(NULL)", O::Data(nullptr));
    c.Nothing("data_mut(NULL)", O::DataMut(nullptr));
    c.Nothing("at(NULL, 0)", O::At(nullptr, 0));
    c.Nothing("at_mut(NULL, 0)", O::AtMut(nullptr, 0));
    c.Status("push(NULL)", O::Push(nullptr, x), MP_EINVAL);
    c.Status("pop(NULL)", O::Pop(nullptr, &out), MP_EINVAL);
    c.Status("insert(NULL)", O::Insert(nullptr, 0, x), MP_EINVAL);
    c.Status("remove(NULL)", O::Remove(nullptr, 0, &out), MP_EINVAL);
    c.Status("swap_remove(NULL)", O::SwapRemove(nullptr, 0, &out), MP_EINVAL);
    c.Status("extend(NULL)", O::Extend(nullptr, &x, 1), MP_EINVAL);
    c.Status("resize(NULL)", O::Resize(nullptr, 1, x), MP_EINVAL);
    c.Status("truncate(NULL)", O::Truncate(nullptr, 0), MP_EINVAL);
    c.Status("clear(NULL)", O::Clear(nullptr), MP_EINVAL);
    c.Status("reserve(NULL)", O::Reserve(nullptr, 1), MP_EINVAL);
    c.Status("shrink_to_fit(NULL)", O::ShrinkToFit(nullptr), MP_EINVAL);
    c.Status("freeze(NULL, f)", O::Freeze(nullptr, &f), MP_EINVAL);
    c.Status("free(NULL)", O::Free(nullptr), MP_EINVAL);
    c.Nothing("frozen_len(NULL)", O::FrozenLen(nullptr));
    c.Nothing("frozen_data(NULL)", O::FrozenData(nullptr));
    c.Nothing("frozen_at(NULL, 0)", O::FrozenAt(nullptr, 0));
    c.Status("frozen_free(NULL)", O::FrozenFree(nullptr), MP_EINVAL);
    c.Status("frozen_thaw(NULL, v)", O::Thaw(nullptr, &v), MP_EINVAL);
    EXPECT_TRUE(IsSentinel(out) && IsSentinel(f) && IsSentinel(v)) << "an out-parameter written";

    LiveVec<O> live;
    c.Status("freeze(v, NULL)", O::Freeze(&live.v, nullptr), MP_EINVAL);
    c.Status("extend(v, NULL, 1)", O::Extend(&live.v, nullptr, 1), MP_EINVAL);
    c.Status("extend(v, NULL, SIZE_MAX)", O::Extend(&live.v, nullptr, SIZE_MAX), MP_EINVAL);
    live.ExpectUnchanged("calls with NULL");
    ASSERT_EQ(O::Freeze(&live.v, &f), MP_OK);
    c.Status("frozen_thaw(f, NULL)", O::Thaw(&f, nullptr), MP_EINVAL);
    EXPECT_EQ(O::FrozenLen(&f), 100u);
    EXPECT_EQ(O::FrozenFree(&f), MP_OK);
}

TYPED_TEST(SweepVec, SizesThatOverflowAndBadOptions) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Cases c(std::string(O::kName) + " sizes and options");
    typename O::Vec v = Sentinel<typename O::Vec>();
    const size_t most = SIZE_MAX / sizeof(Elem);

    c.Status("with_capacity(SIZE_MAX)", O::WithCapacity(SIZE_MAX, &v), MP_EOVERFLOW);
    c.Status("with_capacity(SIZE_MAX / size + 1)", O::WithCapacity(most + 1, &v), MP_EOVERFLOW);
    c.Either("with_capacity(SIZE_MAX / size)", O::WithCapacity(most, &v), MP_EOVERFLOW,
             running_on_valgrind() ? MP_EOS : MP_ENOMEM);
    mp_vec_opts opts = {};
    opts.capacity = 10;
    opts.max_capacity = 9;
    c.Status("capacity > max_capacity", O::NewOpts(&opts, &v), MP_EINVAL);
    opts = {};
    opts.max_capacity = SIZE_MAX;
    c.Status("max_capacity SIZE_MAX", O::NewOpts(&opts, &v), MP_EOVERFLOW);
    opts = {};
    opts.capacity = SIZE_MAX;
    c.Status("capacity SIZE_MAX", O::NewOpts(&opts, &v), MP_EOVERFLOW);
    for (int huge : {MP_HUGE_NEVER + 1, INT_MAX, -1}) {
        opts = {};
        opts.huge = static_cast<mp_huge>(huge);
        c.Status("huge " + std::to_string(huge), O::NewOpts(&opts, &v), MP_EINVAL);
    }
    EXPECT_TRUE(IsSentinel(v)) << "a failed constructor wrote its vector";

    LiveVec<O> live;
    const Elem x = Make<Elem>(9);
    c.Status("reserve(SIZE_MAX)", O::Reserve(&live.v, SIZE_MAX), MP_EOVERFLOW);
    c.Status("reserve(SIZE_MAX - len)", O::Reserve(&live.v, SIZE_MAX - 100), MP_EOVERFLOW);
    c.Status("resize(SIZE_MAX)", O::Resize(&live.v, SIZE_MAX, x), MP_EOVERFLOW);
    c.Status("extend(SIZE_MAX)", O::Extend(&live.v, O::Data(&live.v), SIZE_MAX), MP_EOVERFLOW);
    c.Status("extend(SIZE_MAX - len + 1)", O::Extend(&live.v, O::Data(&live.v), SIZE_MAX - 100 + 1),
             MP_EOVERFLOW);
    c.Either("reserve(SIZE_MAX / size - len)", O::Reserve(&live.v, most - 100), MP_EOVERFLOW,
             running_on_valgrind() ? MP_EOS : MP_ENOMEM);
    live.ExpectUnchanged("refused sizes");
    EXPECT_EQ(O::Free(&live.v), MP_OK);
}

TYPED_TEST(SweepVec, IndexesOutOfRange) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Cases c(std::string(O::kName) + " indexes");
    LiveVec<O> live;
    const Elem x = Make<Elem>(7);
    Elem out = Sentinel<Elem>();
    for (size_t i : {size_t{101}, size_t{1000}, SIZE_MAX / 2, SIZE_MAX}) {
        const std::string at = "(" + std::to_string(i) + ")";
        c.Status("insert" + at, O::Insert(&live.v, i, x), MP_EINVAL);
        c.Status("truncate" + at, O::Truncate(&live.v, i), MP_EINVAL);
    }
    for (size_t i : {size_t{100}, size_t{101}, SIZE_MAX / 2, SIZE_MAX}) {
        const std::string at = "(" + std::to_string(i) + ")";
        c.Status("remove" + at, O::Remove(&live.v, i, &out), MP_EINVAL);
        c.Status("swap_remove" + at, O::SwapRemove(&live.v, i, &out), MP_EINVAL);
        c.Nothing("at" + at, O::At(&live.v, i));
        c.Nothing("at_mut" + at, O::AtMut(&live.v, i));
    }
    EXPECT_TRUE(IsSentinel(out)) << "a refused removal wrote its out-parameter";
    live.ExpectUnchanged("indexes out of range");

    typename O::Vec empty;
    ASSERT_EQ(O::New(&empty), MP_OK);
    c.Status("pop(empty)", O::Pop(&empty, &out), MP_EINVAL);
    c.Status("remove(empty, 0)", O::Remove(&empty, 0, &out), MP_EINVAL);
    c.Status("swap_remove(empty, 0)", O::SwapRemove(&empty, 0, &out), MP_EINVAL);
    c.Status("truncate(empty, 1)", O::Truncate(&empty, 1), MP_EINVAL);
    c.Nothing("at(empty, 0)", O::At(&empty, 0));
    EXPECT_TRUE(IsSentinel(out));
    EXPECT_EQ(O::Free(&empty), MP_OK);

    typename O::Frozen f;
    ASSERT_EQ(O::Freeze(&live.v, &f), MP_OK);
    c.Nothing("frozen_at(len)", O::FrozenAt(&f, 100));
    c.Nothing("frozen_at(SIZE_MAX)", O::FrozenAt(&f, SIZE_MAX));
    EXPECT_EQ(O::FrozenLen(&f), 100u);
    EXPECT_EQ(O::FrozenFree(&f), MP_OK);
}

TYPED_TEST(SweepVec, ConsumedVectorsAndStaleFrozenCopies) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Cases c(std::string(O::kName) + " consumed vectors and stale frozen copies");
    const Elem x = Make<Elem>(5);
    Elem out = Sentinel<Elem>();

    // A vector consumed by freeze and by free: every call refuses it.
    LiveVec<O> frozen_from, freed;
    typename O::Frozen f;
    ASSERT_EQ(O::Freeze(&frozen_from.v, &f), MP_OK);
    ASSERT_EQ(O::Free(&freed.v), MP_OK);
    for (auto *v : {&frozen_from.v, &freed.v}) {
        const std::string of = v == &freed.v ? " of a freed vector" : " of a frozen vector";
        c.Nothing("len" + of, O::Len(v));
        c.Nothing("capacity" + of, O::Capacity(v));
        c.Nothing("data" + of, O::Data(v));
        c.Nothing("at(0)" + of, O::At(v, 0));
        c.Status("push" + of, O::Push(v, x), MP_ESTALE);
        c.Status("pop" + of, O::Pop(v, &out), MP_ESTALE);
        c.Status("insert" + of, O::Insert(v, 0, x), MP_ESTALE);
        c.Status("remove" + of, O::Remove(v, 0, &out), MP_ESTALE);
        c.Status("swap_remove" + of, O::SwapRemove(v, 0, &out), MP_ESTALE);
        c.Status("extend" + of, O::Extend(v, &x, 1), MP_ESTALE);
        c.Status("resize" + of, O::Resize(v, 1, x), MP_ESTALE);
        c.Status("truncate" + of, O::Truncate(v, 0), MP_ESTALE);
        c.Status("clear" + of, O::Clear(v), MP_ESTALE);
        c.Status("reserve" + of, O::Reserve(v, 1), MP_ESTALE);
        c.Status("shrink_to_fit" + of, O::ShrinkToFit(v), MP_ESTALE);
        typename O::Frozen g = Sentinel<typename O::Frozen>();
        c.Status("freeze" + of, O::Freeze(v, &g), MP_ESTALE);
        EXPECT_TRUE(IsSentinel(g));
        c.Status("free" + of, O::Free(v), MP_ESTALE);
    }
    EXPECT_TRUE(IsSentinel(out)) << "a refused call wrote its out-parameter";

    // Copies of a frozen vector, after it was thawed, and after it was freed.
    const typename O::Frozen thawed_copy = f;
    typename O::Vec back;
    ASSERT_EQ(O::Thaw(&f, &back), MP_OK);
    ASSERT_EQ(O::Freeze(&back, &f), MP_OK);
    const typename O::Frozen freed_copy = f;
    ASSERT_EQ(O::FrozenFree(&f), MP_OK);
    const std::vector<std::pair<std::string, typename O::Frozen>> copies = {
        {" of a thawed frozen vector", thawed_copy},
        {" of a freed frozen vector", freed_copy},
        {" of a frozen vector after its free", f},
    };
    for (const auto &[of, copy] : copies) {
        typename O::Frozen g = copy;
        typename O::Vec w = Sentinel<typename O::Vec>();
        c.Nothing("frozen_len" + of, O::FrozenLen(&g));
        c.Nothing("frozen_data" + of, O::FrozenData(&g));
        c.Nothing("frozen_at(0)" + of, O::FrozenAt(&g, 0));
        c.Status("frozen_thaw" + of, O::Thaw(&g, &w), MP_ESTALE);
        c.Status("frozen_free" + of, O::FrozenFree(&g), MP_ESTALE);
        EXPECT_TRUE(IsSentinel(w)) << "a refused thaw wrote its vector";
    }
}

} // namespace
