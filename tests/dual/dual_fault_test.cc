// Failures of the dual mapping, over the fault-injection runtime: every raw
// system call of mp_pages_dual_new, _into_rx, _free and _sync failing with
// each error code (the walk of tests/internals/sys_faults.h), the refusals
// of vm.memfd_noexec and SELinux simulated at the calls that meet them, the
// OS table failing under each call with nothing changed afterwards, and
// threads consuming copies of one pair with the race window widened.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/dual/dual_fault_fns.h"
#include "tests/fn_ref/test_code.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"
#include "tests/internals/sys_faults.h"

// The hook of the fault-injection runtime (runtime/registry.c): called by
// mp__slot_hold right after a call wins a slot.
extern "C" void (*volatile mp__race_hook)(void);

namespace {

using sys_faults::Expected;
using sys_faults::OsError;

size_t Page() {
    return mp_page_size();
}

/* Makes the registry's first chunk of slots, whose OS calls would otherwise
 * land in the first walk. */
void WarmUp() {
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(1, &p), MP_OK);
    ASSERT_EQ(mp_pages_dual_free(&p), MP_OK);
}

/* Checks an armed operation's status against sys_faults::DualMapExpected. */
Expected Check(const std::string &what, unsigned n, const OsError &e, mp_status got) {
    const int os_error = mp_os_error();
    const sys_call *fired = sys_fault_fired();
    if (fired == nullptr) {
        EXPECT_EQ(got, MP_OK) << what << ": with no raw call failing (" << n - 1 << " calls)";
        return {MP_OK, ""};
    }
    Expected want = sys_faults::DualMapExpected(*fired, e.code);
    EXPECT_EQ(got, want.status) << what << ", " << sys_faults::Describe(*fired) << " failing with "
                                << e << (want.branch.empty() ? "" : ": branch " + want.branch);
    if (got != MP_OK && want.status != MP_OK) {
        EXPECT_EQ(os_error, e.code) << what << ": mp_os_error() after "
                                    << sys_faults::Describe(*fired) << " failed with " << e;
    }
    sys_faults::CountBranch(want.branch);
    return want;
}

/* Whether p is a live pair of len bytes whose views share their memory. */
void ExpectLivePair(const mp_pages_dual &p, size_t len, const std::string &where) {
    mp_pages_dual copy = p;
    ASSERT_EQ(mp_pages_dual_len(&copy), len) << where;
    uint8_t *rw = mp_pages_dual_data_mut(&copy);
    ASSERT_NE(rw, nullptr) << where;
    rw[len - 1] ^= 0x5A;
    EXPECT_EQ(mp_pages_dual_code(&copy)[len - 1], rw[len - 1]) << where;
    rw[len - 1] ^= 0x5A;
}

class DualSysFault : public ::testing::Test {
  protected:
    void SetUp() override {
        WarmUp();
        fault_install(); // keeps the reservation balance for the walk
    }
    void TearDown() override {
        sys_fault_uninstall();
        fault_uninstall();
    }
};

TEST_F(DualSysFault, New) {
    // Windows has neither guard pages around views nor no_dump
    // (os_windows.c): populate alone there.
    mp_pages_opts with_opts = {};
    with_opts.populate = true;
#ifndef _WIN32
    with_opts.guard_pages_before = 1;
    with_opts.guard_pages_after = 1;
    with_opts.no_dump = true;
#endif
    struct Case {
        const char *name;
        const mp_pages_opts *opts;
    };
    const Case cases[] = {{"new", nullptr}, {"new_opts", &with_opts}};
    int faults = 0;
    for (const Case &c : cases) {
        for (const OsError &e : sys_faults::OsErrors()) {
            faults += sys_faults::Walk(c.name, e, [&](unsigned n) {
                mp_pages_dual p;
                std::memset(&p, 0xEE, sizeof p);
                sys_fault_arm(n, e.code);
                mp_status s = mp_pages_dual_new_opts(3 * Page(), c.opts, &p);
                sys_fault_disarm();
                Check(c.name, n, e, s);
                if (s == MP_OK) {
                    ExpectLivePair(p, 3 * Page(), c.name);
                    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
                } else {
                    mp_pages_dual untouched;
                    std::memset(&untouched, 0xEE, sizeof untouched);
                    EXPECT_EQ(std::memcmp(&p, &untouched, sizeof p), 0)
                        << "*out written on failure";
                }
            });
        }
    }
    EXPECT_GT(faults, 0);
}

TEST_F(DualSysFault, IntoRxFreeAndSync) {
    int faults = 0;
    for (const OsError &e : sys_faults::OsErrors()) {
        faults += sys_faults::Walk("into_rx", e, [&](unsigned n) {
            mp_pages_dual p;
            ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
            const uint8_t *code = mp_pages_dual_code(&p);
            const mp_pages_dual copy = p;
            const_fn f;
            ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
            mp_pages_rx rx;
            sys_fault_arm(n, e.code);
            mp_status s = mp_pages_dual_into_rx(&p, &rx);
            sys_fault_disarm();
            Check("into_rx", n, e, s);
            if (s == MP_OK) {
                EXPECT_EQ(mp_pages_rx_data(&rx), code);
                EXPECT_FALSE(const_fn_valid(&f));
                EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
            } else {
                // Nothing changed: the pair, its copy and the reference live.
                ExpectLivePair(copy, Page(), "after a failed into_rx");
                EXPECT_TRUE(const_fn_valid(&f));
                EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
            }
        });
        faults += sys_faults::Walk("free", e, [&](unsigned n) {
            mp_pages_dual p;
            ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
            const mp_pages_dual copy = p;
            sys_fault_arm(n, e.code);
            mp_status s = mp_pages_dual_free(&p);
            sys_fault_disarm();
            Check("free", n, e, s);
            if (s != MP_OK) {
                ExpectLivePair(copy, Page(), "after a failed free");
                EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
            }
        });
        faults += sys_faults::Walk("free of the rx it left", e, [&](unsigned n) {
            mp_pages_dual p;
            ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
            mp_pages_rx rx;
            ASSERT_EQ(mp_pages_dual_into_rx(&p, &rx), MP_OK);
            sys_fault_arm(n, e.code);
            mp_status s = mp_pages_rx_free(&rx);
            sys_fault_disarm();
            Check("free of the rx it left", n, e, s);
            if (s != MP_OK) {
                EXPECT_EQ(mp_pages_rx_len(&rx), Page());
                EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
            }
        });
        faults += sys_faults::Walk("sync", e, [&](unsigned n) {
            mp_pages_dual p;
            ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
            sys_fault_arm(n, e.code);
            mp_status s = mp_pages_dual_sync(&p, 0, Page());
            sys_fault_disarm();
            Check("sync", n, e, s);
            EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
        });
    }
    // sync makes no call that can fail; the others do.
    EXPECT_GT(faults, 0);
}

TEST(DualSysFaultBranches, EveryDocumentedBranchRan) {
    // After the walks above (GoogleTest runs the tests of a file in order).
    const auto &b = sys_faults::Branches();
#ifdef _WIN32
    EXPECT_GT(b.count("CloseHandle of the section failure ignored"), 0u);
    EXPECT_GT(b.count("second UnmapViewOfFile of dual_release ignored"), 0u);
#else
    EXPECT_GT(b.count("memfd_create EINVAL -> again without MFD_EXEC"), 0u);
    EXPECT_GT(b.count("close of the memfd failure ignored"), 0u);
#endif
    sys_faults::PrintBranches();
}

#ifndef _WIN32
/* Runs mp_pages_dual_new with the first raw call of entry that satisfies
 * pick failing with code; returns the status, and the call in *fired. */
mp_status NewWithFailing(const char *entry, std::function<bool(const sys_call &)> pick, int code,
                         sys_call *fired) {
    // Find the call's number from a run with nothing failing.
    sys_fault_arm(1000, code);
    mp_pages_dual p;
    EXPECT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    const sys_call *log;
    size_t count = sys_fault_log(&log);
    unsigned nth = 0;
    for (size_t i = 0; i < count && nth == 0; i++) {
        if (std::strcmp(log[i].entry, entry) == 0 && pick(log[i]))
            nth = static_cast<unsigned>(i + 1);
    }
    sys_fault_disarm();
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
    EXPECT_NE(nth, 0u) << "no " << entry << " call to fail";
    if (nth == 0) return MP_OK;
    const int maps = mappings_count();
    const long reservations = fault_reservations();
    sys_fault_arm(nth, code);
    mp_status s = mp_pages_dual_new(Page(), &p);
    sys_fault_disarm();
    EXPECT_NE(sys_fault_fired(), nullptr);
    if (sys_fault_fired() != nullptr) *fired = *sys_fault_fired();
    EXPECT_EQ(fault_reservations(), reservations) << "a view leaked";
    const char *why;
    if (mappings_count_is_exact(&why)) {
        EXPECT_EQ(mappings_count(), maps) << "a mapping leaked";
    }
    if (s == MP_OK) {
        EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
    }
    return s;
}

TEST_F(DualSysFault, MemfdNoexecRefusalIsEacces) {
    // vm.memfd_noexec=2 (Linux 6.3+) refuses a memfd that asks for MFD_EXEC
    // with EACCES.
    sys_call fired;
    EXPECT_EQ(NewWithFailing(
                  "memfd_create", [](const sys_call &c) { return (c.arg[0] & 0x10u) != 0; }, EACCES,
                  &fired),
              MP_EACCES);
    EXPECT_EQ(mp_os_error(), EACCES);
    EXPECT_STREQ(fired.entry, "memfd_create");
}

TEST_F(DualSysFault, ExecutableSharedMappingRefusedIsEacces) {
    // A sealed-noexec memfd, or SELinux's execmem/execmod policy, refuses the
    // PROT_EXEC mapping with EPERM or EACCES.
    for (int code : {EPERM, EACCES}) {
        sys_call fired;
        EXPECT_EQ(NewWithFailing(
                      "mmap", [](const sys_call &c) { return (c.arg[2] & PROT_EXEC) != 0; }, code,
                      &fired),
                  MP_EACCES);
        EXPECT_EQ(mp_os_error(), code);
        EXPECT_NE(fired.arg[2] & PROT_EXEC, 0u);
    }
}

TEST_F(DualSysFault, NoMemfdCreateIsEnotsup) {
    // A kernel before 3.17, or an emulator that hides the call.
    sys_call fired;
    EXPECT_EQ(NewWithFailing(
                  "memfd_create", [](const sys_call &) { return true; }, ENOSYS, &fired),
              MP_ENOTSUP);
    EXPECT_EQ(mp_os_error(), ENOSYS);
}
#endif

// One level up: each entry of the OS table failing under each call; a
// failed call changes nothing.
TEST(DualOsFault, EveryOsCallFailingChangesNothing) {
    WarmUp();
    fault_install();
    int fired_count = 0;
    for (unsigned n = 1; n < 20; n++) {
        const long reservations = fault_reservations();
        mp_pages_opts opts = {};
        opts.populate = true;
        mp_pages_dual p;
        fault_arm(n, MP_ENOMEM, ENOMEM);
        mp_status s = mp_pages_dual_new_opts(Page(), &opts, &p);
        const char *fired = fault_fired();
        fault_disarm();
        if (fired == nullptr) {
            ASSERT_EQ(s, MP_OK);
            EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
            EXPECT_EQ(fault_reservations(), reservations);
            break;
        }
        fired_count++;
        EXPECT_EQ(s, MP_ENOMEM) << fired;
        EXPECT_EQ(fault_reservations(), reservations) << "leaked, " << fired << " failing";
    }
    for (const char *op : {"into_rx", "free"}) {
        mp_pages_dual p;
        ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
        const mp_pages_dual copy = p;
        const_fn f;
        ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
        fault_arm(1, MP_EOS, EINVAL);
        mp_pages_rx rx;
        mp_status s =
            std::strcmp(op, "free") == 0 ? mp_pages_dual_free(&p) : mp_pages_dual_into_rx(&p, &rx);
        const char *fired = fault_fired();
        fault_disarm();
        ASSERT_NE(fired, nullptr) << op;
        fired_count++;
        EXPECT_STREQ(fired, std::strcmp(op, "free") == 0 ? "dual_release" : "dual_unmap");
        EXPECT_EQ(s, MP_EOS) << op;
        ExpectLivePair(copy, Page(), op);
        EXPECT_TRUE(const_fn_valid(&f)) << op;
        EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
    }
    fault_uninstall();
    EXPECT_GE(fired_count, 3);
}

// Threads consuming copies of one pair with the window in which the winner
// holds the slot widened: every loser waits it out and gets MP_ESTALE.
constexpr int kThreads = 4;
thread_local bool t_racing = false;
std::atomic<long> delays{0};

/* 500 us natively; 20 ms where a sanitizer or valgrind runs the process
 * (mappings_count_is_exact is false there), whose threads wake slowly. */
std::chrono::microseconds Window() {
    const char *why;
    return std::chrono::microseconds(mappings_count_is_exact(&why) ? 500 : 20000);
}

void Widen() {
    if (!t_racing) return;
    delays.fetch_add(1);
    static const std::chrono::microseconds window = Window();
    std::this_thread::sleep_for(window);
}

TEST(DualRace, ExactlyOneConsumerWins) {
    WarmUp();
    // The exact leak check: the balance of views mapped and given back (the
    // count of mappings moves with the stacks the C library keeps for
    // threads).
    fault_install();
    const long reservations = fault_reservations();
    mp__race_hook = &Widen;
    const int rounds = 40;
    int raced = 0;
    for (int round = 0; round < rounds; round++) {
        mp_pages_dual p;
        ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
        const_fn f;
        ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
        std::atomic<int> ready{0};
        mp_status got[kThreads];
        mp_pages_rx rx[kThreads];
        std::vector<std::thread> threads;
        const long delays_before = delays.load();
        for (int i = 0; i < kThreads; i++) {
            threads.emplace_back([&, i] {
                mp_pages_dual copy = p;
                ready.fetch_add(1);
                while (ready.load() < kThreads) {
                }
                t_racing = true;
                got[i] = (i + round) % 2 ? mp_pages_dual_free(&copy)
                                         : mp_pages_dual_into_rx(&copy, &rx[i]);
                t_racing = false;
            });
        }
        for (std::thread &t : threads)
            t.join();
        if (delays.load() - delays_before > 0) raced++;
        int wins = 0;
        for (int i = 0; i < kThreads; i++) {
            if (got[i] == MP_OK) {
                wins++;
                if ((i + round) % 2 == 0) {
                    EXPECT_EQ(mp_pages_rx_free(&rx[i]), MP_OK);
                }
            } else {
                EXPECT_EQ(got[i], MP_ESTALE) << "round " << round << ", thread " << i;
            }
        }
        EXPECT_EQ(wins, 1) << "round " << round;
        EXPECT_FALSE(const_fn_valid(&f));
        EXPECT_EQ(mp_pages_dual_len(&p), 0u);
    }
    mp__race_hook = nullptr;
    std::printf("[ race     ] dual: %d rounds of %d threads, %d with the window widened\n", rounds,
                kThreads, raced);
    EXPECT_EQ(raced, rounds);
    EXPECT_EQ(fault_reservations(), reservations) << "views leaked or given back twice";
    fault_uninstall();
}

} // namespace
