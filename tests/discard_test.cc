// Tests of mp_pages_rw_discard (shared/API.md section 3): the range reads as
// zeros afterwards, the bytes around it are kept, and the memory of whole
// pages inside it really goes back to the OS.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/bytes.h"
#include "tests/support/memory_facts.h"

namespace {

size_t Page() {
    return mp_page_size();
}

/* rw pages of len bytes, every byte written with the pattern of seed. */
mp_pages_rw FilledPages(size_t len, unsigned seed) {
    mp_pages_rw p;
    EXPECT_EQ(mp_pages_rw_new(len, &p), MP_OK);
    uint8_t *data = mp_pages_rw_data_mut(&p);
    if (data != nullptr) mp_test::FillPattern(data, len, seed);
    return p;
}

/* Expects [offset, offset + len) of p to read as zeros and every other byte
 * to still hold the pattern of seed. */
void ExpectZerosOnlyIn(const mp_pages_rw &p, size_t offset, size_t len, unsigned seed) {
    const uint8_t *data = mp_pages_rw_data(&p);
    ASSERT_NE(data, nullptr);
    const size_t size = mp_pages_rw_len(&p);
    for (size_t i = 0; i < size; i++) {
        const bool inside = i >= offset && i - offset < len;
        const uint8_t want = inside ? 0 : mp_test::PatternByte(i, seed);
        if (data[i] != want) {
            ADD_FAILURE() << "byte " << i << " is " << int(data[i]) << ", want " << int(want)
                          << (inside ? " (inside the discarded range)" : " (outside it)");
            return;
        }
    }
}

TEST(DiscardTest, PartialPagesAtBothEndsZeroOnlyTheRange) {
    mp_pages_rw p = FilledPages(4 * Page(), 1);
    const size_t offset = Page() / 2;
    const size_t len = 2 * Page(); // ends in the middle of the fourth page
    ASSERT_EQ(mp_pages_rw_discard(&p, offset, len), MP_OK);
    ExpectZerosOnlyIn(p, offset, len, 1);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, RangeInsideOnePageZerosOnlyTheRange) {
    mp_pages_rw p = FilledPages(2 * Page(), 2);
    ASSERT_EQ(mp_pages_rw_discard(&p, Page() + 10, 100), MP_OK);
    ExpectZerosOnlyIn(p, Page() + 10, 100, 2);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, RangeAcrossOnePageBoundaryZerosOnlyTheRange) {
    mp_pages_rw p = FilledPages(2 * Page(), 3);
    ASSERT_EQ(mp_pages_rw_discard(&p, Page() - 7, 14), MP_OK);
    ExpectZerosOnlyIn(p, Page() - 7, 14, 3);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, WholeRangeReadsAsZeros) {
    mp_pages_rw p = FilledPages(3 * Page(), 4);
    ASSERT_EQ(mp_pages_rw_discard(&p, 0, 3 * Page()), MP_OK);
    ExpectZerosOnlyIn(p, 0, 3 * Page(), 4);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, SingleBytesAtBothEndsOfThePages) {
    mp_pages_rw p = FilledPages(2 * Page(), 5);
    ASSERT_EQ(mp_pages_rw_discard(&p, 0, 1), MP_OK);
    ASSERT_EQ(mp_pages_rw_discard(&p, 2 * Page() - 1, 1), MP_OK);
    const uint8_t *data = mp_pages_rw_data(&p);
    EXPECT_EQ(data[0], 0);
    EXPECT_EQ(data[2 * Page() - 1], 0);
    for (size_t i = 1; i < 2 * Page() - 1; i++) {
        ASSERT_EQ(data[i], mp_test::PatternByte(i, 5)) << "byte " << i;
    }
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, PagesStayWritableAfterADiscard) {
    mp_pages_rw p = FilledPages(3 * Page(), 6);
    ASSERT_EQ(mp_pages_rw_discard(&p, 0, 3 * Page()), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&p), 3 * Page(), 7);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&p), 3 * Page(), 7), 3 * Page());
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, WholePagesInTheRangeLeaveRam) {
    const size_t pages = 8;
    mp_pages_rw p = FilledPages(pages * Page(), 8);
    const uint8_t *data = mp_pages_rw_data(&p);
    size_t resident = 0;
    if (!mp_test::ResidentPages(data, pages * Page(), &resident)) {
        GTEST_SKIP() << "this platform does not report which pages are resident";
    }
    ASSERT_EQ(resident, pages) << "every written page is resident before the discard";

    // [Page() + 1, 6 * Page() - 1) holds pages 2 to 4 whole, and the ends of
    // pages 1 and 5.
    ASSERT_EQ(mp_pages_rw_discard(&p, Page() + 1, 5 * Page() - 2), MP_OK);
    ASSERT_TRUE(mp_test::ResidentPages(data + 2 * Page(), 3 * Page(), &resident));
    EXPECT_EQ(resident, 0u) << "whole pages of the range must be given back";
    ASSERT_TRUE(mp_test::ResidentPages(data, 2 * Page(), &resident));
    EXPECT_EQ(resident, 2u) << "pages before the whole ones must stay";
    ASSERT_TRUE(mp_test::ResidentPages(data + 5 * Page(), 3 * Page(), &resident));
    EXPECT_EQ(resident, 3u) << "pages after the whole ones must stay";
    ExpectZerosOnlyIn(p, Page() + 1, 5 * Page() - 2, 8);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, LockedPagesAreZeroedButStayInRam) {
    mp_pages_opts opts = {};
    opts.lock = true;
    // Only a refusal of the lock itself (RLIMIT_MEMLOCK, privileges), seen
    // by locking 4 pages alone first, lets this test skip; any other failure
    // of the call fails it.
    const int lock_error = mp_test::LockProbeError(4);
    if (lock_error != 0) {
        ASSERT_TRUE(mp_test::IsLockLimitError(lock_error))
            << "locking 4 scratch pages failed with " << mp_test::LockErrorText(lock_error);
        GTEST_SKIP() << "this process may not lock 4 pages: " << mp_test::LockErrorText(lock_error)
                     << "; OptsTest.LockKeepsThePagesInRam checks the refusal";
    }
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new_opts(4 * Page(), &opts, &p), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&p), 4 * Page(), 9);
    ASSERT_EQ(mp_pages_rw_discard(&p, 0, 4 * Page()), MP_OK);
    ExpectZerosOnlyIn(p, 0, 4 * Page(), 9);
    size_t resident = 0;
    if (mp_test::ResidentPages(mp_pages_rw_data(&p), 4 * Page(), &resident)) {
        EXPECT_EQ(resident, 4u) << "locked pages must stay in RAM";
    }
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, RejectsRangesThatAreEmptyOrLeaveThePagesAndChangesNothing) {
    const size_t len = 2 * Page();
    mp_pages_rw p = FilledPages(len, 10);
    const size_t bad[][2] = {{0, 0},        {len, 1},      {len - 1, 2},         {0, len + 1},
                             {1, SIZE_MAX}, {SIZE_MAX, 1}, {SIZE_MAX, SIZE_MAX}, {len, 0},
                             {Page(), 0}};
    for (const auto &r : bad) {
        EXPECT_EQ(mp_pages_rw_discard(&p, r[0], r[1]), MP_EINVAL)
            << "offset " << r[0] << " len " << r[1];
        EXPECT_EQ(mp_os_error(), 0);
    }
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&p), len, 10), len);
    EXPECT_EQ(mp_pages_rw_free(&p), MP_OK);
}

TEST(DiscardTest, NullHandleIsInvalid) {
    EXPECT_EQ(mp_pages_rw_discard(nullptr, 0, 1), MP_EINVAL);
}

TEST(DiscardTest, StaleHandlesAreRefused) {
    mp_pages_rw p = FilledPages(Page(), 11);
    mp_pages_rw copy = p;
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&p, &r), MP_OK);
    EXPECT_EQ(mp_pages_rw_discard(&p, 0, 1), MP_ESTALE);
    EXPECT_EQ(mp_pages_rw_discard(&copy, 0, Page()), MP_ESTALE);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_r_data(&r), Page(), 11), Page());
    ASSERT_EQ(mp_pages_r_free(&r), MP_OK);

    mp_pages_rw zeroed;
    std::memset(&zeroed, 0, sizeof zeroed);
    EXPECT_EQ(mp_pages_rw_discard(&zeroed, 0, 1), MP_ESTALE);
}

} // namespace
