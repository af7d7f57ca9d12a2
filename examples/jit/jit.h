/*
 * The JIT: compiles a parsed expression (expr.h) to machine code for the
 * machine it runs on, puts it into executable pages in one of three ways
 * (jit_mode), and hands out a checked function reference to it.
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

/* How the code becomes executable (docs/jit.md, mp_jit_probe). */
typedef enum jit_mode {
    JIT_MODE_FLIP, /* written into mp_pages_rw, moved into mp_pages_rx: W^X */
    JIT_MODE_DUAL, /* written through mp_pages_dual's rw view, run from its rx view */
    JIT_MODE_RWX   /* written into mp_pages_rwx and run there */
} jit_mode;

/* A compiled expression. Which pages hold it depends on mode; the others
 * are unused. */
typedef struct jit_code {
    jit_mode mode;
    mp_pages_rx pages; /* JIT_MODE_FLIP: the machine code, at offset 0 */
#if MP_HAVE_DUAL
    mp_pages_dual dual; /* JIT_MODE_DUAL */
#endif
#if MP_HAVE_RWX
    mp_pages_rwx rwx; /* JIT_MODE_RWX */
#endif
    const void *entry; /* where the code runs from */
    expr_fn fn;        /* int64_t f(int64_t x), checked */
    size_t size;       /* bytes of machine code */
} jit_code;

/* The name of a mode as --mode spells it: "flip", "dual" or "rwx". */
const char *jit_mode_name(jit_mode mode);

/* The code generator for the machine this was compiled for, e.g.
 * "x86-64 System V", or NULL when there is none. */
const char *jit_backend(void);

/* Compiles e into *out, in JIT_MODE_FLIP. Returns MP_ENOTSUP when there is no code generator
 * for this machine, the status of the failing memory_pages call when the
 * pages cannot be made (MP_EACCES when the OS refuses to make them
 * executable, mp_os_error() has its error), MP_ENOMEM when no memory is
 * left for the compiler. *out is written only on success; a failure leaves
 * nothing allocated. */
mp_status jit_compile(const jit_expr *e, jit_code *out);

/* As jit_compile, in the given mode. MP_ENOTSUP for a mode this build does
 * not have (dual needs allow_dual_map, rwx needs deny_xw=false). */
mp_status jit_compile_mode(const jit_expr *e, jit_mode mode, jit_code *out);

/* Compiles e into a new span of the code arena a (docs/jit.md, "Code
 * arena"): the code is written but not finalized, so the caller finalizes
 * the arena before making references with expr_fn_from_span. *size gets
 * the bytes of machine code. MP_ENOTSUP without a code generator. */
mp_status jit_compile_span(const jit_expr *e, mp_code_arena *a, mp_code_span *out, size_t *size);

/* Frees the code; every reference to it is stale from then on. */
mp_status jit_free(jit_code *code);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_EXAMPLES_JIT_JIT_H */
