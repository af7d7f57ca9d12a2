// The W^X test: after every new and every transition, the OS's own view of
// the process (/proc/self/maps; VirtualQuery on Windows) must show the pages with exactly the
// access of their state, and, in a deny_xw build, no mapping of the process may be writable and
// executable at once. In the rwx build, mp_pages_rwx pages must show as rwx, which proves that the
// check can see such a mapping. Linux and Windows: elsewhere the tests skip.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/memory_facts.h"
#include "tests/support/states.h"

namespace {

size_t Page() {
    return mp_page_size();
}

std::string Lines(const std::vector<std::string> &lines) {
    std::string all;
    for (const std::string &l : lines)
        all += "\n  " + l;
    return all;
}

/* In a deny_xw build, expects no mapping of the process to be writable and
 * executable. */
void ExpectNoWritableExecutableMapping(const std::string &when) {
    if (!MP_DENY_XW) return;
    std::vector<std::string> wx;
    ASSERT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    EXPECT_TRUE(wx.empty()) << "after " << when << ", writable and executable:" << Lines(wx);
}

/* Expects the pages of p to have exactly the access of state S, from their
 * first to their last byte, and the process to keep W^X. */
template <class S> void ExpectState(const typename S::Handle *p, const std::string &when) {
    std::vector<mp_test::Mapping> maps;
    ASSERT_TRUE(mp_test::ReadMaps(&maps));
    const uint8_t *first = static_cast<const uint8_t *>(S::Address(p));
    ASSERT_NE(first, nullptr) << when;
    for (const uint8_t *byte : {first, first + S::Len(p) - 1}) {
        const mp_test::Mapping *m = mp_test::FindMapping(maps, byte);
        ASSERT_NE(m, nullptr) << "after " << when << ", the pages are not mapped";
        EXPECT_EQ(m->read, S::kReadable) << "after " << when << ": " << m->line;
        EXPECT_EQ(m->write, S::kWritable) << "after " << when << ": " << m->line;
        EXPECT_EQ(m->exec, S::kExecutable) << "after " << when << ": " << m->line;
    }
    ExpectNoWritableExecutableMapping(when);
}

/* Skips tests where the OS shows no mappings (macOS, the BSDs). */
class WxTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::vector<mp_test::Mapping> maps;
        if (!mp_test::ReadMaps(&maps)) {
            GTEST_SKIP()
                << "W^X is checked through /proc/self/maps or VirtualQuery, which this OS lacks";
        }
    }
};

// The process itself starts without writable and executable memory, so that
// a finding later is the library's.
TEST_F(WxTest, TheProcessStartsWithoutWritableExecutableMemory) {
    ExpectNoWritableExecutableMapping("start-up");
}

template <class S> class WxStateTest : public WxTest {};
TYPED_TEST_SUITE(WxStateTest, mp_test::AllStates, mp_test::StateName);

TYPED_TEST(WxStateTest, NewPagesHaveTheAccessOfTheirState) {
    using S = TypeParam;
    typename S::Handle p;
    ASSERT_EQ(S::New(3 * Page(), &p), MP_OK);
    ExpectState<S>(&p, std::string("mp_pages_") + S::kName + "_new");
    EXPECT_EQ(S::Free(&p), MP_OK);
}

TYPED_TEST(WxStateTest, NewPagesWithEveryOptionHaveTheAccessOfTheirState) {
    using S = TypeParam;
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    opts.huge = MP_HUGE_TRY;
    opts.populate = true;
    // Every option this OS has (Windows cannot leave pages out of dumps).
    opts.no_dump = mp_os_capabilities()->no_dump;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(3 * Page(), &opts, &p), MP_OK);
    ExpectState<S>(&p, std::string("mp_pages_") + S::kName + "_new_opts");
    EXPECT_EQ(S::Free(&p), MP_OK);
}

template <class T> class WxTransitionTest : public WxTest {};
TYPED_TEST_SUITE(WxTransitionTest, mp_test::AllTransitions, mp_test::TransitionName);

TYPED_TEST(WxTransitionTest, PagesHaveTheAccessOfTheirNewState) {
    using From = typename TypeParam::FromState;
    using To = typename TypeParam::ToState;
    const std::string name = std::string("mp_pages_") + From::kName + "_into_" + To::kName;
    typename From::Handle from;
    ASSERT_EQ(From::New(2 * Page(), &from), MP_OK);
    ExpectState<From>(&from, std::string("mp_pages_") + From::kName + "_new");
    typename To::Handle to;
    ASSERT_EQ(TypeParam::Into(&from, &to), MP_OK);
    ExpectState<To>(&to, name);
    // And back, so that every transition also runs from pages that have
    // been through another one.
    typename From::Handle back;
    ASSERT_EQ((mp_test::Transition<To, From>::Into(&to, &back)), MP_OK);
    ExpectState<From>(&back, name + " and back");
    EXPECT_EQ(From::Free(&back), MP_OK);
}

#if MP_HAVE_RWX
// In the rwx build the check must see writable and executable pages where
// they are asked for: this proves that the parser finds such mappings.
TEST_F(WxTest, RwxPagesShowAsWritableAndExecutable) {
    mp_pages_rwx p;
    ASSERT_EQ(mp_pages_rwx_new(Page(), &p), MP_OK);
    std::vector<mp_test::Mapping> maps;
    ASSERT_TRUE(mp_test::ReadMaps(&maps));
    const mp_test::Mapping *m = mp_test::FindMapping(maps, mp_pages_rwx_data(&p));
    ASSERT_NE(m, nullptr);
    std::vector<std::string> wx;
    ASSERT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    EXPECT_NE(std::find(wx.begin(), wx.end(), m->line), wx.end())
        << m->line << " is missing from the writable and executable mappings:" << Lines(wx);

    // Once the pages leave rwx, the finding goes away.
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rwx_into_rx(&p, &rx), MP_OK);
    ASSERT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    EXPECT_TRUE(wx.empty()) << Lines(wx);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}
#endif

} // namespace
