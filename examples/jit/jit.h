/*
 * The JIT: compiles a parsed expression (expr.h) to machine code for the
 * machine it runs on, writes the code into mp_pages_rw, moves the pages into
 * mp_pages_rx, and hands out a checked function reference to it.
 *
 *     jit_code code;
 *     if (jit_compile(&expr, &code) == MP_OK) {
 *         int64_t y;
 *         expr_fn_call(&code.fn, x, &y);
 *         jit_free(&code);
 *     }
 */
#ifndef MEMORY_PAGES_EXAMPLES_JIT_JIT_H
#define MEMORY_PAGES_EXAMPLES_JIT_JIT_H

#include "examples/jit/expr.h"
#include "examples/jit/jit_fns.h"
#include "memory_pages/memory_pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A compiled expression. */
typedef struct jit_code {
    mp_pages_rx pages; /* the machine code, at offset 0 */
    expr_fn fn;        /* int64_t f(int64_t x), checked */
    size_t size;       /* bytes of machine code */
} jit_code;

/* The code generator for the machine this was compiled for, e.g.
 * "x86-64 System V", or NULL when there is none. */
const char *jit_backend(void);

/* Compiles e into *out. Returns MP_ENOTSUP when there is no code generator
 * for this machine, the status of the failing memory_pages call when the
 * pages cannot be made (MP_EACCES when the OS refuses to make them
 * executable, mp_os_error() has its error), MP_ENOMEM when no memory is
 * left for the compiler. *out is written only on success; a failure leaves
 * nothing allocated. */
mp_status jit_compile(const jit_expr *e, jit_code *out);

/* Frees the code; every reference to it is stale from then on. */
mp_status jit_free(jit_code *code);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_EXAMPLES_JIT_JIT_H */
