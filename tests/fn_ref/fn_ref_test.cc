// Function references (shared/API.md section 4): making them, calling real
// code through them, their argument checks, and staleness after every kind
// of transition, after free, after the slot was reused many times, and at
// the end of a slot's generations. Builds with allow_exec only.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/fn_ref/test_code.h"
#include "tests/fn_ref/test_fns.h"
#include "tests/internals/registry_access.h"

namespace {

using mp_test::Code;

#define SKIP_WITHOUT_CODE()                                                                        \
    if (!mp_test::kHaveCode) GTEST_SKIP() << "no test code for this architecture"

/* Returns rx pages holding code at offset, via rw pages. */
mp_pages_rx MakeRx(const Code &code, size_t offset = 0) {
    mp_pages_rw rw;
    EXPECT_EQ(mp_pages_rw_new(offset + code.size() + 1, &rw), MP_OK);
    std::memcpy(mp_pages_rw_data_mut(&rw) + offset, code.data(), code.size());
    mp_pages_rx rx;
    EXPECT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    return rx;
}

/* Whether every byte of the object at p is b. */
template <class T> bool AllBytes(const T &obj, uint8_t b) {
    const uint8_t *p = reinterpret_cast<const uint8_t *>(&obj);
    for (size_t i = 0; i < sizeof obj; i++) {
        if (p[i] != b) return false;
    }
    return true;
}

TEST(FnRef, CallsTheCodeWithItsArguments) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::AddCode());
    add_fn add;
    ASSERT_EQ(add_fn_from(&rx, 0, &add), MP_OK);
    EXPECT_TRUE(add_fn_valid(&add));
    int64_t sum = 0;
    ASSERT_EQ(add_fn_call(&add, 40, 2, &sum), MP_OK);
    EXPECT_EQ(sum, 42);
    ASSERT_EQ(add_fn_call(&add, INT64_MAX - 5, -(INT64_MAX - 5), &sum), MP_OK);
    EXPECT_EQ(sum, 0);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

TEST(FnRef, FloatingPointAndPointerArguments) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx fadd_rx = MakeRx(mp_test::FaddCode());
    fadd_fn fadd;
    ASSERT_EQ(fadd_fn_from(&fadd_rx, 0, &fadd), MP_OK);
    double d = 0;
    ASSERT_EQ(fadd_fn_call(&fadd, 1.25, 2.5, &d), MP_OK);
    EXPECT_EQ(d, 3.75);

    mp_pages_rx bump_rx = MakeRx(mp_test::BumpCode());
    bump_fn bump;
    ASSERT_EQ(bump_fn_from(&bump_rx, 0, &bump), MP_OK);
    int64_t counter = 41;
    ASSERT_EQ(bump_fn_call(&bump, &counter), MP_OK);
    EXPECT_EQ(counter, 42);
    EXPECT_EQ(mp_pages_rx_free(&fadd_rx), MP_OK);
    EXPECT_EQ(mp_pages_rx_free(&bump_rx), MP_OK);
}

TEST(FnRef, CodeAtAnOffset) {
    SKIP_WITHOUT_CODE();
    const size_t page = mp_page_size();
    mp_pages_rx rx = MakeRx(mp_test::ConstCode(7), page + 16);
    const_fn f;
    ASSERT_EQ(const_fn_from(&rx, page + 16, &f), MP_OK);
    int32_t v = 0;
    ASSERT_EQ(const_fn_call(&f, &v), MP_OK);
    EXPECT_EQ(v, 7);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

TEST(FnRef, FromRejectsBadArgumentsAndWritesNothing) {
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rx_new(1, &rx), MP_OK);
    const size_t len = mp_pages_rx_len(&rx);
    add_fn f;
    std::memset(&f, 0xA5, sizeof f);
    EXPECT_EQ(add_fn_from(nullptr, 0, &f), MP_EINVAL);
    EXPECT_EQ(add_fn_from(&rx, 0, nullptr), MP_EINVAL);
    EXPECT_EQ(add_fn_from(&rx, len, &f), MP_EINVAL);
    EXPECT_EQ(add_fn_from(&rx, SIZE_MAX, &f), MP_EINVAL);
    EXPECT_EQ(mp_os_error(), 0);
    EXPECT_TRUE(AllBytes(f, 0xA5));
    EXPECT_EQ(add_fn_from(&rx, len - 1, &f), MP_OK);

    mp_pages_rx copy = rx;
    ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);
    std::memset(&f, 0xA5, sizeof f);
    EXPECT_EQ(add_fn_from(&copy, 0, &f), MP_ESTALE);
    EXPECT_TRUE(AllBytes(f, 0xA5));

    // A handle of another state, forced into the rx type, is refused by the
    // runtime too: the state is checked, not only the generation.
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    EXPECT_EQ(add_fn_from(reinterpret_cast<const mp_pages_rx *>(&rw), 0, &f), MP_ESTALE);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

TEST(FnRef, CallRejectsBadArguments) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::AddCode());
    add_fn f;
    ASSERT_EQ(add_fn_from(&rx, 0, &f), MP_OK);
    int64_t sum = 5;
    EXPECT_EQ(add_fn_call(nullptr, 1, 2, &sum), MP_EINVAL);
    EXPECT_EQ(add_fn_call(&f, 1, 2, nullptr), MP_EINVAL);
    EXPECT_EQ(sum, 5);
    EXPECT_FALSE(add_fn_valid(nullptr));

    // A zeroed reference names no pages.
    add_fn zero;
    std::memset(&zero, 0, sizeof zero);
    EXPECT_FALSE(add_fn_valid(&zero));
    EXPECT_EQ(add_fn_call(&zero, 1, 2, &sum), MP_ESTALE);
    EXPECT_EQ(mp_os_error(), 0);
    EXPECT_EQ(sum, 5);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

/* Moves rx pages to the state To and back, for every state To != rx. */
struct ToNone {
    static const char *Name() {
        return "none";
    }
    static mp_status Away(mp_pages_rx *rx, mp_pages_none *to) {
        return mp_pages_rx_into_none(rx, to);
    }
    static mp_status Back(mp_pages_none *from, mp_pages_rx *rx) {
        return mp_pages_none_into_rx(from, rx);
    }
    using Handle = mp_pages_none;
};
struct ToR {
    static const char *Name() {
        return "r";
    }
    static mp_status Away(mp_pages_rx *rx, mp_pages_r *to) {
        return mp_pages_rx_into_r(rx, to);
    }
    static mp_status Back(mp_pages_r *from, mp_pages_rx *rx) {
        return mp_pages_r_into_rx(from, rx);
    }
    using Handle = mp_pages_r;
};
struct ToRw {
    static const char *Name() {
        return "rw";
    }
    static mp_status Away(mp_pages_rx *rx, mp_pages_rw *to) {
        return mp_pages_rx_into_rw(rx, to);
    }
    static mp_status Back(mp_pages_rw *from, mp_pages_rx *rx) {
        return mp_pages_rw_into_rx(from, rx);
    }
    using Handle = mp_pages_rw;
};
#if MP_HAVE_RWX
struct ToRwx {
    static const char *Name() {
        return "rwx";
    }
    static mp_status Away(mp_pages_rx *rx, mp_pages_rwx *to) {
        return mp_pages_rx_into_rwx(rx, to);
    }
    static mp_status Back(mp_pages_rwx *from, mp_pages_rx *rx) {
        return mp_pages_rwx_into_rx(from, rx);
    }
    using Handle = mp_pages_rwx;
};
#endif

template <class T> class FnRefTransition : public ::testing::Test {};
#if MP_HAVE_RWX
using Targets = ::testing::Types<ToNone, ToR, ToRw, ToRwx>;
#else
using Targets = ::testing::Types<ToNone, ToR, ToRw>;
#endif
struct TargetName {
    template <class T> static std::string GetName(int) {
        return T::Name();
    }
};
TYPED_TEST_SUITE(FnRefTransition, Targets, TargetName);

// After the pages move away from rx, every copy of the reference is stale
// and calling it does not run the code (which would bump the counter); so is
// it after the pages came back to rx at the same address. A reference made
// afresh works.
TYPED_TEST(FnRefTransition, StaleAfterLeavingAndComingBack) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::BumpCode());
    const uint8_t *code = mp_pages_rx_data(&rx);
    bump_fn f;
    ASSERT_EQ(bump_fn_from(&rx, 0, &f), MP_OK);
    const bump_fn copy = f;
    int64_t counter = 0;
    ASSERT_EQ(bump_fn_call(&copy, &counter), MP_OK);
    ASSERT_EQ(counter, 1);

    typename TypeParam::Handle away;
    ASSERT_EQ(TypeParam::Away(&rx, &away), MP_OK);
    EXPECT_FALSE(bump_fn_valid(&f));
    EXPECT_FALSE(bump_fn_valid(&copy));
    EXPECT_EQ(bump_fn_call(&f, &counter), MP_ESTALE);
    EXPECT_EQ(bump_fn_call(&copy, &counter), MP_ESTALE);
    EXPECT_EQ(counter, 1);

    ASSERT_EQ(TypeParam::Back(&away, &rx), MP_OK);
    ASSERT_EQ(mp_pages_rx_data(&rx), code);
    EXPECT_FALSE(bump_fn_valid(&f));
    EXPECT_EQ(bump_fn_call(&copy, &counter), MP_ESTALE);
    EXPECT_EQ(counter, 1);

    bump_fn fresh;
    ASSERT_EQ(bump_fn_from(&rx, 0, &fresh), MP_OK);
    ASSERT_EQ(bump_fn_call(&fresh, &counter), MP_OK);
    EXPECT_EQ(counter, 2);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
    EXPECT_FALSE(bump_fn_valid(&fresh));
    EXPECT_EQ(bump_fn_call(&fresh, &counter), MP_ESTALE);
    EXPECT_EQ(counter, 2);
}

// A failed transition leaves the pages where they were, and the reference
// with them.
TEST(FnRef, FailedTransitionKeepsTheReference) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::AddCode());
    add_fn f;
    ASSERT_EQ(add_fn_from(&rx, 0, &f), MP_OK);
    EXPECT_EQ(mp_pages_rx_into_rw(&rx, nullptr), MP_EINVAL);
    EXPECT_TRUE(add_fn_valid(&f));
    int64_t sum = 0;
    EXPECT_EQ(add_fn_call(&f, 2, 3, &sum), MP_OK);
    EXPECT_EQ(sum, 5);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

// Freed pages: their slot is handed out again and again, and the old
// reference stays stale through every reuse, also while the slot holds
// executable pages with code at the same offset.
TEST(FnRef, StaleAfterFreeThroughManySlotReuses) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::ConstCode(-1));
    const_fn old;
    ASSERT_EQ(const_fn_from(&rx, 0, &old), MP_OK);
    ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);

    const int kReuses = 50000;
    int same_slot = 0;
    int32_t v = 12345;
    for (int i = 0; i < kReuses; i++) {
        mp_pages_rx again;
        ASSERT_EQ(mp_pages_rx_new(1, &again), MP_OK);
        const_fn now;
        ASSERT_EQ(const_fn_from(&again, 0, &now), MP_OK);
        if (now.ref_.gen == old.ref_.gen) same_slot++;
        ASSERT_FALSE(const_fn_valid(&old)) << "after " << i << " reuses";
        ASSERT_EQ(const_fn_call(&old, &v), MP_ESTALE);
        ASSERT_EQ(mp_pages_rx_free(&again), MP_OK);
    }
    EXPECT_EQ(v, 12345);
    // The test means something only if the slot was in fact reused.
    EXPECT_GT(same_slot, kReuses / 2);
}

// At the end of its generations a slot moves to a fresh slot on a
// transition, and is retired on free; references to it stay stale.
TEST(FnRef, StaleAtTheEndOfTheGenerations) {
    SKIP_WITHOUT_CODE();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    const Code code = mp_test::AddCode();
    std::memcpy(mp_pages_rw_data_mut(&rw), code.data(), code.size());
    set_generation(&rw.ref_, kLastLive - 4);
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    ASSERT_EQ(rx.ref_.gen, kLastLive);
    add_fn last;
    ASSERT_EQ(add_fn_from(&rx, 0, &last), MP_OK);
    int64_t sum = 0;
    ASSERT_EQ(add_fn_call(&last, 1, 1, &sum), MP_OK);

    mp_pages_r r;
    ASSERT_EQ(mp_pages_rx_into_r(&rx, &r), MP_OK);
    EXPECT_FALSE(add_fn_valid(&last));
    mp_pages_rx back;
    ASSERT_EQ(mp_pages_r_into_rx(&r, &back), MP_OK);
    EXPECT_FALSE(add_fn_valid(&last));
    EXPECT_EQ(add_fn_call(&last, 1, 1, &sum), MP_ESTALE);

    // And on free at the limit.
    set_generation(&back.ref_, kLastLive);
    add_fn at_limit;
    ASSERT_EQ(add_fn_from(&back, 0, &at_limit), MP_OK);
    ASSERT_TRUE(add_fn_valid(&at_limit));
    ASSERT_EQ(mp_pages_rx_free(&back), MP_OK);
    EXPECT_FALSE(add_fn_valid(&at_limit));
    EXPECT_EQ(add_fn_call(&at_limit, 1, 1, &sum), MP_ESTALE);
    EXPECT_EQ(sum, 2);
}

#if MP_HAVE_RWX
// References into rwx pages: writing through the pages does not stale them,
// leaving the rwx state does.
TEST(FnRefRwx, WritableAndExecutablePages) {
    SKIP_WITHOUT_CODE();
    mp_pages_rwx rwx;
    ASSERT_EQ(mp_pages_rwx_new(1, &rwx), MP_OK);
    Code code = mp_test::ConstCode(1);
    uint8_t *data = mp_pages_rwx_data_mut(&rwx);
    std::memcpy(data, code.data(), code.size());
    __builtin___clear_cache(reinterpret_cast<char *>(data),
                            reinterpret_cast<char *>(data + code.size()));
    const_fn f;
    ASSERT_EQ(const_fn_from_rwx(&rwx, 0, &f), MP_OK);
    int32_t v = 0;
    ASSERT_EQ(const_fn_call(&f, &v), MP_OK);
    EXPECT_EQ(v, 1);

    code = mp_test::ConstCode(2);
    std::memcpy(data, code.data(), code.size());
    __builtin___clear_cache(reinterpret_cast<char *>(data),
                            reinterpret_cast<char *>(data + code.size()));
    EXPECT_TRUE(const_fn_valid(&f));
    ASSERT_EQ(const_fn_call(&f, &v), MP_OK);
    EXPECT_EQ(v, 2);

    EXPECT_EQ(const_fn_from_rwx(&rwx, mp_pages_rwx_len(&rwx), &f), MP_EINVAL);
    EXPECT_EQ(const_fn_from_rwx(nullptr, 0, &f), MP_EINVAL);

    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rwx_into_rx(&rwx, &rx), MP_OK);
    EXPECT_FALSE(const_fn_valid(&f));
    v = 0;
    EXPECT_EQ(const_fn_call(&f, &v), MP_ESTALE);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(const_fn_from_rwx(reinterpret_cast<const mp_pages_rwx *>(&rx), 0, &f), MP_ESTALE);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}
#endif

} // namespace
