// Sealing executable pages (shared/API.md section 8, builds with
// allow_exec): a function reference made from the sealed pages
// (_from_rx_sealed) runs the code, before and after every attempt to change
// the pages, through _call and through the plain pointer of _raw; the
// references made before the seal go stale with the handle they came from;
// the kernel refuses to make the sealed code writable. Where the kernel has
// no mseal, sealing gives MP_ENOTSUP and the code keeps running through the
// references it had.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#ifndef _WIN32
#include <sys/mman.h>
#endif

#include "memory_pages/memory_pages.h"
#include "tests/fn_ref/test_code.h"
#include "tests/seal/seal_fns.h"
#include "tests/seal/seal_support.h"

namespace {

using seal_support::KernelSeals;

mp_pages_rx MakeAddCode() {
    const mp_test::Code code = mp_test::AddCode();
    mp_pages_rw rw;
    EXPECT_EQ(mp_pages_rw_new(code.size(), &rw), MP_OK);
    std::memcpy(mp_pages_rw_data_mut(&rw), code.data(), code.size());
    mp_pages_rx rx;
    EXPECT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    return rx;
}

TEST(SealExec, SealedCodeRunsAndCannotBeMadeWritable) {
    if (!mp_test::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    mp_pages_rx rx = MakeAddCode();
    const mp_pages_rx copy = rx;
    const uint8_t *code = mp_pages_rx_data(&rx);
    seal_add_fn before;
    ASSERT_EQ(seal_add_fn_from(&rx, 0, &before), MP_OK);
    int64_t sum = 0;
    mp_pages_rx_sealed sealed;
    const mp_status s = mp_pages_rx_seal(&rx, &sealed);
    if (!KernelSeals()) {
        EXPECT_EQ(s, MP_ENOTSUP);
        // Nothing changed: the reference made before still runs the code.
        ASSERT_EQ(seal_add_fn_call(&before, 40, 2, &sum), MP_OK);
        EXPECT_EQ(sum, 42);
        EXPECT_EQ(mp_pages_rx_data(&copy), code);
        EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
        return;
    }
    ASSERT_EQ(s, MP_OK);
    EXPECT_EQ(mp_pages_rx_sealed_data(&sealed), code) << "sealing moved the code";

    // The reference and the handles from before the seal are stale.
    EXPECT_FALSE(seal_add_fn_valid(&before));
    EXPECT_EQ(seal_add_fn_call(&before, 1, 2, &sum), MP_ESTALE);
    int64_t (*raw)(int64_t, int64_t) = nullptr;
    EXPECT_EQ(seal_add_fn_raw(&before, &raw), MP_ESTALE);
    EXPECT_EQ(raw, nullptr);
    for (mp_pages_rx stale : {rx, copy}) {
        EXPECT_EQ(mp_pages_rx_data(&stale), nullptr);
        EXPECT_EQ(mp_pages_rx_free(&stale), MP_ESTALE);
        mp_pages_rw rw;
        EXPECT_EQ(mp_pages_rx_into_rw(&stale, &rw), MP_ESTALE);
        seal_add_fn f;
        EXPECT_EQ(seal_add_fn_from(&stale, 0, &f), MP_ESTALE);
    }

    // A reference into the sealed code runs it, through _call and _raw.
    seal_add_fn f;
    EXPECT_EQ(seal_add_fn_from_rx_sealed(&sealed, mp_pages_rx_sealed_len(&sealed), &f), MP_EINVAL);
    ASSERT_EQ(seal_add_fn_from_rx_sealed(&sealed, 0, &f), MP_OK);
    ASSERT_EQ(seal_add_fn_call(&f, 40, 2, &sum), MP_OK);
    EXPECT_EQ(sum, 42);
    ASSERT_EQ(seal_add_fn_raw(&f, &raw), MP_OK);
    EXPECT_EQ(raw(-5, 3), -2);

#ifndef _WIN32
    auto *page = const_cast<uint8_t *>(code);
    errno = 0;
    EXPECT_EQ(mprotect(page, mp_page_size(), PROT_READ | PROT_WRITE), -1);
    EXPECT_EQ(errno, EPERM) << "the sealed code was made writable";
    errno = 0;
    EXPECT_EQ(munmap(page, mp_page_size()), -1);
    EXPECT_EQ(errno, EPERM);
#endif
    // Still valid and still running after the refused attempts.
    EXPECT_TRUE(seal_add_fn_valid(&f));
    ASSERT_EQ(seal_add_fn_call(&f, 7, 8, &sum), MP_OK);
    EXPECT_EQ(sum, 15);
}

TEST(SealExec, FromRxSealedRefusesBadArguments) {
    seal_add_fn f;
    EXPECT_EQ(seal_add_fn_from_rx_sealed(nullptr, 0, &f), MP_EINVAL);
    // An all-zero handle is never live.
    const mp_pages_rx_sealed zero{};
    EXPECT_EQ(seal_add_fn_from_rx_sealed(&zero, 0, &f), MP_ESTALE);
    // A live rx handle passed as a sealed one is refused.
    mp_pages_rx rx = MakeAddCode();
    mp_pages_rx_sealed as_sealed;
    std::memcpy(&as_sealed, &rx, sizeof as_sealed);
    EXPECT_EQ(seal_add_fn_from_rx_sealed(&as_sealed, 0, &f), MP_ESTALE);
    EXPECT_EQ(mp_pages_rx_sealed_len(&as_sealed), 0u);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}

} // namespace
