// Issue 11: consuming a handle is atomic (shared/API.md section 7). Several
// threads get copies of one page set (in every state of the build) or one
// vector, and all consume their copy at the same moment: free, every
// transition, freeze, thaw, and a push that must grow (through a copy, racing
// the free or freeze of another copy). Per round exactly one call may return
// MP_OK and every other exactly MP_ESTALE. Meanwhile every thread keeps a page
// set and a vector of its own, made fresh each round, with a canary that must
// stay intact; nothing may crash; at the end the process has the mappings it
// started with, and handles made after the run are live at birth.
//
// How the race is made to happen every run: the fault-injection runtime
// calls mp__race_hook right after a call wins its slot, and the hook here
// sleeps there (only in the racing calls). The old code checked the
// generation, then acted (munmap, mprotect), then bumped the generation: with
// a delay after the check, every thread passes the check before any bumps
// it, so two or more frees (or transitions, freezes, thaws) returned MP_OK
// every round, a slot went on the free list twice, and the next handles made
// were stale at birth or shared a slot with another thread's canary. The
// new code holds the slot with one compare-and-swap, so the other threads
// wait out the delay and then find the slot consumed.
//
// Rounds are fewer under sanitizers and emulators (the test detects them);
// the counts are printed in lines starting with "[ race".
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "memory_pages/memory_pages.h"
#include "tests/internals/mappings.h"
#include "tests/reliability/race_vecs.h"
#include "tests/support/bytes.h"
#include "tests/support/states.h"

// The hook of the fault-injection runtime (runtime/registry.c): called by
// mp__slot_hold right after a call wins a slot.
extern "C" void (*volatile mp__race_hook)(void);

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 4;
// Elements of each thread's own vector, and the capacity a shared vector is
// made with (it is then filled to its whole capacity, so that the next push
// must grow: a push that grows holds the slot, while a push with room is a
// plain store, which API section 7 does not let race a free).
constexpr size_t kVecElems = 16;

// How long a racing call keeps its slot held after winning it. Long enough
// for the other threads (woken by the same barrier) to reach their own call
// on a loaded two-core machine: 500 us natively; under an emulator or a
// sanitizer, where waking four threads takes milliseconds (seen under wine:
// with 500 us no round raced), 20 ms.
std::chrono::microseconds Window();

// Whether this thread is in its racing call: the hook widens only those, so
// that the canary work of the same round runs at full speed.
thread_local bool t_racing = false;
std::atomic<long> hook_delays{0};

void WidenWindow() {
    if (!t_racing) return;
    hook_delays.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(Window());
}

// Whether the test runs slowed down: under a sanitizer, valgrind or an
// emulator (tools/cross_test.sh sets MP_TEST_EMULATOR).
bool SlowRun() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return true;
#endif
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
    return true;
#endif
#endif
    const char *emulator = std::getenv("MP_TEST_EMULATOR");
    return (emulator != nullptr && *emulator != '\0') || running_on_valgrind();
}

std::chrono::microseconds Window() {
    static const std::chrono::microseconds window(SlowRun() ? 20000 : 500);
    return window;
}

int Rounds(int native) {
    return SlowRun() ? native / 5 + 1 : native;
}

// A reusable barrier for a fixed number of threads (std::barrier is C++20).
class Barrier {
  public:
    explicit Barrier(int n) : n_(n) {}
    void Wait() {
        std::unique_lock<std::mutex> lock(mu_);
        const long phase = phase_;
        if (++waiting_ == n_) {
            waiting_ = 0;
            phase_++;
            cv_.notify_all();
            return;
        }
        cv_.wait(lock, [&] { return phase_ != phase; });
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    const int n_;
    int waiting_ = 0;
    long phase_ = 0;
};

// What one thread's racing call did.
struct Outcome {
    mp_status status = MP_OK;
    std::string op;
    Clock::time_point start, end;
};

// A page set and a vector that one thread owns, made fresh every round with
// a canary (a byte pattern of the thread and round) that no other thread's
// call may change.
class Canary {
  public:
    explicit Canary(int thread) : thread_(thread) {}

    void Make(int round) {
        seed_ = static_cast<unsigned>(thread_ * 100003 + round);
        ASSERT_EQ(mp_pages_rw_new(1, &pages_), MP_OK) << "thread " << thread_;
        // Live at birth: a slot that went on the free list twice gives a
        // handle that another thread's new handle makes stale.
        ASSERT_NE(mp_pages_rw_len(&pages_), 0u) << "thread " << thread_ << ": a new page set "
                                                << "is stale at birth";
        mp_test::FillPattern(mp_pages_rw_data_mut(&pages_), mp_pages_rw_len(&pages_), seed_);
        ASSERT_EQ(race_u64_new(&vec_), MP_OK);
        for (size_t i = 0; i < kVecElems; i++) {
            ASSERT_EQ(race_u64_push(&vec_, seed_ * 1000003ull + i), MP_OK)
                << "thread " << thread_ << ": push " << i << " to its own vector";
        }
        made_ = true;
    }

    // Checks the canary and frees both.
    void CheckAndFree() {
        if (!made_) return;
        made_ = false;
        const size_t len = mp_pages_rw_len(&pages_);
        ASSERT_NE(len, 0u) << "thread " << thread_ << ": its own page set went stale";
        EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&pages_), len, seed_), len)
            << "thread " << thread_ << ": another thread's call changed its page set";
        EXPECT_EQ(mp_pages_rw_free(&pages_), MP_OK) << "thread " << thread_;
        ASSERT_EQ(race_u64_len(&vec_), kVecElems)
            << "thread " << thread_ << ": its own vector went stale or changed length";
        for (size_t i = 0; i < kVecElems; i++) {
            const uint64_t *e = race_u64_at(&vec_, i);
            ASSERT_NE(e, nullptr) << "thread " << thread_ << ": element " << i;
            EXPECT_EQ(*e, seed_ * 1000003ull + i)
                << "thread " << thread_ << ": another thread's call changed its vector";
        }
        EXPECT_EQ(race_u64_free(&vec_), MP_OK) << "thread " << thread_;
    }

  private:
    int thread_;
    unsigned seed_ = 0;
    bool made_ = false;
    mp_pages_rw pages_;
    race_u64 vec_;
};

// What a series of rounds counted.
struct Tally {
    long rounds = 0, calls = 0, winners = 0, losers = 0, contended = 0;
};

// Runs rounds: in each, the main thread calls prepare(round), which makes the
// shared handle; then every worker calls race(thread, round, &outcome) at
// once on its own copy, with the race window widened; then the main thread
// checks that exactly one call returned MP_OK and the others MP_ESTALE, and
// the workers check and renew their canaries.
Tally RunRounds(const char *what, int rounds, const std::function<void(int)> &prepare,
                const std::function<void(int, int, Outcome *)> &race) {
    Barrier barrier(kThreads + 1);
    std::vector<Outcome> outcomes(kThreads);
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; t++) {
        workers.emplace_back([&, t] {
            Canary canary(t);
            for (int r = 0;; r++) {
                barrier.Wait(); // the shared handle is ready, or the run is over
                if (stop.load()) break;
                Outcome *o = &outcomes[t];
                o->start = Clock::now();
                t_racing = true;
                race(t, r, o);
                t_racing = false;
                o->end = Clock::now();
                canary.CheckAndFree();
                canary.Make(r);
                barrier.Wait(); // every call of the round is done
            }
            canary.CheckAndFree();
        });
    }
    Tally tally;
    for (int r = 0; r < rounds; r++) {
        prepare(r);
        if (::testing::Test::HasFatalFailure()) break;
        barrier.Wait();
        barrier.Wait();
        int ok = 0;
        std::string seen;
        const Outcome *winner = nullptr;
        for (const Outcome &o : outcomes) {
            seen += " " + o.op + "=" + mp_status_str(o.status);
            if (o.status == MP_OK) {
                ok++;
                winner = &o;
            } else {
                EXPECT_EQ(o.status, MP_ESTALE) << what << " round " << r << ": a losing " << o.op;
            }
        }
        EXPECT_EQ(ok, 1) << what << " round " << r << ": calls on copies of one handle:" << seen;
        tally.rounds++;
        tally.calls += kThreads;
        tally.winners += ok;
        tally.losers += kThreads - ok;
        // A round was a race when every loser's call began before the
        // winner's ended, so that it met the slot held.
        if (winner != nullptr) {
            bool all = true;
            for (const Outcome &o : outcomes)
                all = all && o.start < winner->end;
            if (all) tally.contended++;
        }
        if (::testing::Test::HasFatalFailure()) break;
    }
    stop.store(true);
    barrier.Wait();
    for (std::thread &w : workers)
        w.join();
    std::printf("[ race     ] %s: %ld rounds, %ld calls, %ld winners, %ld losers (MP_ESTALE), "
                "%ld rounds with every call inside the winner's hold\n",
                what, tally.rounds, tally.calls, tally.winners, tally.losers, tally.contended);
    return tally;
}

// Every test: the race hook installed, and the mapping count and new handles
// checked at the end.
class RaceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // A first round, without the race hook, makes what the process keeps
        // after threads end (their stacks, in glibc's cache; their malloc
        // arenas) and the registry's slots, so that the count below is the
        // one the run must return to. The threads share one malloc arena,
        // so that none maps a new one during the run.
        mappings_single_malloc_arena();
        WarmUp();
        ASSERT_EQ(mp__vec_cache_drain(), MP_OK);
        mappings_at_start_ = mappings_count();
        mp__race_hook = &WidenWindow;
    }

    void TearDown() override {
        mp__race_hook = nullptr;
        CheckNewHandlesLive();
        ASSERT_EQ(mp__vec_cache_drain(), MP_OK);
        const char *why = nullptr;
        if (mappings_count_is_exact(&why)) {
            EXPECT_EQ(mappings_count(), mappings_at_start_)
                << "the run did not give back every mapping it made (or unmapped one twice)";
        } else {
            std::printf("[ race     ] mapping count not checked: %s\n", why);
        }
    }

    static void WarmUp() {
        mp_pages_rw shared;
        RunRounds(
            "warm-up", 2, [&](int) { ASSERT_EQ(mp_pages_rw_new(1, &shared), MP_OK); },
            [&](int, int, Outcome *o) {
                mp_pages_rw copy = shared;
                o->op = "free";
                o->status = mp_pages_rw_free(&copy);
            });
        CheckNewHandlesLive();
    }

    // Makes several page sets and vectors at once after the run and checks
    // that each is live and has its own memory: a slot that went on the free
    // list twice would give two of them the same slot, and the first would be
    // stale at birth.
    static void CheckNewHandlesLive() {
        constexpr int kNew = 4 * kThreads;
        mp_pages_rw pages[kNew];
        race_u64 vecs[kNew];
        for (int i = 0; i < kNew; i++) {
            ASSERT_EQ(mp_pages_rw_new(1, &pages[i]), MP_OK);
            ASSERT_EQ(race_u64_new(&vecs[i]), MP_OK);
            ASSERT_EQ(race_u64_push(&vecs[i], static_cast<uint64_t>(i)), MP_OK);
            mp_pages_rw_data_mut(&pages[i])[0] = static_cast<uint8_t>(i + 1);
        }
        for (int i = 0; i < kNew; i++) {
            EXPECT_NE(mp_pages_rw_len(&pages[i]), 0u) << "page set " << i << " made after the run "
                                                      << "is stale";
            const uint8_t *d = mp_pages_rw_data(&pages[i]);
            EXPECT_TRUE(d != nullptr && d[0] == static_cast<uint8_t>(i + 1))
                << "page set " << i << " made after the run shares memory with another";
            const uint64_t *e = race_u64_at(&vecs[i], 0);
            EXPECT_TRUE(e != nullptr && *e == static_cast<uint64_t>(i))
                << "vector " << i << " made after the run is stale or shares memory";
        }
        for (int i = 0; i < kNew; i++) {
            EXPECT_EQ(mp_pages_rw_free(&pages[i]), MP_OK) << "page set " << i;
            EXPECT_EQ(race_u64_free(&vecs[i]), MP_OK) << "vector " << i;
        }
    }

    int mappings_at_start_ = -1;
};

// The suites, named after the defects of issue 11.
class CopiesConsumedAtOnce : public RaceTest {};
class StaleVectorCopy : public RaceTest {};

// Checks that the window made the calls overlap in most rounds: a run in
// which they never met would prove nothing.
void ExpectRaced(const Tally &t) {
    EXPECT_GE(t.contended * 10, t.rounds)
        << "in only " << t.contended << " of " << t.rounds << " rounds did every call start "
        << "while the winner held the slot: the test did not race";
}

// ---- Page sets: free and every transition, in every state ----

// A consuming call on a copy of a page set in state S: its name, and the call,
// which checks and frees what a winning transition made.
template <class S> struct PageOp {
    const char *name;
    mp_status (*call)(typename S::Handle *h, size_t len, const void *address);
};

template <class S> mp_status FreeOp(typename S::Handle *h, size_t, const void *) {
    return S::Free(h);
}

template <class S, class T>
mp_status IntoOp(typename S::Handle *h, size_t len, const void *address) {
    typename T::Handle to;
    const mp_status s = mp_test::Transition<S, T>::Into(h, &to);
    if (s == MP_OK) {
        EXPECT_EQ(T::Len(&to), len) << S::kName << " into " << T::kName << ": the new handle";
        EXPECT_EQ(T::Address(&to), address)
            << S::kName << " into " << T::kName << ": the pages moved";
        EXPECT_EQ(T::Free(&to), MP_OK) << S::kName << " into " << T::kName;
    }
    return s;
}

template <class S, class T> void AddInto(std::vector<PageOp<S>> *ops) {
    if constexpr (!std::is_same_v<S, T>) {
        static const std::string name = std::string("into_") + T::kName;
        ops->push_back({name.c_str(), &IntoOp<S, T>});
    }
}

template <class S, class... Ts> std::vector<PageOp<S>> PageOps(std::tuple<Ts...> *) {
    std::vector<PageOp<S>> ops{{"free", &FreeOp<S>}};
    (AddInto<S, Ts>(&ops), ...);
    return ops;
}

// Races copies of a page set in state S: in round r, thread t makes call
// (r + t) of the list [free, into every other state], so every pair of calls
// meets.
template <class S> Tally RacePages(int rounds) {
    const std::vector<PageOp<S>> ops = PageOps<S>(static_cast<mp_test::StateTuple *>(nullptr));
    typename S::Handle shared;
    size_t len = 0;
    const void *address = nullptr;
    const std::string what = std::string("pages ") + S::kName;
    return RunRounds(
        what.c_str(), rounds,
        [&](int) {
            ASSERT_EQ(S::New(2, &shared), MP_OK) << what;
            len = S::Len(&shared);
            address = S::Address(&shared);
            ASSERT_NE(len, 0u) << what << ": stale at birth";
        },
        [&](int t, int r, Outcome *o) {
            typename S::Handle copy = shared;
            const PageOp<S> &op = ops[static_cast<size_t>(r + t) % ops.size()];
            o->op = op.name;
            o->status = op.call(&copy, len, address);
        });
}

template <class... Ss> void RaceEveryState(int rounds, std::tuple<Ss...> *) {
    (ExpectRaced(RacePages<Ss>(rounds)), ...);
}

TEST_F(CopiesConsumedAtOnce, ExactlyOneWinner) {
    RaceEveryState(Rounds(120), static_cast<mp_test::StateTuple *>(nullptr));
}

// ---- Vectors: free, freeze, and pushes that grow; frozen: free and thaw ----

// Checks the vector a winning push left (len elements and the pushed one, in
// place) and frees it.
void CheckGrownAndFree(race_u64 *v, size_t len, const uint64_t *data_before, uint64_t pushed) {
    EXPECT_EQ(race_u64_len(v), len + 1) << "the winning push";
    EXPECT_EQ(race_u64_data(v), data_before) << "growth inside the reservation moved the data";
    const uint64_t *last = race_u64_at(v, len);
    EXPECT_TRUE(last != nullptr && *last == pushed) << "the pushed element";
    EXPECT_EQ(race_u64_free(v), MP_OK) << "freeing the grown vector";
}

// A shared vector, full: its next push must grow.
void MakeFullVector(race_u64 *v, int round) {
    ASSERT_EQ(race_u64_with_capacity(kVecElems, v), MP_OK);
    const size_t cap = race_u64_capacity(v);
    ASSERT_GE(cap, kVecElems);
    for (size_t i = 0; i < cap; i++) {
        ASSERT_EQ(race_u64_push(v, static_cast<uint64_t>(round) * 7919u + i), MP_OK);
    }
    ASSERT_EQ(race_u64_len(v), race_u64_capacity(v)) << "the shared vector is not full";
}

TEST_F(StaleVectorCopy, PushNeverWinsAgainstFreeOrFreeze) {
    race_u64 shared;
    const uint64_t *data = nullptr;
    size_t len = 0;
    const Tally t = RunRounds(
        "vector free/freeze/push", Rounds(300),
        [&](int r) {
            MakeFullVector(&shared, r);
            data = race_u64_data(&shared);
            len = race_u64_len(&shared);
        },
        [&](int t, int r, Outcome *o) {
            race_u64 copy = shared;
            switch ((r + t) % 3) {
            case 0:
                o->op = "free";
                o->status = race_u64_free(&copy);
                break;
            case 1: {
                o->op = "freeze";
                race_u64_frozen f;
                o->status = race_u64_freeze(&copy, &f);
                if (o->status == MP_OK) {
                    EXPECT_EQ(race_u64_frozen_len(&f), len) << "the winning freeze";
                    EXPECT_EQ(race_u64_frozen_data(&f), data) << "the winning freeze";
                    EXPECT_EQ(race_u64_frozen_free(&f), MP_OK) << "the winning freeze";
                }
                break;
            }
            default: {
                o->op = "push";
                const uint64_t x = 0xC0FFEEull + static_cast<uint64_t>(t);
                o->status = race_u64_push(&copy, x);
                if (o->status == MP_OK) {
                    CheckGrownAndFree(&copy, len, data, x);
                } else {
                    // The losing copy is stale for every call, also the
                    // inline ones.
                    EXPECT_EQ(race_u64_len(&copy), 0u) << "a losing push's copy";
                    EXPECT_EQ(race_u64_data(&copy), nullptr) << "a losing push's copy";
                }
                break;
            }
            }
        });
    ExpectRaced(t);
}

TEST_F(CopiesConsumedAtOnce, FrozenThawOrFreeExactlyOneWinner) {
    race_u64_frozen shared;
    const uint64_t *data = nullptr;
    size_t len = 0;
    const Tally t = RunRounds(
        "frozen vector thaw/free", Rounds(300),
        [&](int r) {
            race_u64 v;
            MakeFullVector(&v, r);
            data = race_u64_data(&v);
            len = race_u64_len(&v);
            ASSERT_EQ(race_u64_freeze(&v, &shared), MP_OK);
        },
        [&](int t, int r, Outcome *o) {
            race_u64_frozen copy = shared;
            if ((r + t) % 2 == 0) {
                o->op = "frozen_free";
                o->status = race_u64_frozen_free(&copy);
                return;
            }
            o->op = "thaw";
            race_u64 thawed;
            o->status = race_u64_frozen_thaw(&copy, &thawed);
            if (o->status == MP_OK) {
                EXPECT_EQ(race_u64_len(&thawed), len) << "the winning thaw";
                EXPECT_EQ(race_u64_data(&thawed), data) << "the winning thaw";
                // Writable again: a push that grows, then free.
                const uint64_t x = 0xBEEFull + static_cast<uint64_t>(t);
                EXPECT_EQ(race_u64_push(&thawed, x), MP_OK) << "push after the winning thaw";
                CheckGrownAndFree(&thawed, len, data, x);
            } else {
                EXPECT_EQ(race_u64_frozen_len(&copy), 0u) << "a losing thaw's copy";
            }
        });
    ExpectRaced(t);
}

} // namespace
