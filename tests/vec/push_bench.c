/*
 * A quick measurement, not a test: the time to push 10^8 uint32_t into a
 * PagedVec against a realloc-doubling vector and against stores into an
 * array allocated up front, side by side in one run, best of several
 * rounds; and the cost of a small vector's life (make, 16 pushes, free)
 * against malloc. Timing varies with the machine's load, so only ratios
 * from one run mean anything.
 *
 *   bazel run -c opt //tests/vec:push_bench -- [pushes] [rounds]
 */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/vec/bench_vecs.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Keeps the compiler from dropping the work whose result is unused. */
static volatile uint32_t sink;

/* The plain C vector that most programs write: doubling with realloc. */
typedef struct {
    uint32_t *data;
    size_t len, cap;
} realloc_vec;

static int realloc_push(realloc_vec *v, uint32_t x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        uint32_t *p = realloc(v->data, cap * sizeof *p);
        if (p == NULL) return -1;
        v->data = p;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

static double bench_paged(size_t n, const mp_vec_opts *opts) {
    double t = now();
    u32_vec v;
    if (u32_vec_new_opts(opts, &v) != MP_OK) return -1;
    for (size_t i = 0; i < n; i++) {
        if (u32_vec_push(&v, (uint32_t)i) != MP_OK) return -1;
    }
    sink = *u32_vec_at(&v, n / 2);
    u32_vec_free(&v);
    return now() - t;
}

static double bench_realloc(size_t n) {
    double t = now();
    realloc_vec v = {NULL, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (realloc_push(&v, (uint32_t)i) != 0) return -1;
    }
    sink = v.data[n / 2];
    free(v.data);
    return now() - t;
}

static double bench_array(size_t n) {
    double t = now();
    uint32_t *a = malloc(n * sizeof *a);
    if (a == NULL) return -1;
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    sink = a[n / 2];
    free(a);
    return now() - t;
}

/* The push loop alone, into pages that are already resident: the inline
 * fast path against plain stores. */
static double bench_refill_paged(size_t n) {
    u32_vec v;
    if (u32_vec_with_capacity(n, &v) != MP_OK) return -1;
    for (size_t i = 0; i < n; i++)
        u32_vec_push(&v, (uint32_t)i);
    u32_vec_truncate(&v, 0);
    double t = now();
    for (size_t i = 0; i < n; i++) {
        if (u32_vec_push(&v, (uint32_t)i) != MP_OK) return -1;
    }
    t = now() - t;
    sink = *u32_vec_at(&v, n / 2);
    u32_vec_free(&v);
    return t;
}

static double bench_refill_realloc(size_t n) {
    realloc_vec v = {NULL, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (realloc_push(&v, (uint32_t)i) != 0) return -1;
    }
    v.len = 0;
    double t = now();
    for (size_t i = 0; i < n; i++) {
        if (realloc_push(&v, (uint32_t)i) != 0) return -1;
    }
    t = now() - t;
    sink = v.data[n / 2];
    free(v.data);
    return t;
}

static double bench_refill_array(size_t n) {
    uint32_t *a = malloc(n * sizeof *a);
    if (a == NULL) return -1;
    memset(a, 1, n * sizeof *a);
    double t = now();
    for (size_t i = 0; i < n; i++)
        a[i] = (uint32_t)i;
    t = now() - t;
    sink = a[n / 2];
    free(a);
    return t;
}

enum { SMALL_LIVES = 20000, SMALL_PUSHES = 16 };

static double bench_small_paged(void) {
    double t = now();
    for (int k = 0; k < SMALL_LIVES; k++) {
        u32_vec v;
        u32_vec_new(&v);
        for (uint32_t i = 0; i < SMALL_PUSHES; i++)
            u32_vec_push(&v, i);
        sink = *u32_vec_at(&v, 3);
        u32_vec_free(&v);
    }
    return (now() - t) / SMALL_LIVES;
}

static double bench_small_realloc(void) {
    double t = now();
    for (int k = 0; k < SMALL_LIVES; k++) {
        realloc_vec v = {NULL, 0, 0};
        for (uint32_t i = 0; i < SMALL_PUSHES; i++)
            realloc_push(&v, i);
        sink = v.data[3];
        free(v.data);
    }
    return (now() - t) / SMALL_LIVES;
}

static void keep_best(double *best, double t) {
    if (t >= 0 && (*best < 0 || t < *best)) *best = t;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    mp_vec_opts plain, huge, upfront;
    memset(&plain, 0, sizeof plain);
    huge = plain;
    huge.huge = MP_HUGE_TRY;
    upfront = plain;
    upfront.capacity = n;
    double best[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    for (int r = 0; r < rounds; r++) {
        /* Interleaved, so that load on the machine hits them alike. */
        keep_best(&best[0], bench_paged(n, &plain));
        keep_best(&best[1], bench_realloc(n));
        keep_best(&best[2], bench_array(n));
        keep_best(&best[3], bench_paged(n, &huge));
        keep_best(&best[4], bench_paged(n, &upfront));
        keep_best(&best[5], bench_small_paged());
        keep_best(&best[6], bench_small_realloc());
        keep_best(&best[7], bench_refill_paged(n));
        keep_best(&best[8], bench_refill_array(n));
        keep_best(&best[9], bench_refill_realloc(n));
    }
    printf("push %zu uint32_t, best of %d rounds:\n", n, rounds);
    printf("  PagedVec (u32_vec_new)           %8.3f s  %5.2fx realloc\n", best[0],
           best[0] / best[1]);
    printf("  realloc-doubling vector          %8.3f s\n", best[1]);
    printf("  stores into a malloc'd array     %8.3f s  %5.2fx realloc\n", best[2],
           best[2] / best[1]);
    printf("  PagedVec, huge = MP_HUGE_TRY     %8.3f s  %5.2fx realloc\n", best[3],
           best[3] / best[1]);
    printf("  PagedVec, capacity n up front    %8.3f s  %5.2fx realloc\n", best[4],
           best[4] / best[1]);
    printf("the same pushes into resident pages (the loop alone):\n");
    printf("  PagedVec push                    %8.3f s  %5.2fx array\n", best[7],
           best[7] / best[8]);
    printf("  realloc-doubling vector push     %8.3f s  %5.2fx array\n", best[9],
           best[9] / best[8]);
    printf("  stores into an array             %8.3f s\n", best[8]);
    printf("life of a small vector (new, %d pushes, free), best of %d rounds of %d:\n",
           SMALL_PUSHES, rounds, SMALL_LIVES);
    printf("  PagedVec                         %8.2f us\n", best[5] * 1e6);
    printf("  realloc-doubling vector          %8.2f us\n", best[6] * 1e6);
    return 0;
}
