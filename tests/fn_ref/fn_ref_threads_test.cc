// Function references across threads (shared/API.md section 7, docs/jit.md):
// while one thread, the owner of the pages, keeps moving them out of rx,
// rewriting the code and moving them back,
//  - a caller thread that synchronizes with the owner (a mutex here) never
//    gets into stale code: a reference from an earlier round
//    returns MP_ESTALE, the current one runs the current code;
//  - a checker thread asks _valid with no synchronization at all, as often
//    as it can: that never crashes, and once it has seen a reference stale
//    it never sees it live again.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>

#include "memory_pages/memory_pages.h"
#include "tests/fn_ref/test_code.h"
#include "tests/fn_ref/test_fns.h"

namespace {

/* Writes ConstCode(k) into rw pages. */
void WriteConst(mp_pages_rw *rw, int32_t k) {
    const mp_test::Code code = mp_test::ConstCode(k);
    std::memcpy(mp_pages_rw_data_mut(rw), code.data(), code.size());
}

TEST(FnRefThreads, CallersAndCheckersWhileTheOwnerTransitions) {
    if (!mp_test::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    const int32_t kRounds = 3000;

    std::mutex lock;
    // Guarded by lock: the reference to the current code, its round, and
    // whether the pages were freed at the end.
    const_fn current;
    int32_t current_round = 0;
    bool freed = false;
    std::atomic<bool> done{false};

    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    WriteConst(&rw, 0);
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    ASSERT_EQ(const_fn_from(&rx, 0, &current), MP_OK);

    std::atomic<long> calls{0}, stale_seen{0}, wrong{0};
    std::thread caller([&] {
        const_fn previous;
        int32_t previous_round = -1;
        while (!done.load()) {
            std::unique_lock<std::mutex> hold(lock);
            int32_t v = -1;
            if (freed) {
                if (const_fn_call(&current, &v) != MP_ESTALE) wrong++;
                continue;
            }
            if (previous_round >= 0) {
                mp_status s = const_fn_call(&previous, &v);
                if (previous_round == current_round) {
                    if (s != MP_OK || v != previous_round) wrong++;
                } else if (s != MP_ESTALE) {
                    wrong++;
                } else {
                    stale_seen++;
                }
            }
            if (const_fn_call(&current, &v) != MP_OK || v != current_round) wrong++;
            calls++;
            previous = current;
            previous_round = current_round;
            hold.unlock();
            std::this_thread::yield();
        }
    });

    std::atomic<long> checks{0}, revived{0};
    std::thread checker([&] {
        while (!done.load()) {
            const_fn copy;
            {
                std::lock_guard<std::mutex> hold(lock);
                copy = current;
            }
            bool seen_stale = false;
            for (int i = 0; i < 1000; i++) {
                bool live = const_fn_valid(&copy);
                if (live && seen_stale) revived++;
                seen_stale = seen_stale || !live;
                checks++;
            }
        }
    });

    // The owner. A failure here must still end the other threads before the
    // test returns, so it is recorded and checked after the joins.
    bool owner_ok = true;
    for (int32_t round = 1; round <= kRounds && owner_ok; round++) {
        std::unique_lock<std::mutex> hold(lock);
        owner_ok = mp_pages_rx_into_rw(&rx, &rw) == MP_OK;
        if (!owner_ok) break;
        WriteConst(&rw, round);
        owner_ok =
            mp_pages_rw_into_rx(&rw, &rx) == MP_OK && const_fn_from(&rx, 0, &current) == MP_OK;
        current_round = round;
        hold.unlock();
        // Let the others in between rounds.
        std::this_thread::yield();
    }
    // Let the caller see the final round, then free the pages while the
    // checker still checks.
    const long calls_before_free = calls.load();
    while (owner_ok && calls.load() == calls_before_free)
        std::this_thread::yield();
    if (owner_ok) {
        std::lock_guard<std::mutex> hold(lock);
        owner_ok = mp_pages_rx_free(&rx) == MP_OK;
        freed = true;
    }
    done = true;
    caller.join();
    checker.join();
    ASSERT_TRUE(owner_ok) << "a transition of the owner failed";

    EXPECT_FALSE(const_fn_valid(&current));
    int32_t v = -1;
    EXPECT_EQ(const_fn_call(&current, &v), MP_ESTALE);
    EXPECT_EQ(v, -1);
    EXPECT_EQ(wrong.load(), 0) << "calls that ran stale code or failed on live code";
    EXPECT_EQ(revived.load(), 0) << "references seen live again after being stale";
    EXPECT_GT(calls.load(), 0);
    EXPECT_GT(checks.load(), 0);
    // Only informative: how often the interleaving made the caller meet a
    // stale reference depends on the scheduler.
    RecordProperty("calls", static_cast<int>(calls.load()));
    RecordProperty("stale_seen", static_cast<int>(stale_seen.load()));
    RecordProperty("checks", static_cast<int>(checks.load()));
}

} // namespace
