// Function references to live code with many and mixed-type arguments
// (shared/API.md section 4): eight int64_t arguments, of which some go on
// the stack in every calling convention the suite runs on; int32_t, double,
// pointer and float arguments in one call; a struct pointer with a void
// return. Each is called through _call and through the plain pointer of
// _raw, and the results are checked against the same computation in C.
// Builds with allow_exec only.
//
// The code is written by hand per architecture and calling convention
// (tests/fn_ref/test_code.h: x86-64 System V and Win64, i686 cdecl,
// AArch64), as the other function-reference tests do. Copying the machine
// code of a compiled C function of the same signature out of this binary
// was the alternative; it was not taken because nothing in C tells where a
// function's code ends, and whether the compiler made it free of
// relocations (constants in .rodata, calls through the PLT, stack
// protectors) depends on flags and sanitizers, so the copy could break
// with the build rather than with the library.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "memory_pages/memory_pages.h"
#include "tests/fn_ref/args_fns.h"
#include "tests/fn_ref/test_code.h"

namespace {

using mp_test::Code;

#define SKIP_WITHOUT_CODE()                                                                        \
    if (!mp_test::kHaveCode) GTEST_SKIP() << "no test code for this architecture"

/* Returns rx pages holding code at offset 0, via rw pages. */
mp_pages_rx MakeRx(const Code &code) {
    mp_pages_rw rw;
    EXPECT_EQ(mp_pages_rw_new(code.size(), &rw), MP_OK);
    std::memcpy(mp_pages_rw_data_mut(&rw), code.data(), code.size());
    mp_pages_rx rx;
    EXPECT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    return rx;
}

TEST(FnRefArgs, EightInt64ArgumentsEachInItsPlace) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::Sum8Code());
    sum8_fn f;
    ASSERT_EQ(sum8_fn_from(&rx, 0, &f), MP_OK);
    int64_t (*raw)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        nullptr;
    ASSERT_EQ(sum8_fn_raw(&f, &raw), MP_OK);
    ASSERT_NE(raw, nullptr);

    // Small distinct values show each argument's place in the result's
    // bytes; the others fill the high halves, which i686 passes apart, and
    // carry from one place into the next.
    const int64_t cases[][8] = {
        {1, 2, 3, 4, 5, 6, 7, 8},
        {8, 7, 6, 5, 4, 3, 2, 1},
        {0, 0, 0, 0, 0, 0, 0, 0x55},
        {0x55, 0, 0, 0, 0, 0, 0, 0},
        {-1, -2, -3, -4, -5, -6, -7, -8},
        {INT64_MAX, INT64_MIN, 0x0123456789ABCDEF, -0x0123456789ABCDEF, 0x100000000, -0x100000000,
         0xFF, 0x7FFFFFFF80000000},
    };
    for (const auto &a : cases) {
        const int64_t want = mp_test::Sum8(a);
        int64_t got = 0;
        ASSERT_EQ(sum8_fn_call(&f, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], &got), MP_OK);
        EXPECT_EQ(got, want) << "through _call, first argument " << a[0];
        EXPECT_EQ(raw(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]), want)
            << "through _raw, first argument " << a[0];
    }
    // The two orders of the first case differ: the arguments are not summed
    // alike.
    EXPECT_EQ(mp_test::Sum8(cases[0]), 0x0102030405060708);
    EXPECT_EQ(mp_test::Sum8(cases[1]), 0x0807060504030201);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

TEST(FnRefArgs, IntDoublePointerAndFloatInOneCall) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::MixCode());
    mix_fn f;
    ASSERT_EQ(mix_fn_from(&rx, 0, &f), MP_OK);
    double (*raw)(int32_t, double, const int64_t *, float) = nullptr;
    ASSERT_EQ(mix_fn_raw(&f, &raw), MP_OK);
    ASSERT_NE(raw, nullptr);

    // Each argument has a magnitude of its own, exact in a double, so the
    // sum shows which ones arrived: a in the millions, *c in the thousands,
    // b in halves, d in quarters.
    struct Case {
        int32_t a;
        double b;
        int64_t c;
        float d;
    };
    const Case cases[] = {
        {1000000, 0.5, 20000, 0.25f},
        {-3000000, 64.5, -7000, -0.75f},
        {0, 0.0, 0, 0.0f},
        {INT32_MIN, 1e15, INT64_C(1) << 40, 1024.25f},
    };
    for (const Case &k : cases) {
        const double want =
            static_cast<double>(k.a) + k.b + static_cast<double>(k.c) + static_cast<double>(k.d);
        double got = 0;
        ASSERT_EQ(mix_fn_call(&f, k.a, k.b, &k.c, k.d, &got), MP_OK);
        EXPECT_EQ(got, want) << "through _call, a = " << k.a;
        EXPECT_EQ(raw(k.a, k.b, &k.c, k.d), want) << "through _raw, a = " << k.a;
    }
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

TEST(FnRefArgs, StructPointerAndVoidReturn) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::PairCode());
    pair_fn f;
    ASSERT_EQ(pair_fn_from(&rx, 0, &f), MP_OK);
    void (*raw)(struct mp_test_pair *, int64_t) = nullptr;
    ASSERT_EQ(pair_fn_raw(&f, &raw), MP_OK);
    ASSERT_NE(raw, nullptr);

    // The second and third cases carry across the halves of i686's 32-bit
    // registers.
    struct Case {
        int64_t x, k, y;
    };
    const Case cases[] = {{40, 2, 42}, {0xFFFFFFFF, 1, 0x100000000}, {INT64_MIN, -1, INT64_MAX}};
    for (const Case &c : cases) {
        mp_test_pair p = {c.x, -7};
        ASSERT_EQ(pair_fn_call(&f, &p, c.k), MP_OK);
        EXPECT_EQ(p.x, c.x) << "the code reads x and leaves it";
        EXPECT_EQ(p.y, c.y) << "through _call, x = " << c.x;
        p = {c.x, -7};
        raw(&p, c.k);
        EXPECT_EQ(p.x, c.x);
        EXPECT_EQ(p.y, c.y) << "through _raw, x = " << c.x;
    }
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

// The references to this live code go stale like any other when their
// pages move on: _call refuses without calling, and _raw hands out nothing.
TEST(FnRefArgs, ReferencesToTheCodeGoStaleWithItsPages) {
    SKIP_WITHOUT_CODE();
    mp_pages_rx rx = MakeRx(mp_test::PairCode());
    pair_fn f;
    ASSERT_EQ(pair_fn_from(&rx, 0, &f), MP_OK);
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rx_into_rw(&rx, &rw), MP_OK);
    mp_test_pair p = {1, 2};
    EXPECT_FALSE(pair_fn_valid(&f));
    EXPECT_EQ(pair_fn_call(&f, &p, 5), MP_ESTALE);
    EXPECT_EQ(p.y, 2) << "a stale call ran the code";
    void (*raw)(struct mp_test_pair *, int64_t) = nullptr;
    EXPECT_EQ(pair_fn_raw(&f, &raw), MP_ESTALE);
    EXPECT_EQ(raw, nullptr) << "a stale _raw handed out a pointer";
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

// _raw refuses NULL and an all-zero (never live) reference, for every
// signature, and writes no pointer then.
TEST(FnRefArgs, RawRefusesNullAndZeroedReferences) {
    const sum8_fn sum8{};
    const mix_fn mix{};
    const pair_fn pair{};
    int64_t (*sum8_raw)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t) =
        nullptr;
    double (*mix_raw)(int32_t, double, const int64_t *, float) = nullptr;
    void (*pair_raw)(struct mp_test_pair *, int64_t) = nullptr;
    EXPECT_EQ(sum8_fn_raw(&sum8, &sum8_raw), MP_ESTALE);
    EXPECT_EQ(mix_fn_raw(&mix, &mix_raw), MP_ESTALE);
    EXPECT_EQ(pair_fn_raw(&pair, &pair_raw), MP_ESTALE);
    EXPECT_EQ(sum8_fn_raw(nullptr, &sum8_raw), MP_EINVAL);
    EXPECT_EQ(mix_fn_raw(&mix, nullptr), MP_EINVAL);
    EXPECT_EQ(sum8_raw, nullptr);
    EXPECT_EQ(mix_raw, nullptr);
    EXPECT_EQ(pair_raw, nullptr);
}

} // namespace
