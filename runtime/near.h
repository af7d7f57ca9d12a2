/*
 * The choice of places for a reservation near an address, shared by the
 * platform files' reserve_near (os.h): the window of bases that keep every
 * byte within the distance asked, and the few best candidates found among
 * the free ranges the platform lists. The platform file lists the free
 * ranges (/proc/self/maps, VirtualQuery) and tries the candidates, nearest
 * first, with a call that never replaces a mapping.
 *
 * A listing costs far more than a mapping, so the free ranges it found can
 * be kept (mp__near_gaps) and offered to the next searches before the
 * platform lists them again. What is kept is only a guess: other threads,
 * and code that maps memory without this library, change the address space
 * behind it, and the memory this library frees is not added back. Every
 * candidate is still tried with the call that never replaces a mapping, and
 * a failure, or no candidate at all, sends the search to a fresh listing.
 */
#ifndef MEMORY_PAGES_RUNTIME_NEAR_H
#define MEMORY_PAGES_RUNTIME_NEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many candidates a search keeps: one per free range, the nearest. */
#define MP__NEAR_CANDIDATES 8

/* The lowest address a search ever offers: the kernels refuse the first
 * pages of the address space (Linux's vm.mmap_min_addr is 64 KiB by
 * default, Windows reserves the first 64 KiB). */
#define MP__NEAR_LOWEST ((uintptr_t)0x10000)

typedef struct mp__near_search {
    uintptr_t target; /* the address asked for (not `near`: windef.h defines that away) */
    uintptr_t first;  /* the lowest base allowed, aligned */
    uintptr_t last;   /* the highest base allowed, aligned */
    size_t size;      /* bytes of the reservation */
    size_t align;     /* a power of two every base is a multiple of */
    size_t count;     /* candidates found, at most MP__NEAR_CANDIDATES */
    uintptr_t base[MP__NEAR_CANDIDATES]; /* nearest first */
} mp__near_search;

static inline uintptr_t mp__near_gap(uintptr_t a, uintptr_t b) {
    return a > b ? a - b : b - a;
}

/* Starts a search for size bytes (a non-zero multiple of align) whose every
 * byte lies within max_distance of target, at bases that are multiples of
 * align. Returns false when no base at all satisfies that. */
static inline bool mp__near_start(mp__near_search *s, const void *target, size_t max_distance,
                                  size_t size, size_t align) {
    uintptr_t n = (uintptr_t)target, mask = (uintptr_t)align - 1;
    /* The lowest and the highest byte allowed, clamped to the address
     * space. */
    uintptr_t low = n > max_distance ? n - max_distance : 0;
    uintptr_t high = n > UINTPTR_MAX - max_distance ? UINTPTR_MAX : n + max_distance;
    if (low < MP__NEAR_LOWEST) low = MP__NEAR_LOWEST;
    if (low > UINTPTR_MAX - mask || high < low || high - low < size - 1) return false;
    s->target = n;
    s->first = (low + mask) & ~mask;
    s->last = (high - (size - 1)) & ~mask;
    s->size = size;
    s->align = align;
    s->count = 0;
    return s->first <= s->last;
}

/* Offers the free range [from, to): keeps its base nearest to the target, if one
 * fits, among the nearest candidates. */
static inline void mp__near_offer(mp__near_search *s, uintptr_t from, uintptr_t to) {
    uintptr_t mask = (uintptr_t)s->align - 1;
    if (to < from || to - from < s->size || from > UINTPTR_MAX - mask) return;
    uintptr_t lo = (from + mask) & ~mask, hi = (to - s->size) & ~mask;
    if (lo < s->first) lo = s->first;
    if (hi > s->last) hi = s->last;
    if (lo > hi) return;
    uintptr_t b = s->target & ~mask;
    if (b < lo) b = lo;
    if (b > hi) b = hi;
    /* Insertion into the few kept, nearest first. */
    size_t i = s->count;
    if (i == MP__NEAR_CANDIDATES) {
        if (mp__near_gap(b, s->target) >= mp__near_gap(s->base[i - 1], s->target)) return;
        i--;
    } else {
        s->count++;
    }
    while (i > 0 && mp__near_gap(s->base[i - 1], s->target) > mp__near_gap(b, s->target)) {
        s->base[i] = s->base[i - 1];
        i--;
    }
    s->base[i] = b;
}

/* Whether a reservation the OS placed at base (not where it was asked)
 * satisfies the search all the same. */
static inline bool mp__near_fits(const mp__near_search *s, uintptr_t base) {
    return base >= s->first && base <= s->last && (base & ((uintptr_t)s->align - 1)) == 0;
}

/* How many free ranges a cache of a listing keeps: the largest. The big
 * gaps next to the program, its heap and the shared libraries are where
 * placements near their functions go; the small holes between mappings
 * that are dropped when there are more are mostly too small to be used. */
#define MP__NEAR_GAPS 32

/* Free ranges [from[i], to[i]) found by a listing, disjoint, in no order. */
typedef struct mp__near_gaps {
    size_t count;
    uintptr_t from[MP__NEAR_GAPS];
    uintptr_t to[MP__NEAR_GAPS];
} mp__near_gaps;

/* Keeps the free range [from, to) if it is among the MP__NEAR_GAPS largest
 * kept so far, dropping the smallest to make room. */
static inline void mp__near_gaps_keep(mp__near_gaps *g, uintptr_t from, uintptr_t to) {
    if (to <= from) return;
    size_t i = g->count;
    if (i == MP__NEAR_GAPS) {
        size_t smallest = 0;
        for (size_t j = 1; j < i; j++) {
            if (g->to[j] - g->from[j] < g->to[smallest] - g->from[smallest]) smallest = j;
        }
        if (g->to[smallest] - g->from[smallest] >= to - from) return;
        i = smallest;
    } else {
        g->count++;
    }
    g->from[i] = from;
    g->to[i] = to;
}

/* Offers every kept range to the search (mp__near_offer). */
static inline void mp__near_gaps_offer(const mp__near_gaps *g, mp__near_search *s) {
    for (size_t i = 0; i < g->count; i++)
        mp__near_offer(s, g->from[i], g->to[i]);
}

/* Removes [base, base + size) from the kept ranges: a place just taken, or
 * one found taken when it was tried. What is left of a range on either
 * side stays (as long as there is room: at most one range more results). */
static inline void mp__near_gaps_take(mp__near_gaps *g, uintptr_t base, size_t size) {
    uintptr_t end = base > UINTPTR_MAX - size ? UINTPTR_MAX : base + size;
    mp__near_gaps left;
    left.count = 0;
    for (size_t i = 0; i < g->count; i++) {
        uintptr_t from = g->from[i], to = g->to[i];
        if (to <= base || from >= end) {
            mp__near_gaps_keep(&left, from, to);
            continue;
        }
        if (from < base) mp__near_gaps_keep(&left, from, base);
        if (end < to) mp__near_gaps_keep(&left, end, to);
    }
    *g = left;
}

#endif /* MEMORY_PAGES_RUNTIME_NEAR_H */
