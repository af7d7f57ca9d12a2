// The expression language of the JIT demo (expr.h): what parses, the
// one-line errors with their columns for what does not, the semantics of the
// interpreter at the edges of int64_t, and the lowering to stack programs.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "examples/jit/expr.h"

namespace {

/* Parses text; returns the error (column 0 on success). */
jit_error ParseError(const std::string &text) {
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    if (jit_parse(text.c_str(), e.get(), &err)) err.column = 0;
    return err;
}

/* Evaluates text at x; fails the test if it does not parse. */
int64_t Eval(const std::string &text, int64_t x) {
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    EXPECT_TRUE(jit_parse(text.c_str(), e.get(), &err)) << text << ": " << err.message;
    return jit_interpret(e.get(), x);
}

std::string Repeat(const std::string &s, int n) {
    std::string out;
    for (int i = 0; i < n; i++)
        out += s;
    return out;
}

struct ErrorCase {
    std::string text;
    size_t column;
    std::string message;
};

TEST(Parse, ErrorsPointAtTheColumn) {
    const ErrorCase cases[] = {
        {"", 1, "expected x, a number, '-' or '(' but found end of input"},
        {"x +", 4, "expected x, a number, '-' or '(' but found end of input"},
        {"x*x - 3*x + )", 13, "expected x, a number, '-' or '(' but found ')'"},
        {"(x + 1", 7, "expected ')' or an operator but found end of input"},
        {"((x) * 2))", 10, "expected an operator or end of input but found ')'"},
        {"x x", 3, "expected an operator or end of input but found 'x'"},
        {"3x", 2, "expected an operator or end of input but found 'x'"},
        {"x % 2", 3, "expected an operator or end of input but found '%'"},
        {"y + 1", 1, "unknown name 'y' (the variable is x)"},
        {"2 * xy", 5, "unknown name 'xy' (the variable is x)"},
        {"x + \x01", 5, "expected x, a number, '-' or '(' but found byte 0x01"},
        {"1 + 9223372036854775808", 5, "the constant is larger than 9223372036854775807"},
        {"+x", 1, "expected x, a number, '-' or '(' but found '+'"},
    };
    for (const ErrorCase &c : cases) {
        jit_error err = ParseError(c.text);
        EXPECT_EQ(err.column, c.column) << '"' << c.text << '"';
        EXPECT_EQ(std::string(err.message), c.message) << '"' << c.text << '"';
    }
}

TEST(Parse, Limits) {
    EXPECT_EQ(ParseError(Repeat("(", 200) + "x" + Repeat(")", 200)).column, 0u);
    jit_error deep = ParseError(Repeat("(", 201) + "x" + Repeat(")", 201));
    EXPECT_EQ(deep.column, 201u);
    EXPECT_EQ(std::string(deep.message), "parentheses and minus signs nest more than 200 deep");
    EXPECT_EQ(ParseError(Repeat("-", 201) + "x").column, 201u);

    // 2048 operators and 2049 operands are 4097 nodes, one too many; the
    // error points at the operator whose node did not fit.
    EXPECT_EQ(ParseError(Repeat("x+", 2047) + "x").column, 0u);
    jit_error big = ParseError(Repeat("x+", 2048) + "x");
    EXPECT_EQ(big.column, 2 * 2048u);
    EXPECT_EQ(std::string(big.message), "the expression has too many terms (the limit is 4096)");
}

struct EvalCase {
    std::string text;
    int64_t x;
    int64_t want;
};

TEST(Interpret, PrecedenceAndAssociativity) {
    const EvalCase cases[] = {
        {"x*x - 3*x + 7", 2, 5}, {"1 + 2 * 3", 0, 7},  {"(1 + 2) * 3", 0, 9}, {"10 - 4 - 3", 0, 3},
        {"100 / 10 / 5", 0, 2},  {"-x*x", 3, -9},      {"- -x", 5, 5},        {"--x", 5, 5},
        {"-(x - 10)", 3, 7},     {" \tx\t+ 1 ", 1, 2}, {"0", 99, 0},
    };
    for (const EvalCase &c : cases)
        EXPECT_EQ(Eval(c.text, c.x), c.want) << c.text;
}

TEST(Interpret, DivisionNeverTraps) {
    const EvalCase cases[] = {
        {"x / 2", 7, 3},
        {"x / 2", -7, -3}, // truncates toward zero
        {"x / -2", 7, -3},
        {"x / 0", 5, 0},
        {"x / (x - x)", INT64_MIN, 0},
        {"x / -1", INT64_MIN, INT64_MIN},
        {"x / (0 - 1)", INT64_MIN, INT64_MIN},
        {"x / -1", 5, -5},
        {"x / x", INT64_MIN, 1},
    };
    for (const EvalCase &c : cases)
        EXPECT_EQ(Eval(c.text, c.x), c.want) << c.text << " at " << c.x;
}

TEST(Interpret, ArithmeticWraps) {
    const EvalCase cases[] = {
        {"x + 1", INT64_MAX, INT64_MIN},
        {"x - 1", INT64_MIN, INT64_MAX},
        {"x * 2", INT64_MAX, -2},
        {"-x", INT64_MIN, INT64_MIN},
        {"9223372036854775807 + 1", 0, INT64_MIN},
        {"0 - 9223372036854775807 - 1", 0, INT64_MIN},
        {"x * x", 4294967296, 0},
        {"x * x", 3037000500, INT64_C(-9223372036709301616)},
        {"x * x * x", 3037000500, INT64_C(441805193841096000)},
    };
    for (const EvalCase &c : cases)
        EXPECT_EQ(Eval(c.text, c.x), c.want) << c.text << " at " << c.x;
}

TEST(Lower, PostfixOrderAndDepth) {
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    ASSERT_TRUE(jit_parse("x*x - 3*x + 7", e.get(), &err));
    auto p = std::make_unique<jit_program>();
    jit_lower(e.get(), p.get());
    const jit_op want[] = {JIT_X,   JIT_X,   JIT_MUL,   JIT_CONST, JIT_X,
                           JIT_MUL, JIT_SUB, JIT_CONST, JIT_ADD};
    ASSERT_EQ(p->count, 9);
    for (int i = 0; i < 9; i++)
        EXPECT_EQ(p->insns[i].op, want[i]) << "instruction " << i;
    EXPECT_EQ(p->insns[3].value, 3);
    EXPECT_EQ(p->insns[7].value, 7);
    EXPECT_EQ(p->max_depth, 3);
}

// The deepest stack any parsed expression can need is JIT_MAX_DEPTH, which
// the code generators size their frames by: this expression reaches it.
TEST(Lower, DeepestStackIsTheBound) {
    std::string text = Repeat("x+x*(", JIT_MAX_NESTING) + "x+x*x" + Repeat(")", JIT_MAX_NESTING);
    auto e = std::make_unique<jit_expr>();
    jit_error err{};
    ASSERT_TRUE(jit_parse(text.c_str(), e.get(), &err)) << err.message;
    auto p = std::make_unique<jit_program>();
    jit_lower(e.get(), p.get());
    EXPECT_EQ(p->max_depth, JIT_MAX_DEPTH);
}

} // namespace
