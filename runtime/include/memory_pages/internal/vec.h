/*
 * Internal: the untyped vector core (runtime/vec.c) that every generated
 * PagedVec type holds and calls, with the inline liveness checks of its
 * fast paths. Not part of the contract.
 */
#ifndef MEMORY_PAGES_INTERNAL_VEC_H
#define MEMORY_PAGES_INTERNAL_VEC_H

#include <stdbool.h>

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PagedVec: the untyped vector core (runtime/vec.c) ----
 *
 * Every generated vector type V and its frozen form V_frozen hold one
 * mp__vec as their only member; the generated functions pass it with
 * sizeof(T), the element size, which is never 0. The generated header reads
 * data, len, cap and committed directly on its fast paths (push, pop, at,
 * capacity), after mp__vec_live; everything else goes through the functions
 * below. */
typedef struct mp__vec {
    unsigned char *data; /* first element; NULL while nothing is reserved */
    size_t len;          /* elements in use */
    /* The push frontier: elements the inline push writes before it calls
     * the runtime, which then pre-faults ahead (runtime/vec.c,
     * "Pre-faulting"). At most the capacity, committed / sizeof(T); len may
     * pass it through push_within_capacity. */
    size_t cap;
    size_t committed; /* accessible bytes from data on, whole commit units */
    size_t reserved;  /* bytes of address space from data on, guard excluded */
    /* The generation counter of ref's registry slot (NULL while there is no
     * slot): slots never move, so the fast paths check liveness with one
     * load of it (mp__vec_live). */
    const uint32_t *slot_gen;
    mp__ref ref;    /* registry slot of the reservation; all zero while there is none */
    mp_huge huge;   /* the huge-page option the vector was made with */
    uint16_t guard; /* nonzero: a no-access guard follows the reservation (not a
                     * bool, so that the struct has no padding bytes) */
    /* The state of the adaptive huge-page policy of a vector made with
     * MP_HUGE_NO (runtime/vec.c, "Huge pages for large vectors"): 0 while
     * it has not acted. */
    uint16_t thp;
} mp__vec;

/* The initializer of an empty vector that owns nothing, every field zero:
 * what mp__vec_init_empty makes, for the generated V_INIT. Written out in
 * full so that C++ (tests) and -Wmissing-field-initializers accept it. */
#define MP__VEC_INIT                                                                               \
    { NULL, 0, 0, 0, 0, NULL, {0, 0}, MP_HUGE_NO, 0, 0 }

/* Makes *v an empty vector with the default options, which owns nothing.
 * Field by field, so that the compiler keeps a local vector in registers
 * (a memset of the whole struct makes gcc keep it in memory); mp__vec has
 * no padding, so every byte is set. */
static inline void mp__vec_init_empty(mp__vec *v) {
    v->data = NULL;
    v->len = v->cap = v->committed = v->reserved = 0;
    v->slot_gen = NULL;
    v->ref.slot = 0;
    v->ref.gen = 0;
    v->huge = MP_HUGE_NO;
    v->guard = 0;
    v->thp = 0;
}

/* Whether v, which owns a registry slot (its len or cap is not 0), may be
 * used as it is: its slot is still at the generation v holds. Any call
 * through another copy that changed the vector's memory (grew, gave back,
 * moved, froze, thawed or freed it) moved the generation on. One relaxed
 * load and a compare, the check of every inline fast path: it is the check
 * of the thread that uses v, which made any change through v itself (API
 * section 7); a false answer while another call holds the slot is settled
 * by mp__vec_wait_live. */
static inline bool mp__vec_owned_live(const mp__vec *v) {
    return __atomic_load_n(v->slot_gen, __ATOMIC_RELAXED) == v->ref.gen;
}

/* Whether v may be used as it is: as mp__vec_owned_live, and a vector that
 * owns no slot is live unless it was consumed. */
static inline bool mp__vec_live(const mp__vec *v) {
    return v->slot_gen != NULL ? mp__vec_owned_live(v) : v->ref.gen == 0;
}

/* The slow side of the checks: waits while a call on a copy of v holds its
 * slot, then answers whether v is live. */
bool mp__vec_wait_live(const mp__vec *v);

/* The checks with their slow side, for the generated functions that read
 * the vector without calling the runtime. The slow side gets a copy, so
 * that the vector's own address never escapes into an out-of-line call and
 * the compiler can keep a local vector in registers across a loop of pushes
 * (docs/benchmarks.md, workload 8). */
static inline bool mp__vec_ok(const mp__vec *v) {
    if (mp__vec_live(v)) return true;
    mp__vec w = *v;
    return mp__vec_wait_live(&w);
}

static inline bool mp__vec_owned_ok(const mp__vec *v) {
    if (mp__vec_owned_live(v)) return true;
    mp__vec w = *v;
    return mp__vec_wait_live(&w);
}

/* The drop and clone functions of an element type whose entry names them
 * (docs/paged_vec.md, "Drop and clone"): the generated header adapts the
 * user's typed functions to these and passes NULL for a type without them.
 * drop runs once on every element a vector discards; clone makes *dst a
 * copy of *src, and a failure leaves nothing to drop in *dst. */
typedef void (*mp__vec_drop_fn)(void *elem);
typedef mp_status (*mp__vec_clone_fn)(void *dst, const void *src);

mp_status mp__vec_new(mp__vec *v, const mp_vec_opts *opts, size_t size);
mp_status mp__vec_with_capacity(mp__vec *v, size_t n, size_t size);
/* Makes room for one more element, growing by at least doubling: the slow
 * path of the generated push, which then stores the element itself. */
mp_status mp__vec_grow(mp__vec *v, size_t size);
/* The slow side of the generated push_within_capacity, which never grows:
 * MP_OK when v is live and has room below its capacity (the caller then
 * stores the element), MP_ENOMEM when it is full, MP_ESTALE, MP_EINVAL.
 * No system call. */
mp_status mp__vec_has_room(const mp__vec *v, size_t size);
mp_status mp__vec_pop(mp__vec *v, void *out, size_t size);
mp_status mp__vec_insert(mp__vec *v, size_t i, const void *x, size_t size);
mp_status mp__vec_insert_n(mp__vec *v, size_t i, const void *src, size_t n, size_t size);
mp_status mp__vec_remove(mp__vec *v, size_t i, void *out, size_t size);
mp_status mp__vec_swap_remove(mp__vec *v, size_t i, void *out, size_t size);
mp_status mp__vec_remove_range(mp__vec *v, size_t from, size_t to, void *out, size_t size,
                               mp__vec_drop_fn drop);
mp_status mp__vec_extend(mp__vec *v, const void *src, size_t n, size_t size);
mp_status mp__vec_resize(mp__vec *v, size_t n, const void *fill, size_t size, mp__vec_drop_fn drop,
                         mp__vec_clone_fn clone);
mp_status mp__vec_truncate(mp__vec *v, size_t n, size_t size, mp__vec_drop_fn drop);
mp_status mp__vec_reserve(mp__vec *v, size_t additional, size_t size);
mp_status mp__vec_reserve_exact(mp__vec *v, size_t additional, size_t size);
mp_status mp__vec_clone(const mp__vec *v, mp__vec *out, size_t size, mp__vec_drop_fn drop,
                        mp__vec_clone_fn clone);
mp_status mp__vec_shrink_to_fit(mp__vec *v, size_t size);
mp_status mp__vec_freeze(mp__vec *v, mp__vec *out);
mp_status mp__vec_free(mp__vec *v, size_t size, mp__vec_drop_fn drop);
size_t mp__vec_frozen_len(const mp__vec *f);
const void *mp__vec_frozen_data(const mp__vec *f);
const void *mp__vec_frozen_at(const mp__vec *f, size_t i, size_t size);
mp_status mp__vec_frozen_free(mp__vec *f, size_t size, mp__vec_drop_fn drop);
mp_status mp__vec_thaw(mp__vec *f, mp__vec *out);
/* Sealing a frozen vector (shared/API.md section 8): *out gets the sealed
 * vector, f and its copies go stale. */
mp_status mp__vec_seal(mp__vec *f, mp__vec *out);
size_t mp__vec_sealed_len(const mp__vec *s);
const void *mp__vec_sealed_data(const mp__vec *s);
const void *mp__vec_sealed_at(const mp__vec *s, size_t i, size_t size);

/* Releases every reservation that freed vectors left in the cache of
 * runtime/vec.c. For tests that count mappings or fail OS calls one by one;
 * stops at, and returns, the first failed release. */
mp_status mp__vec_cache_drain(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_INTERNAL_VEC_H */
