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
 * Capacity is exact: cap = committed / size elements, for any element size,
 * so the cap elements always lie inside the committed bytes, also when the
 * size does not divide the page or is larger than one. Committed bytes are
 * whole commit units: pages, or huge pages for MP_HUGE_REQUIRE.
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
 * beside everything else. A reservation the OS refuses is retried at the
 * size actually needed. */
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
    if (s == MP_ENOMEM && want > need) {
        want = need;
        s = mp__os.reserve(want + guard_bytes, 0, flags, &base);
    }
    if (s != MP_OK) return s;
    if (huge == MP_HUGE_TRY) {
        /* Only a hint: the pages work either way. */
        (void)mp__os.huge_hint(base, want);
    }
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
 * settle(), renew() or drop(). */
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
static void drop(const mp__vec *v, held *h) {
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
    if (!cacheable(v->reserved, v->huge, v->guard) || v->committed > CACHE_MAX_COMMITTED)
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
 * all of it if that is less (then need_r covers what the caller needs). */
static mp_status open_mapping(mp__vec *v, size_t want_r, size_t need_r, size_t commit,
                              size_t size) {
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
    v->cap = commit / size;
    publish(v, slot, index, RW);
    return MP_OK;
}

/* Moves a held vector to a new reservation of at least need_r bytes, with
 * commit bytes committed there, or all of it if that is less (need_r covers
 * what the caller needs, and exceeds v->reserved). The caller's settle()
 * records the new mapping in the slot. */
static mp_status move_mapping(mp__vec *v, size_t need_r, size_t commit, size_t size) {
    size_t want_r = v->reserved <= SIZE_MAX / 2 ? max_size(2 * v->reserved, need_r) : need_r;
    mapping m;
    mp_status s = map_reserve(want_r, need_r, v->huge, v->guard, &m);
    if (s != MP_OK) return s;
    commit = min_size(commit, m.reserved);
    /* Commit the new part first, then move the old pages in front of it, so
     * that nothing has moved when anything fails. */
    s = commit_range(m.base, v->committed, commit);
    if (s == MP_OK && v->committed != 0) {
        s = mp__os.remap(v->data, v->committed, m.base);
        if (s == MP_ENOTSUP) {
            s = commit_range(m.base, 0, v->committed);
            if (s == MP_OK) memcpy(m.base, v->data, v->len * size);
        }
    }
    if (s != MP_OK) return undo_mapping(&m, s);

    /* The elements are safe in the new mapping now. Releasing the old one
     * cannot fail for a mapping this vector made; if it did, only address
     * space would be lost, so the move stands. */
    mapping was = mapping_of(v);
    (void)mp__os.release(was.base, was.total);
    v->data = m.base;
    v->reserved = m.reserved;
    v->committed = commit;
    v->cap = commit / size;
    return MP_OK;
}

/* Makes room for at least need elements (need > v->cap). With amortized, it
 * commits at least twice what is committed, so that a run of pushes costs
 * amortized constant time; else just the commit units that need asks. */
static mp_status grow(mp__vec *v, size_t need, size_t size, bool amortized) {
    size_t unit = commit_unit(v->huge);
    size_t bytes, need_b;
    if (!mp__mul_size(need, size, &bytes) || !mp__round_up(bytes, unit, &need_b))
        return mp__fail(MP_EOVERFLOW);
    size_t want_b = need_b;
    if (amortized && v->committed <= SIZE_MAX / 2) want_b = max_size(need_b, 2 * v->committed);

    if (v->reserved == 0) {
        /* Default options (made by V_new, or thawed empty): a large
         * reservation; a vector that requires huge pages reserves only what
         * it needs, as hugetlb takes the whole reservation from its pool. */
        size_t want_r = v->huge == MP_HUGE_REQUIRE ? want_b : max_size(DEFAULT_RESERVE, want_b);
        return open_mapping(v, want_r, need_b, want_b, size);
    }
    if (need_b <= v->reserved) {
        size_t commit = min_size(want_b, v->reserved);
        mp_status s = commit_range(v->data, v->committed, commit);
        if (s != MP_OK) return s;
        v->committed = commit;
        v->cap = commit / size;
        return MP_OK;
    }
    return move_mapping(v, need_b, want_b, size);
}

/* Makes room for n more elements than v holds. */
static mp_status make_room(mp__vec *v, size_t n, size_t size, bool amortized) {
    if (n > SIZE_MAX - v->len) return mp__fail(MP_EOVERFLOW);
    if (v->len + n <= v->cap) return MP_OK;
    return grow(v, v->len + n, size, amortized);
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
    if ((unsigned)opts->huge > MP_HUGE_REQUIRE) return mp__fail(MP_EINVAL);
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
    mp_status s = open_mapping(&fresh, want_r, need_r, cap_b, size);
    if (s != MP_OK) return s;
    fresh.keep = cap_b;
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
    return settle(v, &h, make_room(v, 1, size, true));
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
    if ((s = make_room(v, 1, size, true)) != MP_OK) return settle(v, &h, s);
    unsigned char *at = v->data + i * size;
    memmove(at + size, at, (v->len - i) * size);
    memcpy(at, x, size);
    v->len++;
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
    mp_status s = make_room(v, n, size, true);
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

/* Sets the length of the held vector v to n, filling new elements with
 * copies of fill. */
static mp_status resize_held(mp__vec *v, size_t n, const void *fill, size_t size) {
    if (n <= v->len) {
        v->len = n;
        return MP_OK;
    }
    if (fill == NULL) return mp__fail(MP_EINVAL);
    mp_status s = make_room(v, n - v->len, size, true);
    if (s != MP_OK) return s;
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

mp_status mp__vec_resize(mp__vec *v, size_t n, const void *fill, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, resize_held(v, n, fill, size));
}

mp_status mp__vec_truncate(mp__vec *v, size_t n) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (n > v->len) return settle(v, &h, mp__fail(MP_EINVAL));
    v->len = n;
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
    /* The decommitted range is a fresh mapping, which lost the hint. */
    if (v->huge == MP_HUGE_TRY) (void)mp__os.huge_hint(from, bytes);
    v->committed = keep;
    v->cap = keep / size;
    return MP_OK;
}

mp_status mp__vec_clear(mp__vec *v, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if ((s = decommit_beyond(v, v->keep, size)) == MP_OK) v->len = 0;
    return settle(v, &h, s);
}

mp_status mp__vec_reserve(mp__vec *v, size_t additional, size_t size) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    return settle(v, &h, make_room(v, additional, size, false));
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

mp_status mp__vec_free(mp__vec *v) {
    held h;
    mp_status s = hold(v, RW, &h);
    if (s != MP_OK) return s;
    if (h.slot != NULL) {
        mapping m = mapping_of(v);
        if (!cache_put(v) && (s = mp__os.release(m.base, m.total)) != MP_OK) {
            return settle(v, &h, s);
        }
        drop(v, &h);
    }
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

/* Whether f is a live frozen vector; safe from any thread, since the slot's
 * generation and access are read consistently. */
static bool frozen_live(const mp__vec *f) {
    mp__slot_view view;
    return f != NULL && mp__registry_read(&f->ref, &view) && view.prot == MP__PROT_READ;
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

mp_status mp__vec_frozen_free(mp__vec *f) {
    held h;
    mp_status s = hold_frozen(f, &h);
    if (s != MP_OK) return s;
    mapping m = mapping_of(f);
    if (m.total != 0 && (s = mp__os.release(m.base, m.total)) != MP_OK) {
        return restore(f, &h, s);
    }
    drop(f, &h);
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
        drop(f, &h);
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
