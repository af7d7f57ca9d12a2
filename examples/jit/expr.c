/* The parser, interpreter and lowering of expr.h. */
#include "examples/jit/expr.h"

#include <stdio.h>
#include <string.h>

int64_t jit_add(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

int64_t jit_sub(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

int64_t jit_mul(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

int64_t jit_neg(int64_t a) {
    return (int64_t)(0 - (uint64_t)a);
}

int64_t jit_div(int64_t a, int64_t b) {
    if (b == 0) return 0;
    if (b == -1) return jit_neg(a);
    return a / b;
}

/* ---- Parser: recursive descent over the text, one token of lookahead. */

typedef struct parser {
    const char *text;
    size_t pos; /* of the next unread character */
    int depth;  /* nesting of parentheses and unary minus */
    jit_expr *out;
    jit_error *err;
} parser;

/* Records an error at byte offset pos of the text; returns -1, the node
 * index that means "failed". */
static int32_t fail_at(parser *p, size_t pos, const char *message) {
    p->err->column = pos + 1;
    snprintf(p->err->message, sizeof p->err->message, "%s", message);
    return -1;
}

static void skip_blanks(parser *p) {
    while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t')
        p->pos++;
}

static bool is_name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* Describes the character at pos for a message: "end of input", "')'". */
static void describe(const parser *p, size_t pos, char *buf, size_t size) {
    unsigned char c = (unsigned char)p->text[pos];
    if (c == '\0') {
        snprintf(buf, size, "end of input");
    } else if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, size, "'%c'", c);
    } else {
        snprintf(buf, size, "byte 0x%02x", c);
    }
}

/* Fails with "expected WHAT but found <the character at the position>". */
static int32_t fail_expected(parser *p, const char *what) {
    char found[24], message[96];
    describe(p, p->pos, found, sizeof found);
    snprintf(message, sizeof message, "expected %s but found %s", what, found);
    return fail_at(p, p->pos, message);
}

static int32_t add_node(parser *p, size_t pos, jit_op op, int32_t a, int32_t b, int64_t value) {
    if (p->out->count >= JIT_MAX_NODES) {
        return fail_at(p, pos, "the expression has too many terms (the limit is 4096)");
    }
    jit_node *n = &p->out->nodes[p->out->count];
    n->op = op;
    n->a = a;
    n->b = b;
    n->value = value;
    return p->out->count++;
}

static int32_t parse_expr(parser *p);

static int32_t parse_number(parser *p) {
    size_t start = p->pos;
    uint64_t v = 0;
    while (p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
        unsigned digit = (unsigned)(p->text[p->pos] - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10) {
            return fail_at(p, start, "the constant is larger than 9223372036854775807");
        }
        v = v * 10 + digit;
        p->pos++;
    }
    return add_node(p, start, JIT_CONST, -1, -1, (int64_t)v);
}

static int32_t parse_unary(parser *p) {
    skip_blanks(p);
    size_t start = p->pos;
    char c = p->text[p->pos];
    if (c == '-' || c == '(') {
        if (++p->depth > JIT_MAX_NESTING) {
            return fail_at(p, start, "parentheses and minus signs nest more than 200 deep");
        }
        p->pos++;
        int32_t inner = c == '-' ? parse_unary(p) : parse_expr(p);
        if (inner < 0) return -1;
        p->depth--;
        if (c == '-') return add_node(p, start, JIT_NEG, inner, -1, 0);
        skip_blanks(p);
        if (p->text[p->pos] != ')') return fail_expected(p, "')' or an operator");
        p->pos++;
        return inner;
    }
    if (c >= '0' && c <= '9') return parse_number(p);
    if (is_name_char(c, true)) {
        size_t end = p->pos;
        while (is_name_char(p->text[end], false))
            end++;
        if (end - start != 1 || c != 'x') {
            char message[96];
            snprintf(message, sizeof message, "unknown name '%.*s' (the variable is x)",
                     (int)(end - start > 40 ? 40 : end - start), p->text + start);
            return fail_at(p, start, message);
        }
        p->pos = end;
        return add_node(p, start, JIT_X, -1, -1, 0);
    }
    return fail_expected(p, "x, a number, '-' or '('");
}

/* Parses operands of one precedence level joined by its two operators. */
static int32_t parse_level(parser *p, int32_t (*operand)(parser *), char op1, jit_op code1,
                           char op2, jit_op code2) {
    int32_t left = operand(p);
    while (left >= 0) {
        skip_blanks(p);
        char c = p->text[p->pos];
        if (c != op1 && c != op2) break;
        size_t at = p->pos++;
        int32_t right = operand(p);
        if (right < 0) return -1;
        left = add_node(p, at, c == op1 ? code1 : code2, left, right, 0);
    }
    return left;
}

static int32_t parse_term(parser *p) {
    return parse_level(p, parse_unary, '*', JIT_MUL, '/', JIT_DIV);
}

static int32_t parse_expr(parser *p) {
    return parse_level(p, parse_term, '+', JIT_ADD, '-', JIT_SUB);
}

bool jit_parse(const char *text, jit_expr *out, jit_error *err) {
    parser p = {text, 0, 0, out, err};
    out->count = 0;
    int32_t root = parse_expr(&p);
    if (root < 0) return false;
    skip_blanks(&p);
    if (text[p.pos] != '\0') {
        fail_expected(&p, "an operator or end of input");
        return false;
    }
    out->root = root;
    return true;
}

/* ---- Interpreter: a tree walk. */

static int64_t eval(const jit_node *nodes, int32_t i, int64_t x) {
    const jit_node *n = &nodes[i];
    switch (n->op) {
    case JIT_CONST:
        return n->value;
    case JIT_X:
        return x;
    case JIT_NEG:
        return jit_neg(eval(nodes, n->a, x));
    case JIT_ADD:
        return jit_add(eval(nodes, n->a, x), eval(nodes, n->b, x));
    case JIT_SUB:
        return jit_sub(eval(nodes, n->a, x), eval(nodes, n->b, x));
    case JIT_MUL:
        return jit_mul(eval(nodes, n->a, x), eval(nodes, n->b, x));
    case JIT_DIV:
        return jit_div(eval(nodes, n->a, x), eval(nodes, n->b, x));
    }
    return 0;
}

int64_t jit_interpret(const jit_expr *e, int64_t x) {
    return eval(e->nodes, e->root, x);
}

/* ---- Lowering: the tree in postfix order. */

static void lower(const jit_node *nodes, int32_t i, int32_t depth, jit_program *out) {
    const jit_node *n = &nodes[i];
    if (n->op != JIT_CONST && n->op != JIT_X) {
        lower(nodes, n->a, depth, out);
        if (n->op != JIT_NEG) lower(nodes, n->b, depth + 1, out);
    } else if (depth + 1 > out->max_depth) {
        out->max_depth = depth + 1;
    }
    out->insns[out->count].op = n->op;
    out->insns[out->count].value = n->value;
    out->count++;
}

void jit_lower(const jit_expr *e, jit_program *out) {
    out->count = 0;
    out->max_depth = 0;
    lower(e->nodes, e->root, 0, out);
}
