// Sealing page sets and frozen vectors (shared/API.md section 8): what the
// kernel refuses on a sealed range (raw mprotect, munmap, mmap over it,
// MADV_DONTNEED: EPERM), that sealing keeps the address and the contents,
// that it consumes the handle and every copy of it, also when two threads
// seal copies at once, that a sealed handle passed as an unsealed one is
// refused, and that a failed seal (MP_ENOTSUP where the kernel has no
// mseal, any raw mseal failure injected through the table of
// runtime/sys_posix.h) changes nothing.
//
// Whether the kernel seals is asked of the kernel itself (seal_support.h),
// not of the library. The tests of the registry's side of sealing (stale
// copies, races, casts) need a sealed handle; where the kernel cannot seal
// they get one from a stand-in for the OS table's seal entry that succeeds
// without sealing (the fault-injection runtime lets tests replace entries),
// and say so.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#ifndef _WIN32
#include <sys/mman.h>
#endif

#include "memory_pages/memory_pages.h"
#include "runtime/os.h"
#include "tests/internals/fault_injection.h"
#include "tests/seal/seal_support.h"
#include "tests/seal/seal_vecs.h"

// The hook of the fault-injection runtime (runtime/registry.c): called by
// mp__slot_hold right after a call wins a slot.
extern "C" void (*volatile mp__race_hook)(void);

namespace {

using seal_support::KernelSeals;
using seal_support::kNoMseal;

constexpr unsigned char kPattern = 0x5a;

// Makes read-only pages of len bytes holding kPattern, with a guard page on
// each side.
mp_pages_r MakeR(size_t len) {
    mp_pages_opts opts{};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    mp_pages_rw rw;
    EXPECT_EQ(mp_pages_rw_new_opts(len, &opts, &rw), MP_OK);
    std::memset(mp_pages_rw_data_mut(&rw), kPattern, len);
    mp_pages_r r;
    EXPECT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    return r;
}

bool AllPattern(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (data[i] != kPattern) return false;
    }
    return true;
}

// A handle the failed call must not have written: every byte 0xEE.
template <class T> T Untouched() {
    T t;
    std::memset(&t, 0xEE, sizeof t);
    return t;
}

template <class T> bool IsUntouched(const T &t) {
    const auto *b = reinterpret_cast<const unsigned char *>(&t);
    for (size_t i = 0; i < sizeof t; i++) {
        if (b[i] != 0xEE) return false;
    }
    return true;
}

// Makes a vector of n elements i * 7 and freezes it.
seal_u32_vec_frozen MakeFrozen(size_t n) {
    seal_u32_vec v;
    EXPECT_EQ(seal_u32_vec_new(&v), MP_OK);
    for (size_t i = 0; i < n; i++)
        EXPECT_EQ(seal_u32_vec_push(&v, static_cast<uint32_t>(i * 7)), MP_OK);
    seal_u32_vec_frozen f;
    EXPECT_EQ(seal_u32_vec_freeze(&v, &f), MP_OK);
    return f;
}

TEST(SealPages, SealMatchesTheKernel) {
    const size_t len = 3 * mp_page_size();
    mp_pages_r r = MakeR(len);
    const uint8_t *data = mp_pages_r_data(&r);
    const mp_pages_r copy = r;
    mp_pages_r_sealed sealed = Untouched<mp_pages_r_sealed>();
    const mp_status s = mp_pages_r_seal(&r, &sealed);
    if (!KernelSeals()) {
        EXPECT_EQ(s, MP_ENOTSUP);
        EXPECT_TRUE(IsUntouched(sealed)) << "a failed seal wrote *out";
        EXPECT_EQ(mp_pages_r_data(&r), data) << "a failed seal changed the handle";
        EXPECT_EQ(mp_pages_r_len(&copy), len);
        EXPECT_TRUE(AllPattern(mp_pages_r_data(&copy), len));
        EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
        return;
    }
    ASSERT_EQ(s, MP_OK);
    EXPECT_EQ(mp_pages_r_sealed_data(&sealed), data) << "sealing moved the pages";
    EXPECT_EQ(mp_pages_r_sealed_len(&sealed), len);
    EXPECT_TRUE(AllPattern(mp_pages_r_sealed_data(&sealed), len));
    // The handle and its copy, made before the seal, are stale.
    for (mp_pages_r stale : {r, copy}) {
        EXPECT_EQ(mp_pages_r_data(&stale), nullptr);
        EXPECT_EQ(mp_pages_r_len(&stale), 0u);
        EXPECT_EQ(mp_pages_r_free(&stale), MP_ESTALE);
        mp_pages_rw rw;
        EXPECT_EQ(mp_pages_r_into_rw(&stale, &rw), MP_ESTALE);
        mp_pages_r_sealed again;
        EXPECT_EQ(mp_pages_r_seal(&stale, &again), MP_ESTALE);
    }
    // And the sealed handle still works after all of that.
    EXPECT_EQ(mp_pages_r_sealed_len(&sealed), len);
}

TEST(SealPages, SealedRangeRefusesMprotectMunmapAndMmap) {
#ifdef _WIN32
    GTEST_SKIP() << "windows does not have mseal; SealMatchesTheKernel checked MP_ENOTSUP";
#else
    if (!KernelSeals()) GTEST_SKIP() << kNoMseal;
    const size_t page = mp_page_size(), len = 2 * page;
    mp_pages_r r = MakeR(len);
    mp_pages_r_sealed sealed;
    ASSERT_EQ(mp_pages_r_seal(&r, &sealed), MP_OK);
    auto *data = const_cast<uint8_t *>(mp_pages_r_sealed_data(&sealed));
    ASSERT_NE(data, nullptr);

    errno = 0;
    EXPECT_EQ(mprotect(data, len, PROT_READ | PROT_WRITE), -1);
    EXPECT_EQ(errno, EPERM) << "mprotect of the sealed data";
    errno = 0;
    EXPECT_EQ(munmap(data, len), -1);
    EXPECT_EQ(errno, EPERM) << "munmap of the sealed data";
    // The guard pages are sealed with the data: they can be neither opened
    // nor unmapped (and then mapped by someone else).
    errno = 0;
    EXPECT_EQ(mprotect(data - page, page, PROT_READ), -1);
    EXPECT_EQ(errno, EPERM) << "mprotect of the guard page before";
    errno = 0;
    EXPECT_EQ(munmap(data + len, page), -1);
    EXPECT_EQ(errno, EPERM) << "munmap of the guard page after";
    errno = 0;
    EXPECT_EQ(
        mmap(data, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        MAP_FAILED);
    EXPECT_EQ(errno, EPERM) << "mmap MAP_FIXED over the sealed data";
    errno = 0;
    EXPECT_EQ(madvise(data, len, MADV_DONTNEED), -1);
    EXPECT_EQ(errno, EPERM) << "MADV_DONTNEED of sealed read-only memory";
    EXPECT_TRUE(AllPattern(data, len)) << "the sealed pages changed";
    EXPECT_EQ(mp_pages_r_sealed_len(&sealed), len);
#endif
}

TEST(SealPages, NullArgumentsChangeNothing) {
    mp_pages_r r = MakeR(mp_page_size());
    EXPECT_EQ(mp_pages_r_seal(&r, nullptr), MP_EINVAL);
    mp_pages_r_sealed sealed = Untouched<mp_pages_r_sealed>();
    EXPECT_EQ(mp_pages_r_seal(nullptr, &sealed), MP_EINVAL);
    EXPECT_TRUE(IsUntouched(sealed));
    EXPECT_EQ(mp_pages_r_sealed_len(nullptr), 0u);
    EXPECT_EQ(mp_pages_r_sealed_data(nullptr), nullptr);
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

#ifndef _WIN32
// Every way the raw mseal can fail leaves the handle live at its generation,
// the pages as they were, and *out unwritten; mp_os_error() names the code.
TEST(SealPages, RawMsealFailureChangesNothing) {
    struct Case {
        int code;
        mp_status want;
    };
    const Case cases[] = {{ENOSYS, MP_ENOTSUP}, {EPERM, MP_ENOTSUP}, {ENOMEM, MP_ENOMEM},
                          {EINVAL, MP_EOS},     {EACCES, MP_EACCES}, {EFAULT, MP_EOS}};
    const size_t len = mp_page_size();
    for (const Case &c : cases) {
        SCOPED_TRACE(std::strerror(c.code));
        mp_pages_r r = MakeR(len);
        const mp_pages_r before = r;
        mp_pages_r_sealed sealed = Untouched<mp_pages_r_sealed>();
        sys_fault_arm(1, c.code);
        const mp_status s = mp_pages_r_seal(&r, &sealed);
        sys_fault_disarm();
        const sys_call *fired = sys_fault_fired();
        ASSERT_NE(fired, nullptr) << "sealing made no raw call";
        EXPECT_STREQ(fired->entry, "mseal");
        EXPECT_EQ(s, c.want);
        EXPECT_EQ(mp_os_error(), c.code);
        EXPECT_TRUE(IsUntouched(sealed));
        EXPECT_EQ(std::memcmp(&r, &before, sizeof r), 0) << "the handle changed";
        ASSERT_EQ(mp_pages_r_len(&before), len) << "the handle is not live any more";
        EXPECT_TRUE(AllPattern(mp_pages_r_data(&before), len));
        EXPECT_EQ(mp_pages_r_free(&r), MP_OK);

        seal_u32_vec_frozen f = MakeFrozen(100);
        const seal_u32_vec_frozen f_before = f;
        seal_u32_vec_sealed vs = Untouched<seal_u32_vec_sealed>();
        sys_fault_arm(1, c.code);
        EXPECT_EQ(seal_u32_vec_frozen_seal(&f, &vs), c.want);
        sys_fault_disarm();
        ASSERT_NE(sys_fault_fired(), nullptr);
        EXPECT_STREQ(sys_fault_fired()->entry, "mseal");
        EXPECT_TRUE(IsUntouched(vs));
        EXPECT_EQ(std::memcmp(&f, &f_before, sizeof f), 0);
        ASSERT_EQ(seal_u32_vec_frozen_len(&f), 100u);
        EXPECT_EQ(*seal_u32_vec_frozen_at(&f, 99), 99u * 7);
        seal_u32_vec v;
        EXPECT_EQ(seal_u32_vec_frozen_thaw(&f, &v), MP_OK) << "the frozen vector cannot thaw";
        EXPECT_EQ(seal_u32_vec_free(&v), MP_OK);
    }
    sys_fault_uninstall();
}
#endif

// A stand-in for the OS table's seal entry, for the tests of the registry's
// side of sealing where the kernel cannot seal: it succeeds and seals
// nothing. Installed only there; the tests print that it was.
mp_status PretendSeal(void *, size_t) {
    return MP_OK;
}

class SealRegistry : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!KernelSeals()) {
            std::printf("[ note     ] the kernel has no mseal: the OS table's seal entry is a "
                        "stand-in that succeeds without sealing\n");
            mp__os.seal = PretendSeal;
        }
    }
    void TearDown() override {
        mp__os.seal = mp__os_native.seal;
        mp__race_hook = nullptr;
    }
};

// A sealed handle passed where an unsealed one of the same access is
// expected (a cast) is refused by every call, and stays live.
TEST_F(SealRegistry, SealedHandleCastToUnsealedIsRefused) {
    const size_t len = mp_page_size();
    mp_pages_r r = MakeR(len);
    mp_pages_r_sealed sealed;
    ASSERT_EQ(mp_pages_r_seal(&r, &sealed), MP_OK);
    mp_pages_r as_r;
    std::memcpy(&as_r, &sealed, sizeof as_r);
    EXPECT_EQ(mp_pages_r_len(&as_r), 0u);
    EXPECT_EQ(mp_pages_r_data(&as_r), nullptr);
    EXPECT_EQ(mp_pages_r_free(&as_r), MP_ESTALE);
    mp_pages_rw rw;
    EXPECT_EQ(mp_pages_r_into_rw(&as_r, &rw), MP_ESTALE);
    mp_pages_r_sealed twice;
    EXPECT_EQ(mp_pages_r_seal(&as_r, &twice), MP_ESTALE);
    EXPECT_EQ(mp_pages_r_sealed_len(&sealed), len) << "a refused call ended the sealed handle";

    seal_u32_vec_frozen f = MakeFrozen(10);
    seal_u32_vec_sealed vs;
    ASSERT_EQ(seal_u32_vec_frozen_seal(&f, &vs), MP_OK);
    seal_u32_vec_frozen as_frozen;
    std::memcpy(&as_frozen, &vs, sizeof as_frozen);
    EXPECT_EQ(seal_u32_vec_frozen_len(&as_frozen), 0u);
    EXPECT_EQ(seal_u32_vec_frozen_at(&as_frozen, 0), nullptr);
    EXPECT_EQ(seal_u32_vec_frozen_free(&as_frozen), MP_ESTALE);
    seal_u32_vec v;
    EXPECT_EQ(seal_u32_vec_frozen_thaw(&as_frozen, &v), MP_ESTALE);
    EXPECT_EQ(seal_u32_vec_sealed_len(&vs), 10u);
}

// Of two threads sealing copies of one handle at once, exactly one wins; the
// other gets MP_ESTALE and writes nothing. The race hook holds the winner in
// its slot for a while, so that the loser arrives while it is held.
TEST_F(SealRegistry, TwoThreadsSealingCopiesOneWins) {
    static std::atomic<bool> racing{false};
    mp__race_hook = [] {
        if (racing.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    int wins[2] = {0, 0};
    for (int round = 0; round < 20; round++) {
        mp_pages_r r = MakeR(mp_page_size());
        mp_pages_r copies[2] = {r, r};
        mp_pages_r_sealed out[2] = {Untouched<mp_pages_r_sealed>(), Untouched<mp_pages_r_sealed>()};
        mp_status got[2];
        std::atomic<int> ready{0};
        racing = true;
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; t++) {
            threads.emplace_back([&, t] {
                ready.fetch_add(1);
                while (ready.load() < 2) {
                }
                got[t] = mp_pages_r_seal(&copies[t], &out[t]);
            });
        }
        for (auto &th : threads)
            th.join();
        racing = false;
        ASSERT_TRUE((got[0] == MP_OK) != (got[1] == MP_OK))
            << "round " << round << ": " << mp_status_str(got[0]) << ", " << mp_status_str(got[1]);
        const int winner = got[0] == MP_OK ? 0 : 1;
        wins[winner]++;
        EXPECT_EQ(got[1 - winner], MP_ESTALE);
        EXPECT_TRUE(IsUntouched(out[1 - winner])) << "the loser wrote its *out";
        EXPECT_EQ(mp_pages_r_sealed_len(&out[winner]), mp_page_size());
        EXPECT_EQ(mp_pages_r_len(&copies[1 - winner]), 0u) << "the loser's copy is still live";
    }
    std::printf("[ race     ] first thread won %d, second %d of 20 rounds\n", wins[0], wins[1]);
}

TEST(SealVec, FrozenVectorSealMatchesTheKernel) {
    seal_u32_vec_frozen f = MakeFrozen(1000);
    const uint32_t *data = seal_u32_vec_frozen_data(&f);
    const seal_u32_vec_frozen copy = f;
    seal_u32_vec_sealed sealed = Untouched<seal_u32_vec_sealed>();
    const mp_status s = seal_u32_vec_frozen_seal(&f, &sealed);
    if (!KernelSeals()) {
        EXPECT_EQ(s, MP_ENOTSUP);
        EXPECT_TRUE(IsUntouched(sealed));
        EXPECT_EQ(seal_u32_vec_frozen_data(&f), data);
        EXPECT_EQ(seal_u32_vec_frozen_len(&copy), 1000u);
        EXPECT_EQ(seal_u32_vec_frozen_free(&f), MP_OK);
        return;
    }
    ASSERT_EQ(s, MP_OK);
    EXPECT_EQ(seal_u32_vec_sealed_data(&sealed), data) << "sealing moved the elements";
    ASSERT_EQ(seal_u32_vec_sealed_len(&sealed), 1000u);
    for (size_t i = 0; i < 1000; i++)
        ASSERT_EQ(*seal_u32_vec_sealed_at(&sealed, i), i * 7) << "element " << i;
    EXPECT_EQ(seal_u32_vec_sealed_at(&sealed, 1000), nullptr);
    for (seal_u32_vec_frozen stale : {f, copy}) {
        EXPECT_EQ(seal_u32_vec_frozen_len(&stale), 0u);
        EXPECT_EQ(seal_u32_vec_frozen_data(&stale), nullptr);
        EXPECT_EQ(seal_u32_vec_frozen_at(&stale, 0), nullptr);
        EXPECT_EQ(seal_u32_vec_frozen_free(&stale), MP_ESTALE);
        seal_u32_vec v;
        EXPECT_EQ(seal_u32_vec_frozen_thaw(&stale, &v), MP_ESTALE);
        seal_u32_vec_sealed again;
        EXPECT_EQ(seal_u32_vec_frozen_seal(&stale, &again), MP_ESTALE);
    }
#ifndef _WIN32
    // The whole reservation is sealed: the elements, and the reserved
    // address space past them.
    auto *bytes = reinterpret_cast<uint8_t *>(const_cast<uint32_t *>(data));
    const size_t page = mp_page_size();
    errno = 0;
    EXPECT_EQ(mprotect(bytes, page, PROT_READ | PROT_WRITE), -1);
    EXPECT_EQ(errno, EPERM) << "mprotect of the sealed elements";
    errno = 0;
    EXPECT_EQ(munmap(bytes, page), -1);
    EXPECT_EQ(errno, EPERM) << "munmap of the sealed elements";
    const size_t committed = (1000 * sizeof(uint32_t) + page - 1) / page * page;
    errno = 0;
    EXPECT_EQ(mprotect(bytes + committed, page, PROT_READ | PROT_WRITE), -1);
    EXPECT_EQ(errno, EPERM) << "mprotect of the reservation past the elements";
#endif
    EXPECT_EQ(*seal_u32_vec_sealed_at(&sealed, 999), 999u * 7);
}

// A frozen vector that never reserved anything seals where the kernel can
// seal, and only there, as a full one does.
TEST(SealVec, EmptyFrozenVectorSealsWhereTheKernelCan) {
    seal_u32_vec_frozen f = MakeFrozen(0);
    seal_u32_vec_sealed sealed = Untouched<seal_u32_vec_sealed>();
    const mp_status s = seal_u32_vec_frozen_seal(&f, &sealed);
    if (!KernelSeals()) {
        EXPECT_EQ(s, MP_ENOTSUP);
        EXPECT_TRUE(IsUntouched(sealed));
        EXPECT_EQ(seal_u32_vec_frozen_free(&f), MP_OK);
        return;
    }
    ASSERT_EQ(s, MP_OK);
    EXPECT_EQ(seal_u32_vec_sealed_len(&sealed), 0u);
    EXPECT_EQ(seal_u32_vec_sealed_at(&sealed, 0), nullptr);
    EXPECT_EQ(seal_u32_vec_frozen_len(&f), 0u);
    EXPECT_EQ(seal_u32_vec_frozen_free(&f), MP_ESTALE);
}

TEST(SealVec, NullArgumentsChangeNothing) {
    seal_u32_vec_frozen f = MakeFrozen(3);
    EXPECT_EQ(seal_u32_vec_frozen_seal(&f, nullptr), MP_EINVAL);
    seal_u32_vec_sealed sealed = Untouched<seal_u32_vec_sealed>();
    EXPECT_EQ(seal_u32_vec_frozen_seal(nullptr, &sealed), MP_EINVAL);
    EXPECT_TRUE(IsUntouched(sealed));
    EXPECT_EQ(seal_u32_vec_sealed_len(nullptr), 0u);
    EXPECT_EQ(seal_u32_vec_sealed_data(nullptr), nullptr);
    EXPECT_EQ(seal_u32_vec_sealed_at(nullptr, 0), nullptr);
    EXPECT_EQ(seal_u32_vec_frozen_len(&f), 3u);
    EXPECT_EQ(seal_u32_vec_frozen_free(&f), MP_OK);
}

} // namespace
