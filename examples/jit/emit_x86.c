/*
 * The i686 code generator (cdecl). A 64-bit value takes two 32-bit
 * registers, so the code works like a stack machine with the top cached in
 * registers: the computed value that was produced last is held in edx:eax
 * (the accumulator), every other computed value at stack depth d in the
 * frame slot [esp + 8*d]. An operation loads its right operand into ebx:ecx
 * and its left operand into edx:eax, and leaves its result in edx:eax.
 *
 * Frame, from the top of the stack down: the caller's return address and x
 * (at esp+4 on entry), ebx (saved: it is callee-saved), the slots, padded so
 * that esp stays 16-byte aligned at the call of the division helper, as the
 * i386 System V ABI wants.
 */
#include "examples/jit/emit.h"

enum { EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4 };

typedef enum kind { K_X, K_CONST, K_SLOT, K_ACC } kind;

/* A stack entry, with its depth, which fixes its slot. */
typedef struct operand {
    kind k;
    int64_t v;
    int32_t depth;
} operand;

typedef struct gen {
    jit_buf *out;
    uint32_t div_helper; /* the address of jit_div */
    int32_t frame;       /* bytes of slots and padding below the saved ebx */
    int32_t acc;         /* depth of the entry held in edx:eax, or -1 */
    operand stack[JIT_MAX_DEPTH];
} gen;

/* opcode reg, [esp + disp32] (or [esp + disp32], reg). */
static void op_esp(gen *g, unsigned opcode, int reg, int32_t disp) {
    jit_put1(g->out, opcode);
    jit_put1(g->out, 0x84 | (reg << 3)); /* mod 10, rm 100: SIB follows */
    jit_put1(g->out, 0x24);              /* SIB: base esp */
    jit_put4(g->out, (uint32_t)disp);
}

/* opcode with a register-direct ModRM. */
static void op_rr(gen *g, unsigned opcode, int reg, int rm) {
    if (opcode > 0xFF) jit_put1(g->out, opcode >> 8);
    jit_put1(g->out, opcode & 0xFF);
    jit_put1(g->out, 0xC0 | (reg << 3) | rm);
}

/* The address of the low half of x and of the slot of depth. */
static int32_t x_disp(const gen *g) {
    return g->frame + 8; /* past the slots, the saved ebx and the return address */
}

static int32_t slot_disp(int32_t depth) {
    return 8 * depth;
}

/* Puts the value of o into lo:hi (two registers). */
static void load(gen *g, operand o, int lo, int hi) {
    switch (o.k) {
    case K_X:
        op_esp(g, 0x8B, lo, x_disp(g)); /* mov lo, [esp + x] */
        op_esp(g, 0x8B, hi, x_disp(g) + 4);
        break;
    case K_CONST:
        jit_put1(g->out, 0xB8 + lo); /* mov lo, imm32 */
        jit_put4(g->out, (uint32_t)(uint64_t)o.v);
        jit_put1(g->out, 0xB8 + hi);
        jit_put4(g->out, (uint32_t)((uint64_t)o.v >> 32));
        break;
    case K_SLOT:
        op_esp(g, 0x8B, lo, slot_disp(o.depth));
        op_esp(g, 0x8B, hi, slot_disp(o.depth) + 4);
        break;
    case K_ACC:
        if (lo != EAX) op_rr(g, 0x89, EAX, lo); /* mov lo, eax */
        if (hi != EDX) op_rr(g, 0x89, EDX, hi); /* mov hi, edx */
        break;
    }
}

/* Frees the accumulator for a new result: the entry in it, unless it is
 * one of the operands about to be consumed, moves to its slot. */
static void free_acc(gen *g, int32_t first_operand) {
    if (g->acc < 0 || g->acc >= first_operand) return;
    op_esp(g, 0x89, EAX, slot_disp(g->acc)); /* mov [slot], eax */
    op_esp(g, 0x89, EDX, slot_disp(g->acc) + 4);
    g->stack[g->acc].k = K_SLOT;
}

/* Leaves the result of the operation at depth in the accumulator. */
static void result_in_acc(gen *g, int32_t depth) {
    g->stack[depth].k = K_ACC;
    g->acc = depth;
}

static void emit_binary(gen *g, jit_op op, int32_t depth) {
    free_acc(g, depth);
    load(g, g->stack[depth + 1], ECX, EBX);
    load(g, g->stack[depth], EAX, EDX);
    switch (op) {
    case JIT_ADD:
        op_rr(g, 0x01, ECX, EAX); /* add eax, ecx */
        op_rr(g, 0x11, EBX, EDX); /* adc edx, ebx */
        break;
    case JIT_SUB:
        op_rr(g, 0x29, ECX, EAX); /* sub eax, ecx */
        op_rr(g, 0x19, EBX, EDX); /* sbb edx, ebx */
        break;
    case JIT_MUL:
        /* The low 64 bits of the product: lo(a)*lo(b) in full, plus the
         * cross products shifted up 32 (their high halves fall off). */
        op_rr(g, 0x0FAF, EDX, ECX); /* imul edx, ecx: hi(a)*lo(b) */
        op_rr(g, 0x0FAF, EBX, EAX); /* imul ebx, eax: hi(b)*lo(a) */
        op_rr(g, 0x01, EDX, EBX);   /* add ebx, edx */
        op_rr(g, 0xF7, 4, ECX);     /* mul ecx: edx:eax = lo(a)*lo(b) */
        op_rr(g, 0x01, EBX, EDX);   /* add edx, ebx */
        break;
    default:
        /* Division calls jit_div(a, b): the arguments pushed right to
         * left, 16 bytes that keep esp 16-byte aligned at the call; the
         * result comes back in edx:eax. */
        jit_put1(g->out, 0x53); /* push ebx */
        jit_put1(g->out, 0x51); /* push ecx */
        jit_put1(g->out, 0x52); /* push edx */
        jit_put1(g->out, 0x50); /* push eax */
        jit_put1(g->out, 0xB9); /* mov ecx, helper */
        jit_put4(g->out, g->div_helper);
        op_rr(g, 0xFF, 2, ECX); /* call ecx */
        op_rr(g, 0x83, 0, ESP); /* add esp, 16 */
        jit_put1(g->out, 16);
        break;
    }
    result_in_acc(g, depth);
}

void jit_emit_x86(const jit_program *prog, uint32_t div_helper, jit_buf *out) {
    if (prog->max_depth > JIT_MAX_DEPTH || prog->count == 0) {
        out->overflow = true;
        return;
    }
    gen g;
    g.out = out;
    g.div_helper = div_helper;
    g.acc = -1;
    /* On entry esp is 12 mod 16 (the caller called with it 16-aligned);
     * after push ebx it is 8 mod 16, so a frame of 8 mod 16 bytes makes it
     * 0 mod 16 again, and the 16 bytes of arguments keep it so. */
    g.frame = 8 * prog->max_depth;
    if (g.frame % 16 != 8) g.frame += 8;

    jit_put1(g.out, 0x53);   /* push ebx */
    op_rr(&g, 0x81, 5, ESP); /* sub esp, frame */
    jit_put4(g.out, (uint32_t)g.frame);
    int32_t depth = 0;
    for (int32_t i = 0; i < prog->count; i++) {
        const jit_insn *in = &prog->insns[i];
        switch (in->op) {
        case JIT_CONST:
        case JIT_X:
            g.stack[depth].k = in->op == JIT_X ? K_X : K_CONST;
            g.stack[depth].v = in->value;
            g.stack[depth].depth = depth;
            depth++;
            break;
        case JIT_NEG:
            free_acc(&g, depth - 1);
            load(&g, g.stack[depth - 1], EAX, EDX);
            op_rr(&g, 0xF7, 3, EAX); /* neg eax */
            op_rr(&g, 0x83, 2, EDX); /* adc edx, 0 */
            jit_put1(g.out, 0);
            op_rr(&g, 0xF7, 3, EDX); /* neg edx */
            result_in_acc(&g, depth - 1);
            break;
        case JIT_ADD:
        case JIT_SUB:
        case JIT_MUL:
        case JIT_DIV:
            depth--;
            emit_binary(&g, in->op, depth - 1);
            break;
        }
    }
    load(&g, g.stack[0], EAX, EDX);
    op_rr(&g, 0x81, 0, ESP); /* add esp, frame */
    jit_put4(g.out, (uint32_t)g.frame);
    jit_put1(g.out, 0x5B); /* pop ebx */
    jit_put1(g.out, 0xC3); /* ret */
}
