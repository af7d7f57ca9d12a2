/*
 * Executable pages against the raw system calls (issue 5, workloads 5 and
 * 6; docs/benchmarks.md has the results):
 *
 *   5  RW -> RX -> RW of 1 page and of 256 pages, through the typed
 *      transitions, against a pair of raw mprotect calls (with the
 *      instruction-cache flush a JIT needs, which is free on x86);
 *   6  a call through a checked function reference (binop_fn_call) of a
 *      trivial function, against a call through a raw function pointer to
 *      the same code;
 *   near  mp_pages_rw_new_opts and free of one page placed within 1 GiB of
 *      a function of this program (mp_pages_opts.near, issue 14), against
 *      the same without placement: freeing each page set at once; keeping
 *      64 alive; placing them near two functions far apart in turn (one
 *      of this program, one of the C library), so that the last placement
 *      is never a usable hint (the cache of gaps answers); and each in a
 *      hole just opened in a mapping of the benchmark, which no reading of
 *      /proc/self/maps has seen, so every call reads it: the worst case;
 *   query  mp_query of an address in the newest of N live page sets (it
 *      scans the registry's slots, so its cost grows with N), reported per
 *      query and per slot scanned.
 *   dual  (issue 14) the rw -> rx transition of 1 page against
 *      mp_pages_dual_sync of the same page (goal: sync <= 0.2x).
 *   arena  (issue 15) 100,000 functions of 16-256 bytes, each allocated,
 *      written, made runnable, called once through a checked reference and
 *      released: in a code arena one at a time and in batches of 100, in
 *      flip mode and (with allow_dual_map) dual mode, against one page set
 *      per function (new rw, write, into rx, call, free). Goals, as the
 *      issue sets them from asmjit's ratios: dual one at a time <= 1/180 of
 *      the page sets, dual batched <= 1/420, flip batched <= 1/200; the
 *      arena's mapping count at the end is reported beside them.
 *
 * It needs a build with allow_exec (--config=exec), and allow_dual_map for
 * the dual workload (--config=dual, which bench/run.sh uses). Every result is
 * checked: the pages keep their contents, and the calls add up. Usage:
 * exec_bench [--tiny] [--rounds N] [--tsv FILE] [--only W,...]
 * (bench/harness.h).
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/bench_fns.h"
#include "bench/harness.h"

/* Machine code of int64_t add(int64_t a, int64_t b) { return a + b; }. */
#if defined(__x86_64__)
static const unsigned char add_code[] = {0x48, 0x8D, 0x04, 0x37,
                                         0xC3}; /* lea rax, [rdi+rsi]; ret */
#elif defined(__aarch64__)
static const unsigned char add_code[] = {0x00, 0x00, 0x01, 0x8B,  /* add x0, x0, x1 */
                                         0xC0, 0x03, 0x5F, 0xD6}; /* ret */
#else
#define NO_ADD_CODE
#endif

/* The byte every benchmarked page is filled with, to check that the
 * transitions keep the contents. */
#define FILL 0x5A

static bool status_fail(const char *what, mp_status s) {
    return mpb_fail("%s: %s", what, mp_status_str(s));
}

/* ---- Workload 5: RW -> RX -> RW ---- */

enum { FLIP_LIBRARY, FLIP_RAW, FLIP_COUNT };
static const char *const flip_names[FLIP_COUNT] = {"typed transitions", "raw mprotect"};

typedef struct flip_ctx {
    size_t pages; /* the size of the page set */
    size_t reps;  /* round trips per run */
} flip_ctx;

/* reps round trips through mp_pages_rw_into_rx and mp_pages_rx_into_rw on
 * len bytes whose pages are all touched. */
static bool flip_library(size_t len, size_t reps, uint64_t *ns) {
    mp_pages_rw rw;
    mp_pages_rx rx;
    mp_status s = mp_pages_rw_new(len, &rw);
    if (s != MP_OK) return status_fail("mp_pages_rw_new", s);
    memset(mp_pages_rw_data_mut(&rw), FILL, len);
    bool in_rx = false;
    uint64_t start = mpb_clock_ns();
    for (size_t r = 0; r < reps; r++) {
        if ((s = mp_pages_rw_into_rx(&rw, &rx)) != MP_OK) break;
        in_rx = true;
        if ((s = mp_pages_rx_into_rw(&rx, &rw)) != MP_OK) break;
        in_rx = false;
    }
    *ns = mpb_clock_ns() - start;
    bool ok = s == MP_OK ? true : status_fail("transition", s);
    if (ok && mp_pages_rw_data(&rw)[len - 1] != FILL)
        ok = mpb_fail("a transition lost the contents");
    s = in_rx ? mp_pages_rx_free(&rx) : mp_pages_rw_free(&rw);
    return s == MP_OK ? ok : status_fail("free", s);
}

/* The same with mprotect on a mapping of its own, flushing the instruction
 * cache after making it executable, as a JIT must. */
static bool flip_raw(size_t len, size_t reps, uint64_t *ns) {
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return mpb_fail("mmap of %zu bytes failed", len);
    memset(p, FILL, len);
    bool ok = true;
    uint64_t start = mpb_clock_ns();
    for (size_t r = 0; r < reps && ok; r++) {
        ok = mprotect(p, len, PROT_READ | PROT_EXEC) == 0;
        __builtin___clear_cache((char *)p, (char *)p + len);
        ok = ok && mprotect(p, len, PROT_READ | PROT_WRITE) == 0;
    }
    *ns = mpb_clock_ns() - start;
    if (!ok) ok = mpb_fail("mprotect failed");
    if (ok && p[len - 1] != FILL) ok = mpb_fail("mprotect lost the contents");
    munmap(p, len);
    return ok;
}

static bool flip_run(void *ctx, size_t c, uint64_t *ns) {
    const flip_ctx *f = ctx;
    size_t len = f->pages * mp_page_size();
    return c == FLIP_LIBRARY ? flip_library(len, f->reps, &ns[0]) : flip_raw(len, f->reps, &ns[0]);
}

static bool bench_flip(const mpb_opts *opts) {
    static const size_t sizes[] = {1, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        flip_ctx f = {sizes[i], opts->tiny ? 10 : 20000};
        printf("5: RW -> RX -> RW of %zu page%s, %zu times\n", f.pages, f.pages == 1 ? "" : "s",
               f.reps);
        uint64_t best[FLIP_COUNT * MPB_MAX_METRICS];
        if (!mpb_interleave(opts, FLIP_COUNT, flip_run, &f, best)) return false;
        char what[64];
        for (size_t c = 0; c < FLIP_COUNT; c++) {
            snprintf(what, sizeof what, "%s, %zu page%s", flip_names[c], f.pages,
                     f.pages == 1 ? "" : "s");
            mpb_measure(opts, "5", what, (double)best[c * MPB_MAX_METRICS] / (double)f.reps,
                        "ns per round trip");
        }
        snprintf(what, sizeof what, "typed transitions, %zu page%s", f.pages,
                 f.pages == 1 ? "" : "s");
        mpb_ratio(opts, "5", what, "raw mprotect",
                  (double)best[FLIP_LIBRARY * MPB_MAX_METRICS] /
                      (double)best[FLIP_RAW * MPB_MAX_METRICS],
                  1.1);
    }
    return true;
}

/* ---- Workload 6: checked call against raw call ---- */

#ifndef NO_ADD_CODE
enum { CALL_CHECKED, CALL_RAW, CALL_COUNT };
static const char *const call_names[CALL_COUNT] = {"checked reference call", "raw pointer call"};

typedef int64_t (*add_fn)(int64_t, int64_t);

typedef struct call_ctx {
    binop_fn ref; /* the checked reference to the code */
    add_fn raw;   /* a plain pointer to the same code */
    size_t calls; /* calls per run */
} call_ctx;

static bool call_run(void *ctx, size_t c, uint64_t *ns) {
    const call_ctx *k = ctx;
    int64_t acc = 0;
    uint64_t start = mpb_clock_ns();
    if (c == CALL_CHECKED) {
        binop_fn ref = k->ref;
        for (size_t i = 0; i < k->calls; i++) {
            int64_t ret = 0;
            mp_status s = binop_fn_call(&ref, acc, (int64_t)i, &ret);
            if (s != MP_OK) return status_fail("binop_fn_call", s);
            acc = ret;
        }
    } else {
        add_fn raw = k->raw;
        for (size_t i = 0; i < k->calls; i++)
            acc = raw(acc, (int64_t)i);
    }
    ns[0] = mpb_clock_ns() - start;
    int64_t want = (int64_t)(k->calls * (k->calls - 1) / 2);
    if (acc != want)
        return mpb_fail("%s: %" PRId64 " instead of %" PRId64, call_names[c], acc, want);
    return true;
}

static bool bench_call(const mpb_opts *opts) {
    call_ctx k;
    k.calls = opts->tiny ? 1000 : 100000000;
    mp_pages_rw rw;
    mp_pages_rx rx;
    mp_status s = mp_pages_rw_new(sizeof add_code, &rw);
    if (s != MP_OK) return status_fail("mp_pages_rw_new", s);
    memcpy(mp_pages_rw_data_mut(&rw), add_code, sizeof add_code);
    if ((s = mp_pages_rw_into_rx(&rw, &rx)) != MP_OK) {
        mp_pages_rw_free(&rw);
        return status_fail("mp_pages_rw_into_rx", s);
    }
    bool ok = true;
    if ((s = binop_fn_from(&rx, 0, &k.ref)) != MP_OK) ok = status_fail("binop_fn_from", s);
    /* ISO C leaves converting an object address to a function pointer to
     * the implementation; every platform this runs on keeps the address. */
    k.raw = (add_fn)(uintptr_t)mp_pages_rx_data(&rx);
    printf("6: %zu calls of a trivial function\n", k.calls);
    uint64_t best[CALL_COUNT * MPB_MAX_METRICS];
    if (ok && (ok = mpb_interleave(opts, CALL_COUNT, call_run, &k, best))) {
        for (size_t c = 0; c < CALL_COUNT; c++) {
            mpb_measure(opts, "6", call_names[c],
                        (double)best[c * MPB_MAX_METRICS] / (double)k.calls, "ns per call");
        }
        mpb_ratio(opts, "6", call_names[CALL_CHECKED], call_names[CALL_RAW],
                  (double)best[CALL_CHECKED * MPB_MAX_METRICS] /
                      (double)best[CALL_RAW * MPB_MAX_METRICS],
                  1.5);
    }
    if ((s = mp_pages_rx_free(&rx)) != MP_OK) ok = status_fail("mp_pages_rx_free", s);
    return ok;
}
#else
static bool bench_call(const mpb_opts *opts) {
    (void)opts;
    return mpb_fail("6: no machine code for this architecture (x86-64 and AArch64 only)");
}
#endif

/* ---- Workload "near": placement near an address ---- */

enum { NEAR_PLACED, NEAR_ANYWHERE, NEAR_COUNT };
static const char *const near_names[NEAR_COUNT] = {"new_opts + free, near", "new_opts + free"};

/* Pages of the hole workload's field (below): a hole at every other page. */
#define NEAR_FIELD_PAGES 4096

typedef struct near_ctx {
    size_t reps;    /* page sets per run */
    size_t keep;    /* page sets alive at once: each is freed keep allocations later */
    bool alternate; /* near this program and near the C library in turn */
    bool holes;     /* each in a hole just opened, that no reading has seen */
} near_ctx;

/* The function the pages are placed near. */
static int near_anchor(int x) {
    return x + 1;
}

/* The hole of the field for page set i: every other page, the field's first
 * and last pages kept, so that a window of one page either side of a hole
 * lies inside the field. */
static uint8_t *near_hole(uint8_t *field, size_t page, size_t i) {
    return field + (1 + 2 * (i % (NEAR_FIELD_PAGES / 2 - 1))) * page;
}

static bool near_run(void *ctx, size_t c, uint64_t *ns) {
    const near_ctx *k = ctx;
    enum { MAX_KEEP = 64 };
    mp_pages_rw live[MAX_KEEP];
    mp_pages_opts opts;
    memset(&opts, 0, sizeof opts);
    if (c == NEAR_PLACED) {
        /* ISO C has no conversion from a function pointer to void *; every
         * platform this runs on keeps the address through uintptr_t. */
        opts.near = (const void *)(uintptr_t)&near_anchor;
        opts.max_distance = (size_t)1 << 30;
    }
    size_t page = mp_page_size(), made = 0;
    /* The two places: this program, and a function of the C library. */
    const void *anchors[2] = {(const void *)(uintptr_t)&near_anchor,
                              (const void *)(uintptr_t)&memcpy};
    /* The hole workload: a field of no-access pages mapped here; before each
     * page set, the last hole is filled again and a new one opened, so the
     * free space near the new target appeared after the library last read
     * the map, and the placement must read it again: the worst case. Both
     * contenders pay the munmap and mmap of the holes; without near the page
     * set goes anywhere. */
    uint8_t *field = NULL;
    if (k->holes) {
        field = mmap(NULL, NEAR_FIELD_PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (field == MAP_FAILED) return mpb_fail("mmap of the field failed");
        if (c == NEAR_PLACED) opts.max_distance = page;
    }
    bool ok = true;
    uint64_t start = mpb_clock_ns();
    for (size_t i = 0; i < k->reps && ok; i++) {
        mp_pages_rw *slot = &live[i % k->keep];
        if (i >= k->keep && mp_pages_rw_free(slot) != MP_OK) ok = mpb_fail("free failed");
        if (c == NEAR_PLACED && k->alternate) opts.near = anchors[i % 2];
        if (k->holes) {
            uint8_t *hole = near_hole(field, page, i);
            if ((i > 0 && mmap(near_hole(field, page, i - 1), page, PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) ||
                munmap(hole, page) != 0) {
                ok = mpb_fail("the holes of the field: %s", strerror(errno));
                break;
            }
            if (c == NEAR_PLACED) opts.near = hole;
        }
        mp_status s = mp_pages_rw_new_opts(page, &opts, slot);
        if (s != MP_OK) {
            ok = status_fail(near_names[c], s);
            break;
        }
        made = i + 1;
    }
    ns[0] = mpb_clock_ns() - start;
    for (size_t i = made > k->keep ? made - k->keep : 0; i < made; i++) {
        mp_pages_rw *p = &live[i % k->keep];
        uintptr_t at = (uintptr_t)mp_pages_rw_data(p);
        uintptr_t anchor = k->holes       ? (uintptr_t)near_hole(field, page, i)
                           : k->alternate ? (uintptr_t)anchors[i % 2]
                                          : (uintptr_t)anchors[0];
        uintptr_t d = at > anchor ? at + page - 1 - anchor : anchor - at;
        if (c == NEAR_PLACED && d > opts.max_distance) ok = mpb_fail("a page set out of range");
        if (mp_pages_rw_free(p) != MP_OK) ok = mpb_fail("free failed");
    }
    if (field != NULL && munmap(field, NEAR_FIELD_PAGES * page) != 0) {
        ok = mpb_fail("munmap of the field failed");
    }
    (void)near_anchor(0);
    return ok;
}

static bool bench_near(const mpb_opts *opts) {
    static const struct {
        size_t keep;
        bool alternate, holes;
        const char *name;
    } cases[] = {{1, false, false, "1 alive"},
                 {64, false, false, "64 alive"},
                 {1, true, false, "two places in turn"},
                 {1, false, true, "each in a new hole"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        near_ctx k = {opts->tiny ? 100 : 20000, cases[i].keep, cases[i].alternate, cases[i].holes};
        printf("near: %zu page sets of 1 page, %s\n", k.reps, cases[i].name);
        uint64_t best[NEAR_COUNT * MPB_MAX_METRICS];
        if (!mpb_interleave(opts, NEAR_COUNT, near_run, &k, best)) return false;
        char what[80];
        for (size_t c = 0; c < NEAR_COUNT; c++) {
            snprintf(what, sizeof what, "%s, %s", near_names[c], cases[i].name);
            mpb_measure(opts, "near", what, (double)best[c * MPB_MAX_METRICS] / (double)k.reps,
                        "ns per page set");
        }
        snprintf(what, sizeof what, "%s, %s", near_names[NEAR_PLACED], cases[i].name);
        char base[80];
        snprintf(base, sizeof base, "%s, %s", near_names[NEAR_ANYWHERE], cases[i].name);
        mpb_ratio(opts, "near", what, base,
                  (double)best[NEAR_PLACED * MPB_MAX_METRICS] /
                      (double)best[NEAR_ANYWHERE * MPB_MAX_METRICS],
                  2.0);
    }
    return true;
}

/* ---- Workload "query": mp_query against the number of live objects ---- */

typedef struct query_ctx {
    const uint8_t *addr; /* an address in the newest page set */
    size_t queries;      /* per run */
} query_ctx;

static bool query_run(void *ctx, size_t c, uint64_t *ns) {
    (void)c;
    const query_ctx *k = ctx;
    mp_page_info info;
    size_t found = 0;
    uint64_t start = mpb_clock_ns();
    for (size_t i = 0; i < k->queries; i++)
        found += mp_query(k->addr + (i & 63), &info) == MP_OK;
    ns[0] = mpb_clock_ns() - start;
    return found == k->queries ? true : mpb_fail("mp_query missed a live page set");
}

static bool bench_query(const mpb_opts *opts) {
    static const size_t counts[] = {10, 1000};
    enum { MAX_SETS = 1000 };
    static mp_pages_rw sets[MAX_SETS];
    bool ok = true;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0] && ok; i++) {
        size_t made = 0;
        for (; made < counts[i]; made++) {
            mp_status s = mp_pages_rw_new(1, &sets[made]);
            if (s != MP_OK) {
                ok = status_fail("mp_pages_rw_new", s);
                break;
            }
        }
        if (ok) {
            query_ctx k = {mp_pages_rw_data(&sets[made - 1]), opts->tiny ? 1000 : 200000};
            printf("query: %zu queries with %zu page sets alive\n", k.queries, made);
            uint64_t best[MPB_MAX_METRICS];
            if ((ok = mpb_interleave(opts, 1, query_run, &k, best))) {
                char what[64];
                snprintf(what, sizeof what, "mp_query, %zu alive", made);
                double per_query = (double)best[0] / (double)k.queries;
                mpb_measure(opts, "query", what, per_query, "ns per query");
                mpb_measure(opts, "query", what, per_query / (double)made, "ns per live page set");
            }
        }
        for (size_t j = 0; j < made; j++) {
            if (mp_pages_rw_free(&sets[j]) != MP_OK) ok = mpb_fail("free failed");
        }
    }
    return ok;
}

/* ---- Workload "dual": making written code runnable ----
 *
 * What a JIT pays each time it has written code and wants to run it: the
 * transition of 1 page from rw to rx (mprotect and the instruction-stream
 * flush), against mp_pages_dual_sync of the same page of a dual pair (the
 * flush alone: no protection changes, no TLB shootdown). Only the rw -> rx
 * half of each round trip is timed; the way back to rw is not. Needs a
 * build with allow_dual_map (--config=dual). */

#if MP_HAVE_DUAL
enum { READY_TRANSITION, READY_SYNC, READY_COUNT };
static const char *const ready_names[READY_COUNT] = {"rw -> rx transition, 1 page",
                                                     "mp_pages_dual_sync, 1 page"};

static bool ready_transition(size_t reps, uint64_t *ns) {
    const size_t len = mp_page_size();
    mp_pages_rw rw;
    mp_pages_rx rx;
    mp_status s = mp_pages_rw_new(len, &rw);
    if (s != MP_OK) return status_fail("mp_pages_rw_new", s);
    memset(mp_pages_rw_data_mut(&rw), FILL, len);
    bool in_rx = false;
    uint64_t total = 0;
    for (size_t r = 0; r < reps; r++) {
        uint64_t start = mpb_clock_ns();
        s = mp_pages_rw_into_rx(&rw, &rx);
        total += mpb_clock_ns() - start;
        if (s != MP_OK) break;
        in_rx = true;
        if ((s = mp_pages_rx_into_rw(&rx, &rw)) != MP_OK) break;
        in_rx = false;
    }
    *ns = total;
    bool ok = s == MP_OK ? true : status_fail("transition", s);
    s = in_rx ? mp_pages_rx_free(&rx) : mp_pages_rw_free(&rw);
    return s == MP_OK ? ok : status_fail("free", s);
}

static bool ready_sync(size_t reps, uint64_t *ns) {
    const size_t len = mp_page_size();
    mp_pages_dual p;
    mp_status s = mp_pages_dual_new(len, &p);
    if (s != MP_OK) return status_fail("mp_pages_dual_new", s);
    uint8_t *rw = mp_pages_dual_data_mut(&p);
    memset(rw, FILL, len);
    uint64_t total = 0;
    for (size_t r = 0; r < reps && s == MP_OK; r++) {
        /* A write between syncs, as a JIT patching its code does (untimed). */
        rw[r % len] = FILL;
        uint64_t start = mpb_clock_ns();
        s = mp_pages_dual_sync(&p, 0, len);
        total += mpb_clock_ns() - start;
    }
    *ns = total;
    bool ok = s == MP_OK ? true : status_fail("mp_pages_dual_sync", s);
    if (ok && mp_pages_dual_code(&p)[len - 1] != FILL) ok = mpb_fail("the code view lost the data");
    s = mp_pages_dual_free(&p);
    return s == MP_OK ? ok : status_fail("mp_pages_dual_free", s);
}

static bool ready_run(void *ctx, size_t c, uint64_t *ns) {
    size_t reps = *(const size_t *)ctx;
    return c == READY_TRANSITION ? ready_transition(reps, &ns[0]) : ready_sync(reps, &ns[0]);
}

static bool bench_ready(const mpb_opts *opts) {
    size_t reps = opts->tiny ? 10 : 20000;
    printf("dual: code made runnable after writing, 1 page, %zu times\n", reps);
    uint64_t best[READY_COUNT * MPB_MAX_METRICS];
    if (!mpb_interleave(opts, READY_COUNT, ready_run, &reps, best)) return false;
    for (size_t c = 0; c < READY_COUNT; c++) {
        mpb_measure(opts, "dual", ready_names[c], (double)best[c * MPB_MAX_METRICS] / (double)reps,
                    "ns each");
    }
    mpb_ratio(opts, "dual", ready_names[READY_SYNC], ready_names[READY_TRANSITION],
              (double)best[READY_SYNC * MPB_MAX_METRICS] /
                  (double)best[READY_TRANSITION * MPB_MAX_METRICS],
              0.2);
    return true;
}
#else
static bool bench_ready(const mpb_opts *opts) {
    (void)opts;
    return mpb_fail("dual: needs a build with allow_dual_map (--config=dual)");
}
#endif

/* ---- Workload "arena": many small functions (issue 15) ---- */

/* The contenders need machine code: none on architectures without add_code. */
#ifndef NO_ADD_CODE

enum {
    ARENA_PAGES,
    ARENA_FLIP_ONE,
    ARENA_FLIP_BATCH,
#if MP_HAVE_DUAL
    ARENA_DUAL_ONE,
    ARENA_DUAL_BATCH,
#endif
    ARENA_COUNT
};
static const char *const arena_names[ARENA_COUNT] = {
    "a page set per function",   "arena flip, one at a time",  "arena flip, batches of 100",
#if MP_HAVE_DUAL
    "arena dual, one at a time", "arena dual, batches of 100",
#endif
};

#define ARENA_BATCH 100

typedef struct arena_ctx {
    size_t functions;
    size_t mappings[ARENA_COUNT]; /* the arena's mappings at the end of the last run */
} arena_ctx;

/* The size of function i: 16 to 256 bytes, spread by a multiplicative hash. */
static size_t fn_size(size_t i) {
    return 16 + (size_t)((i * 2654435761u) % 241);
}

/* Writes add_code, then traps up to size bytes. */
static void write_fn(uint8_t *w, size_t size) {
    memcpy(w, add_code, sizeof add_code);
    memset(w + sizeof add_code, 0xCC, size - sizeof add_code);
}

/* Calls f once and checks the sum. */
static bool call_fn(const binop_fn *f, size_t i) {
    int64_t r = 0;
    mp_status s = binop_fn_call(f, (int64_t)i, 1, &r);
    if (s != MP_OK) return status_fail("binop_fn_call", s);
    return r == (int64_t)i + 1 ? true : mpb_fail("arena: function %zu returned %" PRId64, i, r);
}

static bool arena_pages(size_t n, uint64_t *ns) {
    uint64_t start = mpb_clock_ns();
    for (size_t i = 0; i < n; i++) {
        mp_pages_rw rw;
        mp_pages_rx rx;
        binop_fn f;
        mp_status s = mp_pages_rw_new(fn_size(i), &rw);
        if (s != MP_OK) return status_fail("mp_pages_rw_new", s);
        write_fn(mp_pages_rw_data_mut(&rw), fn_size(i));
        if ((s = mp_pages_rw_into_rx(&rw, &rx)) != MP_OK) return status_fail("into_rx", s);
        if ((s = binop_fn_from(&rx, 0, &f)) != MP_OK) return status_fail("binop_fn_from", s);
        if (!call_fn(&f, i)) return false;
        if ((s = mp_pages_rx_free(&rx)) != MP_OK) return status_fail("mp_pages_rx_free", s);
    }
    *ns = mpb_clock_ns() - start;
    return true;
}

/* n functions through one arena of mode, batch at a time; the arena is made
 * and freed outside the timing. */
static bool arena_spans(mp_code_mode mode, size_t batch, size_t n, uint64_t *ns, size_t *mappings) {
    mp_code_arena_opts o = {0};
    o.mode = mode;
    mp_code_arena a;
    mp_status s = mp_code_arena_new(&o, &a);
    if (s != MP_OK) return status_fail("mp_code_arena_new", s);
    mp_code_span spans[ARENA_BATCH];
    bool ok = true;
    uint64_t start = mpb_clock_ns();
    for (size_t i = 0; ok && i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        for (size_t j = 0; ok && j < m; j++) {
            if ((s = mp_code_arena_alloc(&a, fn_size(i + j), &spans[j])) != MP_OK) {
                ok = status_fail("mp_code_arena_alloc", s);
                break;
            }
            write_fn(mp_code_span_write(&spans[j]), fn_size(i + j));
        }
        if (ok && (s = mp_code_arena_finalize(&a)) != MP_OK) ok = status_fail("finalize", s);
        for (size_t j = 0; ok && j < m; j++) {
            binop_fn f;
            if ((s = binop_fn_from_span(&spans[j], 0, &f)) != MP_OK) {
                ok = status_fail("binop_fn_from_span", s);
                break;
            }
            ok = call_fn(&f, i + j);
        }
        for (size_t j = 0; ok && j < m; j++) {
            if ((s = mp_code_arena_release(&a, &spans[j])) != MP_OK) ok = status_fail("release", s);
        }
    }
    *ns = mpb_clock_ns() - start;
    mp_code_stats st;
    if (ok && (s = mp_code_arena_stats(&a, &st)) != MP_OK) ok = status_fail("stats", s);
    if (ok) *mappings = st.mappings;
    s = mp_code_arena_free(&a);
    return s == MP_OK ? ok : status_fail("mp_code_arena_free", s);
}

static bool arena_run(void *ctx, size_t c, uint64_t *ns) {
    arena_ctx *x = (arena_ctx *)ctx;
    switch (c) {
    case ARENA_PAGES:
        return arena_pages(x->functions, &ns[0]);
    case ARENA_FLIP_ONE:
        return arena_spans(MP_CODE_FLIP, 1, x->functions, &ns[0], &x->mappings[c]);
    case ARENA_FLIP_BATCH:
        return arena_spans(MP_CODE_FLIP, ARENA_BATCH, x->functions, &ns[0], &x->mappings[c]);
#if MP_HAVE_DUAL
    case ARENA_DUAL_ONE:
        return arena_spans(MP_CODE_DUAL, 1, x->functions, &ns[0], &x->mappings[c]);
    case ARENA_DUAL_BATCH:
        return arena_spans(MP_CODE_DUAL, ARENA_BATCH, x->functions, &ns[0], &x->mappings[c]);
#endif
    default:
        return mpb_fail("arena: no contender %zu", c);
    }
}

#endif

static bool bench_arena(const mpb_opts *opts) {
#ifdef NO_ADD_CODE
    (void)opts;
    return mpb_fail("arena: no machine code for this architecture");
#else
    arena_ctx x = {opts->tiny ? 300 : 100000, {0}};
    printf("arena: %zu functions of 16-256 bytes: alloc, write, make runnable, call, release\n",
           x.functions);
    uint64_t best[ARENA_COUNT * MPB_MAX_METRICS];
    if (!mpb_interleave(opts, ARENA_COUNT, arena_run, &x, best)) return false;
    for (size_t c = 0; c < ARENA_COUNT; c++) {
        mpb_measure(opts, "arena", arena_names[c],
                    (double)best[c * MPB_MAX_METRICS] / (double)x.functions, "ns per function");
        if (c != ARENA_PAGES) {
            char what[96];
            snprintf(what, sizeof what, "%s: mappings at the end", arena_names[c]);
            mpb_measure(opts, "arena", what, (double)x.mappings[c], "mappings");
        }
    }
    double pages = (double)best[ARENA_PAGES * MPB_MAX_METRICS];
    mpb_ratio(opts, "arena", arena_names[ARENA_FLIP_BATCH], arena_names[ARENA_PAGES],
              (double)best[ARENA_FLIP_BATCH * MPB_MAX_METRICS] / pages, 1.0 / 200);
    mpb_ratio(opts, "arena", arena_names[ARENA_FLIP_ONE], arena_names[ARENA_PAGES],
              (double)best[ARENA_FLIP_ONE * MPB_MAX_METRICS] / pages, 0);
#if MP_HAVE_DUAL
    mpb_ratio(opts, "arena", arena_names[ARENA_DUAL_ONE], arena_names[ARENA_PAGES],
              (double)best[ARENA_DUAL_ONE * MPB_MAX_METRICS] / pages, 1.0 / 180);
    mpb_ratio(opts, "arena", arena_names[ARENA_DUAL_BATCH], arena_names[ARENA_PAGES],
              (double)best[ARENA_DUAL_BATCH * MPB_MAX_METRICS] / pages, 1.0 / 420);
#endif
    return true;
#endif
}

int main(int argc, char **argv) {
    mpb_opts opts;
    int status = mpb_init(argc, argv, "exec_bench", &opts);
    if (status != 0) return status;
    if (mpb_selected(&opts, "5")) bench_flip(&opts);
    if (mpb_selected(&opts, "6")) bench_call(&opts);
    if (mpb_selected(&opts, "near")) bench_near(&opts);
    if (mpb_selected(&opts, "query")) bench_query(&opts);
    if (mpb_selected(&opts, "dual")) bench_ready(&opts);
    if (mpb_selected(&opts, "arena")) bench_arena(&opts);
    return mpb_finish(&opts);
}
