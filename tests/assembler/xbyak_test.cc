// The example of docs/jit.md, "Writing code with a real assembler": xbyak
// (Debian's libxbyak-dev, header-only C++) assembles x86-64 code straight
// into the read-write pages of a page set, through the CodeGenerator
// constructor that takes a user buffer, which never changes the buffer's
// protection (its default constructor maps memory of its own, writable and
// executable, outside this library). The pages then move to rx at the same
// address, so the absolute addresses xbyak wrote into the code (of a table
// inside the pages, of a C function of this binary) stay right, and the
// code runs through a checked reference and through the plain pointer of
// _raw. No mapping is writable and executable at any step.
//
// x86-64 Linux only (BUILD): the code is x86-64 System V, and xbyak's
// headers are found in /usr/include, which only the native toolchain
// searches.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <xbyak/xbyak.h>

#include "memory_pages/memory_pages.h"
#include "tests/assembler/asm_fns.h"
#include "tests/support/memory_facts.h"

namespace {

extern "C" int64_t Triple(int64_t n) {
    return 3 * n;
}

const int64_t kTable[8] = {0, 1000, 4000, 9000, 16000, 25000, 36000, 49000};

// int64_t f(int64_t x, int64_t n): the table entry x & 7, which the code
// holds after its instructions, plus Triple(n), a function of this binary.
// Both addresses are absolute, 64-bit immediates: the code is right only at
// the address it was assembled for.
class TableAndCall : public Xbyak::CodeGenerator {
  public:
    TableAndCall(uint8_t *buf, size_t size) : Xbyak::CodeGenerator(size, buf) {
        Xbyak::Label table;
        push(rbx); // also aligns the stack to 16 bytes for the call
        mov(rbx, rdi);
        mov(rdi, rsi);
        mov(rax, reinterpret_cast<uint64_t>(&Triple));
        call(rax);
        and_(rbx, 7);
        mov(rcx, table); // the absolute address of the table below
        add(rax, ptr[rcx + rbx * 8]);
        pop(rbx);
        ret();
        align(8);
        L(table);
        for (int64_t v : kTable)
            dq(static_cast<uint64_t>(v));
    }
};

// The lines of /proc/self/maps that are writable and executable.
std::vector<std::string> WritableAndExecutable() {
    std::vector<std::string> wx;
    EXPECT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    return wx;
}

TEST(Xbyak, AssemblesIntoRwPagesAndRunsFromRx) {
    const std::vector<std::string> wx_before = WritableAndExecutable();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(4096, &rw), MP_OK);
    uint8_t *buf = mp_pages_rw_data_mut(&rw);
    const size_t len = mp_pages_rw_len(&rw);

    size_t code_size = 0;
    {
        TableAndCall gen(buf, len);
        ASSERT_EQ(gen.getCode(), buf) << "xbyak did not write into the pages";
        ASSERT_FALSE(gen.hasUndefinedLabel());
        code_size = gen.getSize();
    } // The generator with a user buffer leaves the buffer alone when it goes.
    ASSERT_GT(code_size, 0u);
    ASSERT_LE(code_size, len);
    EXPECT_EQ(WritableAndExecutable(), wx_before) << "assembling made a W+X mapping";

    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    ASSERT_EQ(mp_pages_rx_data(&rx), buf) << "the code moved, and its absolute addresses with it";
    EXPECT_EQ(WritableAndExecutable(), wx_before) << "into_rx made a W+X mapping";

    asm_binop_fn f;
    ASSERT_EQ(asm_binop_fn_from(&rx, 0, &f), MP_OK);
    int64_t (*raw)(int64_t, int64_t) = nullptr;
    ASSERT_EQ(asm_binop_fn_raw(&f, &raw), MP_OK);
    for (int64_t x :
         {INT64_C(0), INT64_C(1), INT64_C(5), INT64_C(7), INT64_C(8), INT64_C(13), INT64_C(-1)}) {
        for (int64_t n : {INT64_C(0), INT64_C(1), INT64_C(-4), INT64_C(1) << 40}) {
            const int64_t want = kTable[x & 7] + Triple(n);
            int64_t got = 0;
            ASSERT_EQ(asm_binop_fn_call(&f, x, n, &got), MP_OK);
            EXPECT_EQ(got, want) << "x = " << x << ", n = " << n;
            EXPECT_EQ(raw(x, n), want) << "through _raw, x = " << x << ", n = " << n;
        }
    }

    // The reference is checked; the raw pointer is not (docs/jit.md): after
    // the free only the reference knows.
    ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);
    int64_t got = 0;
    EXPECT_EQ(asm_binop_fn_call(&f, 1, 1, &got), MP_ESTALE);
}

} // namespace
