// Tests of shared/API.md section 2: mp_page_size and mp_alloc_granularity.
#include <thread>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

namespace {

bool IsPowerOfTwo(size_t n) {
    return n != 0 && (n & (n - 1)) == 0;
}

TEST(PageSizeTest, IsTheOsPageSize) {
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    EXPECT_EQ(mp_page_size(), static_cast<size_t>(info.dwPageSize));
#else
    EXPECT_EQ(mp_page_size(), static_cast<size_t>(sysconf(_SC_PAGESIZE)));
#endif
}

TEST(PageSizeTest, IsAPowerOfTwo) {
    EXPECT_TRUE(IsPowerOfTwo(mp_page_size())) << mp_page_size();
}

TEST(PageSizeTest, IsTheSameOnEveryThread) {
    size_t other = 0;
    std::thread t([&] { other = mp_page_size(); });
    t.join();
    EXPECT_EQ(other, mp_page_size());
}

TEST(AllocGranularityTest, IsTheOsGranularity) {
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    EXPECT_EQ(mp_alloc_granularity(), static_cast<size_t>(info.dwAllocationGranularity));
#else
    EXPECT_EQ(mp_alloc_granularity(), mp_page_size());
#endif
}

TEST(AllocGranularityTest, IsAPowerOfTwoMultipleOfThePageSize) {
    EXPECT_TRUE(IsPowerOfTwo(mp_alloc_granularity())) << mp_alloc_granularity();
    EXPECT_EQ(mp_alloc_granularity() % mp_page_size(), 0u);
}

} // namespace
