// The commit charge of issue 11: memory that the library gives back must
// give back its charge against the commit limit too (Committed_AS in
// /proc/meminfo), or a process under vm.overcommit_memory=2 keeps its peak
// charge for life. Linux only.
//
// Committed_AS counts the whole system, and other processes move it while
// the test runs, so each step is checked against a change of kSize with a
// quarter of it as tolerance, and a scenario that other processes disturbed
// is tried again, up to three times: a charge that never comes back fails
// every try.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "memory_pages/memory_pages.h"
#include "tests/reliability/vecs.h"

namespace {

// The size of every step: 1 GiB, or 256 MiB where a 32-bit address space
// has no 1 GiB hole to spare (i686).
constexpr int64_t kSize = sizeof(void *) >= 8 ? int64_t{1} << 30 : int64_t{256} << 20;
constexpr int64_t kTolerance = kSize / 4;
constexpr int kTries = 3;

// Committed_AS in bytes, or -1 where /proc/meminfo does not say.
int64_t CommittedAs() {
    FILE *f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) return -1;
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::sscanf(line, "Committed_AS: %lld kB", &kib) == 1) break;
    }
    std::fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

// Whether Committed_AS shows this process's charges: a private mapping made
// writable must add about its size. Not so under emulators that keep their
// own books, or where /proc/meminfo is missing.
bool ChargeIsVisible(std::string *why) {
    if (CommittedAs() < 0) {
        *why = "/proc/meminfo has no Committed_AS here";
        return false;
    }
    for (int i = 0; i < kTries; i++) {
        void *p = mmap(nullptr, kSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            *why = "no address space for the probe mapping";
            return false;
        }
        int64_t before = CommittedAs();
        bool ok = mprotect(p, kSize, PROT_READ | PROT_WRITE) == 0;
        int64_t delta = CommittedAs() - before;
        munmap(p, kSize);
        if (ok && delta > kSize - kTolerance && delta < kSize + kTolerance) return true;
    }
    *why = "Committed_AS does not follow an mprotect of this process (emulation?)";
    return false;
}

#define SKIP_UNLESS_CHARGE_VISIBLE()                                                               \
    do {                                                                                           \
        std::string why;                                                                           \
        if (!ChargeIsVisible(&why)) GTEST_SKIP() << why;                                           \
    } while (0)

// Whether delta is a change of about `expected` bytes.
bool About(int64_t delta, int64_t expected) {
    return delta > expected - kTolerance && delta < expected + kTolerance;
}

// A vector of kSize bytes whose first pages were written: shrink_to_fit gives the
// charge of the rest back at once, not only at free.
TEST(CommitCharge, ShrinkToFitGivesTheChargeBack) {
    SKIP_UNLESS_CHARGE_VISIBLE();
    mp__vec_cache_drain();
    const size_t n = kSize / sizeof(uint64_t);
    int64_t grown = 0, shrunk = 0, freed = 0;
    for (int i = 0; i < kTries; i++) {
        int64_t start = CommittedAs();
        rel_u64 v;
        ASSERT_EQ(rel_u64_with_capacity(n, &v), MP_OK);
        grown = CommittedAs() - start;
        for (uint64_t k = 0; k < 4096; k++)
            ASSERT_EQ(rel_u64_push(&v, k), MP_OK);
        int64_t before_shrink = CommittedAs();
        ASSERT_EQ(rel_u64_shrink_to_fit(&v), MP_OK);
        shrunk = CommittedAs() - before_shrink;
        ASSERT_EQ(*rel_u64_at(&v, 4095), 4095u);
        int64_t before_free = CommittedAs();
        ASSERT_EQ(rel_u64_free(&v), MP_OK);
        freed = CommittedAs() - before_free;
        if (About(grown, kSize) && About(shrunk, -kSize) && About(freed, 0)) break;
    }
    std::printf("[ charge   ] with_capacity(%lld MiB) %+lld MiB, shrink_to_fit %+lld MiB, free "
                "%+lld MiB\n",
                (long long)(kSize >> 20), (long long)(grown >> 20), (long long)(shrunk >> 20),
                (long long)(freed >> 20));
    EXPECT_TRUE(About(grown, kSize)) << "committing kSize bytes moved Committed_AS by " << grown;
    EXPECT_TRUE(About(shrunk, -kSize)) << "shrink_to_fit moved Committed_AS by " << shrunk;
    EXPECT_TRUE(About(freed, 0)) << "free moved Committed_AS by " << freed;
}

// clear keeps the capacity and its charge (issue 13); shrink_to_fit after
// it gives back everything growth committed.
TEST(CommitCharge, ClearKeepsTheChargeAndShrinkReturnsIt) {
    SKIP_UNLESS_CHARGE_VISIBLE();
    mp__vec_cache_drain();
    int64_t grown = 0, cleared = 0, shrunk = 0;
    for (int i = 0; i < kTries; i++) {
        rel_u64 v;
        ASSERT_EQ(rel_u64_new(&v), MP_OK);
        ASSERT_EQ(rel_u64_push(&v, 1), MP_OK);
        int64_t start = CommittedAs();
        ASSERT_EQ(rel_u64_reserve(&v, kSize / sizeof(uint64_t)), MP_OK);
        grown = CommittedAs() - start;
        int64_t before_clear = CommittedAs();
        ASSERT_EQ(rel_u64_clear(&v), MP_OK);
        cleared = CommittedAs() - before_clear;
        int64_t before_shrink = CommittedAs();
        ASSERT_EQ(rel_u64_shrink_to_fit(&v), MP_OK);
        shrunk = CommittedAs() - before_shrink;
        ASSERT_EQ(rel_u64_free(&v), MP_OK);
        if (About(grown, kSize) && About(cleared, 0) && About(shrunk, -kSize)) break;
    }
    std::printf("[ charge   ] reserve(%lld MiB) %+lld MiB, clear %+lld MiB, shrink_to_fit "
                "%+lld MiB\n",
                (long long)(kSize >> 20), (long long)(grown >> 20), (long long)(cleared >> 20),
                (long long)(shrunk >> 20));
    EXPECT_TRUE(About(grown, kSize)) << "reserve moved Committed_AS by " << grown;
    EXPECT_TRUE(About(cleared, 0)) << "clear moved Committed_AS by " << cleared;
    EXPECT_TRUE(About(shrunk, -kSize)) << "shrink_to_fit moved Committed_AS by " << shrunk;
}

// Discarded pages stay writable, so they keep their charge (docs/security.md
// and docs say so); free gives it back.
TEST(CommitCharge, DiscardKeepsTheChargeAndFreeReturnsIt) {
    SKIP_UNLESS_CHARGE_VISIBLE();
    int64_t made = 0, discarded = 0, freed = 0;
    for (int i = 0; i < kTries; i++) {
        int64_t start = CommittedAs();
        mp_pages_rw rw;
        ASSERT_EQ(mp_pages_rw_new(kSize, &rw), MP_OK);
        made = CommittedAs() - start;
        std::memset(mp_pages_rw_data_mut(&rw), 1, 1 << 20);
        int64_t before_discard = CommittedAs();
        ASSERT_EQ(mp_pages_rw_discard(&rw, 0, kSize), MP_OK);
        discarded = CommittedAs() - before_discard;
        int64_t before_free = CommittedAs();
        ASSERT_EQ(mp_pages_rw_free(&rw), MP_OK);
        freed = CommittedAs() - before_free;
        if (About(made, kSize) && About(discarded, 0) && About(freed, -kSize)) break;
    }
    std::printf("[ charge   ] rw_new(%lld MiB) %+lld MiB, discard %+lld MiB, free %+lld MiB\n",
                (long long)(kSize >> 20), (long long)(made >> 20), (long long)(discarded >> 20),
                (long long)(freed >> 20));
    EXPECT_TRUE(About(made, kSize)) << "rw_new moved Committed_AS by " << made;
    EXPECT_TRUE(About(discarded, 0)) << "discard moved Committed_AS by " << discarded;
    EXPECT_TRUE(About(freed, -kSize)) << "free moved Committed_AS by " << freed;
}

} // namespace
