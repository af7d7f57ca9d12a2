/*
 * The slot registry: one slot per live page set, with a generation counter
 * that makes every older reference to it detectably stale.
 *
 * A reference (mp__ref) holds a slot index and the generation the slot had
 * when the reference was made. The generation is odd while the slot is live
 * and even while it is free or being changed, so an all-zero reference, or
 * one to a slot never used, is never live. Freeing or changing the state of a
 * page set moves its generation on, which stales every copy of every earlier
 * reference at once, without touching the freed memory. A slot whose
 * generation would wrap around is retired for good instead of reused, so a
 * stale reference can never become live again.
 *
 * Slots live in chunks that are allocated once and never freed or moved, so
 * looking a reference up is safe from any thread, even with a garbage index.
 * The fields other threads may read (generation, data, len, prot) are atomics
 * read as a seqlock; the rest belong to the thread that owns the page set.
 */
#ifndef MEMORY_PAGES_RUNTIME_REGISTRY_H
#define MEMORY_PAGES_RUNTIME_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp__slot {
    atomic_uint_least32_t gen; /* odd while live */
    uint32_t next_free;        /* free-list link, guarded by the registry lock */
    atomic_uintptr_t data;     /* first byte of the data */
    atomic_size_t len;         /* bytes of data */
    atomic_uint prot;          /* MP__PROT_* bits of the data */
    /* Owned by the thread that holds the live reference. */
    void *map_base;  /* the whole reservation, guard pages included */
    size_t map_size; /* its size */
    unsigned flags;  /* MP__SLOT_* */
} mp__slot;

/* Bits of mp__slot.flags. */
enum { MP__SLOT_LOCKED = 1 };

/* A consistent copy of the fields of a live slot. */
typedef struct mp__slot_view {
    unsigned char *data;
    size_t len;
    unsigned prot;
} mp__slot_view;

/* Takes a free slot, not live yet. Returns NULL, with the failure recorded,
 * when no memory is left for the registry. */
mp__slot *mp__registry_alloc(uint32_t *index);

/* Gives back a slot that mp__registry_alloc returned and that never became
 * live. */
void mp__registry_unalloc(mp__slot *slot, uint32_t index);

/* Returns the live slot ref names, or NULL when ref is stale or garbage.
 * For the owner of the reference. */
mp__slot *mp__registry_lookup(const mp__ref *ref);

/* Copies the public fields of the slot ref names into *out if it is live,
 * consistently even while another thread frees or changes it. */
bool mp__registry_view(const mp__ref *ref, mp__slot_view *out);

/* Makes a slot not live, so that its fields may be changed. */
void mp__slot_begin_write(mp__slot *slot);

/* Makes a slot live again, at a new generation, and sets *ref to it. */
void mp__slot_end_write(mp__slot *slot, uint32_t index, mp__ref *ref);

/* Whether a live slot can move to a new generation without wrapping. */
bool mp__slot_can_renew(const mp__slot *slot);

/* Ends the life of a live slot: every reference to it is stale from now on,
 * and the slot is reused later unless its generations are used up. */
void mp__registry_free(mp__slot *slot, uint32_t index);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_REGISTRY_H */
