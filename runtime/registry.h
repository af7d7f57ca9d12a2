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
 * Slots live in chunks that are allocated once and never freed or moved, so
 * reading a generation is safe from any thread, even with a garbage index,
 * and a hot path (a vector's push, a function reference's call) may keep a
 * pointer to its slot's generation and check liveness with one load. The
 * fields other threads may read without holding the slot (data, len, prot,
 * for mp__registry_view and mp_query) are atomics read as a seqlock; the rest
 * belong to the holder.
 */
#ifndef MEMORY_PAGES_RUNTIME_REGISTRY_H
#define MEMORY_PAGES_RUNTIME_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp__slot {
    atomic_uint_least32_t gen; /* 4k + 1 live, 4k + 2 held, 4k + 3 free */
    uint32_t next_free;        /* free-list link, guarded by the registry lock */
    atomic_uintptr_t data;     /* first byte of the data */
    atomic_size_t len;         /* bytes of data */
    atomic_uint prot;          /* MP__PROT_* bits of the data (MP__DUAL for a dual pair) */
    atomic_uintptr_t alt;      /* a dual pair's read-write view of the data; 0 otherwise */
    /* Owned by the holder of the slot. */
    void *map_base;  /* the whole reservation, guard pages included */
    size_t map_size; /* its size */
    unsigned flags;  /* MP__SLOT_* */
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

/* Whether gen is the generation of a live slot. */
static inline bool mp__gen_live(uint32_t gen) {
    return (gen & 3u) == 1u;
}

/* Takes a free slot, held by the caller and not live yet: the caller
 * publishes it, or gives it back with mp__slot_free. Returns NULL, with the
 * failure recorded, when no memory is left for the registry. */
mp__slot *mp__registry_alloc(uint32_t *index);

/* Holds the slot ref names if ref is live and the slot's mapping has the
 * access prot, waiting while another call holds it. Returns NULL when ref is
 * stale, garbage or of another access. */
mp__slot *mp__slot_hold(const mp__ref *ref, unsigned prot);

/* Ends a hold that changed nothing: ref, and every copy of it, is live
 * again. */
void mp__slot_restore(mp__slot *slot, const mp__ref *ref);

/* Whether a held slot can be published at a new generation without its
 * counter wrapping. */
bool mp__slot_can_renew(const mp__slot *slot);

/* Makes a held slot (or one from mp__registry_alloc) live at a new
 * generation and sets *ref to it. */
void mp__slot_publish(mp__slot *slot, uint32_t index, mp__ref *ref);

/* Ends the life of a held slot (or gives back one from mp__registry_alloc):
 * every reference to it is stale from now on, and the slot is reused later
 * unless its generations are used up. */
void mp__slot_free(mp__slot *slot, uint32_t index);

/* Copies the public fields of the slot ref names into *out if it is live,
 * consistently even while another thread frees or changes it. Never waits
 * and takes no lock (async-signal-safe). */
bool mp__registry_view(const mp__ref *ref, mp__slot_view *out);

/* As mp__registry_view, but while another call holds the slot at ref's
 * generation, waits for it to finish first, so that a live reference is
 * never reported stale because a call on a copy of it is under way. */
bool mp__registry_read(const mp__ref *ref, mp__slot_view *out);

/* Returns the slot at index, or NULL if no slot was ever made there. */
mp__slot *mp__registry_slot(uint32_t index);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_REGISTRY_H */
