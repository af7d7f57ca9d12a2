// Threads, for a bounded number of rounds, all at once: each makes, fills,
// moves and frees page sets, grows, freezes and thaws vectors, and (in
// builds with allow_exec) writes code, makes function references to it and
// calls them, while checking copies of the others' handles, frozen vectors
// and references, which those threads are changing and freeing meanwhile
// (shared/API.md section 7). Meant for --config=tsan, where any data race
// in the runtime ends the test; without it, it checks every answer.
//
// A copy is published to other threads only once, in a slot that is never
// rewritten, so the test itself shares no memory without synchronization.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/reliability/vecs.h"
#if MP_HAVE_RX
#include "tests/fn_ref/test_code.h"
#include "tests/reliability/stress_fns.h"
#endif

namespace {

constexpr int kThreads = 4;
constexpr int kRounds = 600; // per thread

// What one thread publishes for the others to check, one entry per round;
// each entry is written once, before the count that covers it is stored.
struct Published {
    mp_pages_r pages;      // a copy of a handle the owner moves on or frees later
    size_t pages_len;      // the length it has while live
    rel_u64_frozen frozen; // a copy of a frozen vector the owner thaws or frees later
    size_t frozen_len;
#if MP_HAVE_RX
    rel_const_fn fn; // a reference to code the owner moves out of rx later
#endif
};

struct Board {
    std::vector<Published> entries = std::vector<Published>(kRounds);
    std::atomic<int> count{0};
};

// The meeting of the threads in round 0. Each publishes its first entry,
// waits until every other thread has published one, checks the others'
// first entries, and waits until every thread has checked before it frees
// anything. So every thread checks the others' copies at least once while
// they are live, whatever the scheduling, and the live count has a floor.
struct Meeting {
    std::atomic<int> checked{0};
    std::atomic<bool> failed{false}; // a thread gave up: nobody waits for it
};

// What the threads did, summed at the end.
struct Counts {
    long page_sets = 0, transitions = 0, vectors = 0, freezes = 0, calls = 0;
    long checks = 0, seen_live = 0, seen_stale = 0;

    void Add(const Counts &o) {
        page_sets += o.page_sets;
        transitions += o.transitions;
        vectors += o.vectors;
        freezes += o.freezes;
        calls += o.calls;
        checks += o.checks;
        seen_live += o.seen_live;
        seen_stale += o.seen_stale;
    }
};

// Checks one published entry of another thread: each answer is the live
// value or the stale one, never anything else, and never a crash.
void CheckOther(const Published &e, Counts *c) {
    const size_t len = mp_pages_r_len(&e.pages);
    EXPECT_TRUE(len == 0 || len == e.pages_len) << "a copied handle answered " << len;
    const size_t flen = rel_u64_frozen_len(&e.frozen);
    EXPECT_TRUE(flen == 0 || flen == e.frozen_len) << "a frozen copy answered " << flen;
    bool live = len != 0 || flen != 0;
#if MP_HAVE_RX
    live = rel_const_fn_valid(&e.fn) || live;
#endif
    c->checks++;
    (live ? c->seen_live : c->seen_stale)++;
}

// One round of one thread. Returns false after a failed step.
bool Round(int thread, int round, Board *mine, Board *boards, Meeting *meeting, std::mt19937 *rng,
           Counts *c) {
    const size_t page = mp_page_size();
    Published &out = mine->entries[round];

    // Page sets: rw, filled, -> r (published) -> none -> rw, checked, and
    // freed at the end of the round.
    mp_pages_rw rw;
    const size_t len = (1 + (*rng)() % 4) * page;
    EXPECT_EQ(mp_pages_rw_new(len, &rw), MP_OK);
    if (testing::Test::HasFailure()) return false;
    const unsigned char fill = static_cast<unsigned char>(thread * 37 + round);
    std::memset(mp_pages_rw_data_mut(&rw), fill, len);
    mp_pages_r r;
    mp_pages_none none;
    EXPECT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    out.pages = r;
    out.pages_len = len;
    EXPECT_EQ(mp_pages_r_into_none(&r, &none), MP_OK);
    EXPECT_EQ(mp_pages_none_into_rw(&none, &rw), MP_OK);
    c->page_sets++;
    c->transitions += 3;
    if (testing::Test::HasFailure()) return false;
    const uint8_t *data = mp_pages_rw_data(&rw);
    EXPECT_TRUE(data[0] == fill && data[len - 1] == fill) << "contents lost";

    // Vectors: grown, frozen (published), then thawed or freed.
    rel_u64 v;
    EXPECT_EQ(rel_u64_new(&v), MP_OK);
    const size_t n = 1 + (*rng)() % 3000;
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(rel_u64_push(&v, i * 3 + thread), MP_OK);
    rel_u64_frozen frozen;
    EXPECT_EQ(rel_u64_freeze(&v, &frozen), MP_OK);
    out.frozen = frozen;
    out.frozen_len = n;
    c->vectors++;
    c->freezes++;
    if (testing::Test::HasFailure()) return false;
    EXPECT_EQ(*rel_u64_frozen_at(&frozen, n - 1), (n - 1) * 3 + thread);

    // A short-lived vector: its free and the next one's first push pass
    // reservations through the cache of freed ones, which all threads share.
    rel_u64 brief;
    EXPECT_EQ(rel_u64_new(&brief), MP_OK);
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(rel_u64_push(&brief, i + thread), MP_OK);
    EXPECT_EQ(*rel_u64_at(&brief, n - 1), n - 1 + thread);
    EXPECT_EQ(rel_u64_free(&brief), MP_OK);
    c->vectors++;

#if MP_HAVE_RX
    // Function references: code written into rw, moved to rx, referenced
    // (published) and called, then moved back, which stales the reference.
    const int32_t k = thread * 100000 + round;
    const mp_test::Code code = mp_test::ConstCode(k);
    std::memcpy(mp_pages_rw_data_mut(&rw), code.data(), code.size());
    mp_pages_rx rx;
    EXPECT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    rel_const_fn fn;
    EXPECT_EQ(rel_const_fn_from(&rx, 0, &fn), MP_OK);
    out.fn = fn;
    if (testing::Test::HasFailure()) return false;
    if (mp_test::kHaveCode) {
        int32_t got = 0;
        EXPECT_EQ(rel_const_fn_call(&fn, &got), MP_OK);
        EXPECT_EQ(got, k);
        c->calls++;
    }
    EXPECT_EQ(mp_pages_rx_into_rw(&rx, &rw), MP_OK);
    c->transitions += 2;
    int32_t unused = 0;
    EXPECT_EQ(rel_const_fn_call(&fn, &unused), MP_ESTALE);
#endif
    mine->count.store(round + 1, std::memory_order_release);

    // In round 0, wait until every other thread has published its first
    // entry (or one has given up).
    if (round == 0) {
        for (int other = 0; other < kThreads; other++) {
            while (boards[other].count.load(std::memory_order_acquire) == 0 &&
                   !meeting->failed.load())
                std::this_thread::yield();
        }
    }

    // Copies of the others' work, which they keep changing.
    for (int other = 0; other < kThreads; other++) {
        if (other == thread) continue;
        const int published = boards[other].count.load(std::memory_order_acquire);
        if (published == 0) continue;
        CheckOther(boards[other].entries[(*rng)() % published], c);
        CheckOther(boards[other].entries[published - 1], c);
    }
    // In round 0, nobody frees its first entry before everyone has checked.
    if (round == 0) {
        meeting->checked++;
        while (meeting->checked.load() < kThreads && !meeting->failed.load())
            std::this_thread::yield();
    }

    // Clean up: half the frozen vectors are thawed first.
    if (round % 2 == 0) {
        EXPECT_EQ(rel_u64_frozen_thaw(&frozen, &v), MP_OK);
        EXPECT_EQ(rel_u64_len(&v), n);
        EXPECT_EQ(rel_u64_free(&v), MP_OK);
    } else {
        EXPECT_EQ(rel_u64_frozen_free(&frozen), MP_OK);
    }
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
    return !testing::Test::HasFailure();
}

TEST(ThreadsStress, PagesVectorsAndReferencesFromSeveralThreadsAtOnce) {
    std::vector<Board> boards(kThreads);
    std::vector<Counts> counts(kThreads);
    Meeting meeting;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t + 1));
            for (int round = 0; round < kRounds; round++) {
                if (!Round(t, round, &boards[t], boards.data(), &meeting, &rng, &counts[t])) {
                    meeting.failed = true;
                    return;
                }
            }
        });
    }
    for (auto &t : threads)
        t.join();

    Counts total;
    for (const auto &c : counts)
        total.Add(c);
    EXPECT_EQ(total.page_sets, long{kThreads} * kRounds);
    std::printf("[ threads  ] %d threads x %d rounds: %ld page sets, %ld transitions, %ld "
                "vectors frozen, %ld calls through references\n",
                kThreads, kRounds, total.page_sets, total.transitions, total.freezes, total.calls);
    std::printf("[ threads  ] %ld checks of other threads' copies: %ld found live, %ld "
                "stale\n",
                total.checks, total.seen_live, total.seen_stale);
    if (HasFailure()) return; // the counts below hold only for complete runs
    // Every round of every thread checks two entries of each other thread
    // (every other thread has published from round 0 on).
    const long pairs = long{kThreads} * (kThreads - 1);
    EXPECT_EQ(total.checks, 2 * pairs * kRounds);
    // The round-0 checks saw the others' first frozen vectors before anyone
    // freed them: live.
    EXPECT_GE(total.seen_live, 2 * pairs);

    // Now that every thread has freed everything, every published copy is
    // stale.
    Counts after;
    for (const Board &b : boards) {
        for (const Published &e : b.entries)
            CheckOther(e, &after);
    }
    EXPECT_EQ(after.checks, long{kThreads} * kRounds);
    EXPECT_EQ(after.seen_live, 0) << "copies of freed handles answered as live";
    EXPECT_EQ(after.seen_stale, after.checks);
}

} // namespace
