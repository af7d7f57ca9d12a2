/*
 * The x86-64 code generator (System V and Win64).
 *
 * Registers: x is copied to r11 on entry; the computed value at stack depth
 * d lives in r8, r9, r10 for d < 3, else in the frame slot [rsp + 8*(d-3)];
 * rax, rcx and rdx are scratch (rax and rdx for IDIV). All of these are
 * scratch registers in both conventions, so nothing needs saving. The frame
 * is below 4 KiB (the parser's nesting limit bounds the stack depth), so it
 * needs no stack probes on Windows.
 */
#include "examples/jit/emit.h"

/* Register numbers as instructions encode them. */
enum { RAX = 0, RCX = 1, RSP = 4, RDI = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11 };

#define X_REG R11
#define VALUE_REGS 3
static const int value_reg[VALUE_REGS] = {R8, R9, R10};

typedef enum kind { K_X, K_CONST, K_VALUE } kind;

/* A stack entry, with its depth, which fixes where a computed value is. */
typedef struct operand {
    kind k;
    int64_t v;
    int32_t depth;
} operand;

typedef struct gen {
    jit_buf *out;
    operand stack[JIT_MAX_DEPTH];
} gen;

static void put8(gen *g, uint64_t v) {
    jit_put4(g->out, (uint32_t)v);
    jit_put4(g->out, (uint32_t)(v >> 32));
}

static bool fits32(int64_t v) {
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* REX.W with the high bits of the ModRM reg and rm (or base) fields. */
static void rex_w(gen *g, int reg, int rm) {
    jit_put1(g->out, 0x48 | ((reg >> 3) << 2) | (rm >> 3));
}

/* opcode with a register-direct ModRM: reg field reg, rm field rm. */
static void op_rr(gen *g, unsigned opcode, int reg, int rm) {
    rex_w(g, reg, rm);
    if (opcode > 0xFF) jit_put1(g->out, opcode >> 8);
    jit_put1(g->out, opcode & 0xFF);
    jit_put1(g->out, 0xC0 | ((reg & 7) << 3) | (rm & 7));
}

/* opcode with a memory ModRM [base + disp32]. */
static void op_mem(gen *g, unsigned opcode, int reg, int base, int32_t disp) {
    rex_w(g, reg, base);
    if (opcode > 0xFF) jit_put1(g->out, opcode >> 8);
    jit_put1(g->out, opcode & 0xFF);
    jit_put1(g->out, 0x80 | ((reg & 7) << 3) | (base & 7));
    if ((base & 7) == RSP) jit_put1(g->out, 0x24); /* SIB: base only */
    jit_put4(g->out, (uint32_t)disp);
}

static int32_t slot(int32_t depth) {
    return 8 * (depth - VALUE_REGS);
}

static void mov_rr(gen *g, int dst, int src) {
    if (dst != src) op_rr(g, 0x89, src, dst);
}

static void mov_ri(gen *g, int dst, int64_t v) {
    if (fits32(v)) {
        op_rr(g, 0xC7, 0, dst); /* mov r/m64, imm32 (sign-extended) */
        jit_put4(g->out, (uint32_t)v);
    } else {
        rex_w(g, 0, dst); /* movabs */
        jit_put1(g->out, 0xB8 + (dst & 7));
        put8(g, (uint64_t)v);
    }
}

/* Puts the value of o into register dst. */
static void load(gen *g, operand o, int dst) {
    switch (o.k) {
    case K_X:
        mov_rr(g, dst, X_REG);
        break;
    case K_CONST:
        mov_ri(g, dst, o.v);
        break;
    case K_VALUE:
        if (o.depth < VALUE_REGS) {
            mov_rr(g, dst, value_reg[o.depth]);
        } else {
            op_mem(g, 0x8B, dst, RSP, slot(o.depth));
        }
        break;
    }
}

/* The register that holds o without any code, or -1 (a constant or a
 * value in the frame). */
static int reg_of(operand o) {
    if (o.k == K_X) return X_REG;
    if (o.k == K_VALUE && o.depth < VALUE_REGS) return value_reg[o.depth];
    return -1;
}

/* Where the result at depth goes: its register, or rax to be stored. */
static int result_reg(int32_t depth) {
    return depth < VALUE_REGS ? value_reg[depth] : RAX;
}

static void store_result(gen *g, int32_t depth) {
    if (depth >= VALUE_REGS) op_mem(g, 0x89, RAX, RSP, slot(depth));
}

/* dst = dst OP src for ADD, SUB, MUL. */
static void alu_rr(gen *g, jit_op op, int dst, int src) {
    if (op == JIT_MUL) {
        op_rr(g, 0x0FAF, dst, src);
    } else {
        op_rr(g, op == JIT_ADD ? 0x01 : 0x29, src, dst);
    }
}

static void emit_binary(gen *g, jit_op op, operand a, operand b) {
    const int dst = result_reg(a.depth);
    const int32_t depth = a.depth;
    /* A constant on the left of + or * is the same on the right. */
    if ((op == JIT_ADD || op == JIT_MUL) && a.k == K_CONST && b.k != K_CONST) {
        operand t = a;
        a = b;
        b = t;
    }
    int src = reg_of(a);
    if (b.k == K_CONST && fits32(b.v) && !(op == JIT_SUB && b.v == INT32_MIN)) {
        /* One instruction from a register and an immediate. */
        int32_t imm = (int32_t)b.v;
        if (src < 0) {
            load(g, a, dst);
            src = dst;
        }
        if (op == JIT_MUL) {
            op_rr(g, 0x69, dst, src); /* imul dst, src, imm32 */
            jit_put4(g->out, (uint32_t)imm);
        } else {
            op_mem(g, 0x8D, dst, src, op == JIT_ADD ? imm : -imm); /* lea dst, [src +- imm] */
        }
    } else {
        load(g, a, dst);
        int bsrc = reg_of(b);
        if (bsrc >= 0) {
            alu_rr(g, op, dst, bsrc);
        } else if (b.k == K_VALUE) {
            /* add/sub/imul dst, [rsp + slot] */
            op_mem(g,
                   op == JIT_MUL   ? 0x0FAF
                   : op == JIT_ADD ? 0x03
                                   : 0x2B,
                   dst, RSP, slot(b.depth));
        } else {
            mov_ri(g, RCX, b.v);
            alu_rr(g, op, dst, RCX);
        }
    }
    store_result(g, depth);
}

/* jcc/jmp rel8 with the offset to be patched; returns where it is. */
static size_t jump8(gen *g, unsigned opcode) {
    jit_put1(g->out, opcode);
    jit_put1(g->out, 0);
    return g->out->len;
}

/* Points the rel8 jump that ends at `from` here. */
static void land(gen *g, size_t from) {
    if (!g->out->overflow) g->out->bytes[from - 1] = (uint8_t)(g->out->len - from);
}

static void emit_div(gen *g, operand a, operand b) {
    if (b.k == K_CONST && b.v == 0) {
        jit_put1(g->out, 0x31); /* xor eax, eax */
        jit_put1(g->out, 0xC0);
    } else if (b.k == K_CONST && b.v == -1) {
        load(g, a, RAX);
        op_rr(g, 0xF7, 3, RAX); /* neg rax */
    } else if (b.k == K_CONST) {
        load(g, a, RAX);
        mov_ri(g, RCX, b.v);
        jit_put1(g->out, 0x48); /* cqo */
        jit_put1(g->out, 0x99);
        op_rr(g, 0xF7, 7, RCX); /* idiv rcx */
    } else {
        load(g, a, RAX);
        load(g, b, RCX);
        op_rr(g, 0x85, RCX, RCX); /* test rcx, rcx */
        size_t if_zero = jump8(g, 0x74);
        op_rr(g, 0x83, 7, RCX); /* cmp rcx, -1 */
        jit_put1(g->out, 0xFF);
        size_t if_minus_one = jump8(g, 0x74);
        jit_put1(g->out, 0x48); /* cqo */
        jit_put1(g->out, 0x99);
        op_rr(g, 0xF7, 7, RCX); /* idiv rcx */
        size_t done1 = jump8(g, 0xEB);
        land(g, if_zero);
        jit_put1(g->out, 0x31); /* xor eax, eax */
        jit_put1(g->out, 0xC0);
        size_t done2 = jump8(g, 0xEB);
        land(g, if_minus_one);
        op_rr(g, 0xF7, 3, RAX); /* neg rax */
        land(g, done1);
        land(g, done2);
    }
    if (a.depth < VALUE_REGS) {
        mov_rr(g, value_reg[a.depth], RAX);
    } else {
        store_result(g, a.depth);
    }
}

void jit_emit_x64(const jit_program *prog, jit_x64_abi abi, jit_buf *out) {
    if (prog->max_depth > JIT_MAX_DEPTH || prog->count == 0) {
        out->overflow = true;
        return;
    }
    gen g;
    g.out = out;
    const int32_t frame = prog->max_depth > VALUE_REGS ? 8 * (prog->max_depth - VALUE_REGS) : 0;

    mov_rr(&g, X_REG, abi == JIT_X64_WIN64 ? RCX : RDI);
    if (frame > 0) {
        op_rr(&g, 0x81, 5, RSP); /* sub rsp, imm32 */
        jit_put4(g.out, (uint32_t)frame);
    }
    int32_t depth = 0;
    for (int32_t i = 0; i < prog->count; i++) {
        const jit_insn *in = &prog->insns[i];
        operand *top = depth > 0 ? &g.stack[depth - 1] : NULL;
        switch (in->op) {
        case JIT_CONST:
        case JIT_X:
            g.stack[depth].k = in->op == JIT_X ? K_X : K_CONST;
            g.stack[depth].v = in->value;
            g.stack[depth].depth = depth;
            depth++;
            break;
        case JIT_NEG: {
            int dst = result_reg(top->depth);
            load(&g, *top, dst);
            op_rr(&g, 0xF7, 3, dst); /* neg dst */
            store_result(&g, top->depth);
            top->k = K_VALUE;
            break;
        }
        case JIT_ADD:
        case JIT_SUB:
        case JIT_MUL:
        case JIT_DIV:
            if (in->op == JIT_DIV) {
                emit_div(&g, top[-1], top[0]);
            } else {
                emit_binary(&g, in->op, top[-1], top[0]);
            }
            top[-1].k = K_VALUE;
            depth--;
            break;
        }
    }
    load(&g, g.stack[0], RAX);
    if (frame > 0) {
        op_rr(&g, 0x81, 0, RSP); /* add rsp, imm32 */
        jit_put4(g.out, (uint32_t)frame);
    }
    jit_put1(g.out, 0xC3); /* ret */
}
