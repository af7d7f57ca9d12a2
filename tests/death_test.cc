// Death tests of the hardware guarantees (shared/API.md section 3): the MMU,
// not only the type system, stops accesses that a state does not grant.
// Each fault runs in a child process (MP_EXPECT_FAULT, tests/support), next
// to a control showing that the same access is fine where it is granted.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/fault.h"

namespace {

using mp_test::ReadByte;
using mp_test::WriteByte;

size_t Page() {
    return mp_page_size();
}

TEST(PagesDeathTest, WriteToReadOnlyPagesFaults) {
    mp_pages_r r;
    ASSERT_EQ(mp_pages_r_new(Page(), &r), MP_OK);
    uint8_t *p = const_cast<uint8_t *>(mp_pages_r_data(&r));
    EXPECT_EQ(ReadByte(p), 0) << "reading r pages is fine";
    MP_EXPECT_FAULT(WriteByte(p, 1));
    MP_EXPECT_FAULT(WriteByte(p + Page() - 1, 1));
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

TEST(PagesDeathTest, ReadOfNoAccessPagesFaults) {
    mp_pages_none none;
    ASSERT_EQ(mp_pages_none_new(2 * Page(), &none), MP_OK);
    // mp_pages_none has no accessor: take the address while the pages are rw.
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_none_into_rw(&none, &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    WriteByte(p, 1);
    ASSERT_EQ(mp_pages_rw_into_none(&rw, &none), MP_OK);
    MP_EXPECT_FAULT(ReadByte(p));
    MP_EXPECT_FAULT(ReadByte(p + 2 * Page() - 1));
    EXPECT_EQ(mp_pages_none_free(&none), MP_OK);
}

TEST(PagesDeathTest, WriteToNoAccessPagesFaults) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    mp_pages_none none;
    ASSERT_EQ(mp_pages_rw_into_none(&rw, &none), MP_OK);
    MP_EXPECT_FAULT(WriteByte(p, 1));
    EXPECT_EQ(mp_pages_none_free(&none), MP_OK);
}

TEST(PagesDeathTest, WriteThroughAStaleRwPointerAfterIntoRFaults) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    WriteByte(p, 7);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    EXPECT_EQ(ReadByte(p), 7) << "the pages are still readable";
    MP_EXPECT_FAULT(WriteByte(p, 8));
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

TEST(PagesDeathTest, ReadAfterFreeFaults) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    WriteByte(p, 1);
    ASSERT_EQ(mp_pages_rw_free(&rw), MP_OK);
    MP_EXPECT_FAULT(ReadByte(p));
}

TEST(PagesDeathTest, GuardPagesFaultOnBothSides) {
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new_opts(2 * Page(), &opts, &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    // Control: both ends of the data are fine.
    WriteByte(p, 1);
    WriteByte(p + 2 * Page() - 1, 1);
    MP_EXPECT_FAULT(ReadByte(p - 1));
    MP_EXPECT_FAULT(WriteByte(p - 1, 1));
    MP_EXPECT_FAULT(ReadByte(p - Page()));
    MP_EXPECT_FAULT(ReadByte(p + 2 * Page()));
    MP_EXPECT_FAULT(WriteByte(p + 2 * Page(), 1));
    MP_EXPECT_FAULT(ReadByte(p + 3 * Page() - 1));
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

TEST(PagesDeathTest, GuardPagesStillFaultAfterATransition) {
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    mp_pages_none none;
    ASSERT_EQ(mp_pages_none_new_opts(Page(), &opts, &none), MP_OK);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_none_into_r(&none, &r), MP_OK);
    const uint8_t *p = mp_pages_r_data(&r);
    EXPECT_EQ(ReadByte(p), 0);
    MP_EXPECT_FAULT(ReadByte(p - 1));
    MP_EXPECT_FAULT(ReadByte(p + Page()));
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

#if MP_HAVE_RX
TEST(PagesDeathTest, WriteToReadExecutePagesFaults) {
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rx_new(Page(), &rx), MP_OK);
    uint8_t *p = const_cast<uint8_t *>(mp_pages_rx_data(&rx));
    EXPECT_EQ(ReadByte(p), 0) << "reading rx pages is fine";
    MP_EXPECT_FAULT(WriteByte(p, 1));
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
/* Writes a function that only returns to p, and returns its size. */
size_t WriteReturn(uint8_t *p) {
#if defined(__aarch64__)
    const uint8_t ret[] = {0xc0, 0x03, 0x5f, 0xd6}; // ret
#else
    const uint8_t ret[] = {0xc3}; // ret
#endif
    for (size_t i = 0; i < sizeof ret; i++)
        p[i] = ret[i];
    return sizeof ret;
}

void Call(const void *code) {
    void (*fn)(void);
    static_assert(sizeof fn == sizeof code, "code and data pointers have the same size");
    std::memcpy(&fn, &code, sizeof fn);
    fn();
}

TEST(PagesDeathTest, ExecutingReadWritePagesFaults) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    uint8_t *p = mp_pages_rw_data_mut(&rw);
    WriteReturn(p);
    MP_EXPECT_FAULT(Call(p));
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

#if MP_HAVE_RX
// The control of PagesDeathTest.ExecutingReadWritePagesFaults: the same code runs once the
// pages are rx.
TEST(ExecuteTest, ReadExecutePagesRun) {
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    WriteReturn(mp_pages_rw_data_mut(&rw));
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    Call(mp_pages_rx_data(&rx));
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}
#endif
#endif

} // namespace
