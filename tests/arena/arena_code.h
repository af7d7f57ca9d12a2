/*
 * Test code for the code arena: a function int64_t f(int64_t a, int64_t b)
 * that returns a + b + k, for a constant k chosen per span, padded with
 * trap instructions to any length, so that every span of a test runs code
 * of its own and a call that reached another span's code would show.
 */
#ifndef MEMORY_PAGES_TESTS_ARENA_ARENA_CODE_H
#define MEMORY_PAGES_TESTS_ARENA_ARENA_CODE_H

#include <cstdint>
#include <cstring>
#include <vector>

namespace arena_code {

/* The largest k the code of every architecture here can hold. */
constexpr uint32_t kMaxK = 4095;

#if defined(__x86_64__) || defined(_M_X64)
constexpr bool kHaveCode = true;
/* The smallest length of the code. */
constexpr size_t kMinLen = 10;
inline std::vector<uint8_t> Code(uint32_t k, size_t len) {
#if defined(_WIN32)
    std::vector<uint8_t> c = {0x48, 0x8D, 0x04, 0x11}; /* lea rax, [rcx+rdx] */
#else
    std::vector<uint8_t> c = {0x48, 0x8D, 0x04, 0x37}; /* lea rax, [rdi+rsi] */
#endif
    c.insert(c.end(), {0x48, 0x05}); /* add rax, imm32 */
    for (int i = 0; i < 4; i++)
        c.push_back(static_cast<uint8_t>(k >> (8 * i)));
    c.push_back(0xC3);                               /* ret */
    c.resize(len < c.size() ? c.size() : len, 0xCC); /* int3 */
    return c;
}
#elif defined(__aarch64__) || defined(_M_ARM64)
constexpr bool kHaveCode = true;
constexpr size_t kMinLen = 12;
inline std::vector<uint8_t> Code(uint32_t k, size_t len) {
    const uint32_t words[] = {
        0x8B010000u,                        /* add x0, x0, x1 */
        0x91000000u | ((k & 0xFFFu) << 10), /* add x0, x0, #k */
        0xD65F03C0u,                        /* ret */
    };
    std::vector<uint8_t> c;
    for (uint32_t w : words) {
        for (int i = 0; i < 4; i++)
            c.push_back(static_cast<uint8_t>(w >> (8 * i)));
    }
    /* brk #0 */
    while (c.size() + 4 <= len)
        c.insert(c.end(), {0x00, 0x00, 0x20, 0xD4});
    return c;
}
#else
constexpr bool kHaveCode = false;
constexpr size_t kMinLen = 1;
inline std::vector<uint8_t> Code(uint32_t, size_t len) {
    return std::vector<uint8_t>(len, 0);
}
#endif

} // namespace arena_code

#endif /* MEMORY_PAGES_TESTS_ARENA_ARENA_CODE_H */
