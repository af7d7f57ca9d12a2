/*
 * The slot registry: one slot per live mapping of the library (a page set or
 * a vector's reservation), with a generation counter that makes every older
 * reference to it detectably stale.
 *
 * A reference (mp__ref) holds a slot index and the generation the slot had
 * when the reference was made. A slot's generation moves through a cycle of
 * four values, so that its low two bits tell its state:
 *
 *     4k + 1  live: the references holding this value may use the slot
 *     4k + 2  held: one call owns the slot until it publishes, restores or
 *             frees it; every other call waits for it to finish
 *     4k + 3  free: the slot names nothing
 *
 * A call that reads or writes a mapping's pages or fields first holds its
 * slot (mp__slot_hold), which is one compare-and-swap from the value its
 * reference holds: of two calls on copies of one reference, in any threads,
 * exactly one wins, and the other waits until the winner is done and then
 * finds the slot live again (restored) or not (consumed, MP_ESTALE). The
 * winner ends with exactly one of:
 *  - mp__slot_restore: nothing changed, the same references stay live;
 *  - mp__slot_publish: the slot is live at a new generation (a transition),
 *    which stales every earlier reference, copies and function references
 *    included;
 *  - mp__slot_free: the slot names nothing any more.
 * Generations never go back, and a slot whose generation would wrap is
 * retired instead of reused, so a stale reference can never become live
 * again. An all-zero reference is never live (0 is not 4k + 1).
 *
 * A sealed mapping (shared/API.md section 8: a page set or frozen vector
 * that can never change or be unmapped) keeps its slot live at one
 * generation for the rest of the process: its access word holds MP__SEALED
 * (memory_pages/internal/pages.h) next to its access bits, no call holds
 * such a slot (mp__slot_hold refuses it, whatever the reference), so it is
 * never published anew, freed or reused, and its references, function
 * references included, stay live. A reader of the access word that
 * reports access (mp_query) masks MP__SEALED off: a sealed page set or
 * frozen vector is still of its kind, with its access.
 *
 * A kept slot (a code span: runtime/code_arena.c) has MP__KEPT in its
 * access word: its keeper, the span's arena, changes it only under a lock
 * of its own (the arena's slot), and mp__slot_hold holds it only for a
 * call that asks for its exact access word, which no call but the
 * keeper's does. So no other call ever holds a kept slot, even briefly
 * with a handle of another type, and the keeper may read it and end its
 * life with plain stores (mp__slot_end), without a compare-and-swap.
 *
 * Slots live in chunks that are allocated once and never freed or moved, so
 * reading a generation is safe from any thread, even with a garbage index,
 * and a hot path (a vector's push, a function reference's call) may keep a
 * pointer to its slot's generation and check liveness with one load. The
 * fields other threads may read without holding the slot (data, len, prot,
 * for mp__registry_view) are atomics read as a seqlock; the rest belong to
 * the holder.
 *
 * Query (mp_query, runtime/query.c): each slot also records what its object
 * looks like to a fault handler, as up to MP__SLOT_EXTENTS address ranges
 * (mp__extent: one for page sets and vectors; a dual mapping's two views, or
 * a code arena, add their own kinds). A handler may run while a call in the
 * interrupted thread holds the slot, halfway through changing it, so the
 * record cannot be guarded by the generation: it is kept twice and switched
 * by a latch counter (the Linux kernel's seqcount latch), so that a reader
 * always finds one whole copy without waiting, and retries only when another
 * thread rewrote the record while it read. mp__registry_find scans every
 * slot ever handed out, without the registry lock.
 */
#ifndef MEMORY_PAGES_RUNTIME_REGISTRY_H
#define MEMORY_PAGES_RUNTIME_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One address range of an object, as mp_query reports it. */
typedef struct mp__extent {
    uintptr_t lo, hi; /* the whole range the object answers for, guard pages included */
    uintptr_t data;   /* its first byte of data; [lo, data) and [data + len, hi) are guard */
    size_t len;       /* bytes of data */
    unsigned kind;    /* an mp_kind */
    unsigned access;  /* MP_ACCESS_* bits, the same values as MP__PROT_* */
} mp__extent;

/* The most ranges one slot records: the two views of a dual mapping. */
#define MP__SLOT_EXTENTS 2

/* An mp__extent as the slot keeps it, readable from any thread. */
typedef struct mp__extent_cell {
    atomic_uintptr_t lo, hi, data;
    atomic_size_t len;
    atomic_uint kind, access;
} mp__extent_cell;

typedef struct mp__slot {
    atomic_uint_least32_t gen; /* 4k + 1 live, 4k + 2 held, 4k + 3 free */
    uint32_t next_free;        /* free-list link, guarded by the keeper of the list */
    atomic_uintptr_t data;     /* first byte of the data */
    atomic_size_t len;         /* bytes of data */
    atomic_uint prot;          /* MP__PROT_* bits of the data (MP__DUAL for a dual pair) */
    atomic_uintptr_t alt;      /* a dual pair's read-write view of the data; 0 otherwise */
    /* Owned by the holder of the slot. */
    void *map_base;  /* the whole reservation, guard pages included */
    size_t map_size; /* its size */
    unsigned flags;  /* MP__SLOT_* */
    /* The query record: two copies, the one readers use chosen by the low
     * bit of latch (see the top of this file). */
    atomic_uint latch;
    mp__extent_cell extents[2][MP__SLOT_EXTENTS];
} mp__slot;

/* Bits of mp__slot.flags. MP__SLOT_VIEW: the data is a view of shared
 * memory (a dual pair, or the read-execute view that mp__dual_into_rx left),
 * given back with the OS layer's dual_unmap instead of release. */
enum { MP__SLOT_LOCKED = 1, MP__SLOT_VIEW = 2 };

/* A consistent copy of the fields of a live slot. */
typedef struct mp__slot_view {
    unsigned char *data;
    size_t len;
    unsigned prot;
    unsigned char *alt;
} mp__slot_view;

/* The calls that every operation on a page set, vector or span makes
 * (finding its slot, reading it, the first try of a hold, restore, publish
 * and end) are inline in this header, the waits and the free list in
 * registry.c: out of line, the calls cost the code arena's loop of alloc,
 * write, finalize, call and release about 10% (docs/benchmarks.md). */

/* Slots come in chunks of MP__CHUNK_SLOTS, at most MP__MAX_CHUNKS of them:
 * about four million live page sets, more than any OS allows mappings. */
#define MP__CHUNK_SHIFT 12
#define MP__CHUNK_SLOTS ((uint32_t)1 << MP__CHUNK_SHIFT)
#define MP__MAX_CHUNKS 1024u

/* The chunks made so far (registry.c); a NULL entry was never made. */
extern _Atomic(mp__slot *) mp__registry_chunks[MP__MAX_CHUNKS];

/* Returns the slot at index, or NULL if no slot was ever made there. */
static inline mp__slot *mp__registry_slot(uint32_t index) {
    uint32_t chunk = index >> MP__CHUNK_SHIFT;
    if (chunk >= MP__MAX_CHUNKS) return NULL;
    mp__slot *slots = atomic_load_explicit(&mp__registry_chunks[chunk], memory_order_acquire);
    return slots == NULL ? NULL : &slots[index & (MP__CHUNK_SLOTS - 1)];
}

/* The low bits of the generation of a slot that is free or retired. */
#define MP__GEN_FREE 3u

/* Whether gen is the generation of a live slot. */
static inline bool mp__gen_live(uint32_t gen) {
    return (gen & 3u) == 1u;
}

/* Takes a free slot, held by the caller and not live yet: the caller
 * publishes it, or gives it back with mp__slot_free. Returns NULL, with the
 * failure recorded, when no memory is left for the registry. */
mp__slot *mp__registry_alloc(uint32_t *index);

#ifdef MP_FAULT_INJECTION
/* Called, when set, right after a call wins a slot: tests widen the window
 * in which a call holds it (tests/reliability/race_test.cc). */
extern void (*volatile mp__race_hook)(void);
#endif

/* Ends a hold that changed nothing: ref, and every copy of it, is live
 * again. */
static inline void mp__slot_restore(mp__slot *slot, const mp__ref *ref) {
    atomic_store_explicit(&slot->gen, ref->gen, memory_order_release);
}

/* The end of every successful hold: keeps the slot if its access is still
 * prot, now that no other call can change it, else restores it. */
static inline mp__slot *mp__slot_held(mp__slot *slot, const mp__ref *ref, unsigned prot) {
    /* The fields change only after the generation did. */
    atomic_thread_fence(memory_order_release);
#ifdef MP_FAULT_INJECTION
    if (mp__race_hook != NULL) mp__race_hook();
#endif
    if (atomic_load_explicit(&slot->prot, memory_order_relaxed) == prot) return slot;
    mp__slot_restore(slot, ref);
    return NULL;
}

/* mp__slot_hold for every case but the first try: waits while another
 * call holds the slot, and refuses sealed and kept slots. */
mp__slot *mp__slot_hold_wait(const mp__ref *ref, unsigned prot);

/* Holds the slot ref names if ref is live and the slot's mapping has the
 * access prot, waiting while another call holds it. Returns NULL when ref is
 * stale, garbage or of another access. The first try is one
 * compare-and-swap on a slot whose access already is prot. A sealed slot
 * never has the access a caller asks for (no caller asks for MP__SEALED),
 * and a kept one has it only for its keeper, so the first try refuses both
 * as mp__slot_hold_wait does. */
static inline mp__slot *mp__slot_hold(const mp__ref *ref, unsigned prot) {
    mp__slot *slot = mp__gen_live(ref->gen) ? mp__registry_slot(ref->slot) : NULL;
    uint32_t seen = ref->gen;
    if (slot != NULL && !(prot & MP__SEALED) &&
        atomic_load_explicit(&slot->prot, memory_order_relaxed) == prot &&
        atomic_compare_exchange_strong_explicit(&slot->gen, &seen, seen + 1, memory_order_acq_rel,
                                                memory_order_relaxed)) {
        return mp__slot_held(slot, ref, prot);
    }
    return mp__slot_hold_wait(ref, prot);
}

/* Whether a held slot can be published at a new generation without its
 * counter wrapping. */
static inline bool mp__slot_can_renew(const mp__slot *slot) {
    return (atomic_load_explicit(&slot->gen, memory_order_relaxed) | MP__GEN_FREE) != UINT32_MAX;
}

/* Makes a held slot (or one from mp__registry_alloc) live at a new
 * generation and sets *ref to it. */
static inline void mp__slot_publish(mp__slot *slot, uint32_t index, mp__ref *ref) {
    uint32_t gen = (atomic_load_explicit(&slot->gen, memory_order_relaxed) | MP__GEN_FREE) + 2;
    atomic_store_explicit(&slot->gen, gen, memory_order_release);
    ref->slot = index;
    ref->gen = gen;
}

/* Ends the life of a held slot (or gives back one from mp__registry_alloc):
 * every reference to it is stale from now on, and the slot is reused later
 * unless its generations are used up. */
void mp__slot_free(mp__slot *slot, uint32_t index);

/* mp__slot_free in two steps, for a caller that keeps free slots of its own
 * to reuse without the registry's lock (the code arena's spans):
 * mp__slot_end ends the life of a held slot, or of a kept one by its
 * keeper, as mp__slot_free does, and returns whether it may be reused; such
 * a slot, free and owned by nobody else, is fit for mp__slot_publish again,
 * its next_free a link of its keeper's list, until mp__registry_give hands
 * it back to the registry. */
static inline bool mp__slot_end(mp__slot *slot) {
    uint32_t gen = atomic_load_explicit(&slot->gen, memory_order_relaxed) | MP__GEN_FREE;
    atomic_store_explicit(&slot->gen, gen, memory_order_release);
    /* Only a dual pair sets alt; the next owner of the slot starts without. */
    atomic_store_explicit(&slot->alt, 0, memory_order_relaxed);
    /* A generation that wrapped would make old references live again once
     * the slot is reused: retire the slot instead. */
    return gen != UINT32_MAX;
}
void mp__registry_give(mp__slot *slot, uint32_t index);

/* Copies the public fields of the slot ref names into *out if it is live,
 * consistently even while another thread frees or changes it. Never waits
 * and takes no lock (async-signal-safe). */
static inline bool mp__registry_view(const mp__ref *ref, mp__slot_view *out) {
    if (!mp__gen_live(ref->gen)) return false;
    mp__slot *slot = mp__registry_slot(ref->slot);
    if (slot == NULL || atomic_load_explicit(&slot->gen, memory_order_acquire) != ref->gen)
        return false;
    mp__slot_view v;
    v.data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    v.len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    v.prot = atomic_load_explicit(&slot->prot, memory_order_relaxed);
    v.alt = (unsigned char *)atomic_load_explicit(&slot->alt, memory_order_relaxed);
    /* Seqlock read: the fields belong to ref only if the generation did not
     * move while they were read. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&slot->gen, memory_order_relaxed) != ref->gen) return false;
    *out = v;
    return true;
}

/* The slow path of mp__registry_read: waits while another call holds the
 * slot at ref's generation. */
bool mp__registry_wait_read(const mp__ref *ref, mp__slot_view *out);

/* As mp__registry_view, but while another call holds the slot at ref's
 * generation, waits for it to finish first, so that a live reference is
 * never reported stale because a call on a copy of it is under way. */
static inline bool mp__registry_read(const mp__ref *ref, mp__slot_view *out) {
    return mp__registry_view(ref, out) || mp__registry_wait_read(ref, out);
}

/* Records the count (at most MP__SLOT_EXTENTS) address ranges of the
 * object of a slot for mp_query: called by the holder of the slot, or by
 * the caller of mp__registry_alloc before it publishes. The ranges answer
 * from then on while the slot is live or held. */
void mp__slot_describe(mp__slot *slot, const mp__extent *extents, size_t count);

/* Finds the range, recorded by a live or held slot, that holds addr, and
 * copies it into *out. Never waits and takes no lock (async-signal-safe);
 * reads every slot ever handed out. */
bool mp__registry_find(const void *addr, mp__extent *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_REGISTRY_H */
