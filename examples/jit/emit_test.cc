// The code generators of every architecture, on any machine: their bytes
// for a few expressions, compared with golden bytes. Each golden listing
// was checked when it was written: GNU as, given the disassembly, encodes the
// same instructions (it may pick shorter immediates and displacements). The
// generated code runs in jit_test, on each architecture under test.
// Also: jit_code_bound bounds every generator, and a full buffer is
// reported, never overrun.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "examples/jit/emit.h"
#include "examples/jit/expr.h"
#include "examples/jit/random_expr.h"

namespace {

enum Backend { kX64SysV, kX64Win64, kX86, kA64 };

const char *Name(Backend b) {
    switch (b) {
    case kX64SysV:
        return "x86-64 System V";
    case kX64Win64:
        return "x86-64 Win64";
    case kX86:
        return "i686";
    case kA64:
        return "AArch64";
    }
    return "?";
}

/* The address the i686 golden code calls for division. */
constexpr uint32_t kDivHelper = 0x12345678;

std::unique_ptr<jit_program> Lower(const std::string &text) {
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    EXPECT_TRUE(jit_parse(text.c_str(), e.get(), &err))
        << text.substr(0, 80) << ": column " << err.column << ": " << err.message;
    auto p = std::make_unique<jit_program>();
    jit_lower(e.get(), p.get());
    return p;
}

void Emit(Backend b, const jit_program &p, jit_buf *buf) {
    switch (b) {
    case kX64SysV:
        jit_emit_x64(&p, JIT_X64_SYSV, buf);
        break;
    case kX64Win64:
        jit_emit_x64(&p, JIT_X64_WIN64, buf);
        break;
    case kX86:
        jit_emit_x86(&p, kDivHelper, buf);
        break;
    case kA64:
        jit_emit_a64(&p, buf);
        break;
    }
}

/* The code for text as lowercase hex, or "overflow". */
std::string Hex(Backend b, const std::string &text) {
    auto p = Lower(text);
    std::vector<uint8_t> mem(jit_code_bound(p.get()));
    jit_buf buf = {mem.data(), 0, mem.size(), false};
    Emit(b, *p, &buf);
    if (buf.overflow) return "overflow";
    std::string hex;
    for (size_t i = 0; i < buf.len; i++) {
        static const char digits[] = "0123456789abcdef";
        hex += digits[mem[i] >> 4];
        hex += digits[mem[i] & 15];
    }
    return hex;
}

struct Golden {
    Backend backend;
    const char *expr;
    const char *hex;
};

const Golden kGolden[] = {
    // x86-64 System V: x*x - 3*x + 7
    //   mov %rdi,%r11
    //   mov %r11,%r8
    //   imul %r11,%r8
    //   imul $0x3,%r11,%r9
    //   sub %r9,%r8
    //   lea 0x7(%r8),%r8
    //   mov %r8,%rax
    //   ret
    {kX64SysV, "x*x - 3*x + 7", "4989fb4d89d84d0fafc34d69cb030000004d29c84d8d80070000004c89c0c3"},
    // x86-64 Win64: x*x - 3*x + 7
    //   mov %rcx,%r11
    //   mov %r11,%r8
    //   imul %r11,%r8
    //   imul $0x3,%r11,%r9
    //   sub %r9,%r8
    //   lea 0x7(%r8),%r8
    //   mov %r8,%rax
    //   ret
    {kX64Win64, "x*x - 3*x + 7", "4989cb4d89d84d0fafc34d69cb030000004d29c84d8d80070000004c89c0c3"},
    // i686 cdecl (jit_div at 0x12345678): x*x - 3*x + 7
    //   push %ebx
    //   sub $0x18,%esp
    //   mov 0x20(%esp),%ecx
    //   mov 0x24(%esp),%ebx
    //   mov 0x20(%esp),%eax
    //   mov 0x24(%esp),%edx
    //   imul %ecx,%edx
    //   imul %eax,%ebx
    //   add %edx,%ebx
    //   mul %ecx
    //   add %ebx,%edx
    //   mov %eax,0x0(%esp)
    //   mov %edx,0x4(%esp)
    //   mov 0x20(%esp),%ecx
    //   mov 0x24(%esp),%ebx
    //   mov $0x3,%eax
    //   mov $0x0,%edx
    //   imul %ecx,%edx
    //   imul %eax,%ebx
    //   add %edx,%ebx
    //   mul %ecx
    //   add %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x0(%esp),%eax
    //   mov 0x4(%esp),%edx
    //   sub %ecx,%eax
    //   sbb %ebx,%edx
    //   mov $0x7,%ecx
    //   mov $0x0,%ebx
    //   add %ecx,%eax
    //   adc %ebx,%edx
    //   add $0x18,%esp
    //   pop %ebx
    //   ret
    {kX86, "x*x - 3*x + 7",
     "5381ec180000008b8c24200000008b9c24240000008b8424200000008b942424"
     "0000000fafd10fafd801d3f7e101da89842400000000899424040000008b8c24"
     "200000008b9c2424000000b803000000ba000000000fafd10fafd801d3f7e101"
     "da89c189d38b8424000000008b94240400000029c819dab907000000bb000000"
     "0001c811da81c4180000005bc3"},
    // AArch64: x*x - 3*x + 7
    //   mul x1, x0, x0
    //   mov x17, #0x3
    //   mul x2, x0, x17
    //   sub x1, x1, x2
    //   add x1, x1, #0x7
    //   mov x0, x1
    //   ret
    {kA64, "x*x - 3*x + 7", "017c009b710080d2027c119b210002cb211c0091e00301aac0035fd6"},
    // x86-64 System V: x / (x - 1)
    //   mov %rdi,%r11
    //   lea -0x1(%r11),%r9
    //   mov %r11,%rax
    //   mov %r9,%rcx
    //   test %rcx,%rcx
    //   je 0x22
    //   cmp $0xffffffffffffffff,%rcx
    //   je 0x26
    //   cqto
    //   idiv %rcx
    //   jmp 0x29
    //   xor %eax,%eax
    //   jmp 0x29
    //   neg %rax
    //   mov %rax,%r8
    //   mov %r8,%rax
    //   ret
    {kX64SysV, "x / (x - 1)",
     "4989fb4d8d8bffffffff4c89d84c89c94885c9740d4883f9ff740b489948f7f9"
     "eb0731c0eb0348f7d84989c04c89c0c3"},
    // i686 cdecl (jit_div at 0x12345678): x / (x - 1)
    //   push %ebx
    //   sub $0x18,%esp
    //   mov $0x1,%ecx
    //   mov $0x0,%ebx
    //   mov 0x20(%esp),%eax
    //   mov 0x24(%esp),%edx
    //   sub %ecx,%eax
    //   sbb %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x20(%esp),%eax
    //   mov 0x24(%esp),%edx
    //   push %ebx
    //   push %ecx
    //   push %edx
    //   push %eax
    //   mov $0x12345678,%ecx
    //   call *%ecx
    //   add $0x10,%esp
    //   add $0x18,%esp
    //   pop %ebx
    //   ret
    {kX86, "x / (x - 1)",
     "5381ec18000000b901000000bb000000008b8424200000008b94242400000029"
     "c819da89c189d38b8424200000008b94242400000053515250b978563412ffd1"
     "83c41081c4180000005bc3"},
    // AArch64: x / (x - 1)
    //   sub x2, x0, #0x1
    //   sdiv x1, x0, x2
    //   mov x0, x1
    //   ret
    {kA64, "x / (x - 1)", "020400d1010cc29ae00301aac0035fd6"},
    // x86-64 System V: -x / 7 + x/0 - x/-1
    //   mov %rdi,%r11
    //   mov %r11,%r8
    //   neg %r8
    //   mov %r8,%rax
    //   mov $0x7,%rcx
    //   cqto
    //   idiv %rcx
    //   mov %rax,%r8
    //   xor %eax,%eax
    //   mov %rax,%r9
    //   add %r9,%r8
    //   mov $0x1,%r10
    //   neg %r10
    //   mov %r11,%rax
    //   mov %r10,%rcx
    //   test %rcx,%rcx
    //   je 0x45
    //   cmp $0xffffffffffffffff,%rcx
    //   je 0x49
    //   cqto
    //   idiv %rcx
    //   jmp 0x4c
    //   xor %eax,%eax
    //   jmp 0x4c
    //   neg %rax
    //   mov %rax,%r9
    //   sub %r9,%r8
    //   mov %r8,%rax
    //   ret
    {kX64SysV, "-x / 7 + x/0 - x/-1",
     "4989fb4d89d849f7d84c89c048c7c107000000489948f7f94989c031c04989c1"
     "4d01c849c7c20100000049f7da4c89d84c89d14885c9740d4883f9ff740b4899"
     "48f7f9eb0731c0eb0348f7d84989c14d29c84c89c0c3"},
    // AArch64: -x / 7 + x/0 - x/-1
    //   neg x1, x0
    //   mov x17, #0x7
    //   sdiv x1, x1, x17
    //   movz x17, #0x0, lsl #48
    //   sdiv x2, x0, x17
    //   add x1, x1, x2
    //   mov x16, #0x1
    //   neg x3, x16
    //   sdiv x2, x0, x3
    //   sub x1, x1, x2
    //   mov x0, x1
    //   ret
    {kA64, "-x / 7 + x/0 - x/-1",
     "e10300cbf10080d2210cd19a1100e0d2020cd19a2100028b300080d2e30310cb"
     "020cc39a210002cbe00301aac0035fd6"},
    // x86-64 System V: 1234567890123 * x + 5 - 9223372036854775807
    //   mov %rdi,%r11
    //   mov %r11,%r8
    //   movabs $0x11f71fb04cb,%rcx
    //   imul %rcx,%r8
    //   lea 0x5(%r8),%r8
    //   movabs $0x7fffffffffffffff,%rcx
    //   sub %rcx,%r8
    //   mov %r8,%rax
    //   ret
    {kX64SysV, "1234567890123 * x + 5 - 9223372036854775807",
     "4989fb4d89d848b9cb04fb711f0100004c0fafc14d8d800500000048b9ffffff"
     "ffffffff7f4929c84c89c0c3"},
    // i686 cdecl (jit_div at 0x12345678): 1234567890123 * x + 5 - 9223372036854775807
    //   push %ebx
    //   sub $0x18,%esp
    //   mov 0x20(%esp),%ecx
    //   mov 0x24(%esp),%ebx
    //   mov $0x71fb04cb,%eax
    //   mov $0x11f,%edx
    //   imul %ecx,%edx
    //   imul %eax,%ebx
    //   add %edx,%ebx
    //   mul %ecx
    //   add %ebx,%edx
    //   mov $0x5,%ecx
    //   mov $0x0,%ebx
    //   add %ecx,%eax
    //   adc %ebx,%edx
    //   mov $0xffffffff,%ecx
    //   mov $0x7fffffff,%ebx
    //   sub %ecx,%eax
    //   sbb %ebx,%edx
    //   add $0x18,%esp
    //   pop %ebx
    //   ret
    {kX86, "1234567890123 * x + 5 - 9223372036854775807",
     "5381ec180000008b8c24200000008b9c2424000000b8cb04fb71ba1f0100000f"
     "afd10fafd801d3f7e101dab905000000bb0000000001c811dab9ffffffffbbff"
     "ffff7f29c819da81c4180000005bc3"},
    // AArch64: 1234567890123 * x + 5 - 9223372036854775807
    //   mov x17, #0x4cb
    //   movk x17, #0x71fb, lsl #16
    //   movk x17, #0x11f, lsl #32
    //   mul x1, x0, x17
    //   add x1, x1, #0x5
    //   mov x17, #0x7fffffffffffffff
    //   sub x1, x1, x17
    //   mov x0, x1
    //   ret
    {kA64, "1234567890123 * x + 5 - 9223372036854775807",
     "719980d2713faef2f123c0f2017c119b211400911100f092210011cbe00301aa"
     "c0035fd6"},
    // x86-64 System V: x+x*(x-x/(x+x*x))
    //   mov %rdi,%r11
    //   sub $0x20,%rsp
    //   mov %r11,%rax
    //   imul %r11,%rax
    //   mov %rax,0x10(%rsp)
    //   mov %r11,%rax
    //   add 0x10(%rsp),%rax
    //   mov %rax,0x8(%rsp)
    //   mov %r11,%rax
    //   mov 0x8(%rsp),%rcx
    //   test %rcx,%rcx
    //   je 0x49
    //   cmp $0xffffffffffffffff,%rcx
    //   je 0x4d
    //   cqto
    //   idiv %rcx
    //   jmp 0x50
    //   xor %eax,%eax
    //   jmp 0x50
    //   neg %rax
    //   mov %rax,0x0(%rsp)
    //   mov %r11,%r10
    //   sub 0x0(%rsp),%r10
    //   mov %r11,%r9
    //   imul %r10,%r9
    //   mov %r11,%r8
    //   add %r9,%r8
    //   mov %r8,%rax
    //   add $0x20,%rsp
    //   ret
    {kX64SysV, "x+x*(x-x/(x+x*x))",
     "4989fb4881ec200000004c89d8490fafc348898424100000004c89d848038424"
     "1000000048898424080000004c89d8488b8c24080000004885c9740d4883f9ff"
     "740b489948f7f9eb0731c0eb0348f7d848898424000000004d89da4c2b942400"
     "0000004d89d94d0fafca4d89d84d01c84c89c04881c420000000c3"},
    // i686 cdecl (jit_div at 0x12345678): x+x*(x-x/(x+x*x))
    //   push %ebx
    //   sub $0x38,%esp
    //   mov 0x40(%esp),%ecx
    //   mov 0x44(%esp),%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   imul %ecx,%edx
    //   imul %eax,%ebx
    //   add %edx,%ebx
    //   mul %ecx
    //   add %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   add %ecx,%eax
    //   adc %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   push %ebx
    //   push %ecx
    //   push %edx
    //   push %eax
    //   mov $0x12345678,%ecx
    //   call *%ecx
    //   add $0x10,%esp
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   sub %ecx,%eax
    //   sbb %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   imul %ecx,%edx
    //   imul %eax,%ebx
    //   add %edx,%ebx
    //   mul %ecx
    //   add %ebx,%edx
    //   mov %eax,%ecx
    //   mov %edx,%ebx
    //   mov 0x40(%esp),%eax
    //   mov 0x44(%esp),%edx
    //   add %ecx,%eax
    //   adc %ebx,%edx
    //   add $0x38,%esp
    //   pop %ebx
    //   ret
    {kX86, "x+x*(x-x/(x+x*x))",
     "5381ec380000008b8c24400000008b9c24440000008b8424400000008b942444"
     "0000000fafd10fafd801d3f7e101da89c189d38b8424400000008b9424440000"
     "0001c811da89c189d38b8424400000008b94244400000053515250b978563412"
     "ffd183c41089c189d38b8424400000008b94244400000029c819da89c189d38b"
     "8424400000008b9424440000000fafd10fafd801d3f7e101da89c189d38b8424"
     "400000008b94244400000001c811da81c4380000005bc3"},
    // AArch64: x+x*(x+x*(x+x*(x+x*(x+x*(x+x*(x+x*(x+x*x)))))))
    //   sub sp, sp, #0x10
    //   mul x16, x0, x0
    //   str x16, [sp]
    //   ldr x17, [sp]
    //   add x15, x0, x17
    //   mul x14, x0, x15
    //   add x13, x0, x14
    //   mul x12, x0, x13
    //   add x11, x0, x12
    //   mul x10, x0, x11
    //   add x9, x0, x10
    //   mul x8, x0, x9
    //   add x7, x0, x8
    //   mul x6, x0, x7
    //   add x5, x0, x6
    //   mul x4, x0, x5
    //   add x3, x0, x4
    //   mul x2, x0, x3
    //   add x1, x0, x2
    //   mov x0, x1
    //   add sp, sp, #0x10
    //   ret
    {kA64, "x+x*(x+x*(x+x*(x+x*(x+x*(x+x*(x+x*(x+x*x)))))))",
     "ff4300d1107c009bf00300f9f10340f90f00118b0e7c0f9b0d000e8b0c7c0d9b"
     "0b000c8b0a7c0b9b09000a8b087c099b0700088b067c079b0500068b047c059b"
     "0300048b027c039b0100028be00301aaff430091c0035fd6"},
};

TEST(Emit, GoldenBytes) {
    for (const Golden &g : kGolden) {
        EXPECT_EQ(Hex(g.backend, g.expr), g.hex) << Name(g.backend) << ": " << g.expr;
    }
}

const Backend kAll[] = {kX64SysV, kX64Win64, kX86, kA64};

// jit_code_bound holds for every generator, on random expressions and on
// the largest and deepest ones.
TEST(Emit, BoundHolds) {
    std::vector<std::string> texts;
    jit_test::RandomExpr gen(99);
    for (int i = 0; i < 500; i++)
        texts.push_back(gen.Make(1 + i % 5));
    std::string deep;
    for (int i = 0; i < JIT_MAX_NESTING; i++)
        deep += "x-x/(";
    deep += "x+x*x" + std::string(JIT_MAX_NESTING, ')');
    texts.push_back(deep);
    // Each "/-C" adds three nodes: a constant, its negation and a division.
    std::string big = "-9223372036854775807";
    for (int i = 0; i < (JIT_MAX_NODES - 2) / 3; i++)
        big += "/-9223372036854775807";
    texts.push_back(big);
    for (const std::string &text : texts) {
        auto p = Lower(text);
        const size_t bound = jit_code_bound(p.get());
        for (Backend b : kAll) {
            std::vector<uint8_t> mem(bound + 1);
            jit_buf buf = {mem.data(), 0, mem.size(), false};
            Emit(b, *p, &buf);
            ASSERT_FALSE(buf.overflow) << Name(b) << ": " << text.substr(0, 80);
            ASSERT_LE(buf.len, bound) << Name(b) << ": " << text.substr(0, 80);
        }
    }
}

// A buffer that is too small ends in overflow, with nothing written past
// its end.
TEST(Emit, FullBufferIsReportedNotOverrun) {
    auto p = Lower("x*x - 3*x + 7");
    for (Backend b : kAll) {
        for (size_t cap = 0; cap < 16; cap++) {
            std::vector<uint8_t> mem(cap + 8, 0xEE);
            jit_buf buf = {mem.data(), 0, cap, false};
            Emit(b, *p, &buf);
            EXPECT_TRUE(buf.overflow) << Name(b) << " with " << cap << " bytes";
            EXPECT_LE(buf.len, cap);
            for (size_t i = cap; i < mem.size(); i++)
                ASSERT_EQ(mem[i], 0xEE) << Name(b);
        }
    }
}

// Programs no parsed expression produces are refused, not compiled.
TEST(Emit, RefusesProgramsOutsideTheLimits) {
    auto p = Lower("x");
    std::vector<uint8_t> mem(4096);
    for (Backend b : kAll) {
        p->max_depth = JIT_MAX_DEPTH + 1;
        jit_buf buf = {mem.data(), 0, mem.size(), false};
        Emit(b, *p, &buf);
        EXPECT_TRUE(buf.overflow) << Name(b);
        p->max_depth = 1;
        p->count = 0;
        buf = {mem.data(), 0, mem.size(), false};
        Emit(b, *p, &buf);
        EXPECT_TRUE(buf.overflow) << Name(b);
        p->count = 1;
    }
}

} // namespace
