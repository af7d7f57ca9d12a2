// Every raw system call of every page-set operation is made to fail in turn
// (fault_injection.h, sys_fault_*), at each of its calls, with each error
// code of sys_faults.h: the status must be the one the platform file maps
// the code to, or the one of its documented branch; mp_os_error() must
// report the code; the object given must be unchanged (same reference, same
// generation, same contents); and no reservation or mapping may be left
// behind. Each walk requires that it injected at least one fault, except
// for the operations listed as making no system call, which must make none.
// The walk one level up, through the OS table, is pages_fault_test.cc.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "runtime/os.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"
#include "tests/internals/sys_faults.h"

namespace {

using sys_faults::CheckPlatform;
using sys_faults::Describe;
using sys_faults::OsError;
using sys_faults::OsErrors;
using sys_faults::Walk;

const unsigned kRead = MP__PROT_READ, kRW = MP__PROT_READ | MP__PROT_WRITE;

struct State {
    unsigned prot;
    const char *name;
};

// Every state this build has.
std::vector<State> States() {
    std::vector<State> states{{MP__PROT_NONE, "none"}, {kRead, "r"}, {kRW, "rw"}};
#if MP_HAVE_RX
    states.push_back({MP__PROT_READ | MP__PROT_EXEC, "rx"});
#endif
#if MP_HAVE_RWX
    states.push_back({kRW | MP__PROT_EXEC, "rwx"});
#endif
    return states;
}

const unsigned char kPattern = 0xa5;

// Makes a page set in state prot holding kPattern, with no fault armed.
mp__ref MakeFilled(unsigned prot, size_t len, const mp_pages_opts *opts = nullptr) {
    mp__ref rw{};
    EXPECT_EQ(mp__pages_new(len, opts, kRW, &rw), MP_OK);
    std::memset(mp__pages_data(&rw, kRW), kPattern, len);
    if (prot == kRW) return rw;
    mp__ref out{};
    EXPECT_EQ(mp__pages_into(&rw, kRW, prot, &out), MP_OK);
    return out;
}

// Checks that the page set ref in state prot is live at the generation ref
// holds, has len bytes that all hold kPattern except [skip_from, skip_to)
// (not read at all), and frees it. Reading a page set without read access
// moves it to r first.
void ExpectIntactAndFree(const std::string &what, mp__ref ref, unsigned prot, size_t len,
                         size_t skip_from = 0, size_t skip_to = 0) {
    ASSERT_EQ(mp__pages_len(&ref, prot), len) << what << ": the page set is not live at its "
                                              << "generation " << ref.gen << " any more";
    mp__ref r = ref;
    if (!(prot & MP__PROT_READ)) {
        ASSERT_EQ(mp__pages_into(&ref, prot, kRead, &r), MP_OK) << what;
        prot = kRead;
    }
    const auto *data = static_cast<const unsigned char *>(mp__pages_data(&r, prot));
    ASSERT_NE(data, nullptr) << what;
    for (size_t i = 0; i < len; i++) {
        if (i >= skip_from && i < skip_to) continue;
        ASSERT_EQ(data[i], kPattern) << what << ": byte " << i << " changed";
    }
    EXPECT_EQ(mp__pages_free(&r, prot), MP_OK) << what;
}

bool SameRef(const mp__ref &a, const mp__ref &b) {
    return a.slot == b.slot && a.gen == b.gen;
}

// Whether this platform can leave pages out of core dumps; where it cannot
// (Windows), no_dump is refused with MP_ENOTSUP even with no fault, so the
// walk leaves it out and says so.
bool NoDumpSupported() {
    mp_pages_opts opts{};
    opts.no_dump = true;
    mp__ref r{};
    mp_status s = mp__pages_new(1, &opts, kRW, &r);
    if (s == MP_OK) {
        EXPECT_EQ(mp__pages_free(&r, kRW), MP_OK);
    }
    return s != MP_ENOTSUP;
}

// Whether huge pages are known here (a huge page size larger than a page):
// then MP_HUGE_TRY reserves with room for alignment and trims it
// (os_posix.c trim_to_alignment), and MP_HUGE_REQUIRE asks for MAP_HUGETLB.
bool HugePagesKnown() {
    return mp__os_cfg.huge_page_size > mp_page_size();
}

class PagesSysFault : public ::testing::Test {
  protected:
    void SetUp() override {
        // The library skips the all-threads barrier (membarrier) while the
        // process has one thread; a thread started and joined once makes
        // the process count as threaded from then on (glibc keeps
        // __libc_single_threaded false), so that the walks meet membarrier.
        std::thread([] {}).join();
        // Everything the library does once per process happens now, before
        // the walks, so that every walk sees the same calls each time: the
        // registry's first slots and the membarrier registration of the first move into an
        // executable state. The mapping count's own first fopen is warmed up too.
        mp__ref warm{};
        ASSERT_EQ(mp__pages_new(1, nullptr, kRW, &warm), MP_OK);
#if MP_HAVE_RX
        mp__ref rx{};
        ASSERT_EQ(mp__pages_into(&warm, kRW, MP__PROT_READ | MP__PROT_EXEC, &rx), MP_OK);
        ASSERT_EQ(mp__pages_free(&rx, MP__PROT_READ | MP__PROT_EXEC), MP_OK);
#else
        ASSERT_EQ(mp__pages_free(&warm, kRW), MP_OK);
#endif
        (void)mappings_count();
        fault_install();
        sys_fault_install();
    }
    void TearDown() override {
        sys_fault_uninstall();
        fault_uninstall();
    }
};

// Fails unless each branch named ran at least once in this process.
void ExpectBranchesRan(const std::vector<std::string> &branches) {
    for (const auto &b : branches) {
        EXPECT_GE(sys_faults::Branches()[b], 1) << "the branch \"" << b << "\" never ran";
    }
    sys_faults::PrintBranches();
}

TEST_F(PagesSysFault, NewWithEveryOption) {
    const bool no_dump = NoDumpSupported();
    if (!no_dump) std::printf("[ note     ] no_dump is refused here (MP_ENOTSUP): left out\n");
    struct Variant {
        const char *name;
        mp_pages_opts opts;
    };
    std::vector<Variant> variants(8);
    variants[0].name = "default";
    variants[1].name = "guards";
    variants[1].opts.guard_pages_before = variants[1].opts.guard_pages_after = 2;
    variants[2].name = "huge TRY";
    variants[2].opts.huge = MP_HUGE_TRY;
    variants[3].name = "populate";
    variants[3].opts.populate = true;
    variants[4].name = "lock";
    variants[4].opts.lock = true;
    variants[5].name = "huge TRY, guards, populate, lock";
    variants[5].opts.guard_pages_before = variants[5].opts.guard_pages_after = 1;
    variants[5].opts.huge = MP_HUGE_TRY;
    variants[5].opts.populate = variants[5].opts.lock = true;
    variants[6].name = "huge NEVER";
    variants[6].opts.huge = MP_HUGE_NEVER;
    variants[7].name = "no_dump";
    variants[7].opts.no_dump = true;
    if (!no_dump) variants.pop_back();
    const size_t len = 3 * mp_page_size() + 1, rounded = 4 * mp_page_size();
#if MP_HAVE_RX && !defined(_WIN32)
    // Whether a move into an executable state calls membarrier here: not
    // where the kernel refused the registration (older kernels, qemu-user,
    // seccomp), and then there is no membarrier failure to walk.
    sys_fault_arm(0, 0);
    mp__ref probe = MakeFilled(MP__PROT_READ | MP__PROT_EXEC, 1);
    const bool membarrier_used = sys_faults::Logged("membarrier") > 0;
    ASSERT_EQ(mp__pages_free(&probe, MP__PROT_READ | MP__PROT_EXEC), MP_OK);
#endif
    int total = 0;
    for (const OsError &e : OsErrors()) {
        for (const State &st : States()) {
            for (const Variant &v : variants) {
                const std::string what = std::string("new ") + st.name + " with " + v.name;
                int injected = Walk(what, e, [&](unsigned n) {
                    mp__ref out{0xdeadbeef, 0xfeedface};
                    sys_fault_arm(n, e.code);
                    mp_status s = mp__pages_new(len, &v.opts, st.prot, &out);
                    int err = mp_os_error();
                    sys_fault_disarm();
                    CheckPlatform(what, n, e, s, err);
                    const sys_call *fired = sys_fault_fired();
                    if (fired != nullptr && std::strcmp(fired->entry, "munmap") == 0 &&
                        v.opts.huge == MP_HUGE_TRY) {
                        // Only trim_to_alignment unmaps inside new.
                        sys_faults::CountBranch("munmap of a trim in reserve fails -> mapped "
                                                "status, whole mapping given back");
                    }
                    if (s == MP_OK) {
                        EXPECT_EQ(mp__pages_len(&out, st.prot), rounded) << what;
                        EXPECT_EQ(mp__pages_free(&out, st.prot), MP_OK) << what;
                    } else {
                        EXPECT_EQ(out.slot, 0xdeadbeefu) << what << ": out was written";
                        EXPECT_EQ(out.gen, 0xfeedfaceu) << what << ": out was written";
                    }
                });
                EXPECT_GE(injected, 2)
                    << what << " with " << e << ": at least a reservation and a commit to fail";
                total += injected;
            }
        }
    }
    std::printf("[ faults   ] %d injected into new\n", total);
    std::vector<std::string> required;
#ifndef _WIN32
#ifdef MADV_POPULATE_WRITE
    required.push_back("madvise(MADV_POPULATE_WRITE) EINVAL -> touching pages");
#endif
    if (HugePagesKnown()) {
        required.push_back("madvise(MADV_HUGEPAGE) hint failure ignored");
        required.push_back("munmap of a trim in reserve fails -> mapped status, whole mapping "
                           "given back");
    } else {
        std::printf("[ note     ] no huge page size here: no MADV_HUGEPAGE hint or trim to walk\n");
    }
#if MP_HAVE_RX
    if (membarrier_used) {
        required.push_back("membarrier failure is silent");
    } else {
        std::printf("[ note     ] membarrier SYNC_CORE is unavailable here (refused at "
                    "registration): no membarrier call to fail\n");
    }
#endif
#else
    required.push_back("VirtualAlloc(MEM_RESERVE) ERROR_INVALID_PARAMETER -> MP_ENOMEM");
#if MP_HAVE_RX
    required.push_back("FlushInstructionCache failure ignored (flush_icache cannot fail)");
#endif
#endif
    ExpectBranchesRan(required);
}

// MP_HUGE_REQUIRE asks for MAP_HUGETLB in its first raw call; EINVAL there
// means no huge pages of that size (MP_ENOTSUP). Only that first call is
// failed: with no fault the call may fail anyway, when the huge page pool
// is empty, so the rest of the walk depends on the machine.
TEST_F(PagesSysFault, NewHugeRequireFirstCall) {
    if (!HugePagesKnown()) {
        GTEST_SKIP() << "no huge page size on this system (os_posix.c reads none from "
                        "/proc/meminfo; Windows reports none): MP_HUGE_REQUIRE makes no call";
    }
    mp_pages_opts opts{};
    opts.huge = MP_HUGE_REQUIRE;
    for (const OsError &e : OsErrors()) {
        const std::string what = std::string("new rw with huge REQUIRE, ") + e.name;
        const long reservations = fault_reservations();
        mp__ref out{0xdeadbeef, 0xfeedface};
        sys_fault_arm(1, e.code);
        mp_status s = mp__pages_new(1, &opts, kRW, &out);
        int err = mp_os_error();
        sys_fault_disarm();
        const sys_call *fired = sys_fault_fired();
        ASSERT_NE(fired, nullptr) << what << ": no raw call";
        ASSERT_STREQ(fired->entry, "mmap") << what;
        CheckPlatform(what, 1, e, s, err);
        EXPECT_EQ(out.slot, 0xdeadbeefu) << what;
        EXPECT_EQ(fault_reservations(), reservations) << what;
    }
#ifdef MAP_HUGETLB
    ExpectBranchesRan({"mmap(MAP_HUGETLB) EINVAL -> MP_ENOTSUP"});
#endif
}

TEST_F(PagesSysFault, EveryTransition) {
    const size_t len = 2 * mp_page_size();
    int total = 0;
    for (const OsError &e : OsErrors()) {
        for (const State &from : States()) {
            for (const State &to : States()) {
                if (from.prot == to.prot) continue;
                const std::string what = std::string("into ") + from.name + " -> " + to.name;
                int injected = Walk(what, e, [&](unsigned n) {
                    mp__ref h = MakeFilled(from.prot, len);
                    const mp__ref before = h;
                    mp__ref out{0xdeadbeef, 0xfeedface};
                    sys_fault_arm(n, e.code);
                    mp_status s = mp__pages_into(&h, from.prot, to.prot, &out);
                    int err = mp_os_error();
                    sys_fault_disarm();
                    CheckPlatform(what, n, e, s, err);
                    if (s == MP_OK) {
                        EXPECT_EQ(mp__pages_len(&h, from.prot), 0u) << what << ": from still live";
                        ExpectIntactAndFree(what + " (after)", out, to.prot, len);
                    } else {
                        EXPECT_EQ(out.slot, 0xdeadbeefu) << what << ": to was written";
                        EXPECT_TRUE(SameRef(h, before)) << what << ": from changed";
                        ExpectIntactAndFree(what, h, from.prot, len);
                    }
                });
                EXPECT_GE(injected, 1) << what << " with " << e << ": a protection change";
                total += injected;
            }
        }
    }
    std::printf("[ faults   ] %d injected into transitions\n", total);
}

TEST_F(PagesSysFault, Free) {
    int total = 0;
    for (const OsError &e : OsErrors()) {
        for (const State &st : States()) {
            const std::string what = std::string("free ") + st.name;
            int injected = Walk(what, e, [&](unsigned n) {
                mp__ref h = MakeFilled(st.prot, mp_page_size());
                const mp__ref before = h;
                sys_fault_arm(n, e.code);
                mp_status s = mp__pages_free(&h, st.prot);
                int err = mp_os_error();
                sys_fault_disarm();
                CheckPlatform(what, n, e, s, err);
                if (s != MP_OK) {
                    EXPECT_TRUE(SameRef(h, before)) << what << ": the handle changed";
                    ExpectIntactAndFree(what, h, st.prot, mp_page_size());
                } else {
                    EXPECT_EQ(mp__pages_len(&h, st.prot), 0u) << what << ": still live";
                }
            });
            EXPECT_EQ(injected, 1) << what << " with " << e << ": one release";
            total += injected;
        }
    }
    std::printf("[ faults   ] %d injected into free\n", total);
}

TEST_F(PagesSysFault, Advise) {
    const size_t len = 2 * mp_page_size();
    const struct {
        mp_advice advice;
        const char *name;
    } advices[] = {{MP_ADVICE_NORMAL, "NORMAL"},
                   {MP_ADVICE_SEQUENTIAL, "SEQUENTIAL"},
                   {MP_ADVICE_RANDOM, "RANDOM"},
                   {MP_ADVICE_WILLNEED, "WILLNEED"}};
    int total = 0;
    for (const OsError &e : OsErrors()) {
        for (const State &st : States()) {
            for (const auto &a : advices) {
                const std::string what = std::string("advise ") + st.name + " " + a.name;
#ifdef _WIN32
                // os_windows.c: only WILLNEED has a Windows counterpart
                // (PrefetchVirtualMemory); the others make no system call.
                const bool calls = a.advice == MP_ADVICE_WILLNEED;
#else
                const bool calls = true;
#endif
                int injected = Walk(what, e, [&](unsigned n) {
                    mp__ref h = MakeFilled(st.prot, len);
                    const mp__ref before = h;
                    sys_fault_arm(n, e.code);
                    mp_status s = mp__pages_advise(&h, st.prot, 1, len - 2, a.advice);
                    int err = mp_os_error();
                    sys_fault_disarm();
                    CheckPlatform(what, n, e, s, err);
                    EXPECT_TRUE(SameRef(h, before)) << what << ": the handle changed";
                    ExpectIntactAndFree(what, h, st.prot, len);
                });
                if (calls) {
                    EXPECT_EQ(injected, 1) << what << " with " << e << ": one madvise";
                } else {
                    EXPECT_EQ(injected, 0) << what << " with " << e << ": listed as no call";
                }
                total += injected;
            }
        }
    }
    std::printf("[ faults   ] %d injected into advise\n", total);
}

TEST_F(PagesSysFault, Discard) {
    const size_t page = mp_page_size(), len = 4 * page;
    // Whole pages [page, 3 * page) go back to the OS; the half pages around
    // them are zeroed in place.
    const size_t offset = page / 2, count = 2 * page + page / 2 + page / 2;
    int total = 0;
    for (const OsError &e : OsErrors()) {
        const std::string what = "discard";
        int injected = Walk(what, e, [&](unsigned n) {
            mp__ref h = MakeFilled(kRW, len);
            const mp__ref before = h;
            sys_fault_arm(n, e.code);
            mp_status s = mp__pages_discard(&h, kRW, offset, count);
            int err = mp_os_error();
            sys_fault_disarm();
            sys_faults::Expected want = CheckPlatform(what, n, e, s, err);
            (void)want;
            EXPECT_TRUE(SameRef(h, before)) << what << ": the handle changed";
            if (s == MP_OK) {
                const auto *data = static_cast<const unsigned char *>(mp__pages_data(&h, kRW));
                for (size_t i = 0; i < len; i++) {
                    const bool zero = i >= offset && i < offset + count;
                    ASSERT_EQ(data[i], zero ? 0 : kPattern) << what << ": byte " << i;
                }
                EXPECT_EQ(mp__pages_free(&h, kRW), MP_OK);
                return;
            }
#ifdef _WIN32
            const sys_call *fired = sys_fault_fired();
            if (fired != nullptr && std::strcmp(fired->entry, "VirtualAlloc") == 0) {
                // os_windows.c, documented in docs/security.md: the range was
                // decommitted and could not be committed again, so its whole
                // pages stay reserved with no access; the rest is unchanged.
                sys_faults::CountBranch("discard: recommit fails, the range stays reserved");
                ExpectIntactAndFree(what, h, kRW, len, page, 3 * page);
                return;
            }
#endif
            ExpectIntactAndFree(what, h, kRW, len);
        });
#ifdef _WIN32
        EXPECT_EQ(injected, 2) << what << " with " << e << ": decommit and commit";
#else
        EXPECT_EQ(injected, 1) << what << " with " << e << ": one madvise";
#endif
        total += injected;
    }
    std::printf("[ faults   ] %d injected into discard\n", total);
}

// The operations that make no system call, listed so that a walk of them
// is required to inject nothing: discarding less than a page (zeroed in
// place), and discarding in a locked page set (zeroed, so that it stays
// resident as the lock asked).
TEST_F(PagesSysFault, OperationsWithoutSystemCalls) {
    const size_t page = mp_page_size();
    mp_pages_opts locked{};
    locked.lock = true;
    struct Case {
        const char *what;
        const mp_pages_opts *opts;
        size_t offset, count;
    } cases[] = {{"discard inside one page", nullptr, 1, page - 2},
                 {"discard in a locked page set", &locked, 0, 2 * page}};
    for (const auto &c : cases) {
        for (const OsError &e : OsErrors()) {
            mp__ref h = MakeFilled(kRW, 2 * page, c.opts);
            const mp__ref before = h;
            sys_fault_arm(1, e.code);
            mp_status s = mp__pages_discard(&h, kRW, c.offset, c.count);
            sys_fault_disarm();
            const sys_call *calls;
            EXPECT_EQ(sys_fault_log(&calls), 0u) << c.what << " made a system call";
            EXPECT_EQ(sys_fault_fired(), nullptr) << c.what;
            EXPECT_EQ(s, MP_OK) << c.what;
            EXPECT_TRUE(SameRef(h, before)) << c.what;
            ExpectIntactAndFree(c.what, h, kRW, 2 * page, c.offset, c.offset + c.count);
        }
    }
}

} // namespace
