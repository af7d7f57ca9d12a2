/* The slot registry of registry.h. */
#include "runtime/registry.h"

#include "runtime/os.h"
#include "runtime/spin.h"
#include "runtime/status.h"

/* A slot index that ends the free list; also never a valid index, since the
 * index is below MP__MAX_CHUNKS * MP__CHUNK_SLOTS. */
#define NO_SLOT UINT32_MAX

_Atomic(mp__slot *) mp__registry_chunks[MP__MAX_CHUNKS];

/* Guards free_head, next_index and the next_free of every slot on the free
 * list; held for a few instructions, never across a system call. */
static atomic_flag lock = ATOMIC_FLAG_INIT;
static uint32_t free_head = NO_SLOT;
/* The next never-used index. Index 0 is never handed out, so that a zeroed
 * reference names no slot even by its index. */
static uint32_t next_index = 1;
/* next_index as mp__registry_find reads it, without the lock: every index
 * below it has a slot. */
static atomic_uint_least32_t used_index = 1;

#ifdef MP_FAULT_INJECTION
void (*volatile mp__race_hook)(void);
#endif

/* Makes sure the chunk that holds index exists. Maps it without the lock:
 * of two threads that map the same chunk, one installs its mapping and the
 * other gives its own back. */
static bool add_chunk(uint32_t index) {
    size_t page = mp__os_cfg.page_size;
    size_t size = (MP__CHUNK_SLOTS * sizeof(mp__slot) + page - 1) / page * page;
    void *mem;
    if (mp__os.reserve(size, 0, 0, &mem) != MP_OK) return false;
    if (mp__os.commit(mem, size, MP__PROT_READ | MP__PROT_WRITE) != MP_OK) {
        int err = mp_os_error();
        (void)mp__os.release(mem, size);
        mp__fail_os(MP_ENOMEM, err);
        return false;
    }
    /* Fresh pages read as zeros: every slot starts free, at generation 0. */
    mp__slot *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&mp__registry_chunks[index >> MP__CHUNK_SHIFT],
                                                 &expected, (mp__slot *)mem, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        (void)mp__os.release(mem, size);
    }
    return true;
}

mp__slot *mp__registry_alloc(uint32_t *index) {
    for (;;) {
        mp__spin_lock(&lock);
        uint32_t i = free_head;
        mp__slot *slot = NULL;
        if (i != NO_SLOT) {
            slot = mp__registry_slot(i);
            free_head = slot->next_free;
        } else if (next_index >= MP__MAX_CHUNKS * MP__CHUNK_SLOTS) {
            mp__spin_unlock(&lock);
            mp__fail(MP_ENOMEM);
            return NULL;
        } else {
            i = next_index;
            slot = mp__registry_slot(i);
            if (slot != NULL) {
                next_index++;
                atomic_store_explicit(&used_index, next_index, memory_order_release);
            }
        }
        mp__spin_unlock(&lock);
        if (slot != NULL) {
            *index = i;
            return slot;
        }
        if (!add_chunk(i)) return NULL;
    }
}

mp__slot *mp__slot_hold_wait(const mp__ref *ref, unsigned prot) {
    if (!mp__gen_live(ref->gen)) return NULL;
    mp__slot *slot = mp__registry_slot(ref->slot);
    if (slot == NULL) return NULL;
    /* A sealed slot is never held, a kept one only by its keeper, which
     * asks for its exact word (registry.h). A sealed slot's access word
     * keeps MP__SEALED for good, and a kept one's changes only under its
     * keeper's lock, so this unlocked look cannot be out of date in a way
     * that matters: the slot is the one ref was made for, or ref is stale
     * and the hold below fails anyway. */
    unsigned now = atomic_load_explicit(&slot->prot, memory_order_relaxed);
    if ((now & MP__SEALED) || ((now & MP__KEPT) && now != prot)) return NULL;
    uint32_t held = ref->gen + 1;
    unsigned rounds = 0;
    for (;;) {
        uint32_t seen = ref->gen;
        if (atomic_compare_exchange_weak_explicit(&slot->gen, &seen, held, memory_order_acq_rel,
                                                  memory_order_relaxed)) {
            break;
        }
        /* Another call holds the slot at this generation: wait for it to
         * restore, publish or free it. Anything else means ref is stale. */
        if (seen != ref->gen && seen != held) return NULL;
        mp__backoff(&rounds);
    }
    return mp__slot_held(slot, ref, prot);
}

void mp__registry_give(mp__slot *slot, uint32_t index) {
    mp__spin_lock(&lock);
    slot->next_free = free_head;
    free_head = index;
    mp__spin_unlock(&lock);
}

void mp__slot_free(mp__slot *slot, uint32_t index) {
    if (mp__slot_end(slot)) mp__registry_give(slot, index);
}

bool mp__registry_wait_read(const mp__ref *ref, mp__slot_view *out) {
    unsigned rounds = 0;
    while (!mp__registry_view(ref, out)) {
        mp__slot *slot = mp__registry_slot(ref->slot);
        if (!mp__gen_live(ref->gen) || slot == NULL ||
            atomic_load_explicit(&slot->gen, memory_order_acquire) != ref->gen + 1) {
            return false;
        }
        mp__backoff(&rounds);
    }
    return true;
}

/* ---- The query record (registry.h) ---- */

static void store_extents(mp__extent_cell *cells, const mp__extent *extents, size_t count) {
    for (size_t i = 0; i < MP__SLOT_EXTENTS; i++) {
        mp__extent e = {0, 0, 0, 0, 0, 0};
        if (i < count) e = extents[i];
        atomic_store_explicit(&cells[i].lo, e.lo, memory_order_relaxed);
        atomic_store_explicit(&cells[i].hi, e.hi, memory_order_relaxed);
        atomic_store_explicit(&cells[i].data, e.data, memory_order_relaxed);
        atomic_store_explicit(&cells[i].len, e.len, memory_order_relaxed);
        atomic_store_explicit(&cells[i].kind, e.kind, memory_order_relaxed);
        atomic_store_explicit(&cells[i].access, e.access, memory_order_relaxed);
    }
}

void mp__slot_describe(mp__slot *slot, const mp__extent *extents, size_t count) {
    /* The latch: readers use copy (latch & 1). Make it odd and rewrite copy
     * 0, then even and rewrite copy 1; the release fences keep each copy's
     * stores after the switch away from it. */
    unsigned latch = atomic_load_explicit(&slot->latch, memory_order_relaxed);
    atomic_store_explicit(&slot->latch, latch + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    store_extents(slot->extents[0], extents, count);
    atomic_store_explicit(&slot->latch, latch + 2, memory_order_release);
    atomic_thread_fence(memory_order_release);
    store_extents(slot->extents[1], extents, count);
}

static mp__extent load_extent(const mp__extent_cell *c) {
    mp__extent e;
    e.lo = atomic_load_explicit(&c->lo, memory_order_relaxed);
    e.hi = atomic_load_explicit(&c->hi, memory_order_relaxed);
    e.data = atomic_load_explicit(&c->data, memory_order_relaxed);
    e.len = atomic_load_explicit(&c->len, memory_order_relaxed);
    e.kind = atomic_load_explicit(&c->kind, memory_order_relaxed);
    e.access = atomic_load_explicit(&c->access, memory_order_relaxed);
    return e;
}

/* Finds the range of slot that holds a, if any, reading one whole copy of
 * its record. */
static bool find_in_slot(mp__slot *slot, uintptr_t a, mp__extent *out) {
    for (;;) {
        unsigned latch = atomic_load_explicit(&slot->latch, memory_order_acquire);
        const mp__extent_cell *cells = slot->extents[latch & 1];
        bool found = false;
        mp__extent e = {0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i < MP__SLOT_EXTENTS && !found; i++) {
            e = load_extent(&cells[i]);
            found = a >= e.lo && a < e.hi;
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&slot->latch, memory_order_relaxed) != latch) continue;
        if (found) *out = e;
        return found;
    }
}

bool mp__registry_find(const void *addr, mp__extent *out) {
    uintptr_t a = (uintptr_t)addr;
    uint32_t used = atomic_load_explicit(&used_index, memory_order_acquire);
    for (uint32_t i = 1; i < used; i++) {
        mp__slot *slot = mp__registry_slot(i);
        if (slot == NULL) continue;
        uint32_t gen = atomic_load_explicit(&slot->gen, memory_order_acquire);
        /* Free slots (and slots taken but not yet published) name nothing. */
        if ((gen & MP__GEN_FREE) == MP__GEN_FREE || gen == 0) continue;
        mp__extent e;
        if (!find_in_slot(slot, a, &e)) continue;
        /* A slot freed while its record was read answers no more. */
        atomic_thread_fence(memory_order_acquire);
        gen = atomic_load_explicit(&slot->gen, memory_order_relaxed);
        if ((gen & MP__GEN_FREE) == MP__GEN_FREE) continue;
        *out = e;
        return true;
    }
    return false;
}
