// The mapping budget: creating and freeing 10^5 page sets, each moved
// through several states, leaves the process's mappings where they started.
// A leak of one mapping per page set would exhaust vm.max_map_count (65530
// by default on Linux) long before the end.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"

namespace {

constexpr int kRounds = 100;
constexpr int kLive = 1000; // page sets alive at once in a round

// The byte page set i is filled with: whole-range memset and memcmp keep the
// 10^5 fills and checks cheap in unoptimized and sanitized builds.
unsigned char FillByte(int i) {
    return static_cast<unsigned char>(i % 251 + 1);
}

// Counts of what one or more rounds did.
struct Counts {
    long created = 0;
    long transitions = 0;
};

// Makes kLive page sets of one to three pages, every fourth with guard
// pages, moves each rw -> r -> none -> rw (and through rx where the build
// has it), checks its contents, and frees them all. Returns false, with the
// failure recorded, when any step fails.
bool Round(int round, Counts *counts) {
    const size_t page = mp_page_size();
    std::vector<mp_pages_rw> sets(kLive);
    std::vector<unsigned char> expected(3 * page);
    for (int i = 0; i < kLive; i++) {
        mp_pages_opts opts = {};
        if (i % 4 == 0) opts.guard_pages_before = opts.guard_pages_after = 1;
        size_t len = static_cast<size_t>(1 + i % 3) * page;
        mp_status s = mp_pages_rw_new_opts(len, &opts, &sets[i]);
        EXPECT_EQ(s, MP_OK) << "round " << round << ", page set " << i;
        if (s != MP_OK) return false;
        std::memset(mp_pages_rw_data_mut(&sets[i]), FillByte(i), len);
        counts->created++;
    }
    for (int i = 0; i < kLive; i++) {
        mp_pages_r r;
        mp_pages_none none;
        mp_status s = mp_pages_rw_into_r(&sets[i], &r);
        if (s == MP_OK) s = mp_pages_r_into_none(&r, &none);
        if (s == MP_OK) s = mp_pages_none_into_rw(&none, &sets[i]);
        counts->transitions += 3;
#if MP_HAVE_RX
        mp_pages_rx rx;
        if (s == MP_OK) s = mp_pages_rw_into_rx(&sets[i], &rx);
        if (s == MP_OK) s = mp_pages_rx_into_rw(&rx, &sets[i]);
        counts->transitions += 2;
#endif
        EXPECT_EQ(s, MP_OK) << "round " << round << ", page set " << i << ": " << mp_status_str(s);
        if (s != MP_OK) return false;
        const size_t len = mp_pages_rw_len(&sets[i]);
        std::memset(expected.data(), FillByte(i), len);
        const bool kept = std::memcmp(mp_pages_rw_data(&sets[i]), expected.data(), len) == 0;
        EXPECT_TRUE(kept) << "round " << round << ", page set " << i << ": contents lost";
        if (!kept) return false;
    }
    for (int i = 0; i < kLive; i++) {
        EXPECT_EQ(mp_pages_rw_free(&sets[i]), MP_OK);
    }
    return true;
}

TEST(MappingBudget, HundredThousandPageSetsLeaveNoMappingBehind) {
    // A first round makes the registry's slots and the test's own memory, so
    // that the counts below compare like with like.
    Counts warm;
    ASSERT_TRUE(Round(-1, &warm));

    fault_install();
    const long reservations = fault_reservations();
    const char *why = nullptr;
    const bool exact = mappings_count_is_exact(&why);
    const int maps_before = mappings_count();
    Counts counts;
    for (int round = 0; round < kRounds; round++) {
        if (!Round(round, &counts)) break;
        EXPECT_EQ(fault_reservations(), reservations) << "after round " << round;
        if (exact) {
            ASSERT_EQ(mappings_count(), maps_before) << "mappings after round " << round;
        }
    }
    fault_uninstall();
    EXPECT_EQ(counts.created, static_cast<long>(kRounds) * kLive);
    std::printf("[ budget   ] %ld page sets created and freed, %ld transitions, %d live at once\n",
                counts.created, counts.transitions, kLive);
    if (exact) {
        std::printf("[ budget   ] mappings: %d before, %d after every round\n", maps_before,
                    mappings_count());
    } else {
        std::printf("[ budget   ] mapping count not compared (%s); reservations balanced "
                    "after every round instead\n",
                    why);
    }
}

} // namespace
