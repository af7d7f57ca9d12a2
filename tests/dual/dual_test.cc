// The dual mapping (shared/API.md section 8): code written through the
// read-write view runs from the read-execute view, rewritten and synced it
// runs the new code, no mapping is ever writable and executable, a fork
// child has no writable view, and every handle and function reference goes
// stale exactly when section 3 says. Builds with allow_exec and
// allow_dual_map only (--config=dual).
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifndef _WIN32
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "memory_pages/memory_pages.h"
#include "tests/dual/dual_fns.h"
#include "tests/fn_ref/test_code.h"
#include "tests/support/fault.h"
#include "tests/support/memory_facts.h"

namespace {

using mp_test::Code;

#define SKIP_WITHOUT_CODE()                                                                        \
    if (!mp_test::kHaveCode) GTEST_SKIP() << "no test code for this architecture"

size_t Page() {
    return mp_page_size();
}

/* Whether the test runs under qemu-user (toolchains/run_qemu_aarch64 says
 * so in MP_TEST_EMULATOR), which executes the guest's code from a cache of
 * translations that it invalidates by watching writes to the code's own
 * address, not to another mapping of the same memory, and which does not
 * pass madvise advice such as MADV_DONTFORK on to the kernel. */
bool UnderQemuUser() {
    const char *emulator = std::getenv("MP_TEST_EMULATOR");
    return emulator != nullptr && std::strcmp(emulator, "qemu-user") == 0;
}

/* Writes code at offset through the read-write view and syncs it. */
void WriteCode(mp_pages_dual *p, size_t offset, const Code &code) {
    std::memcpy(mp_pages_dual_data_mut(p) + offset, code.data(), code.size());
    ASSERT_EQ(mp_pages_dual_sync(p, offset, code.size()), MP_OK);
}

/* Calls a const_fn and returns its result, or -1 when the call is refused. */
int32_t CallConst(const const_fn *f) {
    int32_t v = -1;
    return const_fn_call(f, &v) == MP_OK ? v : -1;
}

#if defined(__linux__) || defined(_WIN32)
/* Whether the test can see the process's mappings (tests/support:
 * /proc/self/maps on Linux, VirtualQuery on Windows). */
constexpr bool kSeesMappings = true;

/* Fails the test if any mapping of the process is writable and executable,
 * naming the step. */
void ExpectNoWx(const char *step) {
    std::vector<std::string> wx;
    ASSERT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    EXPECT_TRUE(wx.empty()) << step << ": " << (wx.empty() ? "" : wx[0]);
}

/* The access of the mapping holding addr, as "rwx" letters ("---" if none). */
std::string AccessAt(const void *addr) {
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) return "?";
    const mp_test::Mapping *m = mp_test::FindMapping(maps, addr);
    if (m == nullptr) return "unmapped";
    return std::string(m->read ? "r" : "-") + (m->write ? "w" : "-") + (m->exec ? "x" : "-");
}
#else
constexpr bool kSeesMappings = false;
void ExpectNoWx(const char *) {}
std::string AccessAt(const void *) {
    return "?";
}
#endif

/* Guard pages around the views of a pair, where the platform has them:
 * Windows maps the views of a section with no room for them (MP_ENOTSUP,
 * GuardPagesFaultAroundBothViews). */
#ifdef _WIN32
constexpr size_t kGuardBefore = 0, kGuardAfter = 0;
#else
constexpr size_t kGuardBefore = 1, kGuardAfter = 2;
#endif

TEST(Dual, TwoViewsOfOneMemory) {
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(100, &p), MP_OK);
    EXPECT_EQ(mp_pages_dual_len(&p), Page());
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    const uint8_t *rx = mp_pages_dual_code(&p);
    ASSERT_NE(rw, nullptr);
    ASSERT_NE(rx, nullptr);
    EXPECT_NE(static_cast<const void *>(rw), static_cast<const void *>(rx));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(rw) % Page(), 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(rx) % Page(), 0u);
    for (size_t i = 0; i < Page(); i++)
        ASSERT_EQ(rx[i], 0) << "fresh memory reads as zeros, at " << i;
    rw[0] = 0x5A;
    rw[Page() - 1] = 0xA5;
    EXPECT_EQ(rx[0], 0x5A) << "one memory: what the rw view writes, the rx view reads";
    EXPECT_EQ(rx[Page() - 1], 0xA5);
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(Dual, WriteThroughOneViewRunThroughTheOther) {
    SKIP_WITHOUT_CODE();
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(2 * Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(7));
    const size_t far = Page() + 32;
    WriteCode(&p, far, mp_test::ConstCode(11));
    const_fn f, g;
    ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
    ASSERT_EQ(const_fn_from_dual(&p, far, &g), MP_OK);
    EXPECT_EQ(CallConst(&f), 7);
    EXPECT_EQ(CallConst(&g), 11);
    if (UnderQemuUser()) {
        EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
        GTEST_SKIP() << "qemu-user does not see code rewritten through the other view (its "
                        "translation cache watches writes to the code's own address)";
    }

    // Rewritten and synced, the same reference runs the new code: _sync is
    // not a state change.
    WriteCode(&p, 0, mp_test::ConstCode(8));
    EXPECT_TRUE(const_fn_valid(&f));
    EXPECT_EQ(CallConst(&f), 8);
    for (int32_t k = 100; k < 140; k++) {
        WriteCode(&p, far, mp_test::ConstCode(k));
        ASSERT_EQ(CallConst(&g), k);
    }
    // The references point into the read-execute view.
    add_fn add;
    std::memcpy(mp_pages_dual_data_mut(&p), mp_test::AddCode().data(), mp_test::AddCode().size());
    ASSERT_EQ(mp_pages_dual_sync(&p, 0, Page()), MP_OK);
    ASSERT_EQ(add_fn_from_dual(&p, 0, &add), MP_OK);
    int64_t sum = 0;
    ASSERT_EQ(add_fn_call(&add, 40, 2, &sum), MP_OK);
    EXPECT_EQ(sum, 42);
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(Dual, NoMappingIsWritableAndExecutableAtAnyStep) {
    if (!kSeesMappings) GTEST_SKIP() << "not Linux or Windows: no list of mappings to check";
    ExpectNoWx("before");
    mp_pages_opts opts = {};
    opts.guard_pages_before = kGuardBefore;
    opts.guard_pages_after = kGuardAfter;
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new_opts(3 * Page(), &opts, &p), MP_OK);
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    const uint8_t *rx = mp_pages_dual_code(&p);
    ExpectNoWx("new");
    EXPECT_EQ(AccessAt(rw), "rw-");
    EXPECT_EQ(AccessAt(rw + 3 * Page() - 1), "rw-");
    EXPECT_EQ(AccessAt(rx), "r-x");
    EXPECT_EQ(AccessAt(rx + 3 * Page() - 1), "r-x");
    if (kGuardBefore > 0) {
        EXPECT_EQ(AccessAt(rw - 1), "---") << "guard page before the rw view";
        EXPECT_EQ(AccessAt(rw + 3 * Page()), "---") << "guard page after the rw view";
        EXPECT_EQ(AccessAt(rx - 1), "---") << "guard page before the rx view";
        EXPECT_EQ(AccessAt(rx + 3 * Page() + kGuardAfter * Page() - 1), "---");
    }
    std::memset(rw, 0xC3, 3 * Page());
    ExpectNoWx("write");
    ASSERT_EQ(mp_pages_dual_sync(&p, 0, 3 * Page()), MP_OK);
    ExpectNoWx("sync");
    mp_pages_rx code;
    ASSERT_EQ(mp_pages_dual_into_rx(&p, &code), MP_OK);
    ExpectNoWx("into_rx");
    EXPECT_EQ(AccessAt(rw), "unmapped") << "into_rx gives the rw view back";
    EXPECT_EQ(AccessAt(rx), "r-x");
    EXPECT_EQ(mp_pages_rx_free(&code), MP_OK);
    ExpectNoWx("free");
    EXPECT_EQ(AccessAt(rx), "unmapped");
}

TEST(Dual, FreeGivesBothViewsAndTheirGuardsBack) {
    if (!kSeesMappings) GTEST_SKIP() << "not Linux or Windows: no list of mappings to check";
    mp_pages_opts opts = {};
    opts.guard_pages_before = 2 * kGuardBefore;
    opts.guard_pages_after = kGuardBefore;
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new_opts(Page(), &opts, &p), MP_OK);
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    const uint8_t *rx = mp_pages_dual_code(&p);
    EXPECT_EQ(AccessAt(rw), "rw-");
    EXPECT_EQ(AccessAt(rx), "r-x");
    ASSERT_EQ(mp_pages_dual_free(&p), MP_OK);
    for (const uint8_t *a : {static_cast<const uint8_t *>(rw), rx}) {
        EXPECT_EQ(AccessAt(a - opts.guard_pages_before * Page()), "unmapped");
        EXPECT_EQ(AccessAt(a), "unmapped");
        EXPECT_EQ(AccessAt(a + opts.guard_pages_after * Page()), "unmapped");
    }
}

TEST(DualDeathTest, TheCodeViewIsNotWritableAndTheDataViewNotExecutable) {
    SKIP_WITHOUT_CODE();
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(5));
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    uint8_t *rx = const_cast<uint8_t *>(mp_pages_dual_code(&p));
    // The controls: the rw view takes writes, the rx view runs.
    mp_test::WriteByte(rw + 100, 1);
    const_fn f;
    ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
    EXPECT_EQ(CallConst(&f), 5);
    MP_EXPECT_FAULT(mp_test::WriteByte(rx + 100, 1));
    auto run_rw = reinterpret_cast<int32_t (*)(void)>(reinterpret_cast<uintptr_t>(rw));
    MP_EXPECT_FAULT((void)run_rw());
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(DualDeathTest, GuardPagesFaultAroundBothViews) {
    mp_pages_opts opts = {};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    mp_pages_dual p;
    const mp_status s = mp_pages_dual_new_opts(Page(), &opts, &p);
#ifdef _WIN32
    // os_windows.c: views have no room for guard pages there.
    EXPECT_EQ(s, MP_ENOTSUP);
    GTEST_SKIP() << "windows does not have guard pages around views of a section";
#endif
    ASSERT_EQ(s, MP_OK);
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    const uint8_t *rx = mp_pages_dual_code(&p);
    MP_EXPECT_FAULT(mp_test::ReadByte(rw - 1));
    MP_EXPECT_FAULT(mp_test::ReadByte(rw + Page()));
    MP_EXPECT_FAULT(mp_test::ReadByte(rx - 1));
    MP_EXPECT_FAULT(mp_test::ReadByte(rx + Page()));
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

#ifndef _WIN32
TEST(Dual, AForkChildHasNoWritableView) {
    SKIP_WITHOUT_CODE();
    if (UnderQemuUser()) GTEST_SKIP() << "qemu-user does not pass MADV_DONTFORK on to the kernel";
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(3));
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    const uint8_t *rx = mp_pages_dual_code(&p);

    // A child writing through the parent's rw view dies of the fault: the
    // view is not mapped in the child (MADV_DONTFORK).
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        mp_test::PrepareForFault();
        mp_test::WriteByte(rw, 0xCC);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS))
        << "the child wrote through the parent's writable view (status " << status << ")";

    // A child may still run the code (the rx view is inherited like any
    // code), and it sees no rw mapping at the address at all.
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const_fn f;
        int ok = const_fn_from_dual(&p, 0, &f) == MP_OK && CallConst(&f) == 3 &&
                 msync(rw, Page(), MS_ASYNC) != 0 && errno == ENOMEM;
        _exit(ok ? 0 : 1);
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the child could not run the code, or had a mapping at the rw view";

    // The parent's code is unchanged and its rw view still works.
    EXPECT_EQ(rx[0], mp_test::ConstCode(3)[0]);
    rw[Page() - 1] = 1;
    EXPECT_EQ(rx[Page() - 1], 1);
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}
#endif

TEST(Dual, IntoRxKeepsTheCodeAddressAndStalesEverythingElse) {
    SKIP_WITHOUT_CODE();
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(21));
    const uint8_t *code_addr = mp_pages_dual_code(&p);
    const_fn before;
    ASSERT_EQ(const_fn_from_dual(&p, 0, &before), MP_OK);
    const mp_pages_dual copy = p;

    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_dual_into_rx(&p, &rx), MP_OK);
    EXPECT_EQ(mp_pages_rx_data(&rx), code_addr) << "the rx view stays where it was";
    EXPECT_EQ(mp_pages_rx_len(&rx), Page());

    // Every other handle is stale: the consumed one, its copy, the
    // reference made from the pair, through every function.
    for (mp_pages_dual h : {p, copy}) {
        EXPECT_EQ(mp_pages_dual_len(&h), 0u);
        EXPECT_EQ(mp_pages_dual_data_mut(&h), nullptr);
        EXPECT_EQ(mp_pages_dual_code(&h), nullptr);
        EXPECT_EQ(mp_pages_dual_sync(&h, 0, 1), MP_ESTALE);
        mp_pages_rx again;
        EXPECT_EQ(mp_pages_dual_into_rx(&h, &again), MP_ESTALE);
        EXPECT_EQ(mp_pages_dual_free(&h), MP_ESTALE);
        const_fn f;
        EXPECT_EQ(const_fn_from_dual(&h, 0, &f), MP_ESTALE);
    }
    EXPECT_FALSE(const_fn_valid(&before));
    int32_t v = -1;
    EXPECT_EQ(const_fn_call(&before, &v), MP_ESTALE);
    EXPECT_EQ(v, -1) << "a stale reference does not call";

    // The rx pages are a page set like any other, which runs the same code.
    const_fn after;
    ASSERT_EQ(const_fn_from(&rx, 0, &after), MP_OK);
    EXPECT_EQ(CallConst(&after), 21);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
    EXPECT_FALSE(const_fn_valid(&after));
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_ESTALE);
}

TEST(Dual, TheRxPagesItLeavesNeverBecomeWritable) {
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    mp_pages_dual_data_mut(&p)[0] = 9;
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_dual_into_rx(&p, &rx), MP_OK);
    const mp_pages_rx copy = rx;
    mp_pages_rw rw;
    std::memset(&rw, 0x77, sizeof rw);
    EXPECT_EQ(mp_pages_rx_into_rw(&rx, &rw), MP_ENOTSUP);
    uint8_t untouched[sizeof rw];
    std::memset(untouched, 0x77, sizeof untouched);
    EXPECT_EQ(std::memcmp(&rw, untouched, sizeof rw), 0) << "*to untouched on failure";
#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    EXPECT_EQ(mp_pages_rx_into_rwx(&rx, &rwx), MP_ENOTSUP);
#endif
    // Nothing changed: the handle and its copy are live, the data is there.
    EXPECT_EQ(mp_pages_rx_data(&copy)[0], 9);
    // States without write are fine, and free gives the view back.
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rx_into_r(&rx, &r), MP_OK);
    EXPECT_EQ(mp_pages_r_data(&r)[0], 9);
    EXPECT_EQ(mp_pages_rx_len(&copy), 0u);
    mp_pages_none none;
    ASSERT_EQ(mp_pages_r_into_none(&r, &none), MP_OK);
    EXPECT_EQ(mp_pages_none_into_rw(&none, &rw), MP_ENOTSUP);
    EXPECT_EQ(mp_pages_none_free(&none), MP_OK);
}

// mp_query: each view answers for itself, with its own base and access,
// its guard pages as guard; after into_rx the code view answers as rx
// pages; after free nothing answers.
TEST(Dual, QueryAnswersForEachView) {
    const size_t page = Page();
    mp_pages_opts opts{};
#ifndef _WIN32
    // Windows maps a pair without guard pages (MP_ENOTSUP with them).
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
#endif
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new_opts(2 * page, &opts, &p), MP_OK);
    const uint8_t *code = mp_pages_dual_code(&p);
    const uint8_t *data = mp_pages_dual_data_mut(&p);
    struct {
        const uint8_t *base;
        unsigned access;
    } views[] = {{code, MP_ACCESS_READ | MP_ACCESS_EXEC}, {data, MP_ACCESS_READ | MP_ACCESS_WRITE}};
    for (const auto &view : views) {
        mp_page_info info;
        ASSERT_EQ(mp_query(view.base + page + 5, &info), MP_OK);
        EXPECT_EQ(info.kind, MP_KIND_DUAL);
        EXPECT_EQ(info.access, view.access);
        EXPECT_EQ(info.base, view.base);
        EXPECT_EQ(info.len, 2 * page);
        EXPECT_FALSE(info.guard);
        EXPECT_EQ(info.offset, page + 5);
        if (opts.guard_pages_before == 0) continue;
        ASSERT_EQ(mp_query(view.base - 1, &info), MP_OK);
        EXPECT_TRUE(info.guard);
        EXPECT_EQ(info.base, view.base);
        ASSERT_EQ(mp_query(view.base + 2 * page, &info), MP_OK);
        EXPECT_TRUE(info.guard);
    }
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_dual_into_rx(&p, &rx), MP_OK);
    mp_page_info info;
    ASSERT_EQ(mp_query(code, &info), MP_OK);
    EXPECT_EQ(info.kind, MP_KIND_PAGES);
    EXPECT_EQ(info.access, MP_ACCESS_READ | MP_ACCESS_EXEC);
    EXPECT_EQ(info.base, code);
    EXPECT_EQ(mp_query(data, &info), MP_EINVAL) << "the writable view is gone";
    ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);
    EXPECT_EQ(mp_query(code, &info), MP_EINVAL);
}

TEST(Dual, FreeStalesCopiesAndReferences) {
    SKIP_WITHOUT_CODE();
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(1));
    const_fn f;
    ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
    const mp_pages_dual copy = p;
    ASSERT_EQ(mp_pages_dual_free(&p), MP_OK);
    for (mp_pages_dual h : {p, copy}) {
        EXPECT_EQ(mp_pages_dual_len(&h), 0u);
        EXPECT_EQ(mp_pages_dual_data_mut(&h), nullptr);
        EXPECT_EQ(mp_pages_dual_code(&h), nullptr);
        EXPECT_EQ(mp_pages_dual_sync(&h, 0, 1), MP_ESTALE);
        mp_pages_rx rx;
        EXPECT_EQ(mp_pages_dual_into_rx(&h, &rx), MP_ESTALE);
        EXPECT_EQ(mp_pages_dual_free(&h), MP_ESTALE);
    }
    EXPECT_FALSE(const_fn_valid(&f));
    int32_t v = -1;
    EXPECT_EQ(const_fn_call(&f, &v), MP_ESTALE);
    // New pairs reuse the slot; the old handles stay stale.
    mp_pages_dual next;
    ASSERT_EQ(mp_pages_dual_new(Page(), &next), MP_OK);
    EXPECT_EQ(mp_pages_dual_len(&copy), 0u);
    EXPECT_FALSE(const_fn_valid(&f));
    EXPECT_EQ(mp_pages_dual_free(&next), MP_OK);
}

TEST(Dual, BadInput) {
    mp_pages_dual p;
    EXPECT_EQ(mp_pages_dual_new(0, &p), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_new(1, nullptr), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_new(SIZE_MAX, &p), MP_EOVERFLOW);
    mp_pages_opts opts = {};
    opts.guard_pages_before = SIZE_MAX / 2;
    EXPECT_EQ(mp_pages_dual_new_opts(1, &opts, &p), MP_EOVERFLOW);
    opts = {};
    opts.huge = MP_HUGE_REQUIRE;
    EXPECT_EQ(mp_pages_dual_new_opts(1, &opts, &p), MP_ENOTSUP);
    opts.huge = static_cast<mp_huge>(7);
    EXPECT_EQ(mp_pages_dual_new_opts(1, &opts, &p), MP_EINVAL);

    EXPECT_EQ(mp_pages_dual_len(nullptr), 0u);
    EXPECT_EQ(mp_pages_dual_data_mut(nullptr), nullptr);
    EXPECT_EQ(mp_pages_dual_code(nullptr), nullptr);
    EXPECT_EQ(mp_pages_dual_sync(nullptr, 0, 1), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_free(nullptr), MP_EINVAL);
    mp_pages_rx rx;
    EXPECT_EQ(mp_pages_dual_into_rx(nullptr, &rx), MP_EINVAL);

    ASSERT_EQ(mp_pages_dual_new(2 * Page(), &p), MP_OK);
    EXPECT_EQ(mp_pages_dual_into_rx(&p, nullptr), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_sync(&p, 0, 0), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_sync(&p, 2 * Page(), 1), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_sync(&p, Page(), Page() + 1), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_sync(&p, 1, SIZE_MAX), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_sync(&p, 2 * Page() - 1, 1), MP_OK);
    const_fn f;
    EXPECT_EQ(const_fn_from_dual(&p, 2 * Page(), &f), MP_EINVAL);
    EXPECT_EQ(const_fn_from_dual(nullptr, 0, &f), MP_EINVAL);
    EXPECT_EQ(mp_pages_dual_len(&p), 2 * Page()) << "bad calls changed nothing";
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(Dual, HandlesOfOtherTypesAreRefused) {
    // A pair cast to a page-set type, and a page set cast to a pair, name
    // pages of another access: every call treats them as stale.
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    mp_pages_rx *as_rx = reinterpret_cast<mp_pages_rx *>(&p);
    mp_pages_rw *as_rw = reinterpret_cast<mp_pages_rw *>(&p);
    EXPECT_EQ(mp_pages_rx_len(as_rx), 0u);
    EXPECT_EQ(mp_pages_rw_data_mut(as_rw), nullptr);
    EXPECT_EQ(mp_pages_rw_free(as_rw), MP_ESTALE);
    mp_pages_r r;
    EXPECT_EQ(mp_pages_rx_into_r(as_rx, &r), MP_ESTALE);
    const_fn f;
    EXPECT_EQ(const_fn_from(as_rx, 0, &f), MP_ESTALE);
#if MP_HAVE_RWX
    EXPECT_EQ(mp_pages_rwx_len(reinterpret_cast<mp_pages_rwx *>(&p)), 0u);
#endif
    EXPECT_EQ(mp_pages_dual_len(&p), Page()) << "the pair itself is untouched";

    mp_pages_rx rx;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(Page(), &rw), MP_OK);
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    mp_pages_dual *as_dual = reinterpret_cast<mp_pages_dual *>(&rx);
    EXPECT_EQ(mp_pages_dual_data_mut(as_dual), nullptr);
    EXPECT_EQ(mp_pages_dual_sync(as_dual, 0, 1), MP_ESTALE);
    EXPECT_EQ(mp_pages_dual_free(as_dual), MP_ESTALE);
    EXPECT_EQ(const_fn_from_dual(as_dual, 0, &f), MP_ESTALE);
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(Dual, Options) {
    mp_pages_opts opts = {};
    opts.no_dump = true;
    opts.populate = true;
    opts.huge = MP_HUGE_TRY;
    mp_pages_dual p;
    const mp_status s = mp_pages_dual_new_opts(3 * Page(), &opts, &p);
#ifdef _WIN32
    EXPECT_EQ(s, MP_ENOTSUP) << "no_dump is MP_ENOTSUP on Windows, as for page sets";
    opts.no_dump = false;
    ASSERT_EQ(mp_pages_dual_new_opts(3 * Page(), &opts, &p), MP_OK);
#else
    ASSERT_EQ(s, MP_OK);
#endif
#ifdef __linux__
    const uint8_t *views[] = {mp_pages_dual_data_mut(&p), mp_pages_dual_code(&p)};
    for (const uint8_t *v : views) {
        mp_test::SmapsEntry e;
        ASSERT_TRUE(mp_test::ReadSmaps(v, &e));
        if (mp_test::NoDumpIsVisible()) {
            EXPECT_TRUE(e.HasFlag("dd"));
        }
    }
    // MADV_DONTFORK, VmFlags "dc", on the rw view only (qemu-user keeps
    // advice to itself).
    mp_test::SmapsEntry rw_entry, rx_entry;
    ASSERT_TRUE(mp_test::ReadSmaps(views[0], &rw_entry));
    ASSERT_TRUE(mp_test::ReadSmaps(views[1], &rx_entry));
    EXPECT_EQ(rw_entry.HasFlag("dc"), !UnderQemuUser());
    EXPECT_FALSE(rx_entry.HasFlag("dc"));
    size_t resident = 0;
    if (mp_test::PopulateIsVisible()) {
        ASSERT_TRUE(mp_test::ResidentPages(mp_pages_dual_code(&p), 3 * Page(), &resident));
        EXPECT_EQ(resident, 3u) << "populated through the rw view, resident for both";
    }
#endif
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

// MP_HUGE_NEVER reaches both views (VmFlags "nh"), so that no setting of
// the kernel backs the shared pages with huge pages; elsewhere it asks
// nothing and succeeds.
TEST(Dual, HugeNeverRefusesHugePagesInBothViews) {
    mp_pages_opts opts = {};
    opts.huge = MP_HUGE_NEVER;
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new_opts(2 * Page(), &opts, &p), MP_OK);
    mp_pages_dual_data_mut(&p)[0] = 0xc3;
    EXPECT_EQ(mp_pages_dual_code(&p)[0], 0xc3) << "the views do not share their pages";
#ifdef __linux__
    if (mp_os_capabilities()->thp && mp_test::HugePageHintIsVisible()) {
        const uint8_t *views[] = {mp_pages_dual_data_mut(&p), mp_pages_dual_code(&p)};
        for (const uint8_t *v : views) {
            mp_test::SmapsEntry e;
            ASSERT_TRUE(mp_test::ReadSmaps(v, &e));
            EXPECT_TRUE(e.HasFlag("nh"));
            EXPECT_FALSE(e.HasFlag("hg"));
        }
    }
#endif
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

// Two threads consume copies of one pair at once, many rounds: exactly one
// wins, the other gets MP_ESTALE. (With a widened window under the
// fault-injection runtime: dual_fault_test.)
TEST(Dual, ThreadsConsumingCopies) {
    for (int round = 0; round < 200; round++) {
        mp_pages_dual p;
        ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
        std::atomic<int> go{0};
        mp_status got[2];
        mp_pages_rx rx[2];
        auto body = [&](int i) {
            mp_pages_dual copy = p;
            go.fetch_add(1);
            while (go.load() < 2) {
            }
            got[i] =
                (round + i) % 2 ? mp_pages_dual_free(&copy) : mp_pages_dual_into_rx(&copy, &rx[i]);
        };
        std::thread a(body, 0), b(body, 1);
        a.join();
        b.join();
        const int wins = (got[0] == MP_OK) + (got[1] == MP_OK);
        ASSERT_EQ(wins, 1) << "round " << round;
        for (int i = 0; i < 2; i++) {
            if (got[i] != MP_OK) {
                EXPECT_EQ(got[i], MP_ESTALE);
            } else if ((round + i) % 2 == 0) {
                EXPECT_EQ(mp_pages_rx_free(&rx[i]), MP_OK);
            }
        }
    }
}

// References made from a pair stay callable from other threads while the
// pair is synced again and again (sync holds nothing).
TEST(Dual, SyncNeverStalesConcurrentCalls) {
    SKIP_WITHOUT_CODE();
    mp_pages_dual p;
    ASSERT_EQ(mp_pages_dual_new(Page(), &p), MP_OK);
    WriteCode(&p, 0, mp_test::ConstCode(4));
    const_fn f;
    ASSERT_EQ(const_fn_from_dual(&p, 0, &f), MP_OK);
    std::atomic<bool> stop{false};
    std::atomic<long> refused{0}, calls{0};
    std::thread caller([&] {
        while (!stop.load()) {
            if (CallConst(&f) != 4) refused.fetch_add(1);
            calls.fetch_add(1);
        }
    });
    for (int i = 0; i < 2000; i++)
        ASSERT_EQ(mp_pages_dual_sync(&p, 0, 64), MP_OK);
    while (calls.load() < 100) {
    }
    stop.store(true);
    caller.join();
    EXPECT_EQ(refused.load(), 0) << "of " << calls.load() << " calls during sync";
    EXPECT_EQ(mp_pages_dual_free(&p), MP_OK);
}

TEST(Dual, TheProbeFindsTheWay) {
    mp_jit_caps caps;
    ASSERT_EQ(mp_jit_probe(&caps), MP_OK);
    EXPECT_TRUE(caps.dual_mapping.works);
    EXPECT_EQ(caps.dual_mapping.status, MP_OK);
    EXPECT_EQ(caps.dual_mapping.os_error, 0);
}

} // namespace
