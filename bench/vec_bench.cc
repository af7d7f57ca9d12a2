/*
 * PagedVec against what a user would otherwise pick (issue 5, workloads 1,
 * 2, 3, 4 and 7; issue 11, workload 8; docs/benchmarks.md has the results):
 *
 *   1  push 2^28 int32 into an empty vector, against filling a presized
 *      fresh mapping (the touch-fill limit), the same mapping filled with
 *      MADV_POPULATE_WRITE of 4 MiB chunks just ahead (populate-ahead fill,
 *      issue 13) or with each page of those chunks written first
 *      (touch-ahead fill: what pre-faulting costs where the kernel cannot
 *      populate), a realloc-doubling vector and std::vector; and the
 *      PagedVec after a reserve of all of it (issue 13: pushes into
 *      committed capacity pre-fault as growth does);
 *   7  the peak resident set while doing so (measured in the same runs),
 *      against the final size plus one pre-fault chunk;
 *   2  new + 1000 pushes + free, 20000 times, against the realloc vector,
 *      with the resident set the loop leaves behind;
 *   3  with_capacity of 48 MiB + one write + free, 2000 times, against
 *      malloc + free;
 *   4  building, random reads and a sequential scan over 1 GiB, with
 *      transparent huge pages asked for (MP_HUGE_TRY), left to the
 *      adaptive policy of runtime/vec.c (the default), and refused
 *      (MP_HUGE_NEVER: small pages, as before the policy); workload 1 has
 *      that "never huge" PagedVec too;
 *   8  push 16K int32 + clear, many times, into a vector that stays in the
 *      L2 cache: the cost of push's liveness check (issue 11), against the
 *      same loop without the check and against the realloc vector;
 *   9  reserve 16K int32, then 2000 rounds of clear + 16K pushes, against
 *      the realloc vector (issue 13: clear keeps the capacity).
 *
 * Containers of 1 GiB are made one after another and freed in between, so
 * the program never holds more than one (std::vector's growth briefly holds
 * 1.5 GiB). Every contender's result is checked outside the timed part; a
 * wrong one fails the program. Usage: vec_bench [--tiny] [--rounds N]
 * [--tsv FILE] [--only W,...] (bench/harness.h).
 *
 * The busy variant: with MPB_FRAGMENT_GIB=G in the environment, the program
 * first fragments memory (Fragment below: G GiB made resident in small
 * pages, then every other page given back, so that G GiB of free memory
 * become single pages that no huge page can use) and holds it while the
 * workloads run; it prints the free memory in blocks of a huge page or
 * more (/proc/buddyinfo) before and after.
 */
#include <sys/mman.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "bench/bench_vecs.h"
#include "bench/harness.h"
#include "bench/realloc_vec.h"

namespace {

/* Runs the callable f(contender, ns) through mpb_interleave. */
template <class F> bool Interleave(const mpb_opts *opts, size_t n, F &f, uint64_t *best) {
    mpb_run_fn run = [](void *ctx, size_t c, uint64_t *ns) {
        return (*static_cast<F *>(ctx))(c, ns);
    };
    return mpb_interleave(opts, n, run, &f, best);
}

/* The best time of metric m of contender c, from mpb_interleave's best[]. */
uint64_t Best(const uint64_t *best, size_t c, size_t m) {
    return best[c * MPB_MAX_METRICS + m];
}

double Ms(uint64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

double Ratio(uint64_t a, uint64_t b) {
    return static_cast<double>(a) / static_cast<double>(b);
}

double Mib(long kib) {
    return static_cast<double>(kib) / 1024.0;
}

/* Tells the compiler that p escapes and memory may be read through it, so
 * that it cannot drop an allocation that is written and freed unread. */
void Escape(const void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Checks that the n elements at data are 0, 1, ..., n-1. */
bool CheckSequence(const char *who, const int32_t *data, size_t len, size_t n) {
    if (len != n) return mpb_fail("%s: %zu elements instead of %zu", who, len, n);
    for (size_t i = 0; i < n; i++) {
        if (data[i] != static_cast<int32_t>(i))
            return mpb_fail("%s: element %zu is %" PRId32, who, i, data[i]);
    }
    return true;
}

/* Fails with the name of the call and its status. */
bool StatusFail(const char *what, mp_status s) {
    return mpb_fail("%s: %s", what, mp_status_str(s));
}

/* ---- Transparent huge pages: what smaps says ---- */

/* Returns the KiB of [p, p + len) backed by transparent huge pages, the
 * sum of AnonHugePages over the mappings of /proc/self/smaps that overlap
 * it, or -1 if smaps cannot be read; *refused (if not NULL) tells whether
 * the mapping that holds p + len - 1 refuses huge pages (VmFlags "nh": the
 * policy dropped them). */
long HugeKib(const void *p, size_t len, bool *refused = nullptr) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == nullptr) return -1;
    uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + len;
    bool inside = false, last = false;
    long kib = 0;
    char line[512];
    if (refused != nullptr) *refused = false;
    while (fgets(line, sizeof line, f) != nullptr) {
        unsigned long start, end, value;
        /* A mapping's first line is "start-end perms ..."; its fields
         * follow as "Name:   value kB", VmFlags last. */
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
            inside = start < hi && end > lo;
            last = start < hi && end >= hi;
        } else if (inside && sscanf(line, "AnonHugePages: %lu kB", &value) == 1) {
            kib += static_cast<long>(value);
        } else if (last && refused != nullptr && strncmp(line, "VmFlags:", 8) == 0) {
            *refused = strstr(line, " nh") != nullptr;
        }
    }
    fclose(f);
    return kib;
}

/* MiB of free memory in blocks of at least a huge page (2 MiB, order 9 of
 * 4 KiB pages), from /proc/buddyinfo; -1 where it cannot be read. */
long FreeHugeMib() {
    FILE *f = fopen("/proc/buddyinfo", "r");
    if (f == nullptr) return -1;
    char line[512];
    long mib = 0;
    while (fgets(line, sizeof line, f) != nullptr) {
        const char *p = strstr(line, "zone");
        long c[11];
        char zone[32];
        if (p != nullptr &&
            sscanf(p, "zone %31s %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", zone, &c[0], &c[1],
                   &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9], &c[10]) == 12) {
            mib += c[9] * 2 + c[10] * 4;
        }
    }
    fclose(f);
    return mib;
}

/* The busy variant: makes gib GiB resident in small pages, then gives back
 * every other page, so that what it took from the free blocks comes back
 * as single pages, and holds the rest until the program ends. */
bool Fragment(size_t gib) {
    const size_t len = gib << 30, page = mp_page_size();
    printf("busy: fragmenting %zu GiB; free in blocks of a huge page or more: %ld MiB\n", gib,
           FreeHugeMib());
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return mpb_fail("busy: mmap of %zu GiB failed", gib);
    unsigned char *b = static_cast<unsigned char *>(p);
#ifdef MADV_NOHUGEPAGE
    (void)madvise(b, len, MADV_NOHUGEPAGE);
#endif
    for (size_t off = 0; off < len; off += page)
        b[off] = 1;
    for (size_t off = page; off < len; off += 2 * page)
        (void)madvise(b + off, page, MADV_DONTNEED);
    printf("busy: %zu MiB held in every other page; free in blocks of a huge page or more: %ld "
           "MiB\n",
           len / 2 >> 20, FreeHugeMib());
    return true;
}

/* ---- Workloads 1 and 7: push 2^28 int32; peak resident set ---- */

enum {
    kLimit,
    kPopulateAhead,
    kTouchAhead,
    kPaged,
    kPagedSmall,
    kPagedReserved,
    kRealloc,
    kStd,
    kFillCount
};
const char *const kFillNames[kFillCount] = {
    "presized mapping",    "populate-ahead fill",    "touch-ahead fill", "PagedVec",
    "PagedVec never huge", "PagedVec after reserve", "realloc vector",   "std::vector"};

/* What the policy did in the PagedVec runs of workload 1: the most MiB in
 * huge pages, and in how many runs it dropped them. */
long fill_huge_kib;
int fill_runs, fill_dropped;

/* The pre-fault chunk of runtime/vec.c (docs/paged_vec.md): the most that
 * growth may populate ahead of the elements. */
constexpr size_t kChunkBytes = size_t{4} << 20;

/* Fills the n int32 of the fresh mapping a with 0 .. n-1, a chunk of
 * kChunkBytes at a time, first making each chunk resident: with
 * MADV_POPULATE_WRITE (Linux 5.14; on older kernels the chunk is left to
 * fault), or, with touch, by writing one byte of each page. */
void FillAhead(int32_t *a, size_t n, bool touch) {
    const size_t per_chunk = kChunkBytes / sizeof(int32_t), page = mp_page_size();
    for (size_t from = 0; from < n; from += per_chunk) {
        size_t to = from + per_chunk < n ? from + per_chunk : n;
        unsigned char *bytes = reinterpret_cast<unsigned char *>(a + from);
        size_t len = (to - from) * sizeof(int32_t);
        if (touch) {
            for (size_t off = 0; off < len; off += page)
                *static_cast<volatile unsigned char *>(bytes + off) = 0;
        } else {
#ifdef MADV_POPULATE_WRITE
            (void)madvise(bytes, len, MADV_POPULATE_WRITE);
#endif
        }
        for (size_t i = from; i < to; i++)
            a[i] = static_cast<int32_t>(i);
    }
}

/* Fills contender c with n elements 0 .. n-1, from empty, timing it into
 * *ns and the growth of the peak resident set into *peak_kib (-1 where it
 * cannot be measured); checks and frees the result untimed. */
bool FillOnce(size_t c, size_t n, uint64_t *ns, long *peak_kib) {
    bool reset = mpb_reset_peak_rss();
    long before = mpb_rss_kib();
    uint64_t start = mpb_clock_ns();
    bool ok = true;
    switch (c) {
    case kLimit:
    case kPopulateAhead:
    case kTouchAhead: {
        /* The touch-fill limit: memory that was never touched, written in
         * order, with no growth at all; and the same with each chunk made
         * resident just before it is written. */
        void *p = mmap(nullptr, n * sizeof(int32_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return mpb_fail("mmap of %zu int32 failed", n);
        int32_t *a = static_cast<int32_t *>(p);
        if (c == kLimit) {
            for (size_t i = 0; i < n; i++)
                a[i] = static_cast<int32_t>(i);
        } else {
            FillAhead(a, n, c == kTouchAhead);
        }
        *ns = mpb_clock_ns() - start;
        *peak_kib = mpb_peak_rss_kib() - before;
        ok = CheckSequence(kFillNames[c], a, n, n);
        munmap(p, n * sizeof(int32_t));
        break;
    }
    case kPaged:
    case kPagedSmall:
    case kPagedReserved: {
        /* Never huge: small pages only, as before the policy. After
         * reserve: the whole capacity committed up front, which pushes
         * pre-fault as they reach it (docs/paged_vec.md, "Pre-faulting"). */
        mp_vec_opts o;
        memset(&o, 0, sizeof o);
        o.huge = c == kPagedSmall ? MP_HUGE_NEVER : MP_HUGE_NO;
        i32_vec v;
        mp_status s = i32_vec_new_opts(&o, &v);
        if (s != MP_OK) return StatusFail("i32_vec_new_opts", s);
        if (c == kPagedReserved && (s = i32_vec_reserve(&v, n)) != MP_OK)
            return StatusFail("i32_vec_reserve", s);
        for (size_t i = 0; i < n && s == MP_OK; i++)
            s = i32_vec_push(&v, static_cast<int32_t>(i));
        *ns = mpb_clock_ns() - start;
        *peak_kib = mpb_peak_rss_kib() - before;
        ok = s == MP_OK ? CheckSequence(kFillNames[c], i32_vec_data(&v), i32_vec_len(&v), n)
                        : StatusFail("i32_vec_push", s);
        if (ok && c == kPaged) {
            bool dropped = false;
            long kib = HugeKib(i32_vec_data(&v), n * sizeof(int32_t), &dropped);
            if (kib > fill_huge_kib) fill_huge_kib = kib;
            fill_runs++;
            fill_dropped += dropped;
        }
        if ((s = i32_vec_free(&v)) != MP_OK) ok = StatusFail("i32_vec_free", s);
        break;
    }
    case kRealloc: {
        realloc_vec v = {nullptr, 0, 0};
        for (size_t i = 0; i < n && ok; i++)
            ok = realloc_vec_push(&v, static_cast<int32_t>(i));
        *ns = mpb_clock_ns() - start;
        *peak_kib = mpb_peak_rss_kib() - before;
        ok = ok ? CheckSequence(kFillNames[c], v.data, v.len, n)
                : mpb_fail("realloc vector: cannot grow past %zu", v.len);
        realloc_vec_free(&v);
        break;
    }
    case kStd: {
        try {
            std::vector<int32_t> v;
            for (size_t i = 0; i < n; i++)
                v.push_back(static_cast<int32_t>(i));
            *ns = mpb_clock_ns() - start;
            *peak_kib = mpb_peak_rss_kib() - before;
            ok = CheckSequence(kFillNames[c], v.data(), v.size(), n);
        } catch (const std::bad_alloc &) {
            ok = mpb_fail("std::vector: out of memory");
        }
        break;
    }
    }
    if (!reset) *peak_kib = -1;
    return ok;
}

bool BenchFill(const mpb_opts *opts) {
    size_t n = opts->tiny ? size_t{1} << 16 : size_t{1} << 28;
    long peak[kFillCount] = {0};
    bool peak_known = true;
    auto run = [&](size_t c, uint64_t *ns) {
        long kib = -1;
        if (!FillOnce(c, n, &ns[0], &kib)) return false;
        if (kib < 0) peak_known = false;
        if (kib > peak[c]) peak[c] = kib;
        return true;
    };
    printf("1/7: push %zu int32 into an empty vector; peak resident set while growing\n", n);
    uint64_t best[kFillCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kFillCount, run, best)) return false;
    for (size_t c = 0; c < kFillCount; c++)
        mpb_measure(opts, "1", kFillNames[c], Ms(Best(best, c, 0)), "ms");
    uint64_t paged = Best(best, kPaged, 0);
    mpb_ratio(opts, "1", "PagedVec", "presized mapping", Ratio(paged, Best(best, kLimit, 0)), 0.6);
    mpb_ratio(opts, "1", "PagedVec", "realloc vector", Ratio(paged, Best(best, kRealloc, 0)), 0.6);
    mpb_ratio(opts, "1", "PagedVec", "std::vector", Ratio(paged, Best(best, kStd, 0)), 0.25);
    mpb_ratio(opts, "1", "PagedVec", "populate-ahead fill",
              Ratio(paged, Best(best, kPopulateAhead, 0)), 1.1);
    /* Only reported: what the huge-page policy gains over small pages, and
     * what it did. */
    mpb_ratio(opts, "1", "PagedVec", "PagedVec never huge",
              Ratio(paged, Best(best, kPagedSmall, 0)), 0);
    /* Only reported: pushes into capacity reserve committed, against
     * growth, and against faulting the same pages in (before pushes
     * pre-faulted reserved capacity, it ran at the presized mapping's). */
    mpb_ratio(opts, "1", "PagedVec after reserve", "PagedVec",
              Ratio(Best(best, kPagedReserved, 0), paged), 0);
    mpb_ratio(opts, "1", "PagedVec after reserve", "presized mapping",
              Ratio(Best(best, kPagedReserved, 0), Best(best, kLimit, 0)), 0);
    mpb_measure(opts, "1", "PagedVec, most in huge pages", Mib(fill_huge_kib), "MiB");
    printf("  1   the policy dropped huge pages in %d of %d PagedVec runs\n", fill_dropped,
           fill_runs);
    /* Only reported: what populating saves over faulting, and what the
     * fallback of kernels without MADV_POPULATE_WRITE (touching) does. */
    mpb_ratio(opts, "1", "populate-ahead fill", "presized mapping",
              Ratio(Best(best, kPopulateAhead, 0), Best(best, kLimit, 0)), 0);
    mpb_ratio(opts, "1", "touch-ahead fill", "presized mapping",
              Ratio(Best(best, kTouchAhead, 0), Best(best, kLimit, 0)), 0);
    if (!peak_known) {
        printf("  7   peak resident set not measurable here (no /proc/self/clear_refs)\n");
        return true;
    }
    for (size_t c = 0; c < kFillCount; c++)
        mpb_measure(opts, "7", kFillNames[c], Mib(peak[c]), "MiB peak");
    for (size_t c : {kRealloc, kStd}) {
        mpb_ratio(opts, "7", "PagedVec peak", kFillNames[c],
                  static_cast<double>(peak[kPaged]) / static_cast<double>(peak[c]), 0);
    }
    /* The bound of docs/paged_vec.md: growth populates at most one chunk
     * ahead of the elements. */
    double bound_kib = static_cast<double>(n * sizeof(int32_t) + kChunkBytes) / 1024.0;
    mpb_ratio(opts, "7", "PagedVec peak", "final size + one chunk",
              static_cast<double>(peak[kPaged]) / bound_kib, 1.0);
    mpb_ratio(opts, "7", "PagedVec after reserve peak", "final size + one chunk",
              static_cast<double>(peak[kPagedReserved]) / bound_kib, 1.0);
    return true;
}

/* ---- Workload 2: new + 1000 pushes + free, many times ---- */

enum { kSmallPaged, kSmallRealloc, kSmallCount };
const char *const kSmallNames[kSmallCount] = {"PagedVec", "realloc vector"};

/* Makes, fills with 1000 elements and frees reps vectors of contender c. */
bool SmallOnce(size_t c, size_t reps, uint64_t *ns) {
    const size_t pushes = 1000;
    uint64_t start = mpb_clock_ns();
    for (size_t r = 0; r < reps; r++) {
        int32_t base = static_cast<int32_t>(r);
        const int32_t *data;
        size_t len;
        if (c == kSmallPaged) {
            i32_vec v;
            mp_status s = i32_vec_new(&v);
            for (size_t i = 0; i < pushes && s == MP_OK; i++)
                s = i32_vec_push(&v, base + static_cast<int32_t>(i));
            if (s != MP_OK) return StatusFail("i32_vec_push", s);
            data = i32_vec_data(&v);
            len = i32_vec_len(&v);
            bool right = len == pushes && data[len - 1] == base + static_cast<int32_t>(len - 1);
            if ((s = i32_vec_free(&v)) != MP_OK) return StatusFail("i32_vec_free", s);
            if (!right) return mpb_fail("PagedVec: wrong contents in round %zu", r);
        } else {
            realloc_vec v = {nullptr, 0, 0};
            bool ok = true;
            for (size_t i = 0; i < pushes && ok; i++)
                ok = realloc_vec_push(&v, base + static_cast<int32_t>(i));
            Escape(v.data);
            bool right = ok && v.len == pushes &&
                         v.data[v.len - 1] == base + static_cast<int32_t>(v.len - 1);
            realloc_vec_free(&v);
            if (!right) return mpb_fail("realloc vector: wrong contents in round %zu", r);
        }
    }
    *ns = mpb_clock_ns() - start;
    return true;
}

bool BenchSmall(const mpb_opts *opts) {
    size_t reps = opts->tiny ? 100 : 20000;
    long retained[kSmallCount] = {0}, peak[kSmallCount] = {0};
    bool peak_known = true;
    auto run = [&](size_t c, uint64_t *ns) {
        peak_known = mpb_reset_peak_rss() && peak_known;
        long before = mpb_rss_kib();
        if (!SmallOnce(c, reps, &ns[0])) return false;
        long kept = mpb_rss_kib() - before, top = mpb_peak_rss_kib() - before;
        if (kept > retained[c]) retained[c] = kept;
        if (top > peak[c]) peak[c] = top;
        return true;
    };
    printf("2: new + 1000 pushes + free, %zu times; resident set left behind and peak\n", reps);
    uint64_t best[kSmallCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kSmallCount, run, best)) return false;
    for (size_t c = 0; c < kSmallCount; c++) {
        mpb_measure(opts, "2", kSmallNames[c], Ms(Best(best, c, 0)), "ms");
        mpb_measure(opts, "2", kSmallNames[c], static_cast<double>(retained[c]), "KiB retained");
        if (peak_known)
            mpb_measure(opts, "2", kSmallNames[c], static_cast<double>(peak[c]), "KiB peak");
    }
    mpb_ratio(opts, "2", "PagedVec", "realloc vector",
              Ratio(Best(best, kSmallPaged, 0), Best(best, kSmallRealloc, 0)), 2.0);
    return true;
}

/* ---- Workload 3: with_capacity of 48 MiB + one write + free ---- */

enum { kBigPaged, kBigMalloc, kBigCount };
const char *const kBigNames[kBigCount] = {"PagedVec with_capacity", "malloc"};

bool BenchBig(const mpb_opts *opts) {
    const size_t bytes = size_t{48} << 20, n = bytes / sizeof(int32_t);
    size_t reps = opts->tiny ? 10 : 2000;
    auto run = [&](size_t c, uint64_t *ns) {
        uint64_t sum = 0, start = mpb_clock_ns();
        for (size_t r = 0; r < reps; r++) {
            int32_t x = static_cast<int32_t>(r);
            if (c == kBigPaged) {
                i32_vec v;
                mp_status s = i32_vec_with_capacity(n, &v);
                if (s != MP_OK) return StatusFail("i32_vec_with_capacity", s);
                if ((s = i32_vec_push(&v, x)) != MP_OK) return StatusFail("i32_vec_push", s);
                sum += static_cast<uint64_t>(*i32_vec_at(&v, 0));
                if ((s = i32_vec_free(&v)) != MP_OK) return StatusFail("i32_vec_free", s);
            } else {
                int32_t *p = static_cast<int32_t *>(malloc(bytes));
                if (p == nullptr) return mpb_fail("malloc of 48 MiB failed");
                p[0] = x;
                Escape(p);
                sum += static_cast<uint64_t>(p[0]);
                free(p);
            }
        }
        ns[0] = mpb_clock_ns() - start;
        uint64_t want = static_cast<uint64_t>(reps) * (reps - 1) / 2;
        if (sum != want) return mpb_fail("%s: read back the wrong values", kBigNames[c]);
        return true;
    };
    printf("3: with_capacity of 48 MiB + one write + free, %zu times\n", reps);
    uint64_t best[kBigCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kBigCount, run, best)) return false;
    for (size_t c = 0; c < kBigCount; c++)
        mpb_measure(opts, "3", kBigNames[c], Ms(Best(best, c, 0)), "ms");
    mpb_ratio(opts, "3", "PagedVec with_capacity", "malloc",
              Ratio(Best(best, kBigPaged, 0), Best(best, kBigMalloc, 0)), 1.0);
    return true;
}

/* ---- Workload 4: 1 GiB with and without transparent huge pages ---- */

enum { kHugeNever, kPolicy, kHugeOn, kHugeCount };
const char *const kHugeNames[kHugeCount] = {"PagedVec never huge", "PagedVec policy",
                                            "PagedVec huge on"};
enum { kBuild, kRandom, kScan };

/* The next value of a xorshift64 generator. */
uint64_t Next(uint64_t x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

bool BenchHuge(const mpb_opts *opts) {
    size_t n = opts->tiny ? size_t{1} << 16 : size_t{1} << 28;
    size_t reads = opts->tiny ? size_t{1} << 12 : size_t{1} << 24;
    const uint64_t seed = 0x9E3779B97F4A7C15u;
    uint64_t want_random = 0;
    uint64_t x = seed;
    for (size_t k = 0; k < reads; k++) {
        x = Next(x);
        want_random += x & (n - 1);
    }
    long huge_kib[kHugeCount] = {0};
    int dropped = 0, policy_runs = 0;
    auto run = [&](size_t c, uint64_t *ns) {
        mp_vec_opts o;
        memset(&o, 0, sizeof o);
        o.huge = c == kHugeOn ? MP_HUGE_TRY : c == kHugeNever ? MP_HUGE_NEVER : MP_HUGE_NO;
        uint64_t start = mpb_clock_ns();
        i32_vec v;
        mp_status s = i32_vec_new_opts(&o, &v);
        if (s != MP_OK) return StatusFail("i32_vec_new_opts", s);
        for (size_t i = 0; i < n && s == MP_OK; i++)
            s = i32_vec_push(&v, static_cast<int32_t>(i));
        ns[kBuild] = mpb_clock_ns() - start;
        bool ok = s == MP_OK ? CheckSequence(kHugeNames[c], i32_vec_data(&v), i32_vec_len(&v), n)
                             : StatusFail("i32_vec_push", s);
        const int32_t *data = i32_vec_data(&v);
        if (ok) {
            bool refused = false;
            huge_kib[c] = HugeKib(data, n * sizeof(int32_t), &refused);
            if (c == kPolicy) {
                policy_runs++;
                dropped += refused;
            }
            uint64_t sum = 0, x = seed;
            start = mpb_clock_ns();
            for (size_t k = 0; k < reads; k++) {
                x = Next(x);
                sum += static_cast<uint32_t>(data[x & (n - 1)]);
            }
            ns[kRandom] = mpb_clock_ns() - start;
            if (sum != want_random) ok = mpb_fail("%s: random reads summed wrong", kHugeNames[c]);
            sum = 0;
            start = mpb_clock_ns();
            for (size_t i = 0; i < n; i++)
                sum += static_cast<uint32_t>(data[i]);
            ns[kScan] = mpb_clock_ns() - start;
            if (sum != static_cast<uint64_t>(n) * (n - 1) / 2)
                ok = mpb_fail("%s: the scan summed wrong", kHugeNames[c]);
        }
        if ((s = i32_vec_free(&v)) != MP_OK) ok = StatusFail("i32_vec_free", s);
        return ok;
    };
    printf("4: %zu int32 (push to build, %zu random reads, a scan): huge pages never, the "
           "policy, huge pages asked for\n",
           n, reads);
    uint64_t best[kHugeCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kHugeCount, run, best)) return false;
    const char *const metric[] = {"build", "random reads", "scan"};
    for (size_t c = 0; c < kHugeCount; c++) {
        char what[96];
        for (size_t m : {kBuild, kRandom, kScan}) {
            snprintf(what, sizeof what, "%s, %s", kHugeNames[c], metric[m]);
            mpb_measure(opts, "4", what, Ms(Best(best, c, m)), "ms");
        }
        snprintf(what, sizeof what, "%s, in huge pages", kHugeNames[c]);
        mpb_measure(opts, "4", what, Mib(huge_kib[c]), "MiB");
    }
    printf("  4   the policy dropped huge pages in %d of %d runs\n", dropped, policy_runs);
    for (size_t m : {kBuild, kRandom, kScan}) {
        char on[64], policy[64], off[64];
        snprintf(on, sizeof on, "huge on, %s", metric[m]);
        snprintf(policy, sizeof policy, "policy, %s", metric[m]);
        snprintf(off, sizeof off, "never huge, %s", metric[m]);
        mpb_ratio(opts, "4", on, off, Ratio(Best(best, kHugeOn, m), Best(best, kHugeNever, m)), 0);
        mpb_ratio(opts, "4", policy, off, Ratio(Best(best, kPolicy, m), Best(best, kHugeNever, m)),
                  0);
    }
    return true;
}

/* ---- Workload 8: push 16K int32 + clear into a vector in the L2 cache ---- */

/* The fast path of i32_vec_push as it was before issue 11: no liveness
 * check, so a stale copy of the vector could write into memory that was
 * freed, frozen or reused. It is kept here only to measure what the check
 * costs, works on the same i32_vec's raw_ field, and must not be used
 * anywhere else. */
inline mp_status UncheckedPush(i32_vec *v, int32_t x) {
    size_t len = v->raw_.len;
    if (len >= v->raw_.cap) {
        mp__vec w = v->raw_;
        mp_status s = mp__vec_grow(&w, sizeof(int32_t));
        v->raw_ = w;
        if (s != MP_OK) return s;
    }
    static_cast<int32_t *>(static_cast<void *>(v->raw_.data))[len] = x;
    v->raw_.len = len + 1;
    return MP_OK;
}

enum { kWarmChecked, kWarmUnchecked, kWarmRealloc, kWarmCount };
const char *const kWarmNames[kWarmCount] = {
    "PagedVec push (checked)", "PagedVec push (unchecked, pre-issue-11)", "realloc vector"};

/* Checks that the n elements at data are base, base + 1, ..., base + n - 1. */
bool CheckRound(const char *who, const int32_t *data, size_t len, size_t n, int32_t base) {
    if (len != n) return mpb_fail("%s: %zu elements instead of %zu", who, len, n);
    for (size_t i = 0; i < n; i++) {
        if (data[i] != base + static_cast<int32_t>(i))
            return mpb_fail("%s: element %zu is %" PRId32, who, i, data[i]);
    }
    return true;
}

/* Fills the i32_vec v with n elements base + i through push (the checked
 * one, or UncheckedPush), reps times, clearing it in between, and times
 * that into *ns. Leaves the last round's elements in v. */
template <bool kChecked> bool WarmPagedOnce(i32_vec *v, size_t n, size_t reps, uint64_t *ns) {
    mp_status s = MP_OK;
    uint64_t start = mpb_clock_ns();
    for (size_t r = 0; r < reps && s == MP_OK; r++) {
        int32_t base = static_cast<int32_t>(r);
        if ((s = i32_vec_clear(v)) != MP_OK) return StatusFail("i32_vec_clear", s);
        for (size_t i = 0; i < n && s == MP_OK; i++) {
            int32_t x = base + static_cast<int32_t>(i);
            s = kChecked ? i32_vec_push(v, x) : UncheckedPush(v, x);
        }
    }
    *ns = mpb_clock_ns() - start;
    return s == MP_OK ? true : StatusFail("i32_vec_push", s);
}

bool BenchWarm(const mpb_opts *opts) {
    const size_t n = 16384;
    size_t reps = opts->tiny ? 10 : 20000;
    const int32_t last = static_cast<int32_t>(reps - 1);
    auto run = [&](size_t c, uint64_t *ns) {
        if (c == kWarmRealloc) {
            /* Capacity for n elements made outside the timed part, as for
             * the PagedVec; setting len to 0 is its clear, which keeps the
             * capacity. */
            realloc_vec v = {nullptr, 0, 0};
            while (v.cap < n) {
                if (!realloc_vec_grow(&v)) return mpb_fail("realloc vector: cannot grow");
            }
            bool ok = true;
            uint64_t start = mpb_clock_ns();
            for (size_t r = 0; r < reps && ok; r++) {
                int32_t base = static_cast<int32_t>(r);
                v.len = 0;
                for (size_t i = 0; i < n && ok; i++)
                    ok = realloc_vec_push(&v, base + static_cast<int32_t>(i));
                /* Every round's elements count as read, so that the
                 * compiler cannot drop the stores of one round because the
                 * next overwrites them. */
                Escape(v.data);
            }
            ns[0] = mpb_clock_ns() - start;
            ok = ok ? CheckRound(kWarmNames[c], v.data, v.len, n, last)
                    : mpb_fail("realloc vector: cannot grow past %zu", v.len);
            realloc_vec_free(&v);
            return ok;
        }
        /* with_capacity, not new + reserve: clear keeps the capacity the
         * vector was made with, so the 16K elements' pages stay committed
         * from round to round. Today a vector made with i32_vec_new and
         * then reserved would give those pages back at every clear (issue
         * 13 changes that). */
        i32_vec v;
        mp_status s = i32_vec_with_capacity(n, &v);
        if (s != MP_OK) return StatusFail("i32_vec_with_capacity", s);
        bool ok = c == kWarmChecked ? WarmPagedOnce<true>(&v, n, reps, &ns[0])
                                    : WarmPagedOnce<false>(&v, n, reps, &ns[0]);
        if (ok) ok = CheckRound(kWarmNames[c], i32_vec_data(&v), i32_vec_len(&v), n, last);
        if ((s = i32_vec_free(&v)) != MP_OK) ok = StatusFail("i32_vec_free", s);
        return ok;
    };
    printf("8: push %zu int32 + clear, %zu times, into a vector that stays in the L2 cache\n", n,
           reps);
    uint64_t best[kWarmCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kWarmCount, run, best)) return false;
    for (size_t c = 0; c < kWarmCount; c++)
        mpb_measure(opts, "8", kWarmNames[c], Ms(Best(best, c, 0)), "ms");
    uint64_t checked = Best(best, kWarmChecked, 0);
    mpb_ratio(opts, "8", kWarmNames[kWarmChecked], kWarmNames[kWarmUnchecked],
              Ratio(checked, Best(best, kWarmUnchecked, 0)), 1.3);
    mpb_ratio(opts, "8", kWarmNames[kWarmChecked], kWarmNames[kWarmRealloc],
              Ratio(checked, Best(best, kWarmRealloc, 0)), 1.3);
    /* Only reported: how the loop without the check compares with the
     * realloc vector, which tells what the check costs apart from the rest
     * of the generated code. */
    mpb_ratio(opts, "8", kWarmNames[kWarmUnchecked], kWarmNames[kWarmRealloc],
              Ratio(Best(best, kWarmUnchecked, 0), Best(best, kWarmRealloc, 0)), 0);
    return true;
}

/* ---- Workload 9: reserve, then clear and refill (issue 13) ---- */

enum { kRefillPaged, kRefillRealloc, kRefillCount };
const char *const kRefillNames[kRefillCount] = {"PagedVec reserve + clear", "realloc vector"};

/* Reserves room for n int32 in an empty vector of contender c, outside the
 * timed part, then times reps rounds of clear + n pushes of base + i into
 * *ns, and checks the last round. A buffer refilled every frame: since
 * issue 13 clear keeps the capacity, so no round after the first should
 * pay a system call or a page fault. Today's V_new + V_reserve is the
 * case, not V_with_capacity (whose capacity clear always kept). */
bool RefillOnce(size_t c, size_t n, size_t reps, uint64_t *ns) {
    const int32_t last = static_cast<int32_t>(reps - 1);
    if (c == kRefillRealloc) {
        realloc_vec v = {nullptr, 0, 0};
        while (v.cap < n) {
            if (!realloc_vec_grow(&v)) return mpb_fail("realloc vector: cannot grow");
        }
        bool ok = true;
        uint64_t start = mpb_clock_ns();
        for (size_t r = 0; r < reps && ok; r++) {
            int32_t base = static_cast<int32_t>(r);
            v.len = 0;
            for (size_t i = 0; i < n && ok; i++)
                ok = realloc_vec_push(&v, base + static_cast<int32_t>(i));
            Escape(v.data);
        }
        *ns = mpb_clock_ns() - start;
        ok = ok ? CheckRound(kRefillNames[c], v.data, v.len, n, last)
                : mpb_fail("realloc vector: cannot grow past %zu", v.len);
        realloc_vec_free(&v);
        return ok;
    }
    i32_vec v;
    mp_status s = i32_vec_new(&v);
    if (s == MP_OK) s = i32_vec_reserve(&v, n);
    if (s != MP_OK) return StatusFail("i32_vec_reserve", s);
    uint64_t start = mpb_clock_ns();
    for (size_t r = 0; r < reps && s == MP_OK; r++) {
        int32_t base = static_cast<int32_t>(r);
        if ((s = i32_vec_clear(&v)) != MP_OK) break;
        for (size_t i = 0; i < n && s == MP_OK; i++)
            s = i32_vec_push(&v, base + static_cast<int32_t>(i));
    }
    *ns = mpb_clock_ns() - start;
    bool ok = s == MP_OK ? CheckRound(kRefillNames[c], i32_vec_data(&v), i32_vec_len(&v), n, last)
                         : StatusFail("i32_vec_clear or i32_vec_push", s);
    if ((s = i32_vec_free(&v)) != MP_OK) ok = StatusFail("i32_vec_free", s);
    return ok;
}

bool BenchRefill(const mpb_opts *opts) {
    const size_t n = 16384;
    size_t reps = opts->tiny ? 10 : 2000;
    auto run = [&](size_t c, uint64_t *ns) { return RefillOnce(c, n, reps, &ns[0]); };
    printf("9: reserve %zu int32, then clear + %zu pushes, %zu times\n", n, n, reps);
    uint64_t best[kRefillCount * MPB_MAX_METRICS];
    if (!Interleave(opts, kRefillCount, run, best)) return false;
    for (size_t c = 0; c < kRefillCount; c++)
        mpb_measure(opts, "9", kRefillNames[c], Ms(Best(best, c, 0)), "ms");
    mpb_ratio(opts, "9", kRefillNames[kRefillPaged], kRefillNames[kRefillRealloc],
              Ratio(Best(best, kRefillPaged, 0), Best(best, kRefillRealloc, 0)), 1.3);
    return true;
}

} // namespace

int main(int argc, char **argv) {
    mpb_opts opts;
    int status = mpb_init(argc, argv, "vec_bench", &opts);
    if (status != 0) return status;
    const char *busy = getenv("MPB_FRAGMENT_GIB");
    if (busy != nullptr && !Fragment(strtoul(busy, nullptr, 10))) return 1;
    /* Each workload runs even when an earlier one failed, so that one run
     * shows every failure. */
    if (mpb_selected(&opts, "1") || mpb_selected(&opts, "7")) BenchFill(&opts);
    if (mpb_selected(&opts, "2")) BenchSmall(&opts);
    if (mpb_selected(&opts, "3")) BenchBig(&opts);
    if (mpb_selected(&opts, "4")) BenchHuge(&opts);
    if (mpb_selected(&opts, "8")) BenchWarm(&opts);
    if (mpb_selected(&opts, "9")) BenchRefill(&opts);
    return mpb_finish(&opts);
}
