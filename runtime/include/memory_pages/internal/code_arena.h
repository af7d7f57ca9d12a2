/*
 * The code arena's runtime entry points and public structs (shared/API.md
 * section 8; runtime/code_arena.c). Not part of the contract by itself: the
 * generated memory_pages.h includes this header only in builds with
 * allow_exec, so that in a default build none of these names exist for
 * users, as mp_pages_rx does not.
 */
#ifndef MEMORY_PAGES_INTERNAL_CODE_ARENA_H
#define MEMORY_PAGES_INTERNAL_CODE_ARENA_H

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How an arena keeps W^X. */
typedef enum mp_code_mode {
    MP_CODE_AUTO = 0, /* what mp_jit_probe found to work: DUAL where it works, else FLIP */
    MP_CODE_FLIP,     /* one mapping, whose pages change access between rw and rx */
    MP_CODE_DUAL      /* one memory mapped rw and rx at two addresses (allow_dual_map) */
} mp_code_mode;

typedef struct mp_code_arena_opts { /* all zero = the defaults */
    size_t reserve;                 /* bytes of address space (default 64 MiB) */
/* Named as in mp_pages_opts, whatever <windows.h> defined (runtime.h). */
#if defined(__GNUC__) || defined(_MSC_VER)
#pragma push_macro("near")
#endif
#undef near
    const void *near; /* as in mp_pages_opts */
#if defined(__GNUC__) || defined(_MSC_VER)
#pragma pop_macro("near")
#endif
    size_t max_distance;
    mp_code_mode mode;
} mp_code_arena_opts;

typedef struct mp_code_stats {
    size_t reserved;     /* bytes of address space of the code */
    size_t committed;    /* bytes of it in use by the arena so far (the high-water mark) */
    size_t used;         /* bytes of live spans, each rounded up to MP__CODE_GRANULE */
    size_t free_bytes;   /* committed - used */
    size_t largest_free; /* the largest size mp_code_arena_alloc could hand out now */
    size_t spans_live;   /* spans allocated and not released */
    size_t mappings;     /* OS mappings the arena needs: its bookkeeping, and one per run of
                            pages of one access (the kernel may split them further) */
} mp_code_stats;

/* The granularity of spans: sizes round up to it, addresses are aligned to
 * it. */
#define MP__CODE_GRANULE 64u

/* Access words of the registry slots of the arena and its spans, beside the
 * access bits and MP__SEALED (8), MP__PROT_DUAL (16) and MP__KEPT (128), so
 * that no handle of another type can pass for them. A span's word says
 * whether it is still being written (READ | WRITE) or finalized
 * (READ | EXEC); its arena keeps it (MP__KEPT). */
enum {
    MP__PROT_CODE = 32,
    MP__CODE_ARENA = MP__PROT_CODE | 64,
    MP__CODE_PENDING = MP__PROT_CODE | MP__KEPT | MP__PROT_READ | MP__PROT_WRITE,
    MP__CODE_READY = MP__PROT_CODE | MP__KEPT | MP__PROT_READ | MP__PROT_EXEC
};

mp_status mp__code_arena_new(const mp_code_arena_opts *opts, mp__ref *out);
mp_status mp__code_arena_alloc(const mp__ref *arena, size_t size, mp__ref *out);
void *mp__code_span_write(const mp__ref *span);
const void *mp__code_span_addr(const mp__ref *span);
size_t mp__code_span_len(const mp__ref *span);
mp_status mp__code_arena_finalize(const mp__ref *arena);
mp_status mp__code_arena_release(const mp__ref *arena, mp__ref *span);
mp_status mp__code_arena_stats(const mp__ref *arena, mp_code_stats *out);
mp_status mp__code_arena_free(mp__ref *arena);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_INTERNAL_CODE_ARENA_H */
