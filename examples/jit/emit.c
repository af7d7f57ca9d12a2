/* What the code generators of emit.h share. */
#include "examples/jit/emit.h"

#include <string.h>

/* The most bytes any generator writes for one instruction (an x86-64
 * division with a 64-bit constant and a spilled result is about 50), and
 * for the prologue and epilogue together. */
#define MAX_INSN_BYTES 96
#define MAX_FRAME_BYTES 64

size_t jit_code_bound(const jit_program *prog) {
    return MAX_FRAME_BYTES + (size_t)prog->count * MAX_INSN_BYTES;
}

void jit_put(jit_buf *out, const void *bytes, size_t n) {
    if (out->overflow || n > out->cap - out->len) {
        out->overflow = true;
        return;
    }
    memcpy(out->bytes + out->len, bytes, n);
    out->len += n;
}

void jit_put1(jit_buf *out, unsigned byte) {
    uint8_t b = (uint8_t)byte;
    jit_put(out, &b, 1);
}

void jit_put4(jit_buf *out, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    jit_put(out, b, 4);
}
