/*
 * Random expressions of the JIT demo's language, for differential tests:
 * every operator, unary minus, parentheses and operator chains that rely on
 * precedence, constants at the edges that encoders treat specially (0, -1,
 * 12-bit, 32-bit and 64-bit immediates), and inputs at the edges of int64_t.
 */
#ifndef MEMORY_PAGES_EXAMPLES_JIT_RANDOM_EXPR_H
#define MEMORY_PAGES_EXAMPLES_JIT_RANDOM_EXPR_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace jit_test {

/* Constants worth hitting: immediate-size boundaries of the encoders. */
inline const std::vector<int64_t> &EdgeConstants() {
    static const std::vector<int64_t> v = {0,
                                           1,
                                           2,
                                           3,
                                           7,
                                           10,
                                           4095,
                                           4096,
                                           65535,
                                           65536,
                                           2147483647,
                                           2147483648,
                                           4294967295,
                                           4294967296,
                                           4294967297,
                                           1234567890123,
                                           INT64_C(281474976710656),
                                           INT64_MAX};
    return v;
}

/* Inputs worth trying, beside random ones. */
inline const std::vector<int64_t> &EdgeInputs() {
    static const std::vector<int64_t> v = {0,
                                           1,
                                           -1,
                                           2,
                                           -2,
                                           3,
                                           7,
                                           -7,
                                           INT64_MIN,
                                           INT64_MAX,
                                           INT64_MIN + 1,
                                           INT32_MIN,
                                           INT32_MAX,
                                           4294967296,
                                           -4294967296};
    return v;
}

class RandomExpr {
  public:
    explicit RandomExpr(uint64_t seed) : rng_(seed) {}

    /* An expression of nesting depth at most depth. */
    std::string Make(int depth) {
        int pick = Below(depth <= 0 ? 2 : 10);
        switch (pick) {
        case 0:
            return "x";
        case 1:
            return Constant();
        case 2:
            return "-" + Make(depth - 1);
        case 3:
            return "(" + Make(depth - 1) + ")";
        default: {
            /* A chain of operands without parentheses: precedence decides. */
            std::string s = Make(depth - 1);
            int n = 1 + Below(3);
            for (int i = 0; i < n; i++)
                s += Op() + Make(depth - 1);
            return Below(2) ? "(" + s + ")" : s;
        }
        }
    }

    /* A random input: an edge value or a random 64-bit or small one. */
    int64_t Input() {
        switch (Below(3)) {
        case 0:
            return EdgeInputs()[Below((int)EdgeInputs().size())];
        case 1:
            return (int64_t)rng_();
        default:
            return (int64_t)Below(2001) - 1000;
        }
    }

  private:
    int Below(int n) {
        return (int)(rng_() % (uint64_t)n);
    }

    std::string Op() {
        static const char *const ops[] = {" + ", " - ", " * ", " / ", "+", "-", "*", "/"};
        return ops[Below(8)];
    }

    std::string Constant() {
        switch (Below(3)) {
        case 0:
            return std::to_string(EdgeConstants()[Below((int)EdgeConstants().size())]);
        case 1:
            return std::to_string(rng_() >> 1);
        default:
            return std::to_string(Below(20));
        }
    }

    std::mt19937_64 rng_;
};

} // namespace jit_test

#endif /* MEMORY_PAGES_EXAMPLES_JIT_RANDOM_EXPR_H */
