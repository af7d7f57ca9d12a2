/*
 * The comparison baseline most C programs would write instead of a
 * PagedVec: a vector of int32_t on malloc's heap whose capacity doubles
 * through realloc when it is full, starting at 16 elements. With glibc,
 * realloc of a large block (past the mmap threshold) moves its pages with
 * mremap instead of copying them, which makes this a strong baseline.
 */
#ifndef MEMORY_PAGES_BENCH_REALLOC_VEC_H
#define MEMORY_PAGES_BENCH_REALLOC_VEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct realloc_vec {
    int32_t *data;
    size_t len;
    size_t cap;
} realloc_vec;

/* Doubles the capacity of v. Returns false, leaving v as it was, when the
 * size overflows or realloc fails. */
static inline bool realloc_vec_grow(realloc_vec *v) {
    size_t cap = v->cap != 0 ? 2 * v->cap : 16;
    if (cap < v->cap || cap > SIZE_MAX / sizeof(int32_t)) return false;
    int32_t *data = (int32_t *)realloc(v->data, cap * sizeof(int32_t));
    if (data == NULL) return false;
    v->data = data;
    v->cap = cap;
    return true;
}

/* Appends x, growing when full. Returns false when it cannot grow. */
static inline bool realloc_vec_push(realloc_vec *v, int32_t x) {
    if (v->len == v->cap && !realloc_vec_grow(v)) return false;
    v->data[v->len++] = x;
    return true;
}

/* Frees v's memory and makes it empty. */
static inline void realloc_vec_free(realloc_vec *v) {
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_BENCH_REALLOC_VEC_H */
