/*
 * Internal: the entry points of the dual mapping (runtime/dual.c) that the
 * generated mp_pages_dual calls. Not part of the contract (shared/API.md
 * section 8); the type exists only in builds with allow_exec and
 * allow_dual_map, and these functions return MP_ENOTSUP in other builds.
 */
#ifndef MEMORY_PAGES_INTERNAL_DUAL_H
#define MEMORY_PAGES_INTERNAL_DUAL_H

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The access word of a dual pair's registry slot: read, write and execute,
 * plus a bit no page set has, so that no page-set function (which compares
 * the whole word) accepts a dual handle cast to another type, and a dual
 * function accepts no page set. Each view has only part of this access. */
enum {
    MP__PROT_DUAL = 16, /* beside MP__SEALED, which a pair never has */
    MP__DUAL = MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC | MP__PROT_DUAL
};

mp_status mp__dual_new(size_t len, const mp_pages_opts *opts, mp__ref *out);
size_t mp__dual_len(const mp__ref *ref);
void *mp__dual_data_mut(const mp__ref *ref);
const void *mp__dual_code(const mp__ref *ref);
mp_status mp__dual_sync(const mp__ref *ref, size_t offset, size_t len);
mp_status mp__dual_into_rx(mp__ref *from, mp__ref *to);
mp_status mp__dual_free(mp__ref *ref);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_INTERNAL_DUAL_H */
