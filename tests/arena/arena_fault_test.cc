// Failures of the code arena, over the fault-injection runtime: every call
// of the OS table failing, one after the other, under mp_code_arena_new,
// _alloc (committing new pages and reopening read-execute ones), _finalize
// (two runs of pages, the second failing after the first changed) and
// _free, and then every raw system call of the same operations failing
// with each error code (tests/internals/sys_faults.h). After each failure the call returned the
// injected status, the arena's statistics and the access of its spans are as before, its code still
// runs, and no reservation leaked.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/mman.h>
#endif

#include "memory_pages/memory_pages.h"
#include "tests/arena/arena_code.h"
#include "tests/arena/arena_fault_fns.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/sys_faults.h"

// The hook of the fault-injection runtime (runtime/registry.c): called by
// mp__slot_hold right after a call wins a slot.
extern "C" void (*volatile mp__race_hook)(void);

namespace {

constexpr mp_status kStatus = MP_ENOMEM;
constexpr int kOsError = ENOMEM;

size_t Page() {
    return mp_page_size();
}

bool SameStats(const mp_code_stats &a, const mp_code_stats &b) {
    return a.reserved == b.reserved && a.committed == b.committed && a.used == b.used &&
           a.free_bytes == b.free_bytes && a.largest_free == b.largest_free &&
           a.spans_live == b.spans_live && a.mappings == b.mappings;
}

mp_code_stats Stats(mp_code_arena *a) {
    mp_code_stats st = {};
    EXPECT_EQ(mp_code_arena_stats(a, &st), MP_OK);
    return st;
}

/* Writes code returning a + b + k over the whole span. */
void Write(mp_code_span *s, uint32_t k) {
    uint8_t *w = mp_code_span_write(s);
    ASSERT_NE(w, nullptr);
    std::vector<uint8_t> c = arena_code::Code(k, mp_code_span_len(s));
    std::memcpy(w, c.data(), c.size());
}

void ExpectRuns(mp_code_span *s, uint32_t k) {
    binop_fn f;
    int64_t r = 0;
    ASSERT_EQ(binop_fn_from_span(s, 0, &f), MP_OK);
    ASSERT_EQ(binop_fn_call(&f, 1, 2, &r), MP_OK);
    EXPECT_EQ(r, 3 + int64_t(k));
}

/* Runs attempt with the nth OS call failing, for n = 1, 2, ... until a run
 * fails none; check(status, fired) judges each run. Returns the faults
 * injected. */
template <class Attempt> unsigned Walk(Attempt attempt) {
    unsigned n = 1;
    for (; n < 64; n++) {
        fault_arm(n, kStatus, kOsError);
        bool fired = attempt();
        fault_disarm();
        if (!fired) break;
    }
    EXPECT_LT(n, 64u) << "the operation never completed";
    std::printf("[ faults   ] %u injected\n", n - 1);
    return n - 1;
}

/* Ends the fault of the call under test, before the checks that follow it
 * make calls of their own; returns whether it fired. fault_fired still
 * names the entry. */
bool Disarm() {
    fault_disarm();
    return fault_fired() != nullptr;
}

/* Makes the registry's first chunk of slots, whose OS calls would otherwise
 * land in the first walk. */
void WarmUp() {
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(nullptr, &a), MP_OK);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* The status of a call made while a fault was armed: the injected one if a
 * fault fired, else MP_OK. */
void ExpectStatus(mp_status got) {
    if (fault_fired() != nullptr) {
        EXPECT_EQ(got, kStatus) << "fault in " << fault_fired();
        EXPECT_EQ(mp_os_error(), kOsError);
    } else {
        EXPECT_EQ(got, MP_OK);
    }
}

std::vector<mp_code_mode> Modes() {
    std::vector<mp_code_mode> modes = {MP_CODE_FLIP};
    if (MP_HAVE_DUAL) modes.push_back(MP_CODE_DUAL);
    return modes;
}

TEST(ArenaFault, New) {
    WarmUp();
    fault_install();
    for (mp_code_mode mode : Modes()) {
        mp_code_arena_opts o = {};
        o.reserve = 16 * Page();
        o.mode = mode;
        unsigned faults = Walk([&] {
            long before = fault_reservations();
            mp_code_arena a = {};
            mp_status s = mp_code_arena_new(&o, &a);
            bool fired = Disarm();
            ExpectStatus(s);
            if (s == MP_OK) {
                EXPECT_EQ(mp_code_arena_free(&a), MP_OK);
            } else {
                mp_code_stats st;
                EXPECT_EQ(mp_code_arena_stats(&a, &st), MP_ESTALE) << "*out untouched";
            }
            EXPECT_EQ(fault_reservations(), before) << "a reservation leaked";
            return fired;
        });
        EXPECT_GE(faults, 2u) << "the bookkeeping and the code";
    }
    fault_uninstall();
}

/* An allocation that reopens an empty read-execute page (flip mode) and
 * commits new pages: each of the two OS calls failing leaves the arena as
 * it was, the reopened page read-execute again. */
TEST(ArenaFault, Alloc) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    fault_install();
    for (mp_code_mode mode : Modes()) {
        mp_code_arena_opts o = {};
        o.reserve = 16 * Page();
        o.mode = mode;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        mp_code_span keep, gone;
        ASSERT_EQ(mp_code_arena_alloc(&a, 64, &gone), MP_OK);
        ASSERT_EQ(mp_code_arena_alloc(&a, 64, &keep), MP_OK);
        Write(&gone, 1);
        Write(&keep, 2);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        ASSERT_EQ(mp_code_arena_release(&a, &keep), MP_OK);
        ASSERT_EQ(mp_code_arena_release(&a, &gone), MP_OK);
        /* Page 0 is read-execute and empty; a span of three pages reopens it
         * and commits two more. */
        mp_code_span other;
        ASSERT_EQ(mp_code_arena_alloc(&a, 64, &other), MP_OK);
        Write(&other, 5);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        ASSERT_EQ(mp_code_arena_release(&a, &other), MP_OK);
        mp_code_stats before = Stats(&a);
        unsigned faults = Walk([&] {
            mp_code_span s = {};
            mp_status st = mp_code_arena_alloc(&a, 3 * Page(), &s);
            bool fired = Disarm();
            ExpectStatus(st);
            if (st == MP_OK) {
                Write(&s, 9);
                EXPECT_EQ(mp_code_arena_finalize(&a), MP_OK);
                ExpectRuns(&s, 9);
                EXPECT_EQ(mp_code_arena_release(&a, &s), MP_OK);
            } else {
                EXPECT_TRUE(SameStats(Stats(&a), before));
                EXPECT_EQ(mp_code_span_addr(&s), nullptr) << "*out untouched";
            }
            return fired;
        });
        EXPECT_EQ(faults, mode == MP_CODE_FLIP ? 2u : 0u) << "reopen and commit";
        ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    }
    fault_uninstall();
}

/* Finalize with two runs of pages to change, a page of live finalized code
 * between them: when the second protect fails, the first run is made
 * writable again, so its span can still be written. */
TEST(ArenaFault, Finalize) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    fault_install();
    size_t page = Page();
    mp_code_arena_opts o = {};
    o.reserve = 8 * page;
    o.mode = MP_CODE_FLIP;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    mp_code_span p[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(mp_code_arena_alloc(&a, page, &p[i]), MP_OK);
        Write(&p[i], 10 + i);
    }
    ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
    ASSERT_EQ(mp_code_arena_release(&a, &p[0]), MP_OK);
    ASSERT_EQ(mp_code_arena_release(&a, &p[2]), MP_OK);
    mp_code_span q0, q2;
    ASSERT_EQ(mp_code_arena_alloc(&a, page, &q0), MP_OK);
    ASSERT_EQ(mp_code_arena_alloc(&a, page, &q2), MP_OK);
    EXPECT_EQ(mp_code_span_addr(&q2),
              static_cast<const uint8_t *>(mp_code_span_addr(&q0)) + 2 * page)
        << "the page of live code between them is skipped";
    mp_code_stats before = Stats(&a);
    unsigned faults = Walk([&] {
        Write(&q0, 20);
        Write(&q2, 22);
        mp_status st = mp_code_arena_finalize(&a);
        bool fired = Disarm();
        ExpectStatus(st);
        if (st != MP_OK) {
            EXPECT_TRUE(SameStats(Stats(&a), before));
            binop_fn f;
            EXPECT_EQ(binop_fn_from_span(&q0, 0, &f), MP_ESTALE) << "not finalized";
        }
        return fired;
    });
    EXPECT_EQ(faults, 2u) << "one protect per run";
    ExpectRuns(&q0, 20);
    ExpectRuns(&p[1], 11);
    ExpectRuns(&q2, 22);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    fault_uninstall();
}

/* A free whose unmapping fails leaves the arena and its code as they were. */
TEST(ArenaFault, Free) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    fault_install();
    for (mp_code_mode mode : Modes()) {
        long start = fault_reservations();
        mp_code_arena_opts o = {};
        o.reserve = 16 * Page();
        o.mode = mode;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        mp_code_span s;
        ASSERT_EQ(mp_code_arena_alloc(&a, 100, &s), MP_OK);
        Write(&s, 7);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        binop_fn f;
        ASSERT_EQ(binop_fn_from_span(&s, 0, &f), MP_OK);
        mp_code_stats before = Stats(&a);
        Walk([&] {
            mp_code_arena copy = a;
            mp_status st = mp_code_arena_free(&copy);
            bool fired = Disarm();
            if (fired && st == MP_OK) {
                /* The release of the bookkeeping failed after the code was
                 * gone: the free completes and gives the bookkeeping up
                 * (runtime/code_arena.c), as a vector gives up its old
                 * mapping (runtime/vec.c). */
                EXPECT_STREQ(fault_fired(), "release");
                fault_forget_reservation();
                EXPECT_FALSE(binop_fn_valid(&f));
                return false;
            }
            ExpectStatus(st);
            if (st != MP_OK) {
                EXPECT_TRUE(SameStats(Stats(&a), before));
                EXPECT_TRUE(binop_fn_valid(&f));
                ExpectRuns(&s, 7);
            } else {
                EXPECT_FALSE(binop_fn_valid(&f));
            }
            return fired;
        });
        EXPECT_EQ(fault_reservations(), start) << "a reservation leaked";
    }
    fault_uninstall();
}

/* Threads release copies of one span and free copies of one arena at once,
 * with the window in which a call holds a slot widened: of each, exactly
 * one call wins and the others find the handle stale. */
TEST(ArenaFault, RacingCopies) {
    mp__race_hook = [] { std::this_thread::yield(); };
    for (int round = 0; round < 50; round++) {
        mp_code_arena_opts o = {};
        o.reserve = 1 << 16;
        o.mode = MP_CODE_FLIP;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        mp_code_span s;
        ASSERT_EQ(mp_code_arena_alloc(&a, 64, &s), MP_OK);
        std::atomic<int> released{0}, freed{0}, stale{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; t++) {
            threads.emplace_back([&] {
                mp_code_span mine = s;
                mp_status st = mp_code_arena_release(&a, &mine);
                (st == MP_OK ? released : stale)++;
                mp_code_arena arena = a;
                st = mp_code_arena_free(&arena);
                (st == MP_OK ? freed : stale)++;
            });
        }
        for (auto &th : threads)
            th.join();
        EXPECT_EQ(released.load(), 1);
        EXPECT_EQ(freed.load(), 1);
        EXPECT_EQ(stale.load(), 6);
    }
    mp__race_hook = nullptr;
}

/* A span's handle copied into a page set's handle of the same layout (a
 * cast) is refused by the page set's calls without their ever holding the
 * span's slot: the arena releases its spans with plain stores (MP__KEPT,
 * runtime/registry.h), so a hold of another type, even one that changes
 * nothing, could end after the release and make the span live again. The
 * hold's window is widened to 50 ms in the other thread only, and the
 * release runs 10 ms into it. */
TEST(ArenaFault, SpanHandleOfAnotherTypeNeverHoldsTheSpan) {
    static thread_local bool slow = false;
    mp__race_hook = [] {
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    };
    mp_code_arena_opts o = {};
    o.reserve = 1 << 16;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    mp_code_span s;
    ASSERT_EQ(mp_code_arena_alloc(&a, 64, &s), MP_OK);
    Write(&s, 7);
    ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
    const mp_code_span copy = s;
    static_assert(sizeof(mp_pages_rx) == sizeof(mp_code_span), "one reference each");
    mp_pages_rx as_rx;
    std::memcpy(&as_rx, &s, sizeof as_rx);
    std::atomic<bool> started{false};
    std::thread other([&] {
        slow = true;
        started = true;
        EXPECT_EQ(mp_pages_rx_free(&as_rx), MP_ESTALE);
    });
    while (!started.load())
        std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(mp_code_arena_release(&a, &s), MP_OK);
    other.join();
    mp__race_hook = nullptr;
    EXPECT_EQ(mp_code_span_addr(&copy), nullptr) << "the released span is live again";
    binop_fn f;
    EXPECT_EQ(binop_fn_from_span(&copy, 0, &f), MP_ESTALE);
    EXPECT_EQ(Stats(&a).spans_live, 0u);
    EXPECT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* One level down: every raw system call under new, alloc, finalize and free
 * of an arena of mode failing with each error code, the statuses checked
 * against the platform's rules and the reservation balance and mapping
 * count against leaks (sys_faults::Walk). After a failure the arena's
 * statistics are as before and its code runs. */
void SysFaultWalk(mp_code_mode mode) {
    WarmUp();
    fault_install();
    size_t page = Page();
    /* A dual arena makes and gives back a dual mapping, with its rules. */
    sys_faults::Expected (*rules)(const sys_call &, int) =
        mode == MP_CODE_DUAL ? sys_faults::DualMapExpected : sys_faults::PlatformExpected;
    mp_code_arena_opts o = {};
    o.reserve = 16 * page;
    o.mode = mode;
    int faults = 0;
    for (const sys_faults::OsError &e : sys_faults::OsErrors()) {
        faults += sys_faults::Walk("new", e, [&](unsigned n) {
            mp_code_arena a = {};
            sys_fault_arm(n, e.code);
            mp_status s = mp_code_arena_new(&o, &a);
            sys_fault_disarm();
            sys_faults::CheckPlatform("new", n, e, s, mp_os_error(), rules);
            if (s == MP_OK) {
                EXPECT_EQ(mp_code_arena_free(&a), MP_OK);
            }
        });
        /* An arena whose page 0 is read-execute and empty in flip mode, so
         * that a span of three pages reopens it and commits two more; then
         * a finalize of that span; then a free. */
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        mp_code_span first;
        ASSERT_EQ(mp_code_arena_alloc(&a, 64, &first), MP_OK);
        Write(&first, 1);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        ASSERT_EQ(mp_code_arena_release(&a, &first), MP_OK);
        mp_code_stats before = Stats(&a);
        mp_code_span s = {};
        /* A successful alloc keeps its pages writable, and a successful
         * finalize makes them runnable: whether that changes the count of
         * mappings depends on the arena's neighbours (Walk). */
        faults += sys_faults::Walk("alloc", e, [&](unsigned n) {
            mp_code_span t = {};
            sys_fault_arm(n, e.code);
            mp_status st = mp_code_arena_alloc(&a, 3 * page, &t);
            sys_fault_disarm();
            sys_faults::CheckPlatform("alloc", n, e, st, mp_os_error(), rules);
            if (st == MP_OK) {
                s = t;
            } else {
                EXPECT_TRUE(SameStats(Stats(&a), before));
            }
            return st == MP_OK;
        });
        Write(&s, 4);
        before = Stats(&a);
        faults += sys_faults::Walk("finalize", e, [&](unsigned n) {
            sys_fault_arm(n, e.code);
            mp_status st = mp_code_arena_finalize(&a);
            sys_fault_disarm();
            sys_faults::CheckPlatform("finalize", n, e, st, mp_os_error(), rules);
            EXPECT_TRUE(SameStats(Stats(&a), before));
            if (st != MP_OK) Write(&s, 4); /* still writable */
            return st == MP_OK;
        });
        ExpectRuns(&s, 4);
        ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
        faults += sys_faults::Walk("free", e, [&](unsigned n) {
            mp_code_arena b;
            mp_code_span t;
            binop_fn f;
            ASSERT_EQ(mp_code_arena_new(&o, &b), MP_OK);
            ASSERT_EQ(mp_code_arena_alloc(&b, 100, &t), MP_OK);
            Write(&t, 6);
            ASSERT_EQ(mp_code_arena_finalize(&b), MP_OK);
            ASSERT_EQ(binop_fn_from_span(&t, 0, &f), MP_OK);
            mp_code_arena copy = b;
            sys_fault_arm(n, e.code);
            mp_status st = mp_code_arena_free(&copy);
            sys_fault_disarm();
            const sys_call *fired = sys_fault_fired();
            if (fired != nullptr && st == MP_OK) {
                /* The release of the bookkeeping failed after the code was
                 * gone: the library gave it up (as in ArenaFault.Free), so
                 * the test gives it back itself, from the failed call's
                 * arguments. */
                void *addr = reinterpret_cast<void *>(fired->arg[0]);
#ifdef _WIN32
                EXPECT_TRUE(VirtualFree(addr, 0, MEM_RELEASE)) << sys_faults::Describe(*fired);
#else
                EXPECT_EQ(munmap(addr, fired->arg[1]), 0) << sys_faults::Describe(*fired);
#endif
                fault_forget_reservation();
                EXPECT_FALSE(binop_fn_valid(&f));
                return;
            }
            sys_faults::CheckPlatform("free", n, e, st, mp_os_error(), rules);
            if (st != MP_OK) {
                EXPECT_TRUE(binop_fn_valid(&f));
                ExpectRuns(&t, 6);
                EXPECT_EQ(mp_code_arena_free(&b), MP_OK);
            }
            EXPECT_FALSE(binop_fn_valid(&f));
        });
    }
    EXPECT_GT(faults, 0);
    sys_fault_uninstall();
    fault_uninstall();
}

/* The raw system calls of mp_code_arena_new with opts, logged with no fault
 * armed. */
std::vector<std::string> NewCalls(const mp_code_arena_opts &o) {
    mp_code_arena a;
    sys_fault_arm(0, 0);
    EXPECT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    const sys_call *calls;
    size_t n = sys_fault_log(&calls);
    std::vector<std::string> entries;
    for (size_t i = 0; i < n; i++)
        entries.push_back(calls[i].entry);
    sys_fault_disarm();
    EXPECT_EQ(mp_code_arena_free(&a), MP_OK);
    return entries;
}

/* MP_CODE_AUTO runs mp_jit_probe (which maps and runs code) once per
 * process: after the first arena of that mode, an AUTO arena makes exactly
 * the system calls of an arena of the mode the probe chose. */
TEST(ArenaSysFault, AutoProbesOnce) {
    WarmUp();
    fault_install();
    sys_fault_install();
    mp_code_arena_opts o = {};
    o.reserve = 16 * Page();
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    mp_jit_caps caps;
    ASSERT_EQ(mp_jit_probe(&caps), MP_OK);
    mp_code_arena_opts chosen = o;
    chosen.mode = MP_HAVE_DUAL && caps.dual_mapping.works ? MP_CODE_DUAL : MP_CODE_FLIP;
    std::vector<std::string> direct = NewCalls(chosen), automatic = NewCalls(o);
    EXPECT_FALSE(direct.empty());
    EXPECT_EQ(automatic, direct) << "AUTO probed again";
    sys_fault_uninstall();
    fault_uninstall();
}

TEST(ArenaSysFault, FlipArena) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    SysFaultWalk(MP_CODE_FLIP);
}

TEST(ArenaSysFault, DualArena) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    if (!MP_HAVE_DUAL) GTEST_SKIP() << "no dual pairs in this build";
    SysFaultWalk(MP_CODE_DUAL);
}

} // namespace
