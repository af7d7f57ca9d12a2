// Tests of the functions every permission state has (shared/API.md section
// 3): _new, _new_opts, _len, _free, _advise, _data, _data_mut, with good
// and bad input, for every state of the build.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/bytes.h"
#include "tests/support/states.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;

const mp_advice kAllAdvice[] = {MP_ADVICE_NORMAL, MP_ADVICE_SEQUENTIAL, MP_ADVICE_RANDOM,
                                MP_ADVICE_WILLNEED};

size_t Page() {
    return mp_page_size();
}

/* Handles that no live page set has: all zeros, and garbage that names slots
 * that were never handed out or generations that were never live. */
std::vector<mp__ref> DeadRefs() {
    return {{0, 0},          {0, 1},
            {1, 0},          {1, 2},
            {UINT32_MAX, 1}, {UINT32_MAX, UINT32_MAX},
            {123456, 7},     {(1u << 22) + 5, 1}};
}

template <class S> typename S::Handle HandleOf(mp__ref ref) {
    typename S::Handle h;
    static_assert(sizeof h == sizeof ref, "a handle is one mp__ref");
    std::memcpy(static_cast<void *>(&h), &ref, sizeof ref);
    return h;
}

/* Expects every call on p to treat it as stale, and to change nothing. */
template <class S> void ExpectStale(typename S::Handle p) {
    typename S::Handle before = p;
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
    EXPECT_EQ(S::Free(&p), MP_ESTALE);
    EXPECT_TRUE(mp_test::SameBytes(p, before));
}

/* Expects p to be a live page set of len bytes. */
template <class S> void ExpectLive(typename S::Handle *p, size_t len) {
    EXPECT_EQ(S::Len(p), len);
    EXPECT_NE(S::Address(p), nullptr);
    if constexpr (S::kReadable) {
        EXPECT_NE(S::Data(p), nullptr);
    }
    if constexpr (S::kWritable) {
        EXPECT_EQ(S::DataMut(p), S::Data(p));
    }
}

template <class S> class PagesTest : public ::testing::Test {};
TYPED_TEST_SUITE(PagesTest, mp_test::AllStates, mp_test::StateName);

// ---- _new and _new_opts: good input ----

TYPED_TEST(PagesTest, NewRoundsTheLengthUpToWholePages) {
    using S = TypeParam;
    const size_t cases[][2] = {{1, Page()},
                               {Page() - 1, Page()},
                               {Page(), Page()},
                               {Page() + 1, 2 * Page()},
                               {5 * Page(), 5 * Page()}};
    for (const auto &c : cases) {
        typename S::Handle p;
        ASSERT_EQ(S::New(c[0], &p), MP_OK) << "len " << c[0];
        EXPECT_EQ(S::Len(&p), c[1]) << "len " << c[0];
        EXPECT_EQ(S::Free(&p), MP_OK);
    }
}

TYPED_TEST(PagesTest, NewGivesPageAlignedPages) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(3 * Page(), &p), MP_OK);
    ExpectLive<S>(&p, 3 * Page());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(S::Address(&p)) % Page(), 0u);
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, NewGivesDistinctPagesEachTime) {
    using S = TypeParam;
    typename S::Handle a, b;
    ASSERT_EQ(S::New(Page(), &a), MP_OK);
    ASSERT_EQ(S::New(Page(), &b), MP_OK);
    EXPECT_NE(S::Address(&a), S::Address(&b));
    EXPECT_FALSE(mp_test::SameBytes(a, b));
    EXPECT_EQ(S::Free(&a), MP_OK);
    EXPECT_EQ(S::Len(&b), Page()) << "freeing one page set must not touch another";
    EXPECT_EQ(S::Free(&b), MP_OK);
}

TYPED_TEST(PagesTest, NewOptsWithNullOptsGivesTheDefaults) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(Page() + 1, nullptr, &p), MP_OK);
    ExpectLive<S>(&p, 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, NewOptsWithZeroOptsGivesTheDefaults) {
    using S = TypeParam;
    mp_pages_opts opts;
    std::memset(&opts, 0, sizeof opts);
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(Page() + 1, &opts, &p), MP_OK);
    ExpectLive<S>(&p, 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// ---- _new and _new_opts: bad input ----

TYPED_TEST(PagesTest, NewWithZeroLengthIsInvalidAndWritesNothing) {
    using S = TypeParam;
    auto p = Sentinel<typename S::Handle>();
    EXPECT_EQ(S::New(0, &p), MP_EINVAL);
    EXPECT_EQ(S::NewOpts(0, nullptr, &p), MP_EINVAL);
    EXPECT_TRUE(IsSentinel(p));
    EXPECT_EQ(mp_os_error(), 0);
}

TYPED_TEST(PagesTest, NewWithNullOutIsInvalid) {
    using S = TypeParam;
    EXPECT_EQ(S::New(Page(), nullptr), MP_EINVAL);
    EXPECT_EQ(S::NewOpts(Page(), nullptr, nullptr), MP_EINVAL);
}

TYPED_TEST(PagesTest, NewWithSizeMaxOverflowsAndWritesNothing) {
    using S = TypeParam;
    auto p = Sentinel<typename S::Handle>();
    EXPECT_EQ(S::New(SIZE_MAX, &p), MP_EOVERFLOW);
    EXPECT_EQ(S::New(SIZE_MAX - Page() + 2, &p), MP_EOVERFLOW) << "rounds up past SIZE_MAX";
    EXPECT_TRUE(IsSentinel(p));
}

TYPED_TEST(PagesTest, NewWithHalfOfSizeMaxFailsCleanlyOrSucceeds) {
    using S = TypeParam;
    auto p = Sentinel<typename S::Handle>();
    mp_status s = S::New(SIZE_MAX / 2, &p);
    if (sizeof(size_t) >= 8) {
        // No 64-bit address space holds 2^63 bytes.
        ASSERT_EQ(s, MP_ENOMEM);
    }
    if (s == MP_OK) {
        EXPECT_EQ(S::Free(&p), MP_OK);
        return;
    }
    EXPECT_EQ(s, MP_ENOMEM);
    EXPECT_TRUE(IsSentinel(p));
    EXPECT_NE(mp_os_error(), 0);
#ifndef _WIN32
    EXPECT_EQ(mp_os_error(), ENOMEM);
#endif
}

TYPED_TEST(PagesTest, NewOptsWithAnUnknownHugeValueIsInvalid) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    auto p = Sentinel<typename S::Handle>();
    for (int huge : {MP_HUGE_NEVER + 1, 100, -1}) {
        opts.huge = static_cast<mp_huge>(huge);
        EXPECT_EQ(S::NewOpts(Page(), &opts, &p), MP_EINVAL) << "huge " << huge;
    }
    EXPECT_TRUE(IsSentinel(p));
}

// ---- _len, _free and accessors ----

TYPED_TEST(PagesTest, NullHandleHasNoLengthNoDataAndCannotBeFreed) {
    using S = TypeParam;
    EXPECT_EQ(S::Len(nullptr), 0u);
    EXPECT_EQ(S::Address(nullptr), nullptr);
    if constexpr (S::kReadable) {
        EXPECT_EQ(S::Data(nullptr), nullptr);
    }
    if constexpr (S::kWritable) {
        EXPECT_EQ(S::DataMut(nullptr), nullptr);
    }
    EXPECT_EQ(S::Free(nullptr), MP_EINVAL);
    EXPECT_EQ(S::Advise(nullptr, 0, 1, MP_ADVICE_NORMAL), MP_EINVAL);
}

TYPED_TEST(PagesTest, SecondFreeIsStale) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    EXPECT_EQ(S::Free(&p), MP_OK);
    EXPECT_EQ(S::Free(&p), MP_ESTALE);
    EXPECT_EQ(mp_os_error(), 0);
}

TYPED_TEST(PagesTest, FreedHandleIsStale) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    ASSERT_EQ(S::Free(&p), MP_OK);
    ExpectStale<S>(p);
}

TYPED_TEST(PagesTest, CopyOfAFreedHandleIsStale) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    typename S::Handle copy = p;
    ASSERT_EQ(S::Free(&p), MP_OK);
    ExpectStale<S>(copy);
}

TYPED_TEST(PagesTest, CopyOfAFreedHandleStaysStaleWhenItsSlotIsReused) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    typename S::Handle copy = p;
    ASSERT_EQ(S::Free(&p), MP_OK);
    // Allocate until the registry hands the freed slot out again.
    std::vector<typename S::Handle> fresh(8);
    for (auto &f : fresh)
        ASSERT_EQ(S::New(2 * Page(), &f), MP_OK);
    ExpectStale<S>(copy);
    for (auto &f : fresh) {
        EXPECT_EQ(S::Len(&f), 2 * Page());
        EXPECT_EQ(S::Free(&f), MP_OK);
    }
}

TYPED_TEST(PagesTest, DeadHandlesAreStale) {
    using S = TypeParam;
    for (mp__ref ref : DeadRefs()) {
        SCOPED_TRACE(testing::Message() << "slot " << ref.slot << " gen " << ref.gen);
        ExpectStale<S>(HandleOf<S>(ref));
    }
}

TYPED_TEST(PagesTest, AHandleCopyWorksLikeTheOriginal) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(2 * Page(), &p), MP_OK);
    typename S::Handle copy = p;
    ExpectLive<S>(&copy, 2 * Page());
    EXPECT_EQ(S::Address(&copy), S::Address(&p));
    EXPECT_EQ(S::Free(&copy), MP_OK);
    ExpectStale<S>(p);
}

// ---- _advise ----

TYPED_TEST(PagesTest, AdviseTakesEveryAdviceOnTheWholeRange) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(4 * Page(), &p), MP_OK);
    for (mp_advice a : kAllAdvice) {
        EXPECT_EQ(S::Advise(&p, 0, 4 * Page(), a), MP_OK) << "advice " << a;
    }
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, AdviseTakesEveryAdviceOnUnalignedSubranges) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(4 * Page(), &p), MP_OK);
    const size_t ranges[][2] = {
        {1, 1}, {Page() - 1, 2}, {Page() + 3, 2 * Page()}, {4 * Page() - 1, 1}};
    for (mp_advice a : kAllAdvice) {
        for (const auto &r : ranges) {
            EXPECT_EQ(S::Advise(&p, r[0], r[1], a), MP_OK)
                << "advice " << a << " offset " << r[0] << " len " << r[1];
        }
    }
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, AdviseRejectsRangesThatAreEmptyOrLeaveThePages) {
    using S = TypeParam;
    typename S::Handle p;
    const size_t len = 2 * Page();
    ASSERT_EQ(S::New(len, &p), MP_OK);
    const size_t bad[][2] = {{0, 0},        {len, 1},      {len - 1, 2},         {0, len + 1},
                             {1, SIZE_MAX}, {SIZE_MAX, 1}, {SIZE_MAX, SIZE_MAX}, {len, 0}};
    for (const auto &r : bad) {
        EXPECT_EQ(S::Advise(&p, r[0], r[1], MP_ADVICE_NORMAL), MP_EINVAL)
            << "offset " << r[0] << " len " << r[1];
        EXPECT_EQ(mp_os_error(), 0);
    }
    ExpectLive<S>(&p, len);
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, AdviseRejectsAnUnknownAdvice) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    for (int advice : {MP_ADVICE_WILLNEED + 1, 1000, -1}) {
        EXPECT_EQ(S::Advise(&p, 0, Page(), static_cast<mp_advice>(advice)), MP_EINVAL)
            << "advice " << advice;
    }
    ExpectLive<S>(&p, Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(PagesTest, AdviceKeepsTheContents) {
    using S = TypeParam;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(3 * Page(), &rw), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&rw), 3 * Page(), 1);
    typename S::Handle p;
    ASSERT_EQ(mp_test::FromRw<S>(&rw, &p), MP_OK);
    for (mp_advice a : kAllAdvice)
        ASSERT_EQ(S::Advise(&p, 0, 3 * Page(), a), MP_OK);
    ASSERT_EQ(mp_test::ToRw<S>(&p, &rw), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&rw), 3 * Page(), 1), 3 * Page());
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

// ---- _data and _data_mut ----

template <class S> class ReadablePagesTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReadablePagesTest, mp_test::ReadableStates, mp_test::StateName);

TYPED_TEST(ReadablePagesTest, NewPagesReadAsZeros) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(2 * Page(), &p), MP_OK);
    EXPECT_EQ(mp_test::NonZeroAt(S::Data(&p), 2 * Page()), 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

template <class S> class WritablePagesTest : public ::testing::Test {};
TYPED_TEST_SUITE(WritablePagesTest, mp_test::WritableStates, mp_test::StateName);

TYPED_TEST(WritablePagesTest, WritesThroughDataMutReadBackThroughData) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(2 * Page(), &p), MP_OK);
    mp_test::FillPattern(S::DataMut(&p), 2 * Page(), 2);
    EXPECT_EQ(mp_test::PatternMismatch(S::Data(&p), 2 * Page(), 2), 2 * Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// ---- Handles of one state used as another ----

template <class T> class CastHandleTest : public ::testing::Test {};
TYPED_TEST_SUITE(CastHandleTest, mp_test::AllTransitions, mp_test::TransitionName);

// A handle of state S copied bit for bit into a handle of another state T:
// every call through T treats it as stale, so it cannot reach the pages with
// T's access, and the original keeps working.
TYPED_TEST(CastHandleTest, HandleOfAnotherStateIsStaleAndTheOriginalStaysLive) {
    using S = typename TypeParam::FromState;
    using T = typename TypeParam::ToState;
    typename S::Handle p;
    ASSERT_EQ(S::New(Page(), &p), MP_OK);
    typename T::Handle cast;
    static_assert(sizeof cast == sizeof p, "all handles have the same layout");
    std::memcpy(static_cast<void *>(&cast), &p, sizeof p);
    ExpectStale<T>(cast);
    ExpectLive<S>(&p, Page());
    EXPECT_EQ(S::Free(&p), MP_OK);
}

// ---- What the runtime refuses even when the generated header is bypassed ----

#if !MP_HAVE_RX
TEST(RuntimeTest, RefusesExecutablePagesInBuildsWithoutRx) {
    mp__ref ref = {7, 7};
    const mp__ref before = ref;
    EXPECT_EQ(mp__pages_new(Page(), nullptr, MP__PROT_READ | MP__PROT_EXEC, &ref), MP_ENOTSUP);
    EXPECT_TRUE(mp_test::SameBytes(ref, before));
}
#endif

#if !MP_HAVE_RWX
TEST(RuntimeTest, RefusesWritableExecutablePagesInBuildsWithoutRwx) {
    const unsigned rwx = MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC;
    mp__ref ref = {7, 7};
    const mp__ref before = ref;
    EXPECT_EQ(mp__pages_new(Page(), nullptr, rwx, &ref), MP_ENOTSUP);
    EXPECT_EQ(mp__pages_new(Page(), nullptr, MP__PROT_WRITE | MP__PROT_EXEC, &ref), MP_ENOTSUP);
    EXPECT_TRUE(mp_test::SameBytes(ref, before));
}

TEST(RuntimeTest, RefusesATransitionToWritableExecutableInBuildsWithoutRwx) {
    const unsigned rwx = MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC;
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new(Page(), &p), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&p), Page(), 3);
    mp__ref to = {7, 7};
    const mp__ref before = to;
    EXPECT_EQ(
        mp__pages_into(reinterpret_cast<mp__ref *>(&p), MP__PROT_READ | MP__PROT_WRITE, rwx, &to),
        MP_ENOTSUP);
    EXPECT_TRUE(mp_test::SameBytes(to, before));
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&p), Page(), 3), Page())
        << "a refused transition leaves the pages as they were";
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}
#endif

TEST(NoneTest, NewPagesReadAsZerosOnceReadable) {
    mp_pages_none none;
    ASSERT_EQ(mp_pages_none_new(2 * Page(), &none), MP_OK);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_none_into_r(&none, &r), MP_OK);
    EXPECT_EQ(mp_test::NonZeroAt(mp_pages_r_data(&r), 2 * Page()), 2 * Page());
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

} // namespace
