/*
 * Arithmetic expressions in one variable x: the parser, the reference
 * interpreter, and the lowering to a stack program that the code
 * generators (emit.h) translate to machine code.
 *
 * The language (docs/jit.md has the full definition):
 *   expr    = term { ("+" | "-") term }
 *   term    = unary { ("*" | "/") unary }
 *   unary   = "-" unary | primary
 *   primary = "x" | decimal constant | "(" expr ")"
 * Spaces and tabs may appear between tokens. Constants are 0 to INT64_MAX.
 *
 * Semantics, the same in the interpreter and in every code generator:
 * values are int64_t; +, -, * and unary minus wrap around modulo 2^64;
 * / truncates toward zero, x / 0 is 0, and INT64_MIN / -1 is INT64_MIN
 * (its true value wrapped), so no input can trap. This is what AArch64's
 * SDIV does; x86 code tests for the two cases before IDIV.
 */
#ifndef MEMORY_PAGES_EXAMPLES_JIT_EXPR_H
#define MEMORY_PAGES_EXAMPLES_JIT_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits that keep parsing, interpreting and compiling bounded: nodes of
 * the tree (operands and operators) and nesting of parentheses and unary
 * minus. */
#define JIT_MAX_NODES 4096
#define JIT_MAX_NESTING 200

/* The deepest a stack program of a parsed expression gets. Within one level
 * of parentheses at most two operands wait on the stack (the left operands
 * of a + and of a * whose right sides are still being computed), so the
 * stack holds at most 2 per level of nesting, plus 3 for the innermost
 * "x+x*x". The code generators size their frames by it. */
#define JIT_MAX_DEPTH (2 * JIT_MAX_NESTING + 3)

/* What a tree node or a stack-program instruction does. */
typedef enum jit_op {
    JIT_CONST, /* push value */
    JIT_X,     /* push x */
    JIT_NEG,   /* replace the top by its negation */
    JIT_ADD,   /* pop b, pop a, push a + b (and likewise below) */
    JIT_SUB,
    JIT_MUL,
    JIT_DIV
} jit_op;

/* One node of a parsed expression; a and b index the operands (b for
 * binary operators only). */
typedef struct jit_node {
    jit_op op;
    int32_t a, b;
    int64_t value; /* JIT_CONST only */
} jit_node;

/* A parsed expression: nodes[root] is the whole expression. */
typedef struct jit_expr {
    jit_node nodes[JIT_MAX_NODES];
    int32_t count;
    int32_t root;
} jit_expr;

/* Why an expression did not parse: the 1-based column of the offending
 * character and a message, e.g. "expected ')' but found end of input". */
typedef struct jit_error {
    size_t column;
    char message[96];
} jit_error;

/* Parses the NUL-terminated text into *out. Returns false, with *err
 * filled, when the text is not an expression of the language or exceeds
 * the limits. */
bool jit_parse(const char *text, jit_expr *out, jit_error *err);

/* Evaluates e at x by walking the tree: the reference semantics. */
int64_t jit_interpret(const jit_expr *e, int64_t x);

/* The arithmetic of the language, shared by the interpreter and by the
 * generated code where it calls back into C (i686 division). */
int64_t jit_add(int64_t a, int64_t b);
int64_t jit_sub(int64_t a, int64_t b);
int64_t jit_mul(int64_t a, int64_t b);
int64_t jit_div(int64_t a, int64_t b);
int64_t jit_neg(int64_t a);

/* One instruction of a stack program. */
typedef struct jit_insn {
    jit_op op;
    int64_t value; /* JIT_CONST only */
} jit_insn;

/* The expression in postfix order: running the instructions on an empty
 * stack leaves its value as the only entry. max_depth is the deepest the
 * stack gets. */
typedef struct jit_program {
    jit_insn insns[JIT_MAX_NODES];
    int32_t count;
    int32_t max_depth;
} jit_program;

/* Lowers a parsed expression to its stack program. */
void jit_lower(const jit_expr *e, jit_program *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_EXAMPLES_JIT_EXPR_H */
