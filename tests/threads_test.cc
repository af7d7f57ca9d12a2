// Tests of shared/API.md section 7: different handles are used from
// different threads at once, and checking a copied handle for staleness is
// safe from any thread, even while its owner changes or frees the pages.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/support/bytes.h"

namespace {

size_t Page() {
    return mp_page_size();
}

/* What the owner thread last published about its current pages: copies of
 * its handles in each state, the address and length the pages have, and
 * the round that made them. */
struct Published {
    mp_pages_rw rw;
    mp_pages_r r;
    mp_pages_none none;
    const uint8_t *data;
    size_t len;
    int round;
};

// One thread makes pages, publishes copies of their handles, and moves the
// pages rw -> r -> none -> freed, again and again. Another thread reads
// _len and _data of the published copies, outside any lock, while that
// happens. Every answer must be the live value (the pages' own length and
// address) or the stale one (0 and NULL); never another page set's values.
//
// So that the test cannot pass without checking anything (the owner could
// finish before the checker first runs), the owner waits, every
// kSyncEvery-th round, until the checker has checked the copies of that
// round while its rw pages are live: at least kRounds / kSyncEvery checks
// run, and each of them finds the rw copy live.
TEST(ThreadsTest, CopiesAreCheckedSafelyWhileAnotherThreadTransitionsAndFrees) {
    const int kRounds = 3000;
    const int kSyncEvery = 100;
    const int kSyncedRounds = kRounds / kSyncEvery;
    std::mutex mu;
    Published pub = {};
    std::atomic<bool> done{false};
    std::atomic<bool> checker_stopped{false};
    std::atomic<int> checked_round{-1};
    std::atomic<long> checks{0};
    std::atomic<long> live_answers{0};

    // The owner's rounds are a function of their own, so that a failed
    // assertion, which returns from it, still ends the checker's loop.
    auto rounds = [&] {
        for (int i = 0; i < kRounds; i++) {
            mp_pages_rw rw;
            ASSERT_EQ(mp_pages_rw_new(static_cast<size_t>(i % 4 + 1) * Page(), &rw), MP_OK);
            {
                std::lock_guard<std::mutex> lock(mu);
                pub = Published{rw, {}, {}, mp_pages_rw_data(&rw), mp_pages_rw_len(&rw), i};
            }
            if (i % kSyncEvery == 0) {
                while (checked_round.load() < i && !checker_stopped.load())
                    std::this_thread::yield();
            }
            mp_pages_r r;
            ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
            {
                std::lock_guard<std::mutex> lock(mu);
                pub.r = r;
            }
            mp_pages_none none;
            ASSERT_EQ(mp_pages_r_into_none(&r, &none), MP_OK);
            {
                std::lock_guard<std::mutex> lock(mu);
                pub.none = none;
            }
            ASSERT_EQ(mp_pages_none_free(&none), MP_OK);
        }
    };
    std::thread owner([&] {
        rounds();
        done = true;
    });

    // The checker's loop is a function of its own for the same reason; when
    // it returns, the owner stops waiting for it.
    auto check = [&] {
        while (!done) {
            Published seen;
            {
                std::lock_guard<std::mutex> lock(mu);
                seen = pub;
            }
            if (seen.data == nullptr) continue;
            const size_t lens[] = {mp_pages_rw_len(&seen.rw), mp_pages_r_len(&seen.r),
                                   mp_pages_none_len(&seen.none)};
            const uint8_t *datas[] = {mp_pages_rw_data(&seen.rw), mp_pages_rw_data_mut(&seen.rw),
                                      mp_pages_r_data(&seen.r)};
            for (size_t len : lens) {
                ASSERT_TRUE(len == 0 || len == seen.len) << len << " for pages of " << seen.len;
                live_answers += len != 0;
            }
            for (const uint8_t *data : datas) {
                ASSERT_TRUE(data == nullptr || data == seen.data)
                    << static_cast<const void *>(data) << " for pages at "
                    << static_cast<const void *>(seen.data);
            }
            checks++;
            checked_round = seen.round;
        }
    };
    std::thread checker([&] {
        check();
        checker_stopped = true;
    });

    owner.join();
    checker.join();
    // How often the checker caught pages alive beyond the synchronized
    // rounds depends on scheduling; the synchronized rounds alone give the
    // least counts.
    EXPECT_GE(checks.load(), kSyncedRounds) << "the checker ran too few times";
    EXPECT_GE(live_answers.load(), kSyncedRounds) << "the checker never saw live pages";
    RecordProperty("checks", static_cast<int>(checks.load()));
    RecordProperty("live_answers", static_cast<int>(live_answers.load()));
}

// The threads of the next test, and the page sets each keeps alive at once:
// together more than one chunk of the registry holds.
constexpr int kThreads = 4;
constexpr int kLive = 1500;

// Several threads each make, fill, move and free their own pages at once.
// Each keeps hundreds of page sets alive together, so the registry grows
// while the others use it.
TEST(ThreadsTest, DifferentHandlesAreUsedFromDifferentThreadsAtOnce) {
    std::vector<std::thread> threads;
    std::vector<int> failures(kThreads, 0);
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([t, &failures] {
            std::vector<mp_pages_r> pages(kLive);
            for (int i = 0; i < kLive; i++) {
                mp_pages_rw rw;
                if (mp_pages_rw_new(Page(), &rw) != MP_OK) {
                    failures[t]++;
                    return;
                }
                mp_test::FillPattern(mp_pages_rw_data_mut(&rw), Page(),
                                     static_cast<unsigned>(t * kLive + i));
                if (mp_pages_rw_into_r(&rw, &pages[i]) != MP_OK) failures[t]++;
            }
            for (int i = 0; i < kLive; i++) {
                const uint8_t *data = mp_pages_r_data(&pages[i]);
                if (data == nullptr ||
                    mp_test::PatternMismatch(data, Page(), static_cast<unsigned>(t * kLive + i)) !=
                        Page()) {
                    failures[t]++;
                }
                if (mp_pages_r_free(&pages[i]) != MP_OK) failures[t]++;
            }
        });
    }
    for (std::thread &th : threads)
        th.join();
    for (int t = 0; t < kThreads; t++)
        EXPECT_EQ(failures[t], 0) << "thread " << t;
}

} // namespace
