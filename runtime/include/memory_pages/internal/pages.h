/*
 * Internal: the page-set entry points of the runtime (runtime/pages.c) that
 * the generated permission-state types call, and the reference every
 * handle holds. Not part of the contract (shared/API.md); generated code,
 * the runtime and tests that reach into it include it by name.
 */
#ifndef MEMORY_PAGES_INTERNAL_PAGES_H
#define MEMORY_PAGES_INTERNAL_PAGES_H

#include <stdint.h>
#include <stddef.h>

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Access bits of a page range. */

enum { MP__PROT_NONE = 0, MP__PROT_READ = 1, MP__PROT_WRITE = 2, MP__PROT_EXEC = 4 };

/* Not an access bit: added to the access bits a sealed page set or sealed
 * vector is registered with (shared/API.md section 8), so that its handles
 * differ from those of the unsealed state with the same access, and no
 * call for that state accepts a sealed one. The OS layer never sees it. */
enum { MP__SEALED = 8 };

/* Not an access bit either: in the access word of a slot whose keeper
 * serializes every change to it under a lock of its own (a code span, kept
 * by its arena), so that mp__slot_hold holds it only for a call that asks
 * for that exact word, which only the keeper does (runtime/registry.h). */
enum { MP__KEPT = 128 };

/* A reference to one live page set: the index of its slot in the registry
 * and the generation the slot had when the reference was made. Every
 * generated handle type holds exactly one, as its only member. An all-zero
 * reference is never live. */
typedef struct mp__ref {
    uint32_t slot;
    uint32_t gen;
} mp__ref;

mp_status mp__pages_new(size_t len, const mp_pages_opts *opts, unsigned prot, mp__ref *out);
size_t mp__pages_len(const mp__ref *ref, unsigned prot);
void *mp__pages_data(const mp__ref *ref, unsigned prot);
mp_status mp__pages_free(mp__ref *ref, unsigned prot);
mp_status mp__pages_into(mp__ref *from, unsigned from_prot, unsigned to_prot, mp__ref *to);
mp_status mp__pages_advise(const mp__ref *ref, unsigned prot, size_t offset, size_t len,
                           mp_advice advice);
mp_status mp__pages_discard(mp__ref *ref, unsigned prot, size_t offset, size_t len);
/* Seals the live page set from, whose access is prot, and makes *to the
 * reference of the sealed page set (access prot | MP__SEALED) at the same
 * address; from and its copies go stale. */
mp_status mp__pages_seal(mp__ref *from, unsigned prot, mp__ref *to);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_INTERNAL_PAGES_H */
