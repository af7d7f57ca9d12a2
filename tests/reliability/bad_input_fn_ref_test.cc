// The bad-input sweep over the functions of a function reference
// (shared/API.md section 4; builds with allow_exec only): NULL pages,
// references and results, offsets out of range, stale and garbage pages,
// zeroed and stale references. Nothing here calls code: every case must be
// refused before the call.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/reliability/stress_fns.h"
#include "tests/reliability/sweep.h"
#include "tests/support/bytes.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;
using sweep::Cases;

TEST(SweepFnRef, BadPagesOffsetsAndReferencesAreRefused) {
    Cases c("rel_const_fn functions");
    const size_t page = mp_page_size();
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rx_new(page, &rx), MP_OK);
    rel_const_fn f = Sentinel<rel_const_fn>();
    int32_t ret = 0x5a5a5a5a;

    c.Status("from(NULL)", rel_const_fn_from(nullptr, 0, &f), MP_EINVAL);
    c.Status("from(rx, 0, NULL)", rel_const_fn_from(&rx, 0, nullptr), MP_EINVAL);
    for (size_t offset : {page, page + 1, SIZE_MAX / 2, SIZE_MAX}) {
        c.Status("from(rx, " + std::to_string(offset) + ")", rel_const_fn_from(&rx, offset, &f),
                 MP_EINVAL);
    }

    // Pages that are not live rx pages.
    std::vector<std::pair<std::string, mp_pages_rx>> stale;
    mp_pages_rx copy = rx;
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rx_into_r(&rx, &r), MP_OK);
    stale.emplace_back("pages moved to r", copy);
    mp_pages_rx freed;
    ASSERT_EQ(mp_pages_rx_new(page, &freed), MP_OK);
    mp_pages_rx freed_copy = freed;
    ASSERT_EQ(mp_pages_rx_free(&freed), MP_OK);
    stale.emplace_back("freed pages", freed_copy);
    stale.emplace_back("a zeroed handle", mp_pages_rx{});
    stale.emplace_back("slot UINT32_MAX", mp_pages_rx{{UINT32_MAX, 1}});
    mp_pages_rx cast;
    std::memcpy(&cast, &r, sizeof r);
    stale.emplace_back("live r pages cast to rx", cast);
    for (auto &[what, pages] : stale) {
        c.Status("from(" + what + ")", rel_const_fn_from(&pages, 0, &f), MP_ESTALE);
    }
    EXPECT_TRUE(IsSentinel(f)) << "a refused from wrote its reference";

    // References that must not be called.
    c.Holds("valid(NULL) is false", !rel_const_fn_valid(nullptr));
    const rel_const_fn zeroed{};
    c.Holds("valid(zeroed) is false", !rel_const_fn_valid(&zeroed));
    c.Status("call(NULL)", rel_const_fn_call(nullptr, &ret), MP_EINVAL);
    c.Status("call(zeroed)", rel_const_fn_call(&zeroed, &ret), MP_ESTALE);

    mp_pages_rx back;
    ASSERT_EQ(mp_pages_r_into_rx(&r, &back), MP_OK);
    rel_const_fn live;
    ASSERT_EQ(rel_const_fn_from(&back, 0, &live), MP_OK);
    c.Status("call(f, NULL)", rel_const_fn_call(&live, nullptr), MP_EINVAL);
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rx_into_rw(&back, &rw), MP_OK);
    c.Holds("valid(reference into pages moved to rw) is false", !rel_const_fn_valid(&live));
    c.Status("call(reference into pages moved to rw)", rel_const_fn_call(&live, &ret), MP_ESTALE);
    ASSERT_EQ(mp_pages_rw_free(&rw), MP_OK);
    c.Status("call(reference into freed pages)", rel_const_fn_call(&live, &ret), MP_ESTALE);
    EXPECT_EQ(ret, 0x5a5a5a5a) << "a refused call wrote its result";

#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    ASSERT_EQ(mp_pages_rwx_new(page, &rwx), MP_OK);
    c.Status("from_rwx(NULL)", rel_const_fn_from_rwx(nullptr, 0, &f), MP_EINVAL);
    c.Status("from_rwx(rwx, len)", rel_const_fn_from_rwx(&rwx, page, &f), MP_EINVAL);
    mp_pages_rwx rwx_copy = rwx;
    ASSERT_EQ(mp_pages_rwx_free(&rwx), MP_OK);
    c.Status("from_rwx(freed pages)", rel_const_fn_from_rwx(&rwx_copy, 0, &f), MP_ESTALE);
    EXPECT_TRUE(IsSentinel(f));
#endif
}

} // namespace
