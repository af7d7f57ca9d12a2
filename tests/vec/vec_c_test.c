/*
 * The generated PagedVec header compiles as C11 with -pedantic, and its
 * calls work from C: a short run through the API, with a struct element,
 * a pointer element (whose const-qualified accessors must come out right)
 * and a scalar one. Exits non-zero, naming the check, on the first failure.
 */
#include <stdio.h>
#include <string.h>

#include "tests/vec/c_vecs.h"

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void points(void) {
    point_vec v;
    CHECK(point_vec_new(&v) == MP_OK);
    for (int i = 0; i < 10000; i++) {
        struct point p = {i, -i};
        CHECK(point_vec_push(&v, p) == MP_OK);
    }
    CHECK(point_vec_len(&v) == 10000);
    CHECK(point_vec_capacity(&v) >= 10000);
    CHECK(point_vec_at(&v, 9999)->y == -9999);
    CHECK(point_vec_at(&v, 10000) == NULL);
    struct point out;
    CHECK(point_vec_remove(&v, 0, &out) == MP_OK && out.x == 0);
    CHECK(point_vec_swap_remove(&v, 0, &out) == MP_OK && out.x == 1);
    CHECK(point_vec_at(&v, 0)->x == 9999);
    struct point fill = {7, 7};
    CHECK(point_vec_resize(&v, 20000, fill) == MP_OK);
    CHECK(point_vec_at_mut(&v, 19999)->x == 7);
    CHECK(point_vec_truncate(&v, 5) == MP_OK);
    CHECK(point_vec_insert(&v, 5, fill) == MP_OK);
    CHECK(point_vec_extend(&v, point_vec_data(&v), 6) == MP_OK);
    CHECK(point_vec_len(&v) == 12);
    CHECK(point_vec_shrink_to_fit(&v) == MP_OK);
    CHECK(point_vec_reserve(&v, 100) == MP_OK && point_vec_capacity(&v) >= 112);
    point_vec_frozen f;
    CHECK(point_vec_freeze(&v, &f) == MP_OK);
    CHECK(point_vec_push(&v, fill) == MP_ESTALE);
    CHECK(point_vec_frozen_len(&f) == 12);
    CHECK(point_vec_frozen_at(&f, 5)->x == 7);
    CHECK(point_vec_frozen_data(&f)[0].x == 9999);
    CHECK(point_vec_frozen_thaw(&f, &v) == MP_OK);
    CHECK(point_vec_frozen_len(&f) == 0);
    CHECK(point_vec_pop(&v, &out) == MP_OK && point_vec_len(&v) == 11);
    CHECK(point_vec_clear(&v) == MP_OK && point_vec_len(&v) == 0);
    CHECK(point_vec_free(&v) == MP_OK);
    CHECK(point_vec_free(&v) == MP_ESTALE);
}

static void names(void) {
    name_vec v;
    mp_vec_opts opts = {0};
    opts.capacity = 2;
    opts.max_capacity = 100;
    opts.guard = true;
    CHECK(name_vec_new_opts(&opts, &v) == MP_OK);
    CHECK(name_vec_push(&v, "first") == MP_OK);
    CHECK(name_vec_push(&v, "second") == MP_OK);
    const char *const *at = name_vec_at(&v, 1);
    CHECK(at != NULL && strcmp(*at, "second") == 0);
    const char **mut = name_vec_at_mut(&v, 0);
    *mut = "changed";
    CHECK(strcmp(name_vec_data(&v)[0], "changed") == 0);
    CHECK(name_vec_free(&v) == MP_OK);
}

static void scalars(void) {
    u32_vec v;
    CHECK(u32_vec_with_capacity(100, &v) == MP_OK);
    for (uint32_t i = 0; i < 1000000; i++)
        CHECK(u32_vec_push(&v, i) == MP_OK);
    uint64_t sum = 0;
    for (size_t i = 0; i < u32_vec_len(&v); i++)
        sum += u32_vec_data(&v)[i];
    CHECK(sum == 499999500000u);
    CHECK(u32_vec_free(&v) == MP_OK);
}

/* The functions of issue 13 from C, and V_INIT as a static and an automatic
 * initializer. */
static u32_vec static_vec = u32_vec_INIT;

static void api13(void) {
    CHECK(u32_vec_push(&static_vec, 1) == MP_OK && u32_vec_len(&static_vec) == 1);
    CHECK(u32_vec_free(&static_vec) == MP_OK);
    u32_vec v = u32_vec_INIT;
    CHECK(u32_vec_free(&v) == MP_OK && u32_vec_free(&v) == MP_OK);
    CHECK(u32_vec_push_within_capacity(&v, 1) == MP_ENOMEM);
    CHECK(u32_vec_reserve_exact(&v, 3) == MP_OK);
    size_t cap = u32_vec_capacity(&v);
    for (size_t i = 0; i < cap; i++)
        CHECK(u32_vec_push_within_capacity(&v, (uint32_t)i) == MP_OK);
    CHECK(u32_vec_push_within_capacity(&v, 0) == MP_ENOMEM);
    uint32_t src[3] = {100, 101, 102};
    CHECK(u32_vec_insert_n(&v, 1, src, 3) == MP_OK && *u32_vec_at(&v, 3) == 102);
    CHECK(u32_vec_insert_n(&v, 0, u32_vec_data(&v), 1) == MP_EINVAL);
    uint32_t out[2];
    CHECK(u32_vec_remove_range(&v, 1, 3, out) == MP_OK && out[0] == 100 && out[1] == 101);
    CHECK(u32_vec_remove_range(&v, 0, 0, NULL) == MP_OK);
    u32_vec c;
    CHECK(u32_vec_clone(&v, &c) == MP_OK && u32_vec_len(&c) == u32_vec_len(&v));
    CHECK(*u32_vec_at(&c, 1) == 102);
    CHECK(u32_vec_clear(&v) == MP_OK && u32_vec_capacity(&v) >= cap);
    CHECK(u32_vec_free(&c) == MP_OK);
    CHECK(u32_vec_free(&v) == MP_OK);
}

int main(void) {
    points();
    names();
    scalars();
    api13();
    if (failures != 0) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
