/*
 * Code generators: each translates a stack program (expr.h) into machine
 * code for one architecture and calling convention, a function
 *     int64_t f(int64_t x)
 * with the semantics of expr.h. The code is position-independent (it holds
 * no address of itself), so it may be generated into any buffer and copied.
 *
 * All generators are plain C that compiles everywhere, so the tests can
 * check every encoder on any machine; jit.c picks the one for the machine
 * it runs on.
 *
 * How they work: the stack program's entries are tracked at compile time.
 * An entry is x, a constant, or a computed value; x and constants stay
 * operands of the instruction that consumes them, and computed values live
 * in a register chosen by their stack depth (or in a stack-frame slot, past
 * the registers the architecture can spare). No entry ever moves, so no
 * register allocation is needed.
 */
#ifndef MEMORY_PAGES_EXAMPLES_JIT_EMIT_H
#define MEMORY_PAGES_EXAMPLES_JIT_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "examples/jit/expr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where machine code is written. A write past cap sets overflow and is
 * dropped. */
typedef struct jit_buf {
    uint8_t *bytes;
    size_t len;
    size_t cap;
    bool overflow;
} jit_buf;

/* An upper bound on the bytes any generator writes for prog. */
size_t jit_code_bound(const jit_program *prog);

/* The calling conventions of x86-64. */
typedef enum jit_x64_abi {
    JIT_X64_SYSV, /* Linux, the BSDs, macOS: x in rdi */
    JIT_X64_WIN64 /* Windows: x in rcx */
} jit_x64_abi;

/* x86-64, either convention. Uses only registers both treat as scratch. */
void jit_emit_x64(const jit_program *prog, jit_x64_abi abi, jit_buf *out);

/* i686, cdecl: x on the stack, the result in edx:eax. Division calls
 * div_helper, the address of jit_div (expr.h) in the process that will run
 * the code: 32-bit x86 has no 64-bit division instruction. */
void jit_emit_x86(const jit_program *prog, uint32_t div_helper, jit_buf *out);

/* AArch64, AAPCS64: x in x0, the result in x0. */
void jit_emit_a64(const jit_program *prog, jit_buf *out);

/* Appends n bytes to out, one byte, or a 32-bit value little-endian (as
 * every target here stores instructions and immediates); internal to the
 * generators. */
void jit_put(jit_buf *out, const void *bytes, size_t n);
void jit_put1(jit_buf *out, unsigned byte);
void jit_put4(jit_buf *out, uint32_t v);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_EXAMPLES_JIT_EMIT_H */
