/*
 * Machine code of a few tiny functions for the architecture and calling
 * convention these tests are compiled for, so that the function-reference
 * tests can put real code into executable pages:
 *
 *   AddCode()      int64_t(int64_t a, int64_t b)  returns a + b
 *   BumpCode()     void(int64_t *p)               adds 1 to *p
 *   FaddCode()     double(double a, double b)     returns a + b
 *   ConstCode(k)   int32_t(void)                  returns k
 *
 * kHaveCode is false on architectures with no code here; the tests that
 * need code skip there, and say so.
 */
#ifndef MEMORY_PAGES_TESTS_FN_REF_TEST_CODE_H
#define MEMORY_PAGES_TESTS_FN_REF_TEST_CODE_H

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace mp_test {

using Code = std::vector<uint8_t>;

/* Appends the little-endian bytes of A64 instruction words. */
inline Code A64(std::initializer_list<uint32_t> words) {
    Code code;
    for (uint32_t w : words) {
        for (int i = 0; i < 4; i++)
            code.push_back(static_cast<uint8_t>(w >> (8 * i)));
    }
    return code;
}

#if defined(__x86_64__) || defined(_M_X64)
constexpr bool kHaveCode = true;
#if defined(_WIN32)
/* Win64: integer arguments in rcx, rdx. */
inline Code AddCode() {
    return {0x48, 0x8D, 0x04, 0x11, 0xC3}; /* lea rax, [rcx+rdx]; ret */
}
inline Code BumpCode() {
    return {0x48, 0xFF, 0x01, 0xC3}; /* inc qword [rcx]; ret */
}
#else
/* System V: integer arguments in rdi, rsi. */
inline Code AddCode() {
    return {0x48, 0x8D, 0x04, 0x37, 0xC3}; /* lea rax, [rdi+rsi]; ret */
}
inline Code BumpCode() {
    return {0x48, 0xFF, 0x07, 0xC3}; /* inc qword [rdi]; ret */
}
#endif
inline Code FaddCode() {
    return {0xF2, 0x0F, 0x58, 0xC1, 0xC3}; /* addsd xmm0, xmm1; ret (both conventions) */
}
#elif defined(__i386__) || defined(_M_IX86)
/* cdecl: arguments on the stack, int64_t returned in edx:eax, double in st0. */
constexpr bool kHaveCode = true;
inline Code AddCode() {
    return {0x8B, 0x44, 0x24, 0x04, /* mov eax, [esp+4] */
            0x8B, 0x54, 0x24, 0x08, /* mov edx, [esp+8] */
            0x03, 0x44, 0x24, 0x0C, /* add eax, [esp+12] */
            0x13, 0x54, 0x24, 0x10, /* adc edx, [esp+16] */
            0xC3};                  /* ret */
}
inline Code BumpCode() {
    return {0x8B, 0x44, 0x24, 0x04, /* mov eax, [esp+4] */
            0x83, 0x00, 0x01,       /* add dword [eax], 1 */
            0x83, 0x50, 0x04, 0x00, /* adc dword [eax+4], 0 */
            0xC3};                  /* ret */
}
inline Code FaddCode() {
    return {0xDD, 0x44, 0x24, 0x04, /* fld qword [esp+4] */
            0xDC, 0x44, 0x24, 0x0C, /* fadd qword [esp+12] */
            0xC3};                  /* ret */
}
#elif defined(__aarch64__) || defined(_M_ARM64)
/* AAPCS64: integer arguments in x0, x1; doubles in d0, d1. */
constexpr bool kHaveCode = true;
inline Code AddCode() {
    return A64({0x8B010000, 0xD65F03C0}); /* add x0, x0, x1; ret */
}
inline Code BumpCode() {
    /* ldr x1, [x0]; add x1, x1, #1; str x1, [x0]; ret */
    return A64({0xF9400001, 0x91000421, 0xF9000001, 0xD65F03C0});
}
inline Code FaddCode() {
    return A64({0x1E612800, 0xD65F03C0}); /* fadd d0, d0, d1; ret */
}
#else
constexpr bool kHaveCode = false;
inline Code AddCode() {
    return {};
}
inline Code BumpCode() {
    return {};
}
inline Code FaddCode() {
    return {};
}
#endif

/* int32_t(void) returning k. */
inline Code ConstCode(int32_t k) {
    uint32_t u = static_cast<uint32_t>(k);
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    /* mov eax, imm32; ret */
    return {0xB8,
            static_cast<uint8_t>(u),
            static_cast<uint8_t>(u >> 8),
            static_cast<uint8_t>(u >> 16),
            static_cast<uint8_t>(u >> 24),
            0xC3};
#elif defined(__aarch64__) || defined(_M_ARM64)
    /* movz w0, #low16; movk w0, #high16, lsl #16; ret */
    return A64({0x52800000u | ((u & 0xFFFFu) << 5), 0x72A00000u | ((u >> 16) << 5), 0xD65F03C0});
#else
    (void)u;
    return {};
#endif
}

} // namespace mp_test

#endif /* MEMORY_PAGES_TESTS_FN_REF_TEST_CODE_H */
