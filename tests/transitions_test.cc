// Tests of the transitions between permission states (mp_pages_S_into_T,
// shared/API.md section 3), for every ordered pair of distinct states of
// the build.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/bytes.h"
#include "tests/support/states.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;

size_t Page() {
    return mp_page_size();
}

/* Pages of state S holding the pattern of seed, made through rw. */
template <class S> void NewWithPattern(size_t len, unsigned seed, typename S::Handle *out) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(len, &rw), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&rw), len, seed);
    ASSERT_EQ(mp_test::FromRw<S>(&rw, out), MP_OK);
}

/* Expects the pages of p, in state S, to hold the pattern of seed, and
 * frees them. */
template <class S> void ExpectPatternAndFree(typename S::Handle *p, size_t len, unsigned seed) {
    if constexpr (S::kReadable) {
        EXPECT_EQ(mp_test::PatternMismatch(S::Data(p), len, seed), len);
    }
    mp_pages_rw rw;
    ASSERT_EQ(mp_test::ToRw<S>(p, &rw), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&rw), len, seed), len);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

/* Expects every call on the handle p of state S to find it stale. */
template <class S> void ExpectStale(typename S::Handle p) {
    EXPECT_EQ(S::Len(&p), 0u);
    EXPECT_EQ(S::Address(&p), nullptr);
    if constexpr (S::kReadable) {
        EXPECT_EQ(S::Data(&p), nullptr);
    }
    if constexpr (S::kWritable) {
        EXPECT_EQ(S::DataMut(&p), nullptr);
    }
    EXPECT_EQ(S::Advise(&p, 0, 1, MP_ADVICE_NORMAL), MP_ESTALE);
    EXPECT_EQ(S::Free(&p), MP_ESTALE);
}

template <class T> class TransitionTest : public ::testing::Test {};
TYPED_TEST_SUITE(TransitionTest, mp_test::AllTransitions, mp_test::TransitionName);

TYPED_TEST(TransitionTest, KeepsTheContents) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    const size_t len = 3 * Page();
    typename From::Handle from;
    NewWithPattern<From>(len, 11, &from);
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    ExpectPatternAndFree<To>(&to, len, 11);
}

TYPED_TEST(TransitionTest, KeepsTheLengthAndTheAddress) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    typename From::Handle from;
    ASSERT_EQ(From::New(5 * Page() - 3, &from), MP_OK);
    const void *address = From::Address(&from);
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    EXPECT_EQ(To::Len(&to), 5 * Page());
    EXPECT_EQ(To::Address(&to), address);
    EXPECT_EQ(To::Free(&to), MP_OK);
}

TYPED_TEST(TransitionTest, ConsumesTheSourceHandle) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    typename From::Handle from;
    ASSERT_EQ(From::New(Page(), &from), MP_OK);
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    ExpectStale<From>(from);
    EXPECT_EQ(To::Len(&to), Page()) << "the stale calls on from must not touch to";
    EXPECT_EQ(To::Free(&to), MP_OK);
}

TYPED_TEST(TransitionTest, MakesEarlierCopiesOfTheSourceStale) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    typename From::Handle from;
    ASSERT_EQ(From::New(Page(), &from), MP_OK);
    typename From::Handle copy = from;
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    ExpectStale<From>(copy);
    typename To::Handle again = Sentinel<typename To::Handle>();
    EXPECT_EQ(TypeParam::Into(&copy, &again), MP_ESTALE);
    EXPECT_TRUE(IsSentinel(again));
    EXPECT_EQ(To::Free(&to), MP_OK);
}

TYPED_TEST(TransitionTest, FromAFreedHandleIsStaleAndWritesNothing) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    typename From::Handle from;
    ASSERT_EQ(From::New(Page(), &from), MP_OK);
    ASSERT_EQ(From::Free(&from), MP_OK);
    auto to = Sentinel<typename To::Handle>();
    EXPECT_EQ(TypeParam::Into(&from, &to), MP_ESTALE);
    EXPECT_TRUE(IsSentinel(to));
    EXPECT_EQ(mp_os_error(), 0);
}

TYPED_TEST(TransitionTest, FromAZeroedHandleIsStaleAndWritesNothing) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    typename From::Handle from;
    std::memset(static_cast<void *>(&from), 0, sizeof from);
    auto to = Sentinel<typename To::Handle>();
    EXPECT_EQ(TypeParam::Into(&from, &to), MP_ESTALE);
    EXPECT_TRUE(IsSentinel(to));
}

TYPED_TEST(TransitionTest, WithANullSourceIsInvalid) {
    using To = typename TypeParam::ToState;
    auto to = Sentinel<typename To::Handle>();
    EXPECT_EQ(TypeParam::Into(nullptr, &to), MP_EINVAL);
    EXPECT_TRUE(IsSentinel(to));
}

TYPED_TEST(TransitionTest, WithANullTargetIsInvalidAndLeavesTheSourceUsable) {
    using From = typename TypeParam::FromState;
    const size_t len = 2 * Page();
    typename From::Handle from;
    NewWithPattern<From>(len, 12, &from);
    const typename From::Handle before = from;
    EXPECT_EQ(TypeParam::Into(&from, nullptr), MP_EINVAL);
    EXPECT_TRUE(mp_test::SameBytes(from, before));
    EXPECT_EQ(From::Len(&from), len);
    ExpectPatternAndFree<From>(&from, len, 12);
}

TYPED_TEST(TransitionTest, BackAndForthKeepsTheContents) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    const size_t len = 2 * Page();
    typename From::Handle from;
    NewWithPattern<From>(len, 13, &from);
    using Back = mp_test::Transition<To, From>;
    typename To::Handle to;
    for (int round = 0; round < 100; round++) {
        ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK) << "round " << round;
        ASSERT_EQ(Back::Into(&to, &from), MP_OK) << "round " << round;
    }
    ExpectStale<To>(to);
    ExpectPatternAndFree<From>(&from, len, 13);
}

// A chain through every state of the build, in order and back: each step
// keeps the contents and leaves only the newest handle live.
TEST(TransitionChainTest, ThroughEveryStateKeepsTheContents) {
    const size_t len = 4 * Page() + 1;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(len, &rw), MP_OK);
    const size_t full = mp_pages_rw_len(&rw);
    mp_test::FillPattern(mp_pages_rw_data_mut(&rw), full, 14);
    const mp_pages_rw first = rw;

    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    mp_pages_none none;
    ASSERT_EQ(mp_pages_r_into_none(&r, &none), MP_OK);
#if MP_HAVE_RX
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_none_into_rx(&none, &rx), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rx_data(&rx), full, 14), full);
#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    ASSERT_EQ(mp_pages_rx_into_rwx(&rx, &rwx), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rwx_data(&rwx), full, 14), full);
    ASSERT_EQ(mp_pages_rwx_into_none(&rwx, &none), MP_OK);
#else
    ASSERT_EQ(mp_pages_rx_into_none(&rx, &none), MP_OK);
#endif
#endif
    ASSERT_EQ(mp_pages_none_into_rw(&none, &rw), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&rw), full, 14), full);
    EXPECT_EQ(mp_pages_rw_len(&first), 0u) << "the first handle is stale";
    EXPECT_EQ(mp_pages_r_len(&r), 0u);
    EXPECT_EQ(mp_pages_none_len(&none), 0u);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

} // namespace
