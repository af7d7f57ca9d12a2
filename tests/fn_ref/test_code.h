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
 * and, for the tests of many and mixed arguments (fn_ref_args_test.cc),
 *
 *   Sum8Code()     int64_t(int64_t a0, ..., int64_t a7)
 *                  returns Sum8(a0, ..., a7): ((a0 << 8) + a1) << 8 ..., in
 *                  wrapping 64-bit arithmetic, so every argument counts in
 *                  its own place; two of them are on the stack in x86-64
 *                  System V, four in Win64, all eight in i686
 *   MixCode()      double(int32_t a, double b, const int64_t *c, float d)
 *                  returns a + b + *c + d, summed as doubles in that order
 *   PairCode()     void(struct mp_test_pair *p, int64_t k)
 *                  sets p->y to p->x + k
 *
 * kHaveCode is false on architectures with no code here; the tests that
 * need code skip there, and say so.
 */
#ifndef MEMORY_PAGES_TESTS_FN_REF_TEST_CODE_H
#define MEMORY_PAGES_TESTS_FN_REF_TEST_CODE_H

#include <cstdint>
#include <initializer_list>
#include <vector>

/* The struct of PairCode; its layout is the same in every ABI above. */
struct mp_test_pair {
    int64_t x;
    int64_t y;
};

namespace mp_test {

using Code = std::vector<uint8_t>;

/* What Sum8Code computes, in C. */
inline int64_t Sum8(const int64_t (&a)[8]) {
    uint64_t acc = static_cast<uint64_t>(a[0]);
    for (int i = 1; i < 8; i++)
        acc = (acc << 8) + static_cast<uint64_t>(a[i]);
    return static_cast<int64_t>(acc);
}

/* Appends code to out. */
inline void Append(Code *out, std::initializer_list<uint8_t> code) {
    out->insert(out->end(), code.begin(), code.end());
}

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
/* Arguments 1 to 4 in rcx, rdx, r8, r9; 5 to 8 on the stack above the
 * return address and the 32 bytes of shadow space: [rsp+40] to [rsp+64]. */
inline Code Sum8Code() {
    Code c = {0x48, 0x89, 0xC8}; /* mov rax, rcx */
    const std::initializer_list<uint8_t> adds[] = {
        {0x48, 0x01, 0xD0},             /* add rax, rdx */
        {0x4C, 0x01, 0xC0},             /* add rax, r8 */
        {0x4C, 0x01, 0xC8},             /* add rax, r9 */
        {0x48, 0x03, 0x44, 0x24, 0x28}, /* add rax, [rsp+40] */
        {0x48, 0x03, 0x44, 0x24, 0x30}, /* add rax, [rsp+48] */
        {0x48, 0x03, 0x44, 0x24, 0x38}, /* add rax, [rsp+56] */
        {0x48, 0x03, 0x44, 0x24, 0x40}, /* add rax, [rsp+64] */
    };
    for (const auto &add : adds) {
        Append(&c, {0x48, 0xC1, 0xE0, 0x08}); /* shl rax, 8 */
        Append(&c, add);
    }
    Append(&c, {0xC3}); /* ret */
    return c;
}
/* Arguments by position: a in ecx, b in xmm1, c in r8, d in xmm3. */
inline Code MixCode() {
    return {0xF2, 0x0F, 0x2A, 0xC1,       /* cvtsi2sd xmm0, ecx */
            0xF2, 0x0F, 0x58, 0xC1,       /* addsd xmm0, xmm1 */
            0xF2, 0x49, 0x0F, 0x2A, 0x10, /* cvtsi2sd xmm2, qword [r8] */
            0xF2, 0x0F, 0x58, 0xC2,       /* addsd xmm0, xmm2 */
            0xF3, 0x0F, 0x5A, 0xDB,       /* cvtss2sd xmm3, xmm3 */
            0xF2, 0x0F, 0x58, 0xC3,       /* addsd xmm0, xmm3 */
            0xC3};                        /* ret */
}
inline Code PairCode() {
    return {0x48, 0x8B, 0x01,       /* mov rax, [rcx] */
            0x48, 0x01, 0xD0,       /* add rax, rdx */
            0x48, 0x89, 0x41, 0x08, /* mov [rcx+8], rax */
            0xC3};                  /* ret */
}
#else
/* System V: integer arguments in rdi, rsi. */
inline Code AddCode() {
    return {0x48, 0x8D, 0x04, 0x37, 0xC3}; /* lea rax, [rdi+rsi]; ret */
}
inline Code BumpCode() {
    return {0x48, 0xFF, 0x07, 0xC3}; /* inc qword [rdi]; ret */
}
/* Arguments 1 to 6 in rdi, rsi, rdx, rcx, r8, r9; 7 and 8 on the stack
 * above the return address: [rsp+8], [rsp+16]. */
inline Code Sum8Code() {
    Code c = {0x48, 0x89, 0xF8}; /* mov rax, rdi */
    const std::initializer_list<uint8_t> adds[] = {
        {0x48, 0x01, 0xF0},             /* add rax, rsi */
        {0x48, 0x01, 0xD0},             /* add rax, rdx */
        {0x48, 0x01, 0xC8},             /* add rax, rcx */
        {0x4C, 0x01, 0xC0},             /* add rax, r8 */
        {0x4C, 0x01, 0xC8},             /* add rax, r9 */
        {0x48, 0x03, 0x44, 0x24, 0x08}, /* add rax, [rsp+8] */
        {0x48, 0x03, 0x44, 0x24, 0x10}, /* add rax, [rsp+16] */
    };
    for (const auto &add : adds) {
        Append(&c, {0x48, 0xC1, 0xE0, 0x08}); /* shl rax, 8 */
        Append(&c, add);
    }
    Append(&c, {0xC3}); /* ret */
    return c;
}
/* Integer and pointer arguments in rdi, rsi; floating-point ones in xmm0,
 * xmm1: a in edi, b in xmm0, c in rsi, d in xmm1. */
inline Code MixCode() {
    return {0xF2, 0x0F, 0x2A, 0xD7,       /* cvtsi2sd xmm2, edi */
            0xF2, 0x0F, 0x58, 0xC2,       /* addsd xmm0, xmm2 */
            0xF2, 0x48, 0x0F, 0x2A, 0x16, /* cvtsi2sd xmm2, qword [rsi] */
            0xF2, 0x0F, 0x58, 0xC2,       /* addsd xmm0, xmm2 */
            0xF3, 0x0F, 0x5A, 0xC9,       /* cvtss2sd xmm1, xmm1 */
            0xF2, 0x0F, 0x58, 0xC1,       /* addsd xmm0, xmm1 */
            0xC3};                        /* ret */
}
inline Code PairCode() {
    return {0x48, 0x8B, 0x07,       /* mov rax, [rdi] */
            0x48, 0x01, 0xF0,       /* add rax, rsi */
            0x48, 0x89, 0x47, 0x08, /* mov [rdi+8], rax */
            0xC3};                  /* ret */
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
/* Argument i (low half, then high half) at [esp+4+8i]; the sum in edx:eax. */
inline Code Sum8Code() {
    Code c = {0x8B, 0x44, 0x24, 0x04,  /* mov eax, [esp+4] */
              0x8B, 0x54, 0x24, 0x08}; /* mov edx, [esp+8] */
    for (uint8_t i = 1; i < 8; i++) {
        const uint8_t low = static_cast<uint8_t>(4 + 8 * i);
        Append(&c, {0x0F, 0xA4, 0xC2, 0x08,                            /* shld edx, eax, 8 */
                    0xC1, 0xE0, 0x08,                                  /* shl eax, 8 */
                    0x03, 0x44, 0x24, low,                             /* add eax, [esp+low] */
                    0x13, 0x54, 0x24, static_cast<uint8_t>(low + 4)}); /* adc edx, [esp+low+4] */
    }
    Append(&c, {0xC3}); /* ret */
    return c;
}
/* a at [esp+4], b at [esp+8], c at [esp+16], d at [esp+20]; the result in
 * st0. */
inline Code MixCode() {
    return {0xDB, 0x44, 0x24, 0x04, /* fild dword [esp+4] */
            0xDC, 0x44, 0x24, 0x08, /* fadd qword [esp+8] */
            0x8B, 0x44, 0x24, 0x10, /* mov eax, [esp+16] */
            0xDF, 0x28,             /* fild qword [eax] */
            0xDE, 0xC1,             /* faddp st1, st0 */
            0xD8, 0x44, 0x24, 0x14, /* fadd dword [esp+20] */
            0xC3};                  /* ret */
}
/* p at [esp+4], k at [esp+8] (low) and [esp+12] (high). */
inline Code PairCode() {
    return {0x8B, 0x4C, 0x24, 0x04, /* mov ecx, [esp+4] */
            0x8B, 0x01,             /* mov eax, [ecx] */
            0x8B, 0x51, 0x04,       /* mov edx, [ecx+4] */
            0x03, 0x44, 0x24, 0x08, /* add eax, [esp+8] */
            0x13, 0x54, 0x24, 0x0C, /* adc edx, [esp+12] */
            0x89, 0x41, 0x08,       /* mov [ecx+8], eax */
            0x89, 0x51, 0x0C,       /* mov [ecx+12], edx */
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
/* All eight arguments in x0 to x7. */
inline Code Sum8Code() {
    Code c;
    for (uint32_t i = 1; i < 8; i++) {
        const Code add = A64({0x8B002000u | (i << 5)}); /* add x0, xi, x0, lsl #8 */
        c.insert(c.end(), add.begin(), add.end());
    }
    const Code ret = A64({0xD65F03C0}); /* ret */
    c.insert(c.end(), ret.begin(), ret.end());
    return c;
}
/* a in w0, b in d0, c in x1, d in s1. */
inline Code MixCode() {
    return A64({0x1E620002,   /* scvtf d2, w0 */
                0x1E622800,   /* fadd d0, d0, d2 */
                0xF9400023,   /* ldr x3, [x1] */
                0x9E620062,   /* scvtf d2, x3 */
                0x1E622800,   /* fadd d0, d0, d2 */
                0x1E22C021,   /* fcvt d1, s1 */
                0x1E612800,   /* fadd d0, d0, d1 */
                0xD65F03C0}); /* ret */
}
/* p in x0, k in x1. */
inline Code PairCode() {
    return A64({0xF9400002,   /* ldr x2, [x0] */
                0x8B010042,   /* add x2, x2, x1 */
                0xF9000402,   /* str x2, [x0, #8] */
                0xD65F03C0}); /* ret */
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
inline Code Sum8Code() {
    return {};
}
inline Code MixCode() {
    return {};
}
inline Code PairCode() {
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
