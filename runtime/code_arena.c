/*
 * The code arena: many small functions in shared pages, each with its own
 * staleness (shared/API.md section 8, issue 15). The generated types are
 * mp_code_arena and mp_code_span, in builds with allow_exec.
 *
 * Layout. An arena is two mappings of its own: the code, one reservation of
 * opts->reserve bytes (rounded up to whole pages) that never moves, and its
 * bookkeeping, one read-write mapping made at creation. The code is cut
 * into granules of MP__CODE_GRANULE (64) bytes. The bookkeeping holds, per
 * granule, one bit (used or free) and the registry slot of the span that
 * starts there (0 for none), and per page the number of live spans with a
 * granule on it and, in flip mode, the page's access. A span is a run of
 * granules (found first fit in flip mode, next fit in dual mode: place);
 * it may cross pages and be as large as the reservation. The part of the
 * code that is committed grows from the start of the reservation as spans
 * need it, in place: no span ever moves.
 *
 * Staleness. Each span has a registry slot of its own (runtime/registry.h),
 * and the handle mp_code_span is a reference to it. The slot's data is the
 * address the span runs at, alt the address it is written at, len its
 * length, and its access word MP__CODE_PENDING until the span is finalized,
 * MP__CODE_READY after. Function references made by NAME_from_span point at
 * the span's slot through runtime/fn_ref.c unchanged, so releasing a span
 * (which frees its slot) stales exactly the references into it and copies
 * of its handle, never those of another span; freeing the arena frees every
 * span's slot. Finalizing changes the access word of the slot (which readers
 * load atomically) and no generation: handles of a span stay valid across
 * it. The arena itself has a slot too, whose access word is MP__CODE_ARENA
 * and whose map_base points at the bookkeeping.
 *
 * The slot a released span frees stays with its arena, on a list of its
 * own, and the next span takes it from there (mp__slot_end): a span costs
 * no trip through the registry's lock, and its slot's cache lines are warm.
 * The list is at most as long as the most spans the arena ever had live;
 * freeing the arena gives its slots back.
 *
 * MP_CODE_FLIP keeps W^X with protection changes. Each committed page is
 * either read-write or read-execute, never both. The invariant: a
 * read-write page holds no finalized live span. A span is placed only on
 * pages that are read-write, uncommitted (committed read-write for it), or
 * read-execute with no live span on them (made read-write again for it: a
 * page holding a finalized live span is never made writable again, and its
 * free space is reused only once all its spans are released). Finalize
 * makes every read-write page that holds a live span read-execute, one
 * protect call and one flush_icache per contiguous run of such pages, and
 * only the pages touched since the last finalize are looked at. Release
 * changes no access: the span's code stays mapped until its page is reused.
 * (Placing spans on writable pages first and opening 64 pages at once
 * cut the protect calls of a batch from 2 to 1.2 but was slower on the
 * machine of docs/benchmarks.md: the cost is in the TLB flushes, which
 * grow with the pages changed, not with the calls.)
 *
 * Freed pages keep their memory until reused or the arena is freed, in
 * either mode: the committed part, up to the highest page spans ever
 * reached, bounds what an arena holds. Giving free pages back would cost a
 * TLB-flushing call per run (docs/jit.md).
 *
 * MP_CODE_DUAL (builds with allow_dual_map) maps the whole reservation once
 * as the OS layer's dual mapping: spans are written through the read-write
 * view and run from the read-execute view, no page ever changes access, any
 * free granule is reusable at once, and finalize only makes the instruction
 * stream coherent (flush_icache over the pages touched since the last
 * finalize; no system call while the process has one thread, os_posix.c).
 * Shared memory has pages behind it only where they were touched, so
 * "committed" counts the high-water mark of the granules used. Placement
 * near an address needs a single reservation, so DUAL with opts->near is
 * MP_ENOTSUP.
 *
 * MP_CODE_AUTO asks mp_jit_probe once per process (auto_mode): DUAL where
 * that build has it, no placement was asked and the dual mapping worked,
 * FLIP otherwise.
 *
 * Threads. Every call that takes the arena (alloc, finalize, release,
 * stats, free) holds the arena's registry slot for its whole duration
 * (mp__slot_hold): that is the arena's lock, and calls on one arena from
 * several threads are serialized by it, with no lock of the caller's. The
 * holder makes system calls (mprotect, mmap) but never waits for another
 * thread; a waiter spins, then yields (runtime/spin.h). The calls on a span
 * alone (mp_code_span_write, _addr, _len, NAME_from_span) and calls through
 * function references take no lock: they read the span's slot as a seqlock.
 * The span slots are changed only by a holder of their arena's slot.
 *
 * What the arena cannot serialize is the writing of code itself: finalize
 * makes every span allocated since the last finalize runnable and no longer
 * writable, whichever thread allocated it, so in flip mode a thread still
 * writing a span while another finalizes would fault, and in either mode
 * its span would be finalized half-written. So the caller's rule is: from
 * mp_code_arena_alloc to the end of writing a span, no finalize of that
 * arena may run. Threads that write spans concurrently hold a
 * reader-writer lock of their own shared across alloc-and-write, and
 * finalize holds it exclusively (tests/arena/arena_test.cc, Threads); or
 * one thread writes and finalizes while others only call. Besides that, as
 * for page sets (section 7), a call through a function reference must not
 * race with the release of its span or the free of the arena.
 *
 * mp_query answers for the code of an arena with kind MP_KIND_CODE_ARENA:
 * its data is the committed part, the rest of the reservation counts as
 * guard, and its access is that of finalized code (read-execute; in flip
 * mode the pages still being written are read-write). A dual arena's
 * read-write view answers too, with read-write access.
 */
#include <stdatomic.h>
#include <string.h>

#include "memory_pages/features.h"
#include "memory_pages/internal/code_arena.h"
#include "runtime/os.h"
#include "runtime/registry.h"
#include "runtime/sizes.h"
#include "runtime/status.h"

#define GRANULE ((size_t)MP__CODE_GRANULE)
#define DEFAULT_RESERVE ((size_t)64 << 20)
/* The most pages a span's allocation makes writable at once (open_pages). */
#define REOPEN_AHEAD 64

/* The access of a committed page in flip mode. */
enum { PAGE_RW = 0, PAGE_RX = 1 };

/* The bookkeeping of one arena, at the start of its read-write mapping; the
 * arrays follow it in the same mapping. */
typedef struct arena {
    mp_code_mode mode;    /* MP_CODE_FLIP or MP_CODE_DUAL, never AUTO */
    unsigned char *code;  /* the first byte of the code as it runs */
    unsigned char *write; /* the same byte as it is written (== code in flip mode) */
    size_t size;          /* bytes of code */
    size_t meta_size;     /* bytes of this mapping */
    size_t page;          /* the page size */
    size_t pages, granules, per_page;
    unsigned page_shift;       /* per_page is 1 << page_shift: a granule's page is a shift away */
    size_t committed;          /* pages [0, committed) are committed (dual: were touched) */
    size_t used;               /* granules of live spans */
    size_t spans_live;         /* live spans */
    size_t dirty_lo, dirty_hi; /* pages of the spans allocated since the last finalize */
    /* No granule below hint is free on a page that can take a span: a
     * first-fit search starts there. */
    size_t hint;
    size_t next;          /* dual mode: the end of the span placed last (place) */
    uint32_t *live;       /* per page: live spans with a granule on it */
    unsigned char *state; /* per page: PAGE_RW or PAGE_RX (flip mode) */
    uint64_t *bits;       /* per granule: used */
    uint32_t *start;      /* per granule: the slot of the span that starts there, or 0 */
    uint32_t spare;       /* the first slot of released spans kept for reuse, or 0 */
} arena;

/* ---- The granule bitmap ---- */

/* The bits [bit, bit + k) of a bitmap word, for k from 1 to 64 - bit. */
static uint64_t word_mask(size_t bit, size_t k) {
    return ((((uint64_t)1 << (k - 1)) << 1) - 1) << bit;
}

/* Sets (on) or clears the bits of granules [g, g + n), a word at a time. */
static inline void set_bits(arena *a, size_t g, size_t n, bool on) {
    while (n != 0) {
        size_t bit = g % 64, k = n < 64 - bit ? n : 64 - bit;
        uint64_t m = word_mask(bit, k);
        a->bits[g / 64] = on ? a->bits[g / 64] | m : a->bits[g / 64] & ~m;
        g += k;
        n -= k;
    }
}

/* Whether a new span may have granules on page p: only a page that holds no
 * finalized live span may become or stay writable (flip mode). */
static bool usable_page(const arena *a, size_t p) {
    return a->mode == MP_CODE_DUAL || p >= a->committed || a->state[p] == PAGE_RW ||
           a->live[p] == 0;
}

/* Walks the free runs of granules that a span could use, from granule
 * `from` to the last, calling visit(run start, run length, ctx) for each
 * until it returns true; a run is visited as soon as it is want granules
 * long (so that a search stops at the first fit, not at the end of the
 * reservation), or when it ends. Returns whether a visit returned true.
 * Steps over whole runs of used or free granules of a bitmap word at once,
 * and over whole pages that cannot take a span. A page is a whole number of
 * words (it holds a multiple of 64 granules). */
static bool walk_free(const arena *a, size_t from, size_t want,
                      bool (*visit)(size_t, size_t, void *), void *ctx) {
    size_t run = 0, first = 0;
    for (size_t g = from; g < a->granules;) {
        size_t p = g >> a->page_shift;
        size_t left = 64 - g % 64; /* bits of this word from g on */
        uint64_t w = a->bits[g / 64] >> (g % 64);
        if (!usable_page(a, p) || (w & 1)) {
            if (run != 0 && visit(first, run, ctx)) return true;
            run = 0;
            if (!usable_page(a, p)) {
                g = (p + 1) * a->per_page;
            } else {
                size_t ones = ~w == 0 ? 64 : (size_t)__builtin_ctzll(~w);
                g += ones < left ? ones : left;
            }
            continue;
        }
        size_t zeros = w == 0 ? left : (size_t)__builtin_ctzll(w);
        if (run == 0) first = g;
        run += zeros < left ? zeros : left;
        g += zeros < left ? zeros : left;
        if (run >= want && visit(first, run, ctx)) return true;
    }
    return run != 0 && visit(first, run, ctx);
}

typedef struct fit {
    size_t want, at;
} fit;

static bool fits(size_t first, size_t run, void *ctx) {
    fit *f = (fit *)ctx;
    if (run < f->want) return false;
    f->at = first;
    return true;
}

static bool widest(size_t first, size_t run, void *ctx) {
    (void)first;
    size_t *max = (size_t *)ctx;
    if (run > *max) *max = run;
    return false;
}

/* Whether the want granules from g are free and on one bitmap word of a
 * page that can take a span: how place finds most spans, without a walk. */
static bool fits_at(const arena *a, size_t g, size_t want) {
    return g % 64 + want <= 64 && g < a->granules && usable_page(a, g >> a->page_shift) &&
           (a->bits[g / 64] & word_mask(g % 64, want)) == 0;
}

/* Finds f->want free granules for a new span. Flip mode takes the first
 * fit: low pages are reused first, so that a batch changes the access of
 * as few pages as it can. Dual mode takes the next fit: the search starts
 * where the span placed last ended and runs to the end of the committed
 * part, then falls back to the first fit, so the committed part grows only
 * when nothing in it fits, and the space a span leaves is taken again only
 * after the rest of the committed part. That keeps code the CPU has just
 * run from being rewritten at once: a store into recently run
 * instructions costs a pipeline flush when they run again. Writing,
 * running and releasing one function at a time took 130-160 ns per
 * function with first fit in the arena benchmark on the machine of
 * docs/benchmarks.md, 106-110 ns with next fit. In flip mode the access
 * change in between costs far more anyway. */
static bool place(const arena *a, fit *f) {
    bool next_fit = a->mode == MP_CODE_DUAL && a->next > a->hint;
    size_t from = next_fit ? a->next : a->hint;
    /* A next fit counts only inside the committed part; from the hint, the
     * first run that fits is the first fit wherever it lies. */
    size_t end = a->committed << a->page_shift;
    if (fits_at(a, from, f->want) && (!next_fit || from + f->want <= end)) {
        f->at = from;
        return true;
    }
    if (next_fit && walk_free(a, from, f->want, fits, f) && f->at + f->want <= end) return true;
    return walk_free(a, a->hint, f->want, fits, f);
}

/* ---- The arena's slot ---- */

/* Holds the arena's slot (its lock); sets *s when ref names no live arena.
 * Inline, as are read_span and set_bits: each is on the path of every
 * span, and out of line (gcc's choice without the keyword) they cost the
 * arena benchmark's loop about 5%. */
static inline mp__slot *hold_arena(const mp__ref *ref, arena **a, mp_status *s) {
    mp__slot *slot = ref != NULL ? mp__slot_hold(ref, MP__CODE_ARENA) : NULL;
    if (slot == NULL) {
        *s = mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
        return NULL;
    }
    *a = (arena *)slot->map_base;
    return slot;
}

/* Records the arena's code for mp_query: its committed part as data, the
 * rest of the reservation as guard; a dual arena's write view as well. */
static void describe(mp__slot *slot, const arena *a) {
    size_t len = a->committed * a->page;
    mp__extent e[2] = {
        {(uintptr_t)a->code, (uintptr_t)a->code + a->size, (uintptr_t)a->code, len,
         MP_KIND_CODE_ARENA, MP__PROT_READ | MP__PROT_EXEC},
        {(uintptr_t)a->write, (uintptr_t)a->write + a->size, (uintptr_t)a->write, len,
         MP_KIND_CODE_ARENA, MP__PROT_READ | MP__PROT_WRITE},
    };
    mp__slot_describe(slot, e, a->mode == MP_CODE_DUAL ? 2 : 1);
}

/* ---- Span slots ---- */

/* Takes a slot for a new span: one that a released span of this arena left
 * (take_slot and keep_slot run under the arena's lock, and skip the
 * registry's), else one from the registry, whose query record an earlier
 * owner may have filled: a span answers mp_query through its arena, so the
 * record is cleared once, when the slot joins the arena. */
static mp__slot *take_slot(arena *a, uint32_t *index) {
    mp__slot *slot;
    if (a->spare != 0) {
        *index = a->spare;
        slot = mp__registry_slot(a->spare);
        a->spare = slot->next_free;
        return slot;
    }
    if ((slot = mp__registry_alloc(index)) != NULL) mp__slot_describe(slot, NULL, 0);
    return slot;
}

/* Keeps the free slot of a span for take_slot. */
static void keep_slot(arena *a, mp__slot *slot, uint32_t index) {
    slot->next_free = a->spare;
    a->spare = index;
}

/* ---- Creation ---- */

/* The size of the bookkeeping of an arena of pages pages and granules
 * granules, or 0 on overflow. */
static size_t meta_bytes(size_t pages, size_t granules, size_t page) {
    size_t head = (sizeof(arena) + 7) & ~(size_t)7;
    size_t live, state, bits, start, total;
    if (!mp__mul_size(pages, sizeof(uint32_t), &live) || !mp__round_up(pages, 8, &state) ||
        !mp__mul_size((granules + 63) / 64, sizeof(uint64_t), &bits) ||
        !mp__mul_size(granules, sizeof(uint32_t), &start)) {
        return 0;
    }
    total = head;
    const size_t parts[4] = {live, state, bits, start};
    for (int i = 0; i < 4; i++) {
        if (parts[i] > SIZE_MAX - total) return 0;
        total += parts[i];
    }
    return mp__round_up(total, page, &total) ? total : 0;
}

/* Points the arrays of a into its mapping, after the struct. */
static void lay_out(arena *a) {
    unsigned char *p = (unsigned char *)a + ((sizeof(arena) + 7) & ~(size_t)7);
    a->live = (uint32_t *)p;
    p += a->pages * sizeof(uint32_t);
    a->bits = (uint64_t *)p;
    p += (a->granules + 63) / 64 * sizeof(uint64_t);
    a->start = (uint32_t *)p;
    p += a->granules * sizeof(uint32_t);
    a->state = p;
}

/* The mode AUTO stands for in this process. Whether the dual mapping works
 * is asked of mp_jit_probe once per process and kept: the probe maps and
 * runs code, which costs more than an arena. Threads that ask at once may
 * each probe and store the same answer; a probe that failed (out of memory,
 * say) is not kept, the next arena asks again. */
static mp_code_mode auto_mode(const mp_code_arena_opts *o) {
    enum { UNKNOWN, WORKS, FAILS };
    static atomic_int dual = UNKNOWN;
    if (!MP_HAVE_DUAL || o->near != NULL) return MP_CODE_FLIP;
    int known = atomic_load_explicit(&dual, memory_order_relaxed);
    if (known == UNKNOWN) {
        mp_jit_caps caps;
        if (mp_jit_probe(&caps) != MP_OK) return MP_CODE_FLIP;
        known = caps.dual_mapping.works ? WORKS : FAILS;
        atomic_store_explicit(&dual, known, memory_order_relaxed);
    }
    return known == WORKS ? MP_CODE_DUAL : MP_CODE_FLIP;
}

/* Maps the code of an arena of size bytes in mode; on failure nothing is
 * mapped. */
static mp_status map_code(const mp_code_arena_opts *o, mp_code_mode mode, size_t size, void **code,
                          void **write) {
    if (mode == MP_CODE_DUAL) return mp__os.dual_map(size, 0, size, write, code);
    mp_status s = o->near != NULL
                      ? mp__os.reserve_near(size, MP__OS_EXECUTABLE, o->near, o->max_distance, code)
                      : mp__os.reserve(size, 0, MP__OS_EXECUTABLE, code);
    if (s == MP_OK) *write = *code;
    return s;
}

static mp_status unmap_code(const arena *a) {
    return a->mode == MP_CODE_DUAL ? mp__os.dual_release(a->write, a->code, a->size)
                                   : mp__os.release(a->code, a->size);
}

mp_status mp__code_arena_new(const mp_code_arena_opts *opts, mp__ref *out) {
    static const mp_code_arena_opts defaults;
    const mp_code_arena_opts *o = opts != NULL ? opts : &defaults;
    if (out == NULL || (unsigned)o->mode > MP_CODE_DUAL) return mp__fail(MP_EINVAL);
    if ((o->near == NULL) != (o->max_distance == 0)) return mp__fail(MP_EINVAL);
    if (!MP_HAVE_RX) return mp__fail(MP_ENOTSUP);
    if (o->mode == MP_CODE_DUAL && (!MP_HAVE_DUAL || o->near != NULL)) return mp__fail(MP_ENOTSUP);
    size_t page = mp__os_cfg.page_size, size, meta;
    if (!mp__round_up(o->reserve != 0 ? o->reserve : DEFAULT_RESERVE, page, &size))
        return mp__fail(MP_EOVERFLOW);
    size_t pages = size / page, granules = size / GRANULE;
    if ((meta = meta_bytes(pages, granules, page)) == 0) return mp__fail(MP_EOVERFLOW);
    mp_code_mode mode = o->mode == MP_CODE_AUTO ? auto_mode(o) : o->mode;

    uint32_t index;
    mp__slot *slot = mp__registry_alloc(&index);
    if (slot == NULL) return MP_ENOMEM;
    void *m, *code, *write;
    mp_status s = mp__os.reserve(meta, 0, 0, &m);
    if (s != MP_OK) {
        mp__slot_free(slot, index);
        return s;
    }
    if ((s = mp__os.commit(m, meta, MP__PROT_READ | MP__PROT_WRITE)) != MP_OK ||
        (s = map_code(o, mode, size, &code, &write)) != MP_OK) {
        int err = mp_os_error();
        (void)mp__os.release(m, meta);
        mp__slot_free(slot, index);
        return mp__fail_os(s, err);
    }
    /* Fresh memory reads as zeros: every granule free, every page unused. */
    arena *a = (arena *)m;
    a->mode = mode;
    a->code = (unsigned char *)code;
    a->write = (unsigned char *)write;
    a->size = size;
    a->meta_size = meta;
    a->page = page;
    a->pages = pages;
    a->granules = granules;
    a->per_page = page / GRANULE;
    while ((size_t)1 << a->page_shift < a->per_page)
        a->page_shift++;
    a->dirty_lo = pages;
    lay_out(a);

    slot->map_base = a;
    slot->map_size = meta;
    slot->flags = 0;
    atomic_store_explicit(&slot->data, (uintptr_t)code, memory_order_relaxed);
    atomic_store_explicit(&slot->len, size, memory_order_relaxed);
    atomic_store_explicit(&slot->prot, MP__CODE_ARENA, memory_order_relaxed);
    describe(slot, a);
    mp__slot_publish(slot, index, out);
    return MP_OK;
}

/* ---- Spans ---- */

/* Sets the access of the committed pages in [from, to) of a flip arena
 * whose state is `which` to prot, one call per contiguous run. On failure
 * the runs already changed are changed back (as far as the OS lets) and
 * the states are untouched; on success the states become `becomes`. */
static mp_status flip_pages(arena *a, size_t from, size_t to, bool (*which)(const arena *, size_t),
                            unsigned prot, unsigned undo_prot, unsigned char becomes) {
    for (size_t p = from; p < to;) {
        if (!which(a, p)) {
            p++;
            continue;
        }
        size_t q = p;
        while (q < to && which(a, q))
            q++;
        mp_status s = mp__os.protect(a->code + p * a->page, (q - p) * a->page, prot);
        if (s != MP_OK) {
            int err = mp_os_error();
            if (p > from) (void)flip_pages(a, from, p, which, undo_prot, prot, 0xff);
            return mp__fail_os(s, err);
        }
        /* Code made runnable is made coherent, one flush per run. */
        if (prot & MP__PROT_EXEC) mp__os.flush_icache(a->code + p * a->page, (q - p) * a->page);
        p = q;
    }
    if (becomes != 0xff) {
        for (size_t p = from; p < to; p++) {
            if (which(a, p)) a->state[p] = becomes;
        }
    }
    return MP_OK;
}

/* A read-execute page no span lives on (flip mode). */
static bool empty_rx(const arena *a, size_t p) {
    return a->state[p] == PAGE_RX && a->live[p] == 0;
}

/* A read-write page that holds spans (flip mode), to be finalized. */
static bool written_rw(const arena *a, size_t p) {
    return a->state[p] == PAGE_RW && a->live[p] != 0;
}

/* Makes the pages [p0, p1) writable for a new span: committed read-write
 * past the committed part, and made read-write where they are read-execute
 * with no live span (flip mode). On failure nothing changed. */
static mp_status open_pages(arena *a, size_t p0, size_t p1) {
    if (a->mode == MP_CODE_DUAL) {
        if (p1 > a->committed) a->committed = p1;
        return MP_OK;
    }
    size_t old_end = p1 < a->committed ? p1 : a->committed;
    /* Empty read-execute pages right after the span are reopened with it,
     * up to REOPEN_AHEAD pages, so that the spans allocated next, which
     * first fit puts there, need no protect call of their own (a batch of
     * small spans costs one call, not one per page). They hold no live
     * span, so W^X holds; finalize leaves pages without spans as they are. */
    if (old_end == p1) {
        while (old_end < a->committed && old_end - p0 < REOPEN_AHEAD && empty_rx(a, old_end))
            old_end++;
    }
    unsigned rw = MP__PROT_READ | MP__PROT_WRITE, rx = MP__PROT_READ | MP__PROT_EXEC;
    mp_status s = p0 < old_end ? flip_pages(a, p0, old_end, empty_rx, rw, rx, 0xff) : MP_OK;
    if (s != MP_OK) return s;
    if (p1 > a->committed) {
        s = mp__os.commit(a->code + a->committed * a->page, (p1 - a->committed) * a->page, rw);
        if (s != MP_OK) {
            int err = mp_os_error();
            if (p0 < old_end) (void)flip_pages(a, p0, old_end, empty_rx, rx, rw, 0xff);
            return mp__fail_os(s, err);
        }
        /* The new pages start read-write (state 0). */
        a->committed = p1;
    }
    for (size_t p = p0; p < old_end; p++)
        a->state[p] = PAGE_RW;
    return MP_OK;
}

mp_status mp__code_arena_alloc(const mp__ref *ref, size_t size, mp__ref *out) {
    if (out == NULL || size == 0) return mp__fail(MP_EINVAL);
    arena *a;
    mp_status s;
    mp__slot *slot = hold_arena(ref, &a, &s);
    if (slot == NULL) return s;
    fit f = {size / GRANULE + (size % GRANULE != 0), 0};
    if (size > a->size || !place(a, &f)) {
        mp__slot_restore(slot, ref);
        return mp__fail(MP_ENOMEM);
    }
    uint32_t index;
    mp__slot *span = take_slot(a, &index);
    if (span == NULL) {
        mp__slot_restore(slot, ref);
        return MP_ENOMEM;
    }
    size_t p0 = f.at >> a->page_shift, p1 = ((f.at + f.want - 1) >> a->page_shift) + 1;
    size_t committed = a->committed;
    if ((s = open_pages(a, p0, p1)) != MP_OK) {
        keep_slot(a, span, index);
        mp__slot_restore(slot, ref);
        return s;
    }
    set_bits(a, f.at, f.want, true);
    for (size_t p = p0; p < p1; p++)
        a->live[p]++;
    a->start[f.at] = index;
    if (f.at == a->hint) a->hint = f.at + f.want;
    a->next = f.at + f.want;
    a->used += f.want;
    a->spans_live++;
    if (p0 < a->dirty_lo) a->dirty_lo = p0;
    if (p1 > a->dirty_hi) a->dirty_hi = p1;
    if (a->committed != committed) describe(slot, a);

    size_t offset = f.at * GRANULE;
    atomic_store_explicit(&span->data, (uintptr_t)(a->code + offset), memory_order_relaxed);
    atomic_store_explicit(&span->alt, (uintptr_t)(a->write + offset), memory_order_relaxed);
    atomic_store_explicit(&span->len, f.want * GRANULE, memory_order_relaxed);
    atomic_store_explicit(&span->prot, MP__CODE_PENDING, memory_order_relaxed);
    mp__slot_publish(span, index, out);
    mp__slot_restore(slot, ref);
    return MP_OK;
}

/* Reads the live span ref without holding it. */
static inline bool read_span(const mp__ref *ref, mp__slot_view *v) {
    return ref != NULL && mp__registry_read(ref, v) &&
           (v->prot == MP__CODE_PENDING || v->prot == MP__CODE_READY);
}

void *mp__code_span_write(const mp__ref *ref) {
    mp__slot_view v;
    return read_span(ref, &v) && v.prot == MP__CODE_PENDING ? v.alt : NULL;
}

const void *mp__code_span_addr(const mp__ref *ref) {
    mp__slot_view v;
    return read_span(ref, &v) ? v.data : NULL;
}

size_t mp__code_span_len(const mp__ref *ref) {
    mp__slot_view v;
    return read_span(ref, &v) ? v.len : 0;
}

/* Marks every pending span on the pages [p0, p1) finalized. Called by the
 * holder of the arena, which alone changes its spans' slots. */
static void mark_ready(const arena *a, size_t p0, size_t p1) {
    for (size_t g = p0 * a->per_page; g < p1 * a->per_page; g++) {
        if (a->start[g] == 0) continue;
        mp__slot *span = mp__registry_slot(a->start[g]);
        if (atomic_load_explicit(&span->prot, memory_order_relaxed) == MP__CODE_PENDING)
            atomic_store_explicit(&span->prot, MP__CODE_READY, memory_order_release);
    }
}

mp_status mp__code_arena_finalize(const mp__ref *ref) {
    arena *a;
    mp_status s;
    mp__slot *slot = hold_arena(ref, &a, &s);
    if (slot == NULL) return s;
    size_t lo = a->dirty_lo, hi = a->dirty_hi;
    if (lo >= hi) {
        mp__slot_restore(slot, ref);
        return MP_OK;
    }
    if (a->mode == MP_CODE_FLIP) {
        unsigned rw = MP__PROT_READ | MP__PROT_WRITE, rx = MP__PROT_READ | MP__PROT_EXEC;
        s = flip_pages(a, lo, hi, written_rw, rx, rw, PAGE_RX);
        if (s != MP_OK) {
            mp__slot_restore(slot, ref);
            return s;
        }
    } else {
        mp__os.flush_icache(a->code + lo * a->page, (hi - lo) * a->page);
    }
    mark_ready(a, lo, hi);
    a->dirty_lo = a->pages;
    a->dirty_hi = 0;
    mp__slot_restore(slot, ref);
    return MP_OK;
}

/* The slot of span_ref if it names a live span of a, else NULL; *g is its
 * first granule. Run by the holder of a's lock, without holding the span:
 * the slots of a's spans change only under that lock and no other call
 * holds them (MP__KEPT). The slot's data may be another owner's, read as
 * it changes, but a's table lists the slot at one granule only, the one
 * its span starts at, so a slot listed where its data points is a's, and
 * stays so while the lock is held. */
static mp__slot *own_span(const arena *a, const mp__ref *span_ref, size_t *g) {
    mp__slot *span = mp__gen_live(span_ref->gen) ? mp__registry_slot(span_ref->slot) : NULL;
    if (span == NULL) return NULL;
    uintptr_t at = atomic_load_explicit(&span->data, memory_order_relaxed) - (uintptr_t)a->code;
    if (at >= a->size || a->start[at / GRANULE] != span_ref->slot ||
        atomic_load_explicit(&span->gen, memory_order_relaxed) != span_ref->gen) {
        return NULL;
    }
    *g = at / GRANULE;
    return span;
}

mp_status mp__code_arena_release(const mp__ref *ref, mp__ref *span_ref) {
    if (span_ref == NULL) return mp__fail(MP_EINVAL);
    arena *a;
    mp_status s;
    mp__slot *slot = hold_arena(ref, &a, &s);
    if (slot == NULL) return s;
    size_t g;
    mp__slot *span = own_span(a, span_ref, &g);
    if (span == NULL) {
        /* Stale, or a live span of another arena. */
        mp__slot_view v;
        mp__slot_restore(slot, ref);
        return mp__fail(read_span(span_ref, &v) ? MP_EINVAL : MP_ESTALE);
    }
    size_t n = atomic_load_explicit(&span->len, memory_order_relaxed) / GRANULE;
    set_bits(a, g, n, false);
    for (size_t p = g >> a->page_shift; p <= (g + n - 1) >> a->page_shift; p++)
        a->live[p]--;
    a->start[g] = 0;
    /* The page may take spans again (flip mode): its free granules before
     * the span count too. */
    size_t page_start = g >> a->page_shift << a->page_shift;
    if (page_start < a->hint) a->hint = page_start;
    a->used -= n;
    a->spans_live--;
    if (mp__slot_end(span)) keep_slot(a, span, span_ref->slot);
    mp__slot_restore(slot, ref);
    return MP_OK;
}

/* The OS mappings a needs: its bookkeeping, and in flip mode one per run of
 * committed pages of one access plus the uncommitted rest; in dual mode the
 * two views. The least the kernel can use: Linux may keep apart pages of
 * one access that were committed at different times (it merges mappings
 * only when their pages share their bookkeeping), never more than one
 * mapping per page. */
static size_t mappings(const arena *a) {
    if (a->mode == MP_CODE_DUAL) return 3;
    size_t n = 1 + (a->committed < a->pages);
    for (size_t p = 0; p < a->committed; p++) {
        if (p == 0 || a->state[p] != a->state[p - 1]) n++;
    }
    return n;
}

mp_status mp__code_arena_stats(const mp__ref *ref, mp_code_stats *out) {
    if (out == NULL) return mp__fail(MP_EINVAL);
    arena *a;
    mp_status s;
    mp__slot *slot = hold_arena(ref, &a, &s);
    if (slot == NULL) return s;
    size_t widest_run = 0;
    (void)walk_free(a, 0, SIZE_MAX, widest, &widest_run);
    out->reserved = a->size;
    out->committed = a->committed * a->page;
    out->used = a->used * GRANULE;
    out->free_bytes = out->committed - out->used;
    out->largest_free = widest_run * GRANULE;
    out->spans_live = a->spans_live;
    out->mappings = mappings(a);
    mp__slot_restore(slot, ref);
    return MP_OK;
}

mp_status mp__code_arena_free(mp__ref *ref) {
    arena *a;
    mp_status s;
    mp__slot *slot = hold_arena(ref, &a, &s);
    if (slot == NULL) return s;
    /* Every span is held before the code goes, so that no function
     * reference into it passes its check while the code is unmapped, and
     * released (restored) again if the code cannot go. */
    size_t end = a->committed * a->per_page;
    for (size_t g = 0; g < end; g++) {
        if (a->start[g] == 0) continue;
        mp__slot *span = mp__registry_slot(a->start[g]);
        mp__ref r = {a->start[g], atomic_load_explicit(&span->gen, memory_order_acquire)};
        while (mp__slot_hold(&r, atomic_load_explicit(&span->prot, memory_order_relaxed)) == NULL)
            r.gen = atomic_load_explicit(&span->gen, memory_order_acquire);
    }
    s = unmap_code(a);
    for (size_t g = 0; g < end; g++) {
        if (a->start[g] == 0) continue;
        mp__slot *span = mp__registry_slot(a->start[g]);
        if (s == MP_OK) {
            mp__slot_free(span, a->start[g]);
        } else {
            mp__ref r = {a->start[g], atomic_load_explicit(&span->gen, memory_order_relaxed) - 1};
            mp__slot_restore(span, &r);
        }
    }
    if (s != MP_OK) {
        mp__slot_restore(slot, ref);
        return s;
    }
    /* The code is gone and every reference with it; the kept slots go back
     * to the registry; bookkeeping that could not be given back stays
     * mapped, and nothing can reach it. */
    while (a->spare != 0) {
        uint32_t index = a->spare;
        mp__slot *span = mp__registry_slot(index);
        a->spare = span->next_free;
        mp__registry_give(span, index);
    }
    (void)mp__os.release(a, a->meta_size);
    mp__slot_free(slot, ref->slot);
    return MP_OK;
}
