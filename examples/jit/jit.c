/* The JIT of jit.h. */
#include "examples/jit/jit.h"

#include <stdlib.h>

#include "examples/jit/emit.h"

/* The one place that picks the code generator, by the architecture and
 * operating system this file is compiled for. */
#if defined(__x86_64__) || defined(_M_X64)
#if defined(_WIN32)
#define BACKEND "x86-64 Win64"
static void emit_native(const jit_program *prog, jit_buf *out) {
    jit_emit_x64(prog, JIT_X64_WIN64, out);
}
#else
#define BACKEND "x86-64 System V"
static void emit_native(const jit_program *prog, jit_buf *out) {
    jit_emit_x64(prog, JIT_X64_SYSV, out);
}
#endif
#elif defined(__i386__) || defined(_M_IX86)
#define BACKEND "i686 cdecl"
static void emit_native(const jit_program *prog, jit_buf *out) {
    jit_emit_x86(prog, (uint32_t)(uintptr_t)&jit_div, out);
}
#elif defined(__aarch64__) || defined(_M_ARM64)
#define BACKEND "AArch64"
static void emit_native(const jit_program *prog, jit_buf *out) {
    jit_emit_a64(prog, out);
}
#endif

const char *jit_backend(void) {
#ifdef BACKEND
    return BACKEND;
#else
    return NULL;
#endif
}

mp_status jit_compile(const jit_expr *e, jit_code *out) {
#ifdef BACKEND
    jit_program *prog = malloc(sizeof *prog);
    if (prog == NULL) return MP_ENOMEM;
    jit_lower(e, prog);

    /* Generate straight into writable pages, then make them executable. */
    mp_pages_rw rw;
    mp_status s = mp_pages_rw_new(jit_code_bound(prog), &rw);
    if (s != MP_OK) {
        free(prog);
        return s;
    }
    jit_buf buf = {mp_pages_rw_data_mut(&rw), 0, mp_pages_rw_len(&rw), false};
    emit_native(prog, &buf);
    free(prog);
    /* jit_code_bound is an upper bound, so the buffer cannot overflow; the
     * check costs nothing and keeps a broken generator from running. */
    if (buf.overflow) {
        (void)mp_pages_rw_free(&rw);
        return MP_EOVERFLOW;
    }
    jit_code code;
    s = mp_pages_rw_into_rx(&rw, &code.pages);
    if (s != MP_OK) {
        (void)mp_pages_rw_free(&rw);
        return s;
    }
    s = expr_fn_from(&code.pages, 0, &code.fn);
    if (s != MP_OK) {
        (void)mp_pages_rx_free(&code.pages);
        return s;
    }
    code.size = buf.len;
    *out = code;
    return MP_OK;
#else
    (void)e;
    (void)out;
    return MP_ENOTSUP;
#endif
}

mp_status jit_free(jit_code *code) {
    return mp_pages_rx_free(&code->pages);
}
