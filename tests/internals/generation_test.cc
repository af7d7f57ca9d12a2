// Generations at their limit: a slot whose generation would wrap moves to a
// fresh slot on a transition and is retired on free, so no stale reference can
// ever become live again.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/internals/registry_access.h"
#include "tests/seal/seal_support.h"

namespace {

TEST(Generation, TransitionAtTheLimitMovesToAFreshSlot) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    std::memset(mp_pages_rw_data_mut(&rw), 0x5a, mp_pages_rw_len(&rw));
    set_generation(&rw.ref_, kLastLive - 4);
    const mp_pages_rw before = rw;

    // The last generation this slot can take.
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    EXPECT_EQ(r.ref_.slot, before.ref_.slot);
    EXPECT_EQ(r.ref_.gen, kLastLive);
    EXPECT_EQ(mp_pages_rw_len(&before), 0u);

    // One more transition cannot stay in the slot.
    mp_pages_r last = r;
    mp_pages_rw again;
    ASSERT_EQ(mp_pages_r_into_rw(&r, &again), MP_OK);
    EXPECT_NE(again.ref_.slot, last.ref_.slot);
    EXPECT_EQ(mp_pages_r_data(&last), nullptr);
    EXPECT_EQ(mp_pages_r_free(&r), MP_ESTALE);
    ASSERT_NE(mp_pages_rw_data(&again), nullptr);
    EXPECT_EQ(mp_pages_rw_data(&again)[0], 0x5a);

    // The retired slot is not handed out again.
    std::vector<mp_pages_none> many(64);
    for (auto &p : many) {
        ASSERT_EQ(mp_pages_none_new(1, &p), MP_OK);
        EXPECT_NE(p.ref_.slot, last.ref_.slot);
    }
    for (auto &p : many)
        EXPECT_EQ(mp_pages_none_free(&p), MP_OK);
    EXPECT_EQ(mp_pages_rw_free(&again), MP_OK);
}

// Sealing publishes a new generation as a transition does: at the limit it
// moves to a fresh slot, where the sealed handle then stays for good.
TEST(Generation, SealAtTheLimitMovesToAFreshSlot) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    std::memset(mp_pages_rw_data_mut(&rw), 0x5a, mp_pages_rw_len(&rw));
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    set_generation(&r.ref_, kLastLive);
    const mp_pages_r before = r;
    mp_pages_r_sealed sealed;
    const mp_status s = mp_pages_r_seal(&r, &sealed);
    if (!seal_support::KernelSeals()) {
        EXPECT_EQ(s, MP_ENOTSUP);
        EXPECT_EQ(r.ref_.gen, kLastLive);
        EXPECT_EQ(mp_pages_r_data(&before)[0], 0x5a) << "a failed seal ended the handle";
        EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
        return;
    }
    ASSERT_EQ(s, MP_OK);
    EXPECT_NE(sealed.ref_.slot, before.ref_.slot);
    EXPECT_EQ(mp_pages_r_data(&before), nullptr);
    EXPECT_EQ(mp_pages_r_free(&r), MP_ESTALE);
    ASSERT_NE(mp_pages_r_sealed_data(&sealed), nullptr);
    EXPECT_EQ(mp_pages_r_sealed_data(&sealed)[0], 0x5a);
}

TEST(Generation, FreeAtTheLimitRetiresTheSlot) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    set_generation(&rw.ref_, kLastLive);
    mp_pages_rw copy = rw;
    ASSERT_EQ(mp_pages_rw_free(&rw), MP_OK);
    EXPECT_EQ(mp_pages_rw_free(&copy), MP_ESTALE);

    mp_pages_rw next;
    ASSERT_EQ(mp_pages_rw_new(1, &next), MP_OK);
    EXPECT_NE(next.ref_.slot, copy.ref_.slot);
    EXPECT_EQ(mp_pages_rw_len(&copy), 0u);
    EXPECT_EQ(mp_pages_rw_free(&next), MP_OK);
}

TEST(Generation, ReusedSlotNeverRevivesOldReferences) {
    mp_pages_rw first;
    ASSERT_EQ(mp_pages_rw_new(1, &first), MP_OK);
    std::vector<mp_pages_rw> old{first};
    ASSERT_EQ(mp_pages_rw_free(&first), MP_OK);
    for (int i = 0; i < 10000; i++) {
        mp_pages_rw p;
        ASSERT_EQ(mp_pages_rw_new(1, &p), MP_OK);
        for (const auto &o : old)
            ASSERT_EQ(mp_pages_rw_data(&o), nullptr);
        if (i % 1000 == 0) old.push_back(p);
        ASSERT_EQ(mp_pages_rw_free(&p), MP_OK);
    }
    EXPECT_EQ(old[0].ref_.slot, old[1].ref_.slot) << "the slot was expected to be reused";
}

} // namespace
