// A stale entry of the placement's cache of free gaps (runtime/os_posix.c,
// "Placement near an address"): a gap the library last read as free, mapped
// since behind its back with a raw mmap. A placement whose nearest cached
// candidate lies in that mapping must not replace it: it lands in what is
// still free within range, or, when nothing is, gives MP_ENOMEM, and every
// other mapping of the process stays as it was. Shared by near_test (the
// kernel as it is) and near_sys_fault_test (kernels without
// MAP_FIXED_NOREPLACE, where the address is only a hint). Linux only: it
// reads /proc/self/maps.
#ifndef MEMORY_PAGES_TESTS_NEAR_STALE_GAP_H
#define MEMORY_PAGES_TESTS_NEAR_STALE_GAP_H

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/internals/mappings.h"
#include "tests/support/memory_facts.h"

namespace near_stale {

// Checks that every mapping of before is still mapped over its whole range
// with the same access, and that [from, to) overlaps none of them. Only
// where this process's map moves with its own code alone
// (mappings_count_is_exact: not under a sanitizer whose allocator commits
// parts of its own reservations as it goes).
inline void ExpectUnchanged(const std::vector<mp_test::Mapping> &before, uintptr_t from,
                            uintptr_t to, const char *what) {
    const char *why = "";
    if (!mappings_count_is_exact(&why)) {
        std::printf("[ note     ] %s: no check of the other mappings: %s\n", what, why);
        return;
    }
    std::vector<mp_test::Mapping> after;
    ASSERT_TRUE(mp_test::ReadMaps(&after));
    for (const mp_test::Mapping &m : before) {
        const mp_test::Mapping *now =
            mp_test::FindMapping(after, reinterpret_cast<void *>(m.start));
        ASSERT_NE(now, nullptr) << what << ": gone: " << m.line;
        EXPECT_LE(now->start, m.start) << what << ": " << m.line;
        EXPECT_GE(now->end, m.end) << what << ": cut: " << m.line << " is now " << now->line;
        EXPECT_EQ(now->read, m.read) << what << ": " << m.line;
        EXPECT_EQ(now->write, m.write) << what << ": " << m.line;
        EXPECT_EQ(now->exec, m.exec) << what << ": " << m.line;
        EXPECT_TRUE(to <= m.start || from >= m.end)
            << what << ": the page set at " << std::hex << from << " overlaps " << m.line;
    }
}

// The scenario. A field of 16 MiB of no-access pages is mapped raw, and a
// hole of 4 MiB opened in its middle; a placement in a one-page hole of the
// field (which no reading has seen, so the library reads /proc/self/maps
// and keeps its gaps, the 4 MiB hole among the largest) fills the cache.
// Then the middle half of the hole is mapped raw, read-write, with a
// pattern, and pages are placed near the hole's middle with the hole as the
// window: the cache's candidate is in the raw mapping.
inline void Run() {
    const size_t page = mp_page_size(), mib = size_t{1} << 20;
    const size_t field_len = 16 * mib, hole_len = 4 * mib;
    auto *field = static_cast<uint8_t *>(
        mmap(nullptr, field_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(field, MAP_FAILED);
    uint8_t *hole = field + (field_len - hole_len) / 2;
    ASSERT_EQ(munmap(hole, hole_len), 0);
    // The priming placement: one page, in a one-page hole, within a page.
    uint8_t *prime_at = field + page;
    ASSERT_EQ(munmap(prime_at, page), 0);
    mp_pages_opts opts{};
    opts.near = prime_at;
    opts.max_distance = page;
    mp_pages_rw prime;
    ASSERT_EQ(mp_pages_rw_new_opts(page, &opts, &prime), MP_OK);
    ASSERT_EQ(mp_pages_rw_data(&prime), prime_at);
    mp_pages_rw prime_copy = prime;
    ASSERT_EQ(mp_pages_rw_free(&prime), MP_OK);
    EXPECT_EQ(mp_pages_rw_free(&prime_copy), MP_ESTALE) << "a copy of a freed page set";

    // Behind the library's back: the middle half of the hole, mapped at
    // exactly that place (a plain hint, checked: the range is free).
    uint8_t *foreign = hole + hole_len / 4;
    const size_t foreign_len = hole_len / 2;
    void *m =
        mmap(foreign, foreign_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_EQ(m, static_cast<void *>(foreign));
    std::memset(foreign, 0x5a, foreign_len);

    std::vector<mp_test::Mapping> before;
    ASSERT_TRUE(mp_test::ReadMaps(&before));
    opts.near = hole + hole_len / 2;
    opts.max_distance = hole_len / 2;
    const size_t len = 16 * page;
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new_opts(len, &opts, &p), MP_OK) << "a quarter of the hole is free";
    const auto at = reinterpret_cast<uintptr_t>(mp_pages_rw_data(&p));
    const auto h = reinterpret_cast<uintptr_t>(hole);
    EXPECT_GE(at, h) << "outside the window";
    EXPECT_LE(at + len, h + hole_len) << "outside the window";
    ExpectUnchanged(before, at, at + len, "placed beside a stale gap");
    for (size_t i = 0; i < foreign_len; i += page)
        ASSERT_EQ(foreign[i], 0x5a) << "the raw mapping was replaced at +" << i;

    // Then the whole hole taken behind the library's back (what it placed
    // included): nothing is free in the window, so MP_ENOMEM, *out
    // untouched and nothing changed.
    ASSERT_EQ(mp_pages_rw_free(&p), MP_OK);
    void *rest_low = mmap(hole, hole_len / 4, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_EQ(rest_low, static_cast<void *>(hole));
    void *rest_high =
        mmap(hole + 3 * hole_len / 4, hole_len / 4, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_EQ(rest_high, static_cast<void *>(hole + 3 * hole_len / 4));
    before.clear();
    ASSERT_TRUE(mp_test::ReadMaps(&before));
    mp_pages_rw none;
    std::memset(&none, 0xab, sizeof none);
    const mp_pages_rw untouched = none;
    EXPECT_EQ(mp_pages_rw_new_opts(len, &opts, &none), MP_ENOMEM);
    EXPECT_EQ(std::memcmp(&none, &untouched, sizeof none), 0) << "out was written";
    ExpectUnchanged(before, 0, 0, "refused in a window taken behind the library's back");
    for (size_t i = 0; i < foreign_len; i += page)
        ASSERT_EQ(foreign[i], 0x5a) << "the raw mapping was replaced at +" << i;
    ASSERT_EQ(munmap(field, field_len), 0);
}

} // namespace near_stale

#endif // MEMORY_PAGES_TESTS_NEAR_STALE_GAP_H
