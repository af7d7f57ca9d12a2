// The JIT against its interpreter: fixed and random expressions compiled for
// this machine and called through the checked reference, on x86-64 also in
// the other calling convention; staleness after jit_free; and W^X, read from
// /proc/self/maps, through the whole cycle of writing, flipping, calling and
// freeing code. Builds with allow_exec only.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "examples/jit/emit.h"
#include "examples/jit/expr.h"
#include "examples/jit/jit.h"
#include "examples/jit/random_expr.h"
#include "tests/support/memory_facts.h"

namespace {

std::unique_ptr<jit_expr> Parse(const std::string &text) {
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    EXPECT_TRUE(jit_parse(text.c_str(), e.get(), &err))
        << text.substr(0, 80) << ": column " << err.column << ": " << err.message;
    return e;
}

/* Compiles text and checks the code against the interpreter at each input;
 * returns the number of mismatches (each one is also a test failure). */
int CompileAndCompare(const std::string &text, const std::vector<int64_t> &inputs,
                      jit_mode mode = JIT_MODE_FLIP) {
    auto e = Parse(text);
    jit_code code;
    mp_status s = jit_compile_mode(e.get(), mode, &code);
    EXPECT_EQ(s, MP_OK) << text << " (--mode " << jit_mode_name(mode) << "): " << mp_status_str(s);
    if (s != MP_OK) return 1;
    int mismatches = 0;
    for (int64_t x : inputs) {
        int64_t got = 0;
        EXPECT_EQ(expr_fn_call(&code.fn, x, &got), MP_OK);
        int64_t want = jit_interpret(e.get(), x);
        if (got != want) {
            ADD_FAILURE() << text << " at x = " << x << ": JIT " << got << ", interpreter " << want;
            mismatches++;
        }
    }
    EXPECT_EQ(jit_free(&code), MP_OK);
    return mismatches;
}

TEST(Jit, HasABackendHere) {
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(__aarch64__)
    ASSERT_NE(jit_backend(), nullptr);
#else
    GTEST_SKIP() << "no code generator for this architecture";
#endif
}

TEST(Jit, FixedExpressionsAtTheEdges) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    const char *const cases[] = {
        "x",
        "7",
        "-x",
        "x*x - 3*x + 7",
        "x / (x - 1)",
        "x / 0",
        "x / -1",
        "x / (0 - 1)",
        "x / (x - x)",
        "-x / 7 + x / 0 - x / -1",
        "(x + 1) / (x - 1) * (x / 3)",
        "1234567890123 * x + 5 - 9223372036854775807",
        "4096 - x + 4095 - 4294967296 * x - 2147483648",
        "x * 2147483647 - 2147483648 * x",
        "0 - x - 2147483648",
        "x / 2147483648 + x / 4294967296 + 9223372036854775807 / x",
        "- - - - x",
    };
    std::vector<int64_t> inputs = jit_test::EdgeInputs();
    for (int64_t x = -300; x <= 300; x++)
        inputs.push_back(x);
    for (const char *text : cases)
        EXPECT_EQ(CompileAndCompare(text, inputs), 0) << text;
}

TEST(Jit, RandomExpressionsMatchTheInterpreter) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    jit_test::RandomExpr gen(20261128);
    int failed = 0;
    for (int i = 0; i < 3000 && failed < 5; i++) {
        std::string text = gen.Make(1 + i % 5);
        std::vector<int64_t> inputs;
        for (int k = 0; k < 40; k++)
            inputs.push_back(gen.Input());
        if (CompileAndCompare(text, inputs) != 0) failed++;
    }
    EXPECT_EQ(failed, 0);
}

// The deepest stack an expression can need: values spill past every
// architecture's registers into the frame.
TEST(Jit, DeepestStack) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    std::string text;
    for (int i = 0; i < JIT_MAX_NESTING; i++)
        text += i % 3 == 0 ? "x-x/(" : "x+x*(";
    text += "x+x*x";
    for (int i = 0; i < JIT_MAX_NESTING; i++)
        text += ")";
    EXPECT_EQ(CompileAndCompare(text, jit_test::EdgeInputs()), 0);
}

// The most nodes an expression can have.
TEST(Jit, LargestExpression) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    static const char *const steps[] = {"*x", "-3", "+x", "/x"};
    std::string text = "x";
    for (int i = 0; i < (JIT_MAX_NODES - 1) / 2; i++)
        text += steps[i % 4];
    EXPECT_EQ(CompileAndCompare(text, jit_test::EdgeInputs()), 0);
}

TEST(Jit, ReferenceIsStaleAfterFree) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    auto e = Parse("x + 1");
    jit_code code;
    ASSERT_EQ(jit_compile(e.get(), &code), MP_OK);
    const expr_fn copy = code.fn;
    int64_t y = 0;
    ASSERT_EQ(expr_fn_call(&copy, 41, &y), MP_OK);
    EXPECT_EQ(y, 42);
    ASSERT_EQ(jit_free(&code), MP_OK);
    EXPECT_FALSE(expr_fn_valid(&copy));
    y = 0;
    EXPECT_EQ(expr_fn_call(&copy, 41, &y), MP_ESTALE);
    EXPECT_EQ(y, 0);
    EXPECT_EQ(jit_free(&code), MP_ESTALE);
}

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
// The x86-64 generator for the convention this machine does not use,
// called through a function pointer declared with that convention: both
// conventions are tested on every x86-64 machine.
#if defined(_WIN32)
#define OTHER_ABI JIT_X64_SYSV
typedef int64_t(__attribute__((sysv_abi)) * other_abi_fn)(int64_t);
#else
#define OTHER_ABI JIT_X64_WIN64
typedef int64_t(__attribute__((ms_abi)) * other_abi_fn)(int64_t);
#endif

TEST(Jit, OtherX64CallingConvention) {
    jit_test::RandomExpr gen(7);
    auto prog = std::make_unique<jit_program>();
    for (int i = 0; i < 500; i++) {
        std::string text = i == 0 ? "x*x - 3*x + 7" : gen.Make(1 + i % 5);
        auto e = Parse(text);
        jit_lower(e.get(), prog.get());
        mp_pages_rw rw;
        ASSERT_EQ(mp_pages_rw_new(jit_code_bound(prog.get()), &rw), MP_OK);
        jit_buf buf = {mp_pages_rw_data_mut(&rw), 0, mp_pages_rw_len(&rw), false};
        jit_emit_x64(prog.get(), OTHER_ABI, &buf);
        ASSERT_FALSE(buf.overflow);
        mp_pages_rx rx;
        ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
        other_abi_fn fn = (other_abi_fn)(uintptr_t)mp_pages_rx_data(&rx);
        for (int k = 0; k < 20; k++) {
            int64_t x = gen.Input();
            ASSERT_EQ(fn(x), jit_interpret(e.get(), x)) << text << " at x = " << x;
        }
        ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);
    }
}
#endif

/* The mappings that are writable and executable at once; fails the test
 * (and returns false) when /proc/self/maps cannot be read. */
bool NoWritableAndExecutable(const char *step) {
    std::vector<std::string> wx;
    if (!mp_test::FindWritableAndExecutable(&wx)) {
        ADD_FAILURE() << "cannot read /proc/self/maps";
        return false;
    }
    for (const std::string &line : wx)
        ADD_FAILURE() << "W+X after " << step << ": " << line;
    return wx.empty();
}

/* The access of the mapping that holds p, as "rw-" or "r-x" ("" if none). */
std::string AccessOf(const void *p) {
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) return "?";
    const mp_test::Mapping *m = mp_test::FindMapping(maps, p);
    if (m == nullptr) return "";
    return std::string(m->read ? "r" : "-") + (m->write ? "w" : "-") + (m->exec ? "x" : "-");
}

// In a build with deny_xw (the default with allow_exec), no page of the
// process is writable and executable at once at any step of the JIT's
// cycle, and the code's own pages have exactly the access of their state.
TEST(Jit, WriteXorExecuteThroughTheWholeCycle) {
#ifdef _WIN32
    GTEST_SKIP() << "W^X is read from /proc/self/maps, which Windows does not have";
#endif
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) GTEST_SKIP() << "no /proc/self/maps here";
    if (!MP_DENY_XW) GTEST_SKIP() << "a build with deny_xw=false may have W+X pages";
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    ASSERT_TRUE(NoWritableAndExecutable("start"));

    auto e = Parse("x*x - 3*x + 7");
    auto prog = std::make_unique<jit_program>();
    jit_lower(e.get(), prog.get());
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(jit_code_bound(prog.get()), &rw), MP_OK);
    uint8_t *data = mp_pages_rw_data_mut(&rw);
    EXPECT_EQ(AccessOf(data), "rw-");
    EXPECT_TRUE(NoWritableAndExecutable("mp_pages_rw_new"));

    // The code generator of this machine, through the JIT's own path.
    jit_code code;
    ASSERT_EQ(jit_compile(e.get(), &code), MP_OK);
    const void *compiled = mp_pages_rx_data(&code.pages);
    EXPECT_EQ(AccessOf(compiled), "r-x");
    EXPECT_TRUE(NoWritableAndExecutable("jit_compile"));

    // The same steps one by one, with the pages made above.
    std::memcpy(data, compiled, code.size);
    EXPECT_TRUE(NoWritableAndExecutable("writing the code"));
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &rx), MP_OK);
    EXPECT_EQ(AccessOf(data), "r-x");
    EXPECT_TRUE(NoWritableAndExecutable("mp_pages_rw_into_rx"));
    expr_fn fn;
    ASSERT_EQ(expr_fn_from(&rx, 0, &fn), MP_OK);
    int64_t y = 0;
    ASSERT_EQ(expr_fn_call(&fn, 10, &y), MP_OK);
    EXPECT_EQ(y, 77);
    EXPECT_TRUE(NoWritableAndExecutable("calling the code"));

    // Rewriting goes back through rw: never both at once.
    ASSERT_EQ(mp_pages_rx_into_rw(&rx, &rw), MP_OK);
    EXPECT_EQ(AccessOf(data), "rw-");
    EXPECT_TRUE(NoWritableAndExecutable("mp_pages_rx_into_rw"));
    EXPECT_EQ(expr_fn_call(&fn, 10, &y), MP_ESTALE);

    ASSERT_EQ(mp_pages_rw_free(&rw), MP_OK);
    ASSERT_EQ(jit_free(&code), MP_OK);
    EXPECT_TRUE(NoWritableAndExecutable("freeing"));
}

// The other ways of making the code executable, where the build has them,
// against the interpreter; a mode the build lacks is MP_ENOTSUP.
TEST(Jit, EveryModeOfThisBuild) {
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    const std::vector<int64_t> inputs = {INT64_MIN, -7, -1, 0, 1, 2, 1000, INT64_MAX};
    const struct {
        jit_mode mode;
        bool in_build;
    } modes[] = {{JIT_MODE_FLIP, true},
                 {JIT_MODE_DUAL, MP_HAVE_DUAL != 0},
                 {JIT_MODE_RWX, MP_HAVE_RWX != 0}};
    for (const auto &m : modes) {
        if (m.in_build) {
            EXPECT_EQ(CompileAndCompare("x*x - 3*x + 7 - x/(x+3)", inputs, m.mode), 0);
        } else {
            auto e = Parse("x");
            jit_code code;
            EXPECT_EQ(jit_compile_mode(e.get(), m.mode, &code), MP_ENOTSUP)
                << jit_mode_name(m.mode);
        }
    }
}

#if MP_HAVE_DUAL
// The dual mode: no mapping writable and executable while the code is
// written, synced, called and freed; the code runs from the rx view.
TEST(JitWx, DualModeNeverWritableAndExecutable) {
#ifdef _WIN32
    GTEST_SKIP() << "W^X is read from /proc/self/maps, which Windows does not have";
#endif
    std::vector<mp_test::Mapping> maps;
    if (!mp_test::ReadMaps(&maps)) GTEST_SKIP() << "no /proc/self/maps here";
    if (jit_backend() == nullptr) GTEST_SKIP() << "no code generator for this architecture";
    ASSERT_TRUE(NoWritableAndExecutable("start"));
    auto e = Parse("x*x - 3*x + 7");
    jit_code code;
    ASSERT_EQ(jit_compile_mode(e.get(), JIT_MODE_DUAL, &code), MP_OK);
    EXPECT_EQ(code.entry, static_cast<const void *>(mp_pages_dual_code(&code.dual)));
    EXPECT_EQ(AccessOf(code.entry), "r-x");
    EXPECT_EQ(AccessOf(mp_pages_dual_data_mut(&code.dual)), "rw-");
    EXPECT_TRUE(NoWritableAndExecutable("jit_compile_mode dual"));
    int64_t y = 0;
    ASSERT_EQ(expr_fn_call(&code.fn, 10, &y), MP_OK);
    EXPECT_EQ(y, 77);
    ASSERT_EQ(jit_free(&code), MP_OK);
    EXPECT_EQ(expr_fn_call(&code.fn, 10, &y), MP_ESTALE);
    EXPECT_TRUE(NoWritableAndExecutable("freeing"));
}
#endif

} // namespace
