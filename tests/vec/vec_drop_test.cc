/*
 * Drop and clone hooks (issue 13, shared/API.md section 5): a counting drop
 * function sees every element a vector discards exactly once (truncate,
 * clear, resize down, remove_range without out, free, frozen free) and
 * never one moved out (pop, remove, swap_remove, remove_range with out);
 * resize and clone clone through the clone function, and a failed clone
 * drops what it made. A failed call, a bad argument, a stale copy or an OS
 * failure (fault injection) drops nothing.
 */
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "tests/internals/fault_injection.h"
#include "tests/vec/drop_vecs.h"

namespace {

/* What the hooks saw: drops per id, and clones. clone_fail_at > 0 makes
 * the clone_fail_at-th clone from now fail with MP_ENOMEM. */
std::map<uint64_t, int> drops;
int clones;
int clone_fail_at;

void ResetCounts() {
    drops.clear();
    clones = 0;
    clone_fail_at = 0;
}

int TotalDrops() {
    int n = 0;
    for (const auto &d : drops)
        n += d.second;
    return n;
}

} // namespace

extern "C" void res_drop(res *r) {
    drops[r->id]++;
    r->id = ~r->id; /* a drop may write its element */
}

extern "C" mp_status res_clone(res *dst, const res *src) {
    if (clone_fail_at > 0 && --clone_fail_at == 0) return MP_ENOMEM;
    *dst = *src;
    dst->id = src->id + 1000; /* a clone is told apart from a byte copy */
    clones++;
    return MP_OK;
}

namespace {

res Res(uint64_t id) {
    res r;
    std::memset(&r, 0, sizeof r);
    r.id = id;
    return r;
}

template <class V, class Push> void FillIds(V *v, uint64_t from, uint64_t to, Push push) {
    for (uint64_t i = from; i < to; i++)
        ASSERT_EQ(MP_OK, push(v, Res(i)));
}

std::vector<uint64_t> Ids(const res_vec &v) {
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < res_vec_len(&v); i++)
        ids.push_back(res_vec_at(&v, i)->id);
    return ids;
}

/* Expects drops to be exactly once for each id of want, none else. */
void ExpectDropped(const std::vector<uint64_t> &want) {
    std::map<uint64_t, int> expected;
    for (uint64_t id : want)
        expected[id] = 1;
    EXPECT_EQ(expected, drops);
}

class VecDropTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ResetCounts();
    }
};

TEST_F(VecDropTest, EveryDiscardingCallDropsEachElementOnce) {
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 12, res_vec_push);
    ASSERT_EQ(MP_OK, res_vec_truncate(&v, 10));
    ExpectDropped({10, 11});
    ASSERT_EQ(MP_OK, res_vec_resize(&v, 8, Res(99)));
    ExpectDropped({8, 9, 10, 11});
    ASSERT_EQ(MP_OK, res_vec_remove_range(&v, 1, 3, nullptr));
    ExpectDropped({1, 2, 8, 9, 10, 11});
    EXPECT_EQ((std::vector<uint64_t>{0, 3, 4, 5, 6, 7}), Ids(v));
    // Moved out: never dropped.
    res out[2];
    ASSERT_EQ(MP_OK, res_vec_remove_range(&v, 0, 2, out));
    EXPECT_EQ(0u, out[0].id);
    EXPECT_EQ(3u, out[1].id);
    ASSERT_EQ(MP_OK, res_vec_pop(&v, &out[0]));
    ASSERT_EQ(MP_OK, res_vec_remove(&v, 0, &out[0]));
    ASSERT_EQ(MP_OK, res_vec_swap_remove(&v, 0, nullptr));
    ExpectDropped({1, 2, 8, 9, 10, 11});
    EXPECT_EQ((std::vector<uint64_t>{6}), Ids(v));
    ASSERT_EQ(MP_OK, res_vec_clear(&v));
    ExpectDropped({1, 2, 6, 8, 9, 10, 11});
    EXPECT_GT(res_vec_capacity(&v), 0u) << "clear keeps the capacity";
    FillIds(&v, 20, 25, res_vec_push);
    ResetCounts();
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    ExpectDropped({20, 21, 22, 23, 24});
    EXPECT_EQ(0, clones);
}

TEST_F(VecDropTest, InsertAndExtendMoveIn) {
    res_vec v = res_vec_INIT;
    res src[3] = {Res(1), Res(2), Res(3)};
    ASSERT_EQ(MP_OK, res_vec_extend(&v, src, 3));
    ASSERT_EQ(MP_OK, res_vec_insert_n(&v, 1, src, 2));
    ASSERT_EQ(MP_OK, res_vec_insert(&v, 0, Res(7)));
    ASSERT_EQ(MP_OK, res_vec_push_within_capacity(&v, Res(8)));
    EXPECT_EQ((std::vector<uint64_t>{7, 1, 1, 2, 2, 3, 8}), Ids(v));
    EXPECT_EQ(0, TotalDrops());
    EXPECT_EQ(0, clones) << "elements move in byte for byte";
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    EXPECT_EQ(7, TotalDrops());
}

TEST_F(VecDropTest, FrozenFreeDropsFreezeAndThawDoNot) {
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 5, res_vec_push);
    res_vec_frozen f;
    ASSERT_EQ(MP_OK, res_vec_freeze(&v, &f));
    ASSERT_EQ(MP_OK, res_vec_frozen_thaw(&f, &v));
    ASSERT_EQ(MP_OK, res_vec_freeze(&v, &f));
    EXPECT_EQ(0, TotalDrops());
    res_vec_frozen copy = f;
    ASSERT_EQ(MP_OK, res_vec_frozen_free(&f));
    ExpectDropped({0, 1, 2, 3, 4});
    EXPECT_EQ(MP_ESTALE, res_vec_frozen_free(&copy));
    EXPECT_EQ(MP_ESTALE, res_vec_frozen_free(&f));
    ExpectDropped({0, 1, 2, 3, 4});
}

TEST_F(VecDropTest, ResizeAndCloneClone) {
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 2, res_vec_push);
    res fill = Res(50);
    ASSERT_EQ(MP_OK, res_vec_resize(&v, 5, fill));
    EXPECT_EQ((std::vector<uint64_t>{0, 1, 1050, 1050, 1050}), Ids(v));
    EXPECT_EQ(3, clones);
    EXPECT_EQ(0, TotalDrops()) << "fill stays the caller's";
    res_vec c;
    ASSERT_EQ(MP_OK, res_vec_clone(&v, &c));
    EXPECT_EQ((std::vector<uint64_t>{1000, 1001, 2050, 2050, 2050}), Ids(c));
    EXPECT_EQ(8, clones);
    ASSERT_EQ(MP_OK, res_vec_free(&c));
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    EXPECT_EQ(10, TotalDrops());
}

TEST_F(VecDropTest, AFailedCloneDropsWhatItMadeAndNothingElse) {
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 6, res_vec_push);
    std::vector<uint64_t> ids = Ids(v);
    // clone: the 4th clone fails; the 3 made are dropped, *out untouched.
    res_vec c = res_vec_INIT;
    unsigned char before[sizeof c];
    std::memcpy(before, &c, sizeof c);
    clone_fail_at = 4;
    EXPECT_EQ(MP_ENOMEM, res_vec_clone(&v, &c));
    EXPECT_EQ(0, std::memcmp(before, &c, sizeof c));
    ExpectDropped({1000, 1001, 1002});
    EXPECT_EQ(ids, Ids(v));
    // resize up: the 2nd clone fails; the one made is dropped, len kept.
    ResetCounts();
    clone_fail_at = 2;
    EXPECT_EQ(MP_ENOMEM, res_vec_resize(&v, 9, Res(70)));
    ExpectDropped({1070});
    EXPECT_EQ(ids, Ids(v));
    ResetCounts();
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    ExpectDropped({0, 1, 2, 3, 4, 5});
}

TEST_F(VecDropTest, BadArgumentsAndStaleCopiesDropNothing) {
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 4, res_vec_push);
    res_vec stale = v;
    // Growth past the first commit renews the generation: stale is stale.
    FillIds(&v, 4, res_vec_capacity(&v) + 1, res_vec_push);
    size_t len = res_vec_len(&v);
    EXPECT_EQ(MP_EINVAL, res_vec_truncate(&v, len + 1));
    EXPECT_EQ(MP_EINVAL, res_vec_remove_range(&v, 2, 1, nullptr));
    EXPECT_EQ(MP_EINVAL, res_vec_remove_range(&v, 0, len + 1, nullptr));
    EXPECT_EQ(MP_OK, res_vec_remove_range(&v, 3, 3, nullptr));
    EXPECT_EQ(MP_ESTALE, res_vec_truncate(&stale, 0));
    EXPECT_EQ(MP_ESTALE, res_vec_clear(&stale));
    EXPECT_EQ(MP_ESTALE, res_vec_resize(&stale, 0, Res(1)));
    EXPECT_EQ(MP_ESTALE, res_vec_remove_range(&stale, 0, 1, nullptr));
    res_vec c;
    EXPECT_EQ(MP_ESTALE, res_vec_clone(&stale, &c));
    EXPECT_EQ(MP_ESTALE, res_vec_free(&stale));
    EXPECT_EQ(0, TotalDrops());
    EXPECT_EQ(0, clones);
    EXPECT_EQ(len, res_vec_len(&v));
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    EXPECT_EQ(static_cast<int>(len), TotalDrops());
}

TEST_F(VecDropTest, OsFailuresDropNothing) {
    const size_t page_elems = mp_page_size() / sizeof(res);
    // Growth that fails: resize clones nothing, insert_n moves nothing in,
    // clone makes nothing. Each runs once per OS call it makes, that call
    // failing, until a run makes none; a run that fails anyway (a large
    // reservation is retried at the size needed) is undone.
    ASSERT_EQ(MP_OK, mp__vec_cache_drain()); /* no reservation with pages enough */
    res_vec v = res_vec_INIT;
    FillIds(&v, 0, 3, res_vec_push);
    std::vector<res> src(2 * page_elems, Res(5));
    std::vector<uint64_t> ids = Ids(v);
    for (int which = 0; which < 4; which++) {
        int failed = 0;
        for (unsigned nth = 1;; nth++) {
            SCOPED_TRACE(testing::Message() << "operation " << which << ", OS call " << nth);
            ASSERT_LT(nth, 20u);
            ResetCounts();
            fault_arm(nth, MP_ENOMEM, ENOMEM);
            mp_status s = MP_OK;
            res_vec c = res_vec_INIT;
            switch (which) {
            case 0:
                s = res_vec_resize(&v, 2 * page_elems, Res(9));
                break;
            case 1:
                s = res_vec_insert_n(&v, 0, src.data(), src.size());
                break;
            case 2:
                s = res_vec_reserve_exact(&v, src.size());
                break;
            case 3:
                s = res_vec_clone(&v, &c);
                break;
            }
            const char *fired = fault_fired();
            fault_disarm();
            if (s != MP_OK) {
                failed++;
                EXPECT_EQ(MP_ENOMEM, s);
                EXPECT_EQ(ids, Ids(v));
                EXPECT_EQ(0, TotalDrops());
                EXPECT_EQ(0, clones);
                continue;
            }
            // Undo a success, then shrink back to the first page, so that
            // the next run grows again.
            mp_status undo = which == 0   ? res_vec_truncate(&v, ids.size())
                             : which == 1 ? res_vec_remove_range(&v, 0, src.size(), nullptr)
                             : which == 3 ? res_vec_free(&c)
                                          : MP_OK;
            ASSERT_EQ(MP_OK, undo);
            ASSERT_EQ(MP_OK, res_vec_shrink_to_fit(&v));
            EXPECT_EQ(ids, Ids(v));
            if (fired == nullptr) break;
        }
        EXPECT_GE(failed, 1) << "operation " << which << " never failed";
    }
    ResetCounts();
    ASSERT_EQ(MP_OK, res_vec_free(&v));
    ResetCounts();

    // free whose release fails: the elements were dropped first (once);
    // the vector is left live and empty, and a second free releases it
    // without dropping again (docs/paged_vec.md, "Drop and clone").
    mp_vec_opts opts = {};
    opts.guard = true; /* not the cache's shape: free releases */
    ASSERT_EQ(MP_OK, res_vec_new_opts(&opts, &v));
    FillIds(&v, 0, 3, res_vec_push);
    fault_arm(1, MP_ENOMEM, ENOMEM);
    mp_status s = res_vec_free(&v);
    const char *fired = fault_fired();
    fault_disarm();
    ASSERT_NE(nullptr, fired);
    EXPECT_EQ(MP_ENOMEM, s);
    ExpectDropped({0, 1, 2});
    EXPECT_EQ(0u, res_vec_len(&v));
    EXPECT_EQ(MP_OK, res_vec_free(&v));
    ExpectDropped({0, 1, 2});
}

TEST_F(VecDropTest, ATypeWithoutCloneStillDrops) {
    res_move_vec v = res_move_vec_INIT;
    FillIds(&v, 0, 4, res_move_vec_push);
    ASSERT_EQ(MP_OK, res_move_vec_truncate(&v, 2));
    ASSERT_EQ(MP_OK, res_move_vec_remove_range(&v, 0, 1, nullptr));
    ASSERT_EQ(MP_OK, res_move_vec_free(&v));
    ExpectDropped({0, 1, 2, 3});
}

} // namespace
