/* The JIT of jit.h. */
#include "examples/jit/jit.h"

#include <stdlib.h>
#include <string.h>

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

const char *jit_mode_name(jit_mode mode) {
    switch (mode) {
    case JIT_MODE_DUAL:
        return "dual";
    case JIT_MODE_RWX:
        return "rwx";
    default:
        return "flip";
    }
}

#ifdef BACKEND
/* Writes the code of prog at dst, which has room for len bytes; false when
 * the code does not fit. jit_code_bound is an upper bound, so it always
 * fits; the check costs nothing and keeps a broken generator from running. */
static bool emit_into(const jit_program *prog, uint8_t *dst, size_t len, size_t *size) {
    jit_buf buf = {dst, 0, len, false};
    emit_native(prog, &buf);
    *size = buf.len;
    return !buf.overflow;
}

/* Generates straight into writable pages, then makes them executable. */
static mp_status compile_flip(const jit_program *prog, jit_code *code) {
    mp_pages_rw rw;
    mp_status s = mp_pages_rw_new(jit_code_bound(prog), &rw);
    if (s != MP_OK) return s;
    if (!emit_into(prog, mp_pages_rw_data_mut(&rw), mp_pages_rw_len(&rw), &code->size)) {
        (void)mp_pages_rw_free(&rw);
        return MP_EOVERFLOW;
    }
    s = mp_pages_rw_into_rx(&rw, &code->pages);
    if (s != MP_OK) {
        (void)mp_pages_rw_free(&rw);
        return s;
    }
    s = expr_fn_from(&code->pages, 0, &code->fn);
    if (s != MP_OK) {
        (void)mp_pages_rx_free(&code->pages);
        return s;
    }
    code->entry = mp_pages_rx_data(&code->pages);
    return MP_OK;
}

/* Generates through the read-write view of a dual pair, runs from the
 * read-execute one: the pair stays, so the code could be rewritten in
 * place and synced again. */
static mp_status compile_dual(const jit_program *prog, jit_code *code) {
#if MP_HAVE_DUAL
    mp_status s = mp_pages_dual_new(jit_code_bound(prog), &code->dual);
    if (s != MP_OK) return s;
    if (!emit_into(prog, mp_pages_dual_data_mut(&code->dual), mp_pages_dual_len(&code->dual),
                   &code->size)) {
        s = MP_EOVERFLOW;
    } else if ((s = mp_pages_dual_sync(&code->dual, 0, code->size)) == MP_OK) {
        s = expr_fn_from_dual(&code->dual, 0, &code->fn);
    }
    if (s != MP_OK) {
        (void)mp_pages_dual_free(&code->dual);
        return s;
    }
    code->entry = mp_pages_dual_code(&code->dual);
    return MP_OK;
#else
    (void)prog;
    (void)code;
    return MP_ENOTSUP;
#endif
}

/* Generates straight into pages that are writable and executable. */
static mp_status compile_rwx(const jit_program *prog, jit_code *code) {
#if MP_HAVE_RWX
    mp_status s = mp_pages_rwx_new(jit_code_bound(prog), &code->rwx);
    if (s != MP_OK) return s;
    uint8_t *dst = mp_pages_rwx_data_mut(&code->rwx);
    if (!emit_into(prog, dst, mp_pages_rwx_len(&code->rwx), &code->size)) {
        s = MP_EOVERFLOW;
    } else {
        /* Code written into pages that are already executable: the
         * instruction cache must be told before it runs. */
        __builtin___clear_cache((char *)dst, (char *)dst + code->size);
        s = expr_fn_from_rwx(&code->rwx, 0, &code->fn);
    }
    if (s != MP_OK) {
        (void)mp_pages_rwx_free(&code->rwx);
        return s;
    }
    code->entry = dst;
    return MP_OK;
#else
    (void)prog;
    (void)code;
    return MP_ENOTSUP;
#endif
}
#endif

mp_status jit_compile(const jit_expr *e, jit_code *out) {
    return jit_compile_mode(e, JIT_MODE_FLIP, out);
}

mp_status jit_compile_mode(const jit_expr *e, jit_mode mode, jit_code *out) {
#ifdef BACKEND
    if ((mode == JIT_MODE_DUAL && !MP_HAVE_DUAL) || (mode == JIT_MODE_RWX && !MP_HAVE_RWX))
        return MP_ENOTSUP;
    jit_program *prog = malloc(sizeof *prog);
    if (prog == NULL) return MP_ENOMEM;
    jit_lower(e, prog);
    jit_code code;
    code.mode = mode;
    mp_status s = mode == JIT_MODE_DUAL  ? compile_dual(prog, &code)
                  : mode == JIT_MODE_RWX ? compile_rwx(prog, &code)
                                         : compile_flip(prog, &code);
    free(prog);
    if (s == MP_OK) *out = code;
    return s;
#else
    (void)e;
    (void)mode;
    (void)out;
    return MP_ENOTSUP;
#endif
}

mp_status jit_compile_span(const jit_expr *e, mp_code_arena *a, mp_code_span *out, size_t *size) {
#ifdef BACKEND
    /* The code is emitted into a buffer of the bound's size first, so that
     * the span takes only the bytes the code needs. The generators emit
     * code that runs at any address (the dual mode runs it elsewhere than
     * it was written), so it may be copied. */
    jit_program *prog = malloc(sizeof *prog);
    if (prog == NULL) return MP_ENOMEM;
    jit_lower(e, prog);
    size_t bound = jit_code_bound(prog);
    uint8_t *buf = malloc(bound);
    mp_status s = MP_ENOMEM;
    if (buf != NULL) {
        s = emit_into(prog, buf, bound, size) ? mp_code_arena_alloc(a, *size, out) : MP_EOVERFLOW;
        if (s == MP_OK) memcpy(mp_code_span_write(out), buf, *size);
    }
    free(buf);
    free(prog);
    return s;
#else
    (void)e;
    (void)a;
    (void)out;
    (void)size;
    return MP_ENOTSUP;
#endif
}

mp_status jit_free(jit_code *code) {
    switch (code->mode) {
#if MP_HAVE_DUAL
    case JIT_MODE_DUAL:
        return mp_pages_dual_free(&code->dual);
#endif
#if MP_HAVE_RWX
    case JIT_MODE_RWX:
        return mp_pages_rwx_free(&code->rwx);
#endif
    default:
        return mp_pages_rx_free(&code->pages);
    }
}
