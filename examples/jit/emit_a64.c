/*
 * The AArch64 code generator (AAPCS64).
 *
 * Registers: x stays in x0; the computed value at stack depth d lives in
 * x(d+1) for d < 15, that is x1 to x15, else in the frame slot
 * [sp + 8*(d-15)]; x16 and x17 are scratch. All of these are scratch
 * registers of the convention, so nothing needs saving. SDIV already has the
 * semantics of expr.h (x / 0 is 0, INT64_MIN / -1 wraps), so division needs
 * no checks.
 */
#include "examples/jit/emit.h"

#define X_REG 0
#define VALUE_REGS 15
#define SCRATCH_A 16
#define SCRATCH_B 17
#define SP 31 /* as a base register; XZR as an operand */
#define XZR 31

typedef enum kind { K_X, K_CONST, K_VALUE } kind;

/* A stack entry, with its depth, which fixes where a computed value is. */
typedef struct operand {
    kind k;
    int64_t v;
    int32_t depth;
} operand;

/* Data-processing (register) instructions: base | rm << 16 | rn << 5 | rd. */
#define ADD_X 0x8B000000u
#define SUB_X 0xCB000000u
#define MUL_X 0x9B007C00u /* madd rd, rn, rm, xzr */
#define SDIV_X 0x9AC00C00u
#define ORR_X 0xAA000000u

static void rrr(jit_buf *out, uint32_t base, int rd, int rn, int rm) {
    jit_put4(out, base | (uint32_t)rm << 16 | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* ldr/str xt, [sp, #off] with off a multiple of 8 below 32 KiB. */
static void ldr_sp(jit_buf *out, int rt, int32_t off) {
    jit_put4(out, 0xF9400000u | (uint32_t)(off / 8) << 10 | SP << 5 | (uint32_t)rt);
}

static void str_sp(jit_buf *out, int rt, int32_t off) {
    jit_put4(out, 0xF9000000u | (uint32_t)(off / 8) << 10 | SP << 5 | (uint32_t)rt);
}

/* Moves the 64-bit constant v into rd: MOVZ (from all zeros) or MOVN (from
 * all ones), whichever leaves fewer 16-bit pieces to set, then a MOVK for
 * each piece that still differs. */
static void mov_imm(jit_buf *out, int rd, int64_t v) {
    uint64_t u = (uint64_t)v;
    int zeros = 0, ones = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t piece = (uint32_t)(u >> (16 * i)) & 0xFFFF;
        zeros += piece == 0;
        ones += piece == 0xFFFF;
    }
    const bool inverted = ones > zeros;
    const uint32_t fill = inverted ? 0xFFFF : 0;
    /* The first instruction sets the lowest piece that differs from the
     * fill (piece 0 if none does) and fills the others. */
    int first = 0;
    while (first < 3 && ((u >> (16 * first)) & 0xFFFF) == fill)
        first++;
    for (int i = first; i < 4; i++) {
        uint32_t piece = (uint32_t)(u >> (16 * i)) & 0xFFFF;
        uint32_t hw = (uint32_t)i << 21;
        if (i == first) {
            /* movn rd, #~piece, lsl #16*i  or  movz rd, #piece, lsl #16*i */
            uint32_t imm = inverted ? (~piece & 0xFFFF) : piece;
            jit_put4(out, (inverted ? 0x92800000u : 0xD2800000u) | hw | imm << 5 | (uint32_t)rd);
        } else if (piece != fill) {
            jit_put4(out, 0xF2800000u | hw | piece << 5 | (uint32_t)rd); /* movk */
        }
    }
}

static int32_t slot(int32_t depth) {
    return 8 * (depth - VALUE_REGS);
}

/* Returns a register holding o, loading it into scratch if needed. */
static int reg_for(jit_buf *out, operand o, int scratch) {
    switch (o.k) {
    case K_X:
        return X_REG;
    case K_CONST:
        mov_imm(out, scratch, o.v);
        return scratch;
    case K_VALUE:
        if (o.depth < VALUE_REGS) return o.depth + 1;
        ldr_sp(out, scratch, slot(o.depth));
        return scratch;
    }
    return scratch;
}

/* The register the result at depth is computed into. */
static int result_reg(int32_t depth) {
    return depth < VALUE_REGS ? depth + 1 : SCRATCH_A;
}

static void store_result(jit_buf *out, int32_t depth) {
    if (depth >= VALUE_REGS) str_sp(out, SCRATCH_A, slot(depth));
}

static void emit_binary(jit_buf *out, jit_op op, operand a, operand b) {
    const int rd = result_reg(a.depth);
    const int32_t depth = a.depth;
    if ((op == JIT_ADD || op == JIT_MUL) && a.k == K_CONST && b.k != K_CONST) {
        operand t = a;
        a = b;
        b = t;
    }
    int rn = reg_for(out, a, SCRATCH_A);
    if ((op == JIT_ADD || op == JIT_SUB) && b.k == K_CONST && b.v >= 0 && b.v < 4096) {
        /* add/sub rd, rn, #imm12 */
        uint32_t base = op == JIT_ADD ? 0x91000000u : 0xD1000000u;
        jit_put4(out, base | (uint32_t)b.v << 10 | (uint32_t)rn << 5 | (uint32_t)rd);
    } else {
        int rm = reg_for(out, b, SCRATCH_B);
        uint32_t base = op == JIT_ADD   ? ADD_X
                        : op == JIT_SUB ? SUB_X
                        : op == JIT_MUL ? MUL_X
                                        : SDIV_X;
        rrr(out, base, rd, rn, rm);
    }
    store_result(out, depth);
}

void jit_emit_a64(const jit_program *prog, jit_buf *out) {
    if (prog->max_depth > JIT_MAX_DEPTH || prog->count == 0) {
        out->overflow = true;
        return;
    }
    operand stack[JIT_MAX_DEPTH];
    /* The frame keeps sp 16-byte aligned, as AArch64 requires for any
     * access through sp. */
    int32_t frame = prog->max_depth > VALUE_REGS ? 8 * (prog->max_depth - VALUE_REGS) : 0;
    frame = (frame + 15) & ~15;

    if (frame > 0) jit_put4(out, 0xD10003FFu | (uint32_t)frame << 10); /* sub sp, sp, #frame */
    int32_t depth = 0;
    for (int32_t i = 0; i < prog->count; i++) {
        const jit_insn *in = &prog->insns[i];
        operand *top = depth > 0 ? &stack[depth - 1] : NULL;
        switch (in->op) {
        case JIT_CONST:
        case JIT_X:
            stack[depth].k = in->op == JIT_X ? K_X : K_CONST;
            stack[depth].v = in->value;
            stack[depth].depth = depth;
            depth++;
            break;
        case JIT_NEG: {
            int rm = reg_for(out, *top, SCRATCH_A);
            rrr(out, SUB_X, result_reg(top->depth), XZR, rm); /* neg rd, rm */
            store_result(out, top->depth);
            top->k = K_VALUE;
            break;
        }
        case JIT_ADD:
        case JIT_SUB:
        case JIT_MUL:
        case JIT_DIV:
            emit_binary(out, in->op, top[-1], top[0]);
            top[-1].k = K_VALUE;
            depth--;
            break;
        }
    }
    int r = reg_for(out, stack[0], X_REG);
    if (r != X_REG) rrr(out, ORR_X, X_REG, XZR, r);                    /* mov x0, r */
    if (frame > 0) jit_put4(out, 0x910003FFu | (uint32_t)frame << 10); /* add sp, sp, #frame */
    jit_put4(out, 0xD65F03C0u);                                        /* ret */
}
