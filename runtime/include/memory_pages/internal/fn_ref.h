/*
 * Internal: the checked function reference that every generated
 * function-reference type holds, and its runtime entry points
 * (runtime/fn_ref.c). Not part of the contract.
 */
#ifndef MEMORY_PAGES_INTERNAL_FN_REF_H
#define MEMORY_PAGES_INTERNAL_FN_REF_H

#include <stdbool.h>

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A checked reference to a function in executable pages, the only member
 * of every generated function-reference type (runtime/fn_ref.c explains why
 * the inline check below is sound). `gen` points at the generation counter
 * of the pages' slot, which is never freed; `expected` is the generation the
 * pages had when the reference was made, a live one (4k + 1) and so never 0. An all-zero
 * reference is never live. */
typedef struct mp__fn_ref {
    const uint32_t *gen;
    uint32_t expected;
    void (*code)(void);
} mp__fn_ref;

/* Makes *out refer to the byte at offset of the live pages `pages`, which
 * must have the access prot. MP_EINVAL for NULL or offset >= len,
 * MP_ESTALE for a stale handle. */
mp_status mp__fn_ref_from(const mp__ref *pages, unsigned prot, size_t offset, mp__fn_ref *out);

/* Records a failure of a generated call with no OS error behind it and
 * returns s. */
mp_status mp__fn_ref_fail(mp_status s);

/* Whether the pages f refers to are still in the state, and the same
 * allocation, they were in when f was made. Safe from any thread: it reads
 * only the generation counter, atomically, with acquire order, so a thread
 * that sees the reference live also sees the code written before the pages
 * became executable. */
static inline bool mp__fn_ref_live(const mp__fn_ref *f) {
    return f->gen != NULL && __atomic_load_n(f->gen, __ATOMIC_ACQUIRE) == f->expected;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_INTERNAL_FN_REF_H */
