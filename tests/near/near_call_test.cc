// Code placed near a function of this test binary calls it with a short
// relative call: a rel32 CALL on x86-64 (+-2 GiB), a BL on AArch64
// (+-128 MiB, run under qemu here). Without the placement guarantee the
// displacement would not fit the instruction; the test checks that it does
// before it runs anything, so a broken guarantee fails instead of crashing.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/near/near_fns.h"

namespace {

// The function the placed code calls.
extern "C" int64_t near_target(int64_t a, int64_t b) {
    return a * 7 + b;
}

#if defined(__x86_64__) || defined(__aarch64__)
uintptr_t TargetAddress() {
    return reinterpret_cast<uintptr_t>(&near_target);
}
#endif

#if defined(__x86_64__)
// sub rsp, 40; call rel32; add rsp, 40; ret. 40 bytes keep the stack
// 16-byte aligned at the call and give a Win64 callee its 32 bytes of
// shadow space; a and b pass through untouched (rdi and rsi in System V,
// rcx and rdx in Win64).
const size_t kCallAt = 4, kCallEnd = 9;
const size_t kMaxDistance = size_t{1} << 30;

bool Emit(uint8_t *code, uintptr_t at) {
    const int64_t rel = static_cast<int64_t>(TargetAddress()) - static_cast<int64_t>(at + kCallEnd);
    if (rel < INT32_MIN || rel > INT32_MAX) return false;
    const int32_t rel32 = static_cast<int32_t>(rel);
    const uint8_t head[] = {0x48, 0x83, 0xEC, 0x28, 0xE8};
    const uint8_t tail[] = {0x48, 0x83, 0xC4, 0x28, 0xC3};
    std::memcpy(code, head, sizeof head);
    std::memcpy(code + sizeof head, &rel32, 4);
    std::memcpy(code + kCallEnd, tail, sizeof tail);
    return true;
}
#elif defined(__aarch64__)
// stp x29, x30, [sp, #-16]!; bl target; ldp x29, x30, [sp], #16; ret.
const size_t kCallAt = 4;
const size_t kMaxDistance = size_t{64} << 20;

bool Emit(uint8_t *code, uintptr_t at) {
    const int64_t rel = static_cast<int64_t>(TargetAddress()) - static_cast<int64_t>(at + kCallAt);
    if (rel % 4 != 0 || rel < -(int64_t{1} << 27) || rel >= (int64_t{1} << 27)) return false;
    const uint32_t words[] = {0xA9BF7BFD,
                              0x94000000u | (static_cast<uint32_t>(rel / 4) & 0x3FFFFFF),
                              0xA8C17BFD, 0xD65F03C0};
    std::memcpy(code, words, sizeof words);
    return true;
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
// Places code at every offset given, each in a page set of its own near the
// target (with guard pages), and calls it through a checked reference.
TEST(NearCall, ShortCallReachesTheTarget) {
    const size_t page = mp_page_size();
    for (size_t guards : {0, 2}) {
        for (size_t offset : {size_t{0}, page - 16, 3 * page + 8}) {
            mp_pages_opts opts{};
            opts.near = reinterpret_cast<const void *>(&near_target);
            opts.max_distance = kMaxDistance;
            opts.guard_pages_before = opts.guard_pages_after = guards;
            mp_pages_rw rw;
            ASSERT_EQ(mp_pages_rw_new_opts(4 * page, &opts, &rw), MP_OK);
            uint8_t *code = mp_pages_rw_data_mut(&rw) + offset;
            ASSERT_TRUE(Emit(code, reinterpret_cast<uintptr_t>(code)))
                << "code at " << static_cast<void *>(code) << " cannot reach "
                << reinterpret_cast<void *>(TargetAddress()) << " with a short call";
            mp_pages_rx rx;
            ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
            binop_fn f;
            ASSERT_EQ(binop_fn_from(&rx, offset, &f), MP_OK);
            int64_t ret = 0;
            ASSERT_EQ(binop_fn_call(&f, 6, -5, &ret), MP_OK);
            EXPECT_EQ(ret, 37) << "offset " << offset << ", guards " << guards;
            EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
        }
    }
    (void)kCallAt;
}
#else
TEST(NearCall, ShortCallReachesTheTarget) {
    (void)near_target;
    GTEST_SKIP() << "no test code for this architecture (x86-64 and AArch64 only)";
}
#endif

} // namespace
