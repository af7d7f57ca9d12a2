/* The slot registry of registry.h. */
#include "runtime/registry.h"

#include "runtime/os.h"
#include "runtime/spin.h"
#include "runtime/status.h"

/* Slots come in chunks of CHUNK_SLOTS, at most MAX_CHUNKS of them: about
 * four million live page sets, more than any OS allows mappings. */
#define CHUNK_SHIFT 12
#define CHUNK_SLOTS ((uint32_t)1 << CHUNK_SHIFT)
#define MAX_CHUNKS 1024u

/* A slot index that ends the free list; also never a valid index, since the
 * index is below MAX_CHUNKS * CHUNK_SLOTS. */
#define NO_SLOT UINT32_MAX

static _Atomic(mp__slot *) chunks[MAX_CHUNKS];

/* Guards free_head, next_index, chunk creation and every next_free. Held
 * only for a few instructions, or for one chunk's allocation. */
static atomic_flag lock = ATOMIC_FLAG_INIT;
static uint32_t free_head = NO_SLOT;
/* The next never-used index. Index 0 is never handed out, so that a zeroed
 * reference names no slot even by its index. */
static uint32_t next_index = 1;

/* Returns the slot at index, or NULL if its chunk does not exist. */
static mp__slot *slot_at(uint32_t index) {
    uint32_t chunk = index >> CHUNK_SHIFT;
    if (chunk >= MAX_CHUNKS) return NULL;
    mp__slot *slots = atomic_load_explicit(&chunks[chunk], memory_order_acquire);
    return slots == NULL ? NULL : &slots[index & (CHUNK_SLOTS - 1)];
}

/* Allocates the chunk that index falls in. Called with the lock held. */
static bool add_chunk(uint32_t index) {
    size_t page = mp__os_page_size();
    size_t size = (CHUNK_SLOTS * sizeof(mp__slot) + page - 1) / page * page;
    void *mem;
    if (mp__os.reserve(size, 0, &mem) != MP_OK) return false;
    if (mp__os.commit(mem, size, MP__PROT_READ | MP__PROT_WRITE) != MP_OK) {
        int err = mp_os_error();
        mp__os.release(mem, size);
        mp__fail_os(MP_ENOMEM, err);
        return false;
    }
    /* Fresh pages read as zeros: every slot starts free, at generation 0. */
    atomic_store_explicit(&chunks[index >> CHUNK_SHIFT], (mp__slot *)mem, memory_order_release);
    return true;
}

mp__slot *mp__registry_alloc(uint32_t *index) {
    mp__spin_lock(&lock);
    uint32_t i = free_head;
    if (i != NO_SLOT) {
        free_head = slot_at(i)->next_free;
    } else if (next_index >= MAX_CHUNKS * CHUNK_SLOTS) {
        mp__spin_unlock(&lock);
        mp__fail(MP_ENOMEM);
        return NULL;
    } else {
        i = next_index;
        if (slot_at(i) == NULL && !add_chunk(i)) {
            mp__spin_unlock(&lock);
            return NULL;
        }
        next_index++;
    }
    mp__spin_unlock(&lock);
    *index = i;
    return slot_at(i);
}

void mp__registry_unalloc(mp__slot *slot, uint32_t index) {
    mp__spin_lock(&lock);
    slot->next_free = free_head;
    free_head = index;
    mp__spin_unlock(&lock);
}

mp__slot *mp__registry_lookup(const mp__ref *ref) {
    mp__slot *slot = slot_at(ref->slot);
    if (slot == NULL || (ref->gen & 1u) == 0) return NULL;
    if (atomic_load_explicit(&slot->gen, memory_order_acquire) != ref->gen) return NULL;
    return slot;
}

bool mp__registry_view(const mp__ref *ref, mp__slot_view *out) {
    mp__slot *slot = mp__registry_lookup(ref);
    if (slot == NULL) return false;
    mp__slot_view v;
    v.data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    v.len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    v.prot = atomic_load_explicit(&slot->prot, memory_order_relaxed);
    /* Seqlock read: the fields belong to ref only if the generation did not
     * move while they were read. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&slot->gen, memory_order_relaxed) != ref->gen) return false;
    *out = v;
    return true;
}

void mp__slot_begin_write(mp__slot *slot) {
    uint32_t gen = atomic_load_explicit(&slot->gen, memory_order_relaxed);
    atomic_store_explicit(&slot->gen, gen + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

void mp__slot_end_write(mp__slot *slot, uint32_t index, mp__ref *ref) {
    uint32_t gen = atomic_load_explicit(&slot->gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&slot->gen, gen, memory_order_release);
    ref->slot = index;
    ref->gen = gen;
}

bool mp__slot_can_renew(const mp__slot *slot) {
    return atomic_load_explicit(&slot->gen, memory_order_relaxed) <= UINT32_MAX - 2;
}

void mp__registry_free(mp__slot *slot, uint32_t index) {
    mp__slot_begin_write(slot);
    /* A generation that wrapped to 0 would make old references live again
     * once the slot is reused: retire it instead. */
    if (atomic_load_explicit(&slot->gen, memory_order_relaxed) != 0) {
        mp__registry_unalloc(slot, index);
    }
}
