/*
 * PagedVec: the one untyped vector core behind every generated vector type.
 *
 * A vector owns one reservation of address space, laid out as
 *     [committed: accessible][reserved: no access][guard, if asked: no access]
 * and starting at its first element. Growth commits more of the reservation
 * in place, so elements never move while they fit in it. Past the
 * reservation the vector moves to a new one, twice as large: its pages are
 * moved by the OS where it can (mremap on Linux), and copied elsewhere.
 *
 * Capacity is exact: committed / size elements, for any element size, so
 * they always lie inside the committed bytes, also when the size does not
 * divide the page or is larger than one. Committed bytes are whole commit
 * units: pages, or huge pages for MP_HUGE_REQUIRE. The inline push writes
 * up to v->cap elements (its frontier, at most the capacity) before it
 * calls the runtime, which is how pushes into committed capacity come back
 * for pre-faulting (see "Pre-faulting" below).
 *
 * Registry: a vector with a reservation owns a slot in the registry
 * (registry.h) that records its mapping (data and map_base at the first
 * element, len = reserved bytes, prot = the access of the committed pages).
 * Every function here holds that slot while it works, so calls on copies of
 * one vector in several threads take turns, and ends with one of three
 * things: the slot restored when the vector's memory did not change, the
 * slot published at a new generation when it did (committed more or less,
 * moved, froze, thawed), or the slot freed. So every copy of a vector made
 * before a change of its memory is stale from then on, and is refused with
 * MP_ESTALE here and by mp__vec_live on the generated fast paths: a copy
 * can never reach pages that its vector gave back, moved or froze, nor a
 * reservation that a later vector took from the cache. A frozen vector
 * always owns a slot, even when empty, so that its copies are checked by
 * every call, from any thread.
 *
 * Free keeps a few reservations of the default shape in a cache for the
 * next vector, rather than releasing them (see "The cache of freed
 * reservations" below).
 *
 * Growth pre-faults the memory the vector is about to use, in bounded chunks
 * (see "Pre-faulting" below).
 *
 * Failures: every function checks everything and asks the OS for everything
 * before it changes the vector, so a failed call leaves it exactly as it was.
 */
#include <string.h>

#include "memory_pages/internal/vec.h"
#include "runtime/os.h"
#include "runtime/registry.h"
#include "runtime/sizes.h"
#include "runtime/spin.h"
#include "runtime/status.h"

#define MIB ((size_t)1 << 20)

/* Address space reserved by a vector made without max_capacity. On 64-bit,
 * 1 GiB: vm.max_map_count (65530) limits a process to about 32 thousand
 * vectors (two mappings each), and at 1 GiB those use at most a quarter of a
 * 47-bit address space. On 32-bit, 8 MiB, so that a few hundred vectors fit
 * beside everything else. A reservation the OS refuses is retried at half
 * the size, down to the size actually needed (map_reserve). */
#define DEFAULT_RESERVE (SIZE_MAX > 0xFFFFFFFFu ? 1024 * MIB : 8 * MIB)

#define RW (MP__PROT_READ | MP__PROT_WRITE)

/* The reference of a freed or frozen vector: a free generation (never live,
 * registry.h) of slot 0, which is never handed out. It differs from the
 * all-zero reference of a vector that has reserved nothing yet. */
static const mp__ref CONSUMED = {0, 3};

static bool has_ref(const mp__vec *v) {
    return v->ref.slot != 0 || v->ref.gen != 0;
}

static void consume(mp__vec *v) {
    mp__vec_init_empty(v);
    v->ref = CONSUMED;
}

static size_t max_size(size_t a, size_t b) {
    return a > b ? a : b;
}

static size_t min_size(size_t a, size_t b) {
    return a < b ? a : b;
}

/* The unit in which a vector commits memory: huge pages when it requires
 * them (hugetlb mappings change only in whole huge pages), else pages. */
static size_t commit_unit(mp_huge huge) {
    return huge == MP_HUGE_REQUIRE ? mp__os_cfg.huge_page_size : mp__os_cfg.page_size;
}

/* The address space of a vector: its first byte, the bytes it may commit,
 * and the whole reservation, guard included. */
typedef struct mapping {
    unsigned char *base;
    size_t reserved;
    size_t total;
} mapping;

static mapping mapping_of(const mp__vec *v) {
    mapping m = {v->data, v->reserved, 0};
    if (v->reserved != 0) m.total = v->reserved + (v->guard ? commit_unit(v->huge) : 0);
    return m;
}

/* Reserves address space for a vector with the options huge and guard: want
 * bytes, or at least need when the OS refuses want (both multiples of the
 * commit unit, need <= want). */
static mp_status map_reserve(size_t want, size_t need, mp_huge huge, bool guard, mapping *m) {
    size_t unit = commit_unit(huge);
    size_t guard_bytes = guard ? unit : 0;
    unsigned flags = huge == MP_HUGE_REQUIRE ? MP__OS_HUGE
                     : huge == MP_HUGE_TRY   ? MP__OS_ALIGN_HUGE
                                             : 0;
    if (need > SIZE_MAX - guard_bytes) return mp__fail(MP_EOVERFLOW);
    if (want > SIZE_MAX - guard_bytes) want = need;
    void *base;
    /* The first element starts a huge page (MP_HUGE_TRY), guard or not. */
    mp_status s = mp__os.reserve(want + guard_bytes, 0, flags, &base);
    /* Refused: halve it, down to need. Asking for need at once would leave
     * a vector under an address-space limit (RLIMIT_AS) without room to
     * spare, moving at every growth: 1400 moves to 32 MiB in oom_test. */
    while (s == MP_ENOMEM && want > need) {
        size_t half = 0;
        (void)mp__round_up(want / 2, unit, &half); /* cannot overflow: half <= want */
        want = max_size(half, need);
        s = mp__os.reserve(want + guard_bytes, 0, flags, &base);
    }
    if (s != MP_OK) return s;
    mp__os_huge_advice(base, want, huge);
    m->base = (unsigned char *)base;
    m->reserved = want;
    m->total = want + guard_bytes;
    return MP_OK;
}

/* Commits [from, to) of the mapping at base, if it is not empty. */
static mp_status commit_range(unsigned char *base, size_t from, size_t to) {
    return to > from ? mp__os.commit(base + from, to - from, RW) : MP_OK;
}

/* Gives back a mapping that a failed call made, keeping that call's
 * failure as the one mp_os_error() reports, and returns its status. */
static mp_status undo_mapping(const mapping *m, mp_status s) {
    int err = mp_os_error();
    (void)mp__os.release(m->base, m->total);
    return mp__fail_os(s, err);
}

/* ---- Holding a vector's slot ---- */

/* A call's hold on the slot of a vector (registry.h), from hold() to one of
 * settle(), renew(), restore() or end_slot(). */
typedef struct held {
    mp__slot *slot;  /* NULL when the vector owns no slot */
    mp__slot *spare; /* a fresh slot, when slot's generations are used up */
    uint32_t spare_index;
    unsigned char *data; /* the vector's memory when the hold began */
    size_t committed;
} held;

/* Holds the slot of v, a vector whose pages have access prot, if v is live;
 * a vector that owns no slot yet needs no hold. */
static mp_status hold(const mp__vec *v, unsigned prot, held *h) {
    if (v == NULL) return mp__fail(MP_EINVAL);
    h->slot = h->spare = NULL;
    h->data = v->data;
    h->committed = v->committed;
    if (!has_ref(v)) return MP_OK;
    if ((h->slot = mp__slot_hold(&v->ref, prot)) == NULL) return mp__fail(MP_ESTALE);
    /* Take the slot a renewal may need now, so that no failure can come
     * after the vector's memory changed. */
    if (!mp__slot_can_renew(h->slot) && (h->spare = mp__registry_alloc(&h->spare_index)) == NULL) {
        mp__slot_restore(h->slot, &v->ref);
        return MP_ENOMEM;
    }
    return MP_OK;
}

/* Records v's mapping, with access prot, in slot and makes it v's, live at
 * a new generation. */
static void publish(mp__vec *v, mp__slot *slot, uint32_t index, unsigned prot) {
    mapping m = mapping_of(v);
    slot->map_base = m.base;
    slot->map_size = m.total;
    slot->flags = 0;
    atomic_store_explicit(&slot->data, (uintptr_t)m.base, memory_order_relaxed);
    atomic_store_explicit(&slot->len, m.reserved, memory_order_relaxed);
    atomic_store_explicit(&slot->prot, prot, memory_order_relaxed);
    /* For mp_query: the committed capacity is the data, the rest of the
     * reservation and the guard page answer as guard. */
    mp__extent e = {(uintptr_t)m.base,
                    (uintptr_t)m.base + m.total,
                    (uintptr_t)m.base,
                    v->committed,
                    prot == RW ? MP_KIND_VEC : MP_KIND_FROZEN_VEC,
                    prot};
    mp__slot_describe(slot, &e, 1);
    mp__slot_publish(slot, index, &v->ref);
    v->slot_gen = (const uint32_t *)&slot->gen;
}

/* Ends the hold h by publishing v, whose pages now have access prot, at a
 * new generation: every other copy of v is stale from now on. */
static void renew(mp__vec *v, held *h, unsigned prot) {
    mp__slot *slot = h->slot;
    uint32_t index = v->ref.slot;
    if (h->spare != NULL) {
        mp__slot_free(slot, index);
        slot = h->spare;
        index = h->spare_index;
    }
    publish(v, slot, index, prot);
}

/* Ends the hold h on the slot of v, frozen or not, of a call that changed
 * nothing and returns s: every copy of v stays live. */
static mp_status restore(const mp__vec *v, held *h, mp_status s) {
    if (h->slot == NULL) return s;
    if (h->spare != NULL) mp__slot_free(h->spare, h->spare_index);
    mp__slot_restore(h->slot, &v->ref);
    return s;
}

/* Ends the hold h of a call on the unfrozen vector v that returns s:
 * renews v if the call changed its memory, else leaves every copy live. */
static mp_status settle(mp__vec *v, held *h, mp_status s) {
    if (h->slot == NULL) return s;
    if (v->data != h->data || v->committed != h->committed) {
        renew(v, h, RW);
        return s;
    }
    return restore(v, h, s);
}

/* Ends the hold h by ending the life of v's slot. */
static void end_slot(const mp__vec *v, held *h) {
    if (h->spare != NULL) mp__slot_free(h->spare, h->spare_index);
    mp__slot_free(h->slot, v->ref.slot);
}

bool mp__vec_wait_live(const mp__vec *v) {
    if (v->slot_gen == NULL) return v->ref.gen == 0;
    mp__slot_view view;
    return mp__registry_read(&v->ref, &view) && view.prot == RW;
}

/* ---- The cache of freed reservations ----
 *
 * Mapping a reservation anew costs an mmap, an mprotect, fresh page-table
 * pages and a page fault, and releasing it a munmap: about 9 us per vector
 * on the benchmark machine, where a realloc-grown vector's whole new, 1000
 * pushes and free take 0.8 us (docs/benchmarks.md, workloads 2 and 3). So
 * free keeps up to CACHE_ENTRIES reservations of the default size, without
 * huge pages or guard, with their committed pages still accessible, and the
 * next vector of that shape takes one instead of mapping anew.
 *
 * The memory stays honest: pages past the first CACHE_RESIDENT bytes go
 * back to the OS as a reservation enters the cache (mp__os.discard: they
 * read as zeros and use no memory), so the cache holds at most
 * CACHE_ENTRIES * CACHE_RESIDENT bytes of memory, and a reservation with
 * more than CACHE_MAX_COMMITTED bytes committed is released instead, which
 * bounds the commit charge. A vector that takes a cached reservation may
 * find old bytes beyond its length, as memory from malloc does.
 *
 * The price is in docs/security.md: a stale pointer into a cached
 * reservation reaches the next vector's memory instead of faulting. Vectors
 * that ask for a guard, huge pages or another reservation size are never
 * cached, and page sets never are.
 */
#define CACHE_ENTRIES 4
#define CACHE_RESIDENT ((size_t)64 << 10)
#define CACHE_MAX_COMMITTED (64 * MIB)

typedef struct cached {
    unsigned char *base;
    size_t committed;
} cached;

/* Guards the three below. */
static atomic_flag cache_lock = ATOMIC_FLAG_INIT;
static cached cache[CACHE_ENTRIES];
static size_t cache_count;   /* entries in cache[] */
static size_t cache_claimed; /* places promised to frees in progress */

/* Whether a reservation of reserved bytes with these options has the shape
 * the cache keeps. */
static bool cacheable(size_t reserved, mp_huge huge, bool guard) {
    return reserved == DEFAULT_RESERVE && huge == MP_HUGE_NO && !guard;
}

/* Takes a cached reservation into *out, or returns false if there is none. */
static bool cache_take(cached *out) {
    mp__spin_lock(&cache_lock);
    bool found = cache_count > 0;
    if (found) *out = cache[--cache_count];
    mp__spin_unlock(&cache_lock);
    return found;
}

/* Puts the reservation of v, a live vector being freed, in the cache if it
 * has the cache's shape and there is room. Returns false when the caller
 * must release it instead; v's elements are untouched then, so that a
 * failed release leaves the vector as it was. */
static bool cache_put(const mp__vec *v) {
    /* A vector whose huge-page policy acted has advice on its reservation. */
    if (!cacheable(v->reserved, v->huge, v->guard) || v->thp != 0 ||
        v->committed > CACHE_MAX_COMMITTED)
        return false;
    /* Claim a place first, so that the discard (a system call, made outside
     * the lock) is never wasted on a reservation that then finds no room. */
    mp__spin_lock(&cache_lock);
    bool room = cache_count + cache_claimed < CACHE_ENTRIES;
    if (room) cache_claimed++;
    mp__spin_unlock(&cache_lock);
    if (!room) return false;
    bool discarded =
        v->committed <= CACHE_RESIDENT ||
        mp__os.discard(v->data + CACHE_RESIDENT, v->committed - CACHE_RESIDENT, RW) == MP_OK;
    mp__spin_lock(&cache_lock);
    cache_claimed--;
    if (discarded) cache[cache_count++] = (cached){v->data, v->committed};
    mp__spin_unlock(&cache_lock);
    return discarded;
}

mp_status mp__vec_cache_drain(void) {
    /* The entries leave the cache under the lock and are released outside
     * it; those that could not be released go back. */
    cached taken[CACHE_ENTRIES];
    mp__spin_lock(&cache_lock);
    size_t count = cache_count;
    memcpy(taken, cache, count * sizeof taken[0]);
    cache_count = 0;
    mp__spin_unlock(&cache_lock);
    mp_status s = MP_OK;
    size_t i = count;
    while (i > 0 && (s = mp__os.release(taken[i - 1].base, DEFAULT_RESERVE)) == MP_OK)
        i--;
    if (i > 0) {
        mp__spin_lock(&cache_lock);
        for (size_t j = 0; j < i && cache_count + cache_claimed < CACHE_ENTRIES; j++) {
            cache[cache_count++] = taken[j];
        }
        mp__spin_unlock(&cache_lock);
    }
    return s;
}

/* Gives a vector with no reservation its first one, and with it a slot:
 * want_r bytes preferred, at least need_r, with commit bytes committed, or
 * all of it if that is less (then need_r covers what the caller needs).
 * The caller sets the push frontier (set_frontier). */
static mp_status open_mapping(mp__vec *v, size_t want_r, size_t need_r, size_t commit) {
    uint32_t index;
    mp__slot *slot = mp__registry_alloc(&index);
    if (slot == NULL) return MP_ENOMEM;
    mapping m;
    cached c = {NULL, 0};
    mp_status s = MP_OK;
    if (cacheable(want_r, v->huge, v->guard) && cache_take(&c)) {
        m = (mapping){c.base, DEFAULT_RESERVE, DEFAULT_RESERVE};
    } else if ((s = map_reserve(want_r, need_r, v->huge, v->guard, &m)) != MP_OK) {
        mp__slot_free(slot, index);
        return s;
    }
    /* A cached reservation keeps what it has committed, if that is more. */
    commit = max_size(min_size(commit, m.reserved), c.committed);
    s = commit_range(m.base, c.committed, commit);
    if (s != MP_OK) {
        mp__slot_free(slot, index);
        return undo_mapping(&m, s);
    }
    v->data = m.base;
    v->reserved = m.reserved;
    v->committed = commit;
    publish(v, slot, index, RW);
    return MP_OK;
}

/* Moves a held vector to a new reservation of at least need_r bytes, with
 * commit bytes committed there, or all of it if that is less (need_r covers
 * what the caller needs, and exceeds v->reserved). The caller sets the push
 * frontier, and its settle() records the new mapping in the slot. */
static mp_status move_mapping(mp__vec *v, size_t need_r, size_t commit, size_t size) {
    size_t want_r = v->reserved <= SIZE_MAX / 2 ? max_size(2 * v->reserved, need_r) : need_r;
    mapping m;
    mp_status s = map_reserve(want_r, need_r, v->huge, v->guard, &m);
    if (s != MP_OK) return s;
    commit = min_size(commit, m.reserved);
    /* The old pages move, and the new commit follows them, in one call
     * that changes nothing when it fails. Where they cannot move, and for
     * hugetlb vectors, on which it is not tried, the new reservation is
     * committed and the elements copied. */
    s = MP_ENOTSUP;
    if (v->committed != 0 && v->huge != MP_HUGE_REQUIRE)
        s = mp__os.remap(v->data, v->committed, m.base, commit);
    /* What is left of the old mapping: all of it after a copy, what lies
     * past the moved pages after a move (they left a hole, which may be
     * another mapping's by now). */
    size_t moved = s == MP_OK ? v->committed : 0;
    if (s == MP_ENOTSUP) {
        s = commit_range(m.base, 0, commit);
        if (s == MP_OK && v->len != 0) memcpy(m.base, v->data, v->len * size);
    }
    if (s != MP_OK) return undo_mapping(&m, s);

    /* The elements are safe in the new mapping now. Releasing the old one
     * cannot fail for a mapping this vector made; if it did, only address
     * space would be lost, so the move stands. */
    mapping was = mapping_of(v);
    (void)mp__os.release(was.base + moved, was.total - moved);
    v->data = m.base;
    v->reserved = m.reserved;
    v->committed = commit;
    return MP_OK;
}

/* ---- Pre-faulting ----
 *
 * Filling fresh memory costs one page fault per page (about 2 to 11 us on
 * the benchmark machines: nearly all of a large push loop), and asking the
 * kernel to populate a range in one call (MADV_POPULATE_WRITE, Linux 5.14)
 * costs about half as much per page, with no exception per page. So growth
 * populates what the vector is about to use, in chunks of PREFAULT_CHUNK
 * bytes.
 *
 * The inline push writes up to the vector's frontier (mp__vec.cap) and then
 * calls the runtime, which moves the frontier on as growth of a vector
 * without spare capacity commits: doubling up to one chunk, then a chunk at
 * a time. It populates the range the frontier moves over, and commits only
 * what lies past the committed bytes. So a vector grown by pushes commits
 * and populates in the same steps, and pushes into capacity committed
 * ahead (by reserve, V_with_capacity, mp_vec_opts.capacity or a cached
 * reservation) are populated chunk by chunk as they reach it, with no
 * commit. Moving the frontier changes no memory, so it leaves every copy
 * of the vector live; a copy with an older frontier only comes back to the
 * runtime sooner. V_push_within_capacity, which must not call the OS,
 * writes past the frontier up to the capacity instead.
 *
 * The bound, for every growth call (push, insert, extend, resize, reserve):
 * the range it populates ends at most one chunk past the end of the
 * elements the vector holds after the call, so the resident set never runs
 * more than PREFAULT_CHUNK bytes (rounded up to a whole commit unit) ahead
 * of the elements. Below PREFAULT_FROM bytes nothing is populated and the
 * frontier is the capacity: small vectors make no extra system call, and a
 * capacity asked for up front is committed, as asked, and populated only
 * as pushes reach it (it may never be used: docs/benchmarks.md, workload
 * 3). Reserve, which writes nothing, populates one chunk past the elements.
 *
 * Populating is a hint: where it fails (no memory right now, or the kernel
 * refuses) the vector has grown all the same, without pre-faulting, and its
 * pages appear on first touch as they did before; where the kernel lacks
 * MADV_POPULATE_WRITE, os_posix.c touches the pages instead. MP_HUGE_TRY
 * and MP_HUGE_REQUIRE vectors step in whole huge pages (the chunk is a
 * multiple of the huge page size, and the first element starts one), so a
 * populated chunk is backed by whole huge pages wherever the kernel has them.
 *
 * ---- Huge pages for large vectors (the adaptive policy) ----
 *
 * Populating a transparent huge page costs one allocation and one zeroing
 * of 2 MiB, where small pages cost 512 faults: 0.03 to 0.6 of the small
 * pages' cost where the kernel has free huge pages at hand. Where it has
 * not (memory fragmented, a busy machine), the kernel compacts memory to
 * make one, or fails and falls back to small pages after trying, and a huge
 * page then costs up to twice the small pages it replaces
 * (docs/benchmarks.md, workloads 1 and 4). So a vector made with MP_HUGE_NO
 * (the default) decides for itself, where the kernel offers transparent
 * huge pages on request (mp__os_cfg.thp: its setting is "always" or
 * "madvise", read at load, never changed):
 *
 *  - Below HUGE_FROM bytes it asks nothing: small vectors keep small pages
 *    and make no extra system call (under "always" the kernel may still
 *    give them huge pages, as it does to any memory).
 *  - When a growth call first populates past the first huge-page boundary
 *    at or after HUGE_FROM bytes from the first element (its huge start),
 *    the vector asks for huge pages (MADV_HUGEPAGE) for its reservation from
 *    there on. From then on its commits and populates past the huge start
 *    end on huge-page boundaries of the address space, so each chunk is
 *    whole huge pages.
 *  - Every populate is timed in the thread's CPU time (mp__os.clock_ns, two
 *    clock reads per chunk of 4 MiB or more): compaction in the kernel
 *    counts, waiting for a CPU on a loaded machine does not (with a wall
 *    clock, two preempted chunks in a row were common under load).
 *  - What is timed is the populate and a first write to each page of it
 *    but the first (touch_pages): the populate alone is not what a page
 *    costs everywhere. In a virtual machine that shadows the guest's page
 *    tables (the benchmark machine, docs/benchmarks.md), the populate only
 *    fills the guest's tables, and the first access to each page then
 *    takes a fault into the host: 7 to 10 us per small page, 12 times the
 *    populate, and one per huge page. Timing the populate alone made small
 *    pages look 20 times cheaper than they are. The vector's owner would
 *    take those faults on its first writes anyway, so the touch moves the
 *    cost into the timed part rather than adding one; on bare metal it is
 *    one store per page that the first write then finds cached.
 *  - Populates of small pages feed a process-wide running estimate of their
 *    cost per byte (small_cost); each populate of a vector's huge part is
 *    compared with it. When two in a row cost more per byte than the small
 *    pages they replace, the vector drops huge pages for the rest of its
 *    reservation (MADV_NOHUGEPAGE from the end of what it populated on,
 *    which also overrides "always"), and populates small pages from then
 *    on. The huge pages it has stay. Two, not one, so that a single
 *    populate slowed by preemption does not decide.
 *  - The resident-set bound is the one above: past the huge start a limited
 *    populate ends on the last huge-page boundary at most one chunk past the
 *    elements, and the kernel backs with a huge page only a 2 MiB range that
 *    lies whole inside the committed (accessible) part, which growth keeps
 *    within one chunk of the elements. So the resident set stays within the
 *    final size plus one chunk, huge pages or not.
 *  - An explicit choice wins: MP_HUGE_TRY vectors ask for huge pages for
 *    their whole reservation and keep them however they cost, and
 *    MP_HUGE_REQUIRE vectors use hugetlb pages. A vector that has acted
 *    (asked or dropped) is never cached on free. A vector opts out with
 *    MP_HUGE_NEVER (MADV_NOHUGEPAGE on its whole reservation), a process
 *    with prctl(PR_SET_THP_DISABLE) (docs/paged_vec.md, "Huge pages").
 *  - Every hint is only a hint: a failed MADV_HUGEPAGE or MADV_NOHUGEPAGE
 *    changes the speed, never a status or an element.
 */
#define PREFAULT_FROM MIB
#define PREFAULT_CHUNK (4 * MIB)
#define HUGE_FROM (32 * MIB)

/* The states of mp__vec.thp: the low two bits; the bits above count the
 * huge populates in a row that cost more than small pages. */
#define THP_NONE 0u    /* the policy has not acted */
#define THP_ON 1u      /* huge pages asked for from the huge start on */
#define THP_DROPPED 2u /* huge pages refused for the rest of the vector */
#define THP_STATE 3u
#define THP_STRIKE 4u
#define THP_STRIKES_TO_DROP 2u

/* The process-wide running estimate of the cost of populating small pages,
 * in nanoseconds per MiB; 0 until one populate of at least PREFAULT_FROM
 * bytes was timed. Updated without a lock: a lost update only delays the
 * estimate. */
static uint64_t small_cost;

/* Whether the adaptive policy applies to v. */
static bool thp_policy(const mp__vec *v) {
    /* A huge page larger than the chunk (64 KiB pages on arm64 make it 512
     * MiB) would break the bound: no policy there. */
    size_t hp = mp__os_cfg.huge_page_size;
    return v->huge == MP_HUGE_NO && mp__os_cfg.thp && hp != 0 && hp <= PREFAULT_CHUNK;
}

/* The offset of v's huge start from its first element: the first huge-page
 * boundary of the address space at or after HUGE_FROM bytes. */
static size_t huge_start(const mp__vec *v) {
    size_t hp = mp__os_cfg.huge_page_size;
    uintptr_t at = (uintptr_t)v->data + HUGE_FROM;
    return HUGE_FROM + (size_t)((hp - at % hp) % hp);
}

/* Whether v steps past its huge start on huge-page boundaries. */
static bool thp_stepping(const mp__vec *v) {
    return thp_policy(v) && (v->thp & THP_STATE) != THP_DROPPED && v->reserved != 0;
}

/* The chunk in which growth past PREFAULT_FROM commits and populates:
 * PREFAULT_CHUNK, rounded up to whole huge pages for a vector that uses
 * them. */
static size_t prefault_chunk(mp_huge huge) {
    size_t huge_page = huge != MP_HUGE_NO ? mp__os_cfg.huge_page_size : 0;
    size_t chunk = PREFAULT_CHUNK;
    if (huge_page > chunk) chunk = huge_page;
    /* Huge page sizes are powers of two, and PREFAULT_CHUNK is one. */
    return chunk;
}

/* Gives [from, to) of v's reservation the huge-page advice that v's option,
 * or its policy's state past its huge start, calls for: for the pages a move
 * or a decommit mapped afresh, which lost their advice. */
static void advise_huge(const mp__vec *v, size_t from, size_t to) {
    if (!thp_policy(v)) {
        if (to > from) mp__os_huge_advice(v->data + from, to - from, v->huge);
        return;
    }
    unsigned state = v->thp & THP_STATE;
    from = max_size(from, huge_start(v));
    if (state != THP_NONE && to > from)
        (void)mp__os.huge_hint(v->data + from, to - from, state == THP_ON);
}

/* Writes to each page of [lo, hi) of v but the first the byte it holds, so
 * that a page's first access after the populate is part of its timed cost.
 * Growth populates from the page where the elements end, before it writes
 * any: the first page may hold elements, which another thread may be
 * reading through a pointer, and is left alone; every other page lies past
 * the elements, where nobody reads. */
static void touch_pages(const mp__vec *v, size_t lo, size_t hi) {
    size_t page = mp__os_cfg.page_size;
    for (size_t at = lo + page; at < hi; at += page) {
        volatile unsigned char *b = v->data + at;
        *b = *b;
    }
}

/* Populates [lo, hi) of v, writes to its pages (touch_pages), and returns
 * the nanoseconds it took, or 0 when the populate failed (then the pages
 * come on first touch, untimed). */
static uint64_t timed_populate(const mp__vec *v, size_t lo, size_t hi) {
    uint64_t start = mp__os.clock_ns();
    if (mp__os.populate(v->data + lo, hi - lo) != MP_OK) return 0;
    touch_pages(v, lo, hi);
    uint64_t ns = mp__os.clock_ns() - start;
    return ns != 0 ? ns : 1;
}

/* The cost per MiB of a populate of bytes that took ns. */
static uint64_t per_mib(uint64_t ns, size_t bytes) {
    /* Cannot overflow for any populate shorter than a few days. */
    return ns * MIB / bytes;
}

/* Populates [lo, hi) of v in small pages, and feeds the estimate. */
static void populate_small(const mp__vec *v, size_t lo, size_t hi) {
    if (!thp_policy(v)) {
        (void)mp__os.populate(v->data + lo, hi - lo);
        return;
    }
    uint64_t ns = timed_populate(v, lo, hi);
    if (ns == 0 || hi - lo < PREFAULT_FROM) return;
    uint64_t cost = per_mib(ns, hi - lo);
    uint64_t was = __atomic_load_n(&small_cost, __ATOMIC_RELAXED);
    __atomic_store_n(&small_cost, was == 0 ? cost : (3 * was + cost) / 4, __ATOMIC_RELAXED);
}

/* Populates [lo, hi) of v, which lies past its huge start, in huge pages
 * where the policy has not dropped them, and judges their cost: two in a
 * row dearer than small pages drop huge pages for the rest of v. */
static void populate_huge(mp__vec *v, size_t lo, size_t hi) {
    unsigned state = v->thp & THP_STATE;
    if (state == THP_DROPPED) {
        populate_small(v, lo, hi);
        return;
    }
    if (state == THP_NONE) {
        v->thp = THP_ON;
        advise_huge(v, 0, v->reserved);
    }
    uint64_t ns = timed_populate(v, lo, hi);
    uint64_t small = __atomic_load_n(&small_cost, __ATOMIC_RELAXED);
    /* Nothing to judge: a failed populate, or no estimate to compare with. */
    if (ns == 0 || small == 0) return;
    if (per_mib(ns, hi - lo) <= small) {
        v->thp = THP_ON;
        return;
    }
    v->thp += THP_STRIKE;
    if (v->thp / THP_STRIKE < THP_STRIKES_TO_DROP) return;
    v->thp = THP_DROPPED;
    advise_huge(v, hi, v->reserved);
}

/* Populates the committed pages of v from byte from (the old end of its
 * elements) up to upto (the frontier growth moves to, at most the committed
 * bytes), or at most one chunk past end (the end of its elements after the
 * call) if that is less, once upto reaches PREFAULT_FROM. Returns where the
 * populated range ends, or upto when nothing is populated: the new
 * frontier. A failure leaves the pages to be faulted on first touch. */
static size_t prefault(mp__vec *v, size_t from, size_t end, size_t upto) {
    if (upto < PREFAULT_FROM) return upto;
    size_t unit = commit_unit(v->huge);
    size_t chunk = prefault_chunk(v->huge);
    size_t lo = from - from % unit;
    size_t hi = upto;
    if (end <= hi && hi - end > chunk) {
        /* Cannot overflow: end + chunk < upto <= committed. */
        if (thp_stepping(v) && end + chunk > huge_start(v)) {
            /* The last huge-page boundary at or before end + chunk: past
             * end, as the chunk is at least one huge page, and at or past
             * the huge start, which is one. */
            size_t hp = mp__os_cfg.huge_page_size;
            hi = end + chunk - (size_t)(((uintptr_t)v->data + end + chunk) % hp);
        } else {
            (void)mp__round_up(end + chunk, unit, &hi);
        }
    }
    if (hi <= lo) return hi;
    size_t start = thp_policy(v) ? huge_start(v) : SIZE_MAX;
    if (hi <= start) {
        populate_small(v, lo, hi);
        return hi;
    }
    if (lo < start) {
        populate_small(v, lo, start);
        lo = start;
    }
    populate_huge(v, lo, hi);
    return hi;
}

/* Sets v's push frontier (mp__vec.cap) to the elements that fit in its
 * first ready bytes, or in the committed bytes below PREFAULT_FROM if that
 * is more (nothing there is populated ahead), never past the capacity. */
static void set_frontier(mp__vec *v, size_t ready, size_t size) {
    v->cap = min_size(v->committed, max_size(ready, PREFAULT_FROM)) / size;
}

/* Where growth to need_b bytes (a whole number of commit units) moves the
 * push frontier of v. With amortized, a run of pushes costs amortized
 * constant time: at least twice the frontier, but past PREFAULT_FROM never
 * beyond the next multiple of the pre-fault chunk (a chunk costs two system
 * calls, and the pages it populates cost far more, so stepping by chunks
 * keeps growth linear). Without amortized, just need_b. */
static size_t growth_target(const mp__vec *v, size_t need_b, size_t size, bool amortized) {
    if (!amortized) return need_b;
    size_t front_b = 0;
    /* Cannot overflow: the frontier lies within the committed units. */
    (void)mp__round_up(v->cap * size, commit_unit(v->huge), &front_b);
    size_t want_b = front_b <= SIZE_MAX / 2 ? max_size(need_b, 2 * front_b) : need_b;
    size_t chunk = prefault_chunk(v->huge), stepped;
    /* Past its huge start a vector of the policy steps on chunk boundaries
     * of the address space, so that its chunks are whole huge pages. */
    size_t skew =
        thp_stepping(v) && need_b > huge_start(v) ? (size_t)((uintptr_t)v->data % chunk) : 0;
    if (want_b > PREFAULT_FROM && need_b <= SIZE_MAX - skew &&
        mp__round_up(need_b + skew, chunk, &stepped)) {
        /* Doubling up to one chunk, then a chunk at a time. */
        want_b = min_size(want_b, stepped - skew);
    }
    return want_b;
}

/* Commits at least need_b bytes of v, more than it has committed, and
 * want_b (>= need_b) if its reservation has room: in place, in a first
 * reservation, or in a larger one it moves to. */
static mp_status commit_for(mp__vec *v, size_t need_b, size_t want_b, size_t size) {
    if (v->reserved == 0) {
        /* Default options (made by V_new, or thawed empty): a large
         * reservation; a vector that requires huge pages reserves only what
         * it needs, as hugetlb takes the whole reservation from its pool. */
        size_t want_r = v->huge == MP_HUGE_REQUIRE ? want_b : max_size(DEFAULT_RESERVE, want_b);
        return open_mapping(v, want_r, need_b, want_b);
    }
    if (need_b <= v->reserved) {
        size_t commit = min_size(want_b, v->reserved);
        mp_status s = commit_range(v->data, v->committed, commit);
        if (s != MP_OK) return s;
        v->committed = commit;
        return MP_OK;
    }
    mp_status s = move_mapping(v, need_b, want_b, size);
    /* map_reserve advised the new reservation as the option asks; it lacks
     * what the policy asked of the old, also where the elements came by
     * copying (a range of several mappings, which the policy's advice
     * makes, is copied: os.h remap). */
    if (s == MP_OK && v->huge == MP_HUGE_NO) advise_huge(v, 0, v->reserved);
    return s;
}

/* Makes room for n more elements than v holds, of which the call writes
 * `writes` (n, or 0 for reserve): moves the push frontier past them,
 * committing what lies past the committed bytes, and pre-faults what the
 * call writes and up to one chunk past it. */
static mp_status make_room(mp__vec *v, size_t n, size_t writes, size_t size, bool amortized) {
    if (n > SIZE_MAX - v->len) return mp__fail(MP_EOVERFLOW);
    if (v->len + n <= v->cap) return MP_OK;
    size_t bytes, need_b;
    if (!mp__mul_size(v->len + n, size, &bytes) ||
        !mp__round_up(bytes, commit_unit(v->huge), &need_b))
        return mp__fail(MP_EOVERFLOW);
    size_t want_b = growth_target(v, need_b, size, amortized);
    if (need_b > v->committed) {
        mp_status s = commit_for(v, need_b, want_b, size);
        if (s != MP_OK) return s;
    }
    /* Cannot overflow: the elements written fit in the committed bytes. */
    size_t ready =
        prefault(v, v->len * size, (v->len + writes) * size, min_size(want_b, v->committed));
    set_frontier(v, ready, size);
    return MP_OK;
}

/* Whether mp_vec_opts are all zero, the defaults. */
static bool default_opts(const mp_vec_opts *o) {
    return o->capacity == 0 && o->max_capacity == 0 && o->huge == MP_HUGE_NO && !o->guard;
}

mp_status mp__vec_new(mp__vec *v, const mp_vec_opts *opts, size_t size) {
    if (v == NULL || size == 0) return mp__fail(MP_EINVAL);
    mp__vec fresh;
    mp__vec_init_empty(&fresh);
    /* With the defaults nothing is reserved until the first element comes. */
    if (opts == NULL || default_opts(opts)) {
        *v = fresh;
        return MP_OK;
    }
    if ((unsigned)opts->huge > MP_HUGE_NEVER) return mp__fail(MP_EINVAL);
    if (opts->max_capacity != 0 && opts->capacity > opts->max_capacity) return mp__fail(MP_EINVAL);
    size_t unit = commit_unit(opts->huge);
    if (unit == 0) return mp__fail(MP_ENOTSUP); /* no huge pages here */
    size_t bytes, cap_b, want_r, need_r;
    if (!mp__mul_size(opts->capacity, size, &bytes) || !mp__round_up(bytes, unit, &cap_b))
        return mp__fail(MP_EOVERFLOW);
    if (opts->max_capacity != 0) {
        if (!mp__mul_size(opts->max_capacity, size, &bytes) || !mp__round_up(bytes, unit, &need_r))
            return mp__fail(MP_EOVERFLOW);
        want_r = need_r;
    } else {
        need_r = max_size(cap_b, unit);
        /* hugetlb takes the whole reservation from its pool at once. */
        want_r = opts->huge == MP_HUGE_REQUIRE ? need_r : max_size(DEFAULT_RESERVE, need_r);
    }
    fresh.huge = opts->huge;
    fresh.guard = opts->guard;
    mp_status s = open_mapping(&fresh, want_r, need_r, cap_b);
    if (s != MP_OK) return s;
    set_frontier(&fresh, 0, size);
    *v = fresh;
    return MP_OK;
}

mp_status mp__vec_with_capacity(mp__vec *v, size_t n, size_t size) {
    mp_vec_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.capacity = n;
    return mp__vec_new(v, &opts, size);
}

mp_status mp__vec_grow(mp__vec *v, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, make_room(v, 1, 1, size, true));
}

mp_status mp__vec_has_room(const mp__vec *v, size_t size) {
    /* No hold: holding may take a fresh registry slot, and this call must
     * never reach the OS. It only reads v, as the inline path it backs, and
     * may answer past the push frontier: up to the capacity. */
    if (v == NULL) return mp__fail(MP_EINVAL);
    if (!mp__vec_wait_live(v)) return mp__fail(MP_ESTALE);
    return v->len < v->committed / size ? MP_OK : mp__fail(MP_ENOMEM);
}

mp_status mp__vec_pop(mp__vec *v, void *out, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (v->len == 0) return settle(v, &h, mp__fail(MP_EINVAL));
    v->len--;
    if (out != NULL) memmove(out, v->data + v->len * size, size);
    return settle(v, &h, MP_OK);
}

mp_status mp__vec_insert(mp__vec *v, size_t i, const void *x, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (x == NULL || i > v->len) return settle(v, &h, mp__fail(MP_EINVAL));
    if ((s = make_room(v, 1, 1, size, true)) != MP_OK) return settle(v, &h, s);
    unsigned char *at = v->data + i * size;
    memmove(at + size, at, (v->len - i) * size);
    memcpy(at, x, size);
    v->len++;
    return settle(v, &h, MP_OK);
}

/* Runs drop, if the element type has one, on the elements [from, to) of
 * v, in order. The caller has already taken them out of the length. */
static void drop_range(const mp__vec *v, size_t from, size_t to, size_t size,
                       mp__vec_drop_fn drop) {
    if (drop == NULL) return;
    for (size_t i = from; i < to; i++)
        drop(v->data + i * size);
}

/* Whether the n elements at src overlap the address space of v, guard
 * included: insert_n refuses such a source, because making room may move
 * or overwrite it. */
static bool overlaps_vec(const mp__vec *v, const unsigned char *src, size_t n, size_t size) {
    mapping m = mapping_of(v);
    if (m.total == 0) return false;
    uintptr_t a = (uintptr_t)src, base = (uintptr_t)m.base;
    /* The bytes at src are the caller's object, so n * size cannot wrap. */
    uintptr_t end = a + n * size;
    return a < base + m.total && end > base;
}

mp_status mp__vec_insert_n(mp__vec *v, size_t i, const void *src, size_t n, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (i > v->len) return settle(v, &h, mp__fail(MP_EINVAL));
    if (n == 0) return settle(v, &h, MP_OK);
    if (n > SIZE_MAX / size) return settle(v, &h, mp__fail(MP_EOVERFLOW));
    if (src == NULL || overlaps_vec(v, src, n, size)) return settle(v, &h, mp__fail(MP_EINVAL));
    if ((s = make_room(v, n, n, size, true)) != MP_OK) return settle(v, &h, s);
    unsigned char *at = v->data + i * size;
    memmove(at + n * size, at, (v->len - i) * size);
    memcpy(at, src, n * size);
    v->len += n;
    return settle(v, &h, MP_OK);
}

/* Removes element i of the held vector v into out (may be NULL); with
 * swap, the last element takes its place, else the later ones move down. */
static mp_status remove_at(mp__vec *v, size_t i, void *out, size_t size, bool swap) {
    if (i >= v->len) return mp__fail(MP_EINVAL);
    unsigned char *at = v->data + i * size;
    if (out != NULL) memmove(out, at, size);
    v->len--;
    if (swap) {
        if (i != v->len) memcpy(at, v->data + v->len * size, size);
    } else {
        memmove(at, at + size, (v->len - i) * size);
    }
    return MP_OK;
}

mp_status mp__vec_remove(mp__vec *v, size_t i, void *out, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, remove_at(v, i, out, size, false));
}

mp_status mp__vec_swap_remove(mp__vec *v, size_t i, void *out, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, remove_at(v, i, out, size, true));
}

mp_status mp__vec_remove_range(mp__vec *v, size_t from, size_t to, void *out, size_t size,
                               mp__vec_drop_fn drop) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (from > to || to > v->len) return settle(v, &h, mp__fail(MP_EINVAL));
    /* An empty range is a no-op, also on a vector with no memory yet. */
    if (from == to) return settle(v, &h, MP_OK);
    unsigned char *at = v->data + from * size;
    if (out != NULL) {
        memmove(out, at, (to - from) * size);
    } else {
        drop_range(v, from, to, size, drop);
    }
    memmove(at, v->data + to * size, (v->len - to) * size);
    v->len -= to - from;
    return settle(v, &h, MP_OK);
}

/* Appends the n elements at src to the held vector v; src may be v's own
 * elements, which a move relocates, so their offset is kept rather than
 * their address. */
static mp_status extend_held(mp__vec *v, const void *src, size_t n, size_t size) {
    if (n == 0) return MP_OK;
    if (src == NULL) return mp__fail(MP_EINVAL);
    const unsigned char *from = (const unsigned char *)src;
    size_t used = v->len * size;
    bool own = v->data != NULL && from >= v->data && from < v->data + used;
    size_t offset = own ? (size_t)(from - v->data) : 0;
    mp_status s = make_room(v, n, n, size, true);
    if (s != MP_OK) return s;
    if (own) from = v->data + offset;
    memmove(v->data + used, from, n * size);
    v->len += n;
    return MP_OK;
}

mp_status mp__vec_extend(mp__vec *v, const void *src, size_t n, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, extend_held(v, src, n, size));
}

/* Sets the length of the held vector v to n (n <= len) and drops the
 * elements from n on; the length is n before drop runs. */
static void truncate_held(mp__vec *v, size_t n, size_t size, mp__vec_drop_fn drop) {
    size_t len = v->len;
    v->len = n;
    drop_range(v, n, len, size, drop);
}

/* Makes the n elements at dst clones of src with clone; on a failure,
 * drops the clones made so far and returns its status. */
static mp_status clone_each(unsigned char *dst, const unsigned char *src, size_t src_step, size_t n,
                            size_t size, mp__vec_drop_fn drop, mp__vec_clone_fn clone) {
    for (size_t i = 0; i < n; i++) {
        mp_status s = clone(dst + i * size, src + i * src_step);
        if (s != MP_OK) {
            if (drop != NULL) {
                for (size_t j = 0; j < i; j++)
                    drop(dst + j * size);
            }
            return mp__fail(s);
        }
    }
    return MP_OK;
}

/* Sets the length of the held vector v to n, filling new elements with
 * copies of fill, or clones of it when the type has clone. */
static mp_status resize_held(mp__vec *v, size_t n, const void *fill, size_t size,
                             mp__vec_drop_fn drop, mp__vec_clone_fn clone) {
    if (n <= v->len) {
        truncate_held(v, n, size, drop);
        return MP_OK;
    }
    if (fill == NULL) return mp__fail(MP_EINVAL);
    mp_status s = make_room(v, n - v->len, n - v->len, size, true);
    if (s != MP_OK) return s;
    if (clone != NULL) {
        s = clone_each(v->data + v->len * size, (const unsigned char *)fill, 0, n - v->len, size,
                       drop, clone);
        if (s == MP_OK) v->len = n;
        return s;
    }
    /* One copy of fill, then copies of what is filled so far, doubling. */
    unsigned char *first = v->data + v->len * size;
    size_t total = (n - v->len) * size, done = size;
    memcpy(first, fill, size);
    while (done < total) {
        size_t chunk = min_size(done, total - done);
        memcpy(first + done, first, chunk);
        done += chunk;
    }
    v->len = n;
    return MP_OK;
}

mp_status mp__vec_resize(mp__vec *v, size_t n, const void *fill, size_t size, mp__vec_drop_fn drop,
                         mp__vec_clone_fn clone) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, resize_held(v, n, fill, size, drop, clone));
}

/* Also V_clear (n = 0), which keeps the capacity: a buffer cleared and
 * refilled makes no system call and takes no page fault up to it
 * (shrink_to_fit gives memory back). */
mp_status mp__vec_truncate(mp__vec *v, size_t n, size_t size, mp__vec_drop_fn drop) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (n > v->len) return settle(v, &h, mp__fail(MP_EINVAL));
    truncate_held(v, n, size, drop);
    return settle(v, &h, MP_OK);
}

/* Decommits v's pages beyond the first keep bytes (a multiple of the commit
 * unit), if there are any: their memory and commit charge go back to the
 * OS. */
static mp_status decommit_beyond(mp__vec *v, size_t keep, size_t size) {
    if (keep >= v->committed) return MP_OK;
    unsigned char *from = v->data + keep;
    size_t bytes = v->committed - keep;
    mp_status s = mp__os.decommit(from, bytes, v->huge == MP_HUGE_REQUIRE ? MP__OS_HUGE : 0);
    if (s != MP_OK) return s;
    /* The decommitted range is a fresh mapping, which lost the advice. */
    advise_huge(v, keep, v->committed);
    v->committed = keep;
    set_frontier(v, keep, size);
    return MP_OK;
}

mp_status mp__vec_reserve(mp__vec *v, size_t additional, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, make_room(v, additional, 0, size, true));
}

mp_status mp__vec_reserve_exact(mp__vec *v, size_t additional, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, make_room(v, additional, 0, size, false));
}

mp_status mp__vec_clone(const mp__vec *v, mp__vec *out, size_t size, mp__vec_drop_fn drop,
                        mp__vec_clone_fn clone) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (out == NULL || out == v) return restore(v, &h, mp__fail(MP_EINVAL));
    /* The copy has v's options and room for its elements, no more. */
    mp_vec_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.capacity = v->len;
    opts.huge = v->huge;
    opts.guard = v->guard != 0;
    mp__vec copy;
    if ((s = mp__vec_new(&copy, &opts, size)) != MP_OK) return restore(v, &h, s);
    if (clone != NULL) {
        s = clone_each(copy.data, v->data, size, v->len, size, drop, clone);
    } else if (v->len != 0) {
        memcpy(copy.data, v->data, v->len * size);
    }
    if (s != MP_OK) {
        /* Nothing is left to drop in the copy: release it as it is. */
        int err = mp_os_error();
        (void)mp__vec_free(&copy, size, NULL);
        return restore(v, &h, mp__fail_os(s, err));
    }
    copy.len = v->len;
    *out = copy;
    return restore(v, &h, MP_OK);
}

mp_status mp__vec_shrink_to_fit(mp__vec *v, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    size_t keep = 0;
    /* Cannot overflow: the elements lie inside the committed units. */
    (void)mp__round_up(v->len * size, commit_unit(v->huge), &keep);
    return settle(v, &h, decommit_beyond(v, keep, size));
}

mp_status mp__vec_free(mp__vec *v, size_t size, mp__vec_drop_fn drop) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    /* A vector that owns nothing stays an empty, usable vector. */
    if (h.slot == NULL) return MP_OK;
    /* The elements are dropped first, while their pages are there. Only
     * the release can fail after that: then v is left live and empty. */
    if (drop != NULL) truncate_held(v, 0, size, drop);
    mapping m = mapping_of(v);
    if (!cache_put(v) && (s = mp__os.release(m.base, m.total)) != MP_OK) {
        return settle(v, &h, s);
    }
    end_slot(v, &h);
    consume(v);
    return MP_OK;
}

mp_status mp__vec_freeze(mp__vec *v, mp__vec *out) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (out == NULL) return settle(v, &h, mp__fail(MP_EINVAL));
    mp__vec frozen = *v;
    if (h.slot == NULL) {
        /* Nothing reserved: a frozen vector owns a slot all the same, so
         * that its copies are checked by every call. */
        uint32_t index;
        mp__slot *slot = mp__registry_alloc(&index);
        if (slot == NULL) return MP_ENOMEM;
        publish(&frozen, slot, index, MP__PROT_READ);
    } else {
        if (v->committed != 0 &&
            (s = mp__os.protect(v->data, v->committed, MP__PROT_READ)) != MP_OK) {
            return settle(v, &h, s);
        }
        renew(&frozen, &h, MP__PROT_READ);
    }
    *out = frozen;
    consume(v);
    return MP_OK;
}

/* Whether f is a live vector whose slot has the access word prot (a frozen
 * or a sealed vector); safe from any thread, since the slot's generation
 * and access are read consistently. */
static bool live_as(const mp__vec *f, unsigned prot) {
    mp__slot_view view;
    return f != NULL && mp__registry_read(&f->ref, &view) && view.prot == prot;
}

static bool frozen_live(const mp__vec *f) {
    return live_as(f, MP__PROT_READ);
}

size_t mp__vec_frozen_len(const mp__vec *f) {
    return frozen_live(f) ? f->len : 0;
}

const void *mp__vec_frozen_data(const mp__vec *f) {
    return frozen_live(f) ? f->data : NULL;
}

const void *mp__vec_frozen_at(const mp__vec *f, size_t i, size_t size) {
    return frozen_live(f) && i < f->len ? f->data + i * size : NULL;
}

/* Holds the slot of the frozen vector f; a frozen vector always owns one. */
static mp_status hold_frozen(const mp__vec *f, held *h) {
    if (f == NULL) return mp__fail(MP_EINVAL);
    if (!has_ref(f)) return mp__fail(MP_ESTALE);
    return hold(f, MP__PROT_READ, h);
}

mp_status mp__vec_frozen_free(mp__vec *f, size_t size, mp__vec_drop_fn drop) {
    held h;
    mp_status s = hold_frozen(f, &h);
    if (s != MP_OK) return s;
    /* As for mp__vec_free, on pages made writable first: a drop function
     * may write to its element. If they stay frozen, nothing was dropped. */
    bool writable = drop != NULL && f->len != 0;
    if (writable) {
        if ((s = mp__os.protect(f->data, f->committed, RW)) != MP_OK) return restore(f, &h, s);
        truncate_held(f, 0, size, drop);
    }
    mapping m = mapping_of(f);
    if (m.total != 0 && (s = mp__os.release(m.base, m.total)) != MP_OK) {
        /* Frozen again if the OS lets it, and empty: the drops stand. */
        if (writable) (void)mp__os.protect(f->data, f->committed, MP__PROT_READ);
        return restore(f, &h, s);
    }
    end_slot(f, &h);
    consume(f);
    return MP_OK;
}

mp_status mp__vec_thaw(mp__vec *f, mp__vec *out) {
    if (f == NULL || out == NULL) return mp__fail(MP_EINVAL);
    held h;
    mp_status s = hold_frozen(f, &h);
    if (s != MP_OK) return s;
    mp__vec thawed = *f;
    if (f->reserved == 0) {
        /* Nothing reserved: the vector goes back to owning no slot. */
        end_slot(f, &h);
        thawed.slot_gen = NULL;
        thawed.ref.slot = thawed.ref.gen = 0;
    } else {
        if (f->committed != 0 && (s = mp__os.protect(f->data, f->committed, RW)) != MP_OK) {
            return restore(f, &h, s);
        }
        renew(&thawed, &h, RW);
    }
    *out = thawed;
    consume(f);
    return MP_OK;
}

/* ---- Sealed vectors ----
 *
 * Sealing a frozen vector seals its whole reservation, the uncommitted rest
 * and the guard included, so that nothing can be mapped into it later: the
 * address space stays taken for the life of the process (docs/jit.md,
 * "Sealing").
 * The sealed vector's slot stays live for good (registry.h). A frozen vector
 * with no reservation has nothing to seal; it is sealed all the same where
 * the OS can seal (mp__os_cfg.mseal), so that whether sealing works does
 * not depend on the vector's length. */

#define SEALED (MP__PROT_READ | MP__SEALED)

mp_status mp__vec_seal(mp__vec *f, mp__vec *out) {
    if (f == NULL || out == NULL) return mp__fail(MP_EINVAL);
    held h;
    mp_status s = hold_frozen(f, &h);
    if (s != MP_OK) return s;
    mapping m = mapping_of(f);
    if (m.total != 0) {
        s = mp__os.seal(m.base, m.total);
    } else if (!mp__os_cfg.mseal) {
        s = mp__fail(MP_ENOTSUP);
    }
    if (s != MP_OK) return restore(f, &h, s);
    mp__vec sealed = *f;
    renew(&sealed, &h, SEALED);
    *out = sealed;
    consume(f);
    return MP_OK;
}

size_t mp__vec_sealed_len(const mp__vec *s) {
    return live_as(s, SEALED) ? s->len : 0;
}

const void *mp__vec_sealed_data(const mp__vec *s) {
    return live_as(s, SEALED) ? s->data : NULL;
}

const void *mp__vec_sealed_at(const mp__vec *s, size_t i, size_t size) {
    return live_as(s, SEALED) && i < s->len ? s->data + i * size : NULL;
}
