/*
 * The cache of freed reservations (runtime/vec.c): a freed vector of the
 * default shape leaves its reservation for the next vector, with the pages
 * past its first 64 KiB given back; at most four are kept; other shapes,
 * and reservations with more than 64 MiB committed, are released; draining
 * releases them all.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#endif

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "tests/support/memory_facts.h"
#include "tests/vec/vec_types.h"

namespace vec_test {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
/* What runtime/vec.c keeps: entries, resident bytes of each, most committed. */
constexpr int kEntries = 4;
constexpr size_t kResident = 64 * kKiB;
constexpr size_t kMaxCommitted = 64 * kMiB;

/* Sets *mapped to whether addr lies in a mapping of this process. Returns
 * false where the platform cannot tell. */
bool IsMapped(const void *addr, bool *mapped) {
#ifdef _WIN32
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(addr, &info, sizeof info) == 0) return false;
    *mapped = info.State != MEM_FREE;
    return true;
#else
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) return false;
    *mapped = mp_test::FindMapping(maps, addr) != nullptr;
    return true;
#endif
}

/* A vector of bytes with `bytes` committed and every committed byte set to
 * 0xA5; *data is where it starts. */
void MakeFull(vec1 *v, size_t bytes, const unsigned char **data) {
    ASSERT_EQ(MP_OK, vec1_new(v));
    ASSERT_EQ(MP_OK, vec1_reserve(v, bytes));
    ASSERT_EQ(MP_OK, vec1_resize(v, vec1_capacity(v), elem1{{0xA5}}));
    *data = &vec1_data(v)->b[0];
}

class CacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    }
    void TearDown() override {
        EXPECT_EQ(MP_OK, mp__vec_cache_drain());
    }
};

TEST_F(CacheTest, TheNextVectorTakesTheFreedReservation) {
    vec1 v;
    const unsigned char *data;
    MakeFull(&v, 2 * kResident, &data);
    const size_t cap = vec1_capacity(&v);
    ASSERT_GT(cap, kResident);
    ASSERT_EQ(MP_OK, vec1_free(&v));

    vec1 w;
    ASSERT_EQ(MP_OK, vec1_new(&w));
    ASSERT_EQ(MP_OK, vec1_push(&w, elem1{{7}}));
    EXPECT_EQ(data, &vec1_data(&w)->b[0]) << "the reservation was not reused";
    // It keeps its committed pages: all of the old capacity is writable.
    EXPECT_EQ(cap, vec1_capacity(&w));
    std::memset(vec1_data_mut(&w), 0x11, cap);
    // The pages past the first 64 KiB went back to the OS: they read as
    // zeros now, where the freed vector had written 0xA5.
    ASSERT_EQ(MP_OK, vec1_free(&w));
    vec1 x;
    ASSERT_EQ(MP_OK, vec1_new(&x));
    ASSERT_EQ(MP_OK, vec1_push(&x, elem1{{1}}));
    ASSERT_EQ(data, &vec1_data(&x)->b[0]);
    size_t nonzero = 0;
    for (size_t i = kResident; i < cap; i++)
        nonzero += data[i] != 0;
    EXPECT_EQ(0u, nonzero) << "bytes past the first 64 KiB kept their contents";
    EXPECT_EQ(MP_OK, vec1_free(&x));
}

TEST_F(CacheTest, WithCapacityTakesItToo) {
    vec1 v;
    const unsigned char *data;
    MakeFull(&v, 4 * kKiB, &data);
    ASSERT_EQ(MP_OK, vec1_free(&v));
    vec1 w;
    ASSERT_EQ(MP_OK, vec1_with_capacity(3 * kMiB, &w));
    EXPECT_EQ(data, &vec1_data(&w)->b[0]);
    EXPECT_GE(vec1_capacity(&w), 3 * kMiB);
    std::memset(vec1_data_mut(&w), 0x22, vec1_capacity(&w));
    EXPECT_EQ(MP_OK, vec1_free(&w));
}

TEST_F(CacheTest, AtMostFourAreKeptAndDrainingReleasesThem) {
    // All are made before any is freed, so that each has its own.
    vec1 v[kEntries + 2];
    const unsigned char *freed[kEntries + 2];
    for (int i = 0; i < kEntries + 2; i++)
        ASSERT_NO_FATAL_FAILURE(MakeFull(&v[i], 4 * kKiB, &freed[i]));
    for (vec1 &each : v)
        ASSERT_EQ(MP_OK, vec1_free(&each));
    int mapped_count = 0;
    for (const unsigned char *data : freed) {
        bool mapped;
        if (!IsMapped(data, &mapped)) GTEST_SKIP() << "this platform cannot tell what is mapped";
        mapped_count += mapped;
    }
    EXPECT_EQ(kEntries, mapped_count) << "freed reservations still mapped";
    ASSERT_EQ(MP_OK, mp__vec_cache_drain());
    for (const unsigned char *data : freed) {
        bool mapped = true;
        ASSERT_TRUE(IsMapped(data, &mapped));
        EXPECT_FALSE(mapped) << "a drained reservation is still mapped";
    }
}

/* Frees a vector made by make and expects its reservation released. */
template <class Make> void ExpectReleased(const char *what, Make make) {
    SCOPED_TRACE(what);
    vec1 v;
    ASSERT_NO_FATAL_FAILURE(make(&v));
    const void *data = vec1_data(&v);
    ASSERT_NE(nullptr, data);
    ASSERT_EQ(MP_OK, vec1_free(&v));
    bool mapped = true;
    if (!IsMapped(data, &mapped)) GTEST_SKIP() << "this platform cannot tell what is mapped";
    EXPECT_FALSE(mapped) << "it was cached";
}

TEST_F(CacheTest, OtherShapesAndLargeCommitsAreReleased) {
    ExpectReleased("guard", [](vec1 *v) {
        mp_vec_opts opts = {};
        opts.guard = true;
        opts.capacity = 1;
        ASSERT_EQ(MP_OK, vec1_new_opts(&opts, v));
    });
    ExpectReleased("huge pages tried", [](vec1 *v) {
        mp_vec_opts opts = {};
        opts.huge = MP_HUGE_TRY;
        opts.capacity = 1;
        ASSERT_EQ(MP_OK, vec1_new_opts(&opts, v));
    });
    ExpectReleased("max_capacity", [](vec1 *v) {
        mp_vec_opts opts = {};
        opts.max_capacity = kMiB;
        ASSERT_EQ(MP_OK, vec1_new_opts(&opts, v));
        ASSERT_EQ(MP_OK, vec1_push(v, elem1{{1}}));
    });
    ExpectReleased("more than 64 MiB committed", [](vec1 *v) {
        ASSERT_EQ(MP_OK, vec1_new(v));
        ASSERT_EQ(MP_OK, vec1_reserve(v, kMaxCommitted + 1));
    });
}

TEST_F(CacheTest, FrozenAndThawedVectorsComeBackToIt) {
    // A vector frozen and thawed has its pages read-write again, and its
    // free caches it like any other.
    vec1 v;
    const unsigned char *data;
    MakeFull(&v, 4 * kKiB, &data);
    vec1_frozen f;
    ASSERT_EQ(MP_OK, vec1_freeze(&v, &f));
    vec1 w;
    ASSERT_EQ(MP_OK, vec1_frozen_thaw(&f, &w));
    ASSERT_EQ(MP_OK, vec1_free(&w));
    vec1 x;
    ASSERT_EQ(MP_OK, vec1_new(&x));
    ASSERT_EQ(MP_OK, vec1_push(&x, elem1{{3}}));
    EXPECT_EQ(data, &vec1_data(&x)->b[0]);
    EXPECT_EQ(3, vec1_at(&x, 0)->b[0]);
    EXPECT_EQ(MP_OK, vec1_free(&x));
}

} // namespace
} // namespace vec_test
