/*
 * A PagedVec of this workspace's own struct, declared through
 * @memory_pages//gen:defs.bzl: it grows without moving, freezes read-only,
 * thaws, and reports bad input with a status.
 */
#include <string.h>

#include "check.h"
#include "segment_vecs.h"

int main(void) {
    segment_vec v;
    CHECK(segment_vec_new(&v) == MP_OK);
    struct segment s = {0, 0, "outside"};
    CHECK(segment_vec_push(&v, s) == MP_OK);
    const struct segment *first = segment_vec_at(&v, 0);
    for (int32_t i = 1; i < 100000; i++) {
        s.from = i;
        s.to = 2 * i;
        CHECK(segment_vec_push(&v, s) == MP_OK);
    }
    CHECK(segment_vec_len(&v) == 100000);
    CHECK(segment_vec_at(&v, 0) == first);
    CHECK(segment_vec_at(&v, 100000) == NULL);
    CHECK(segment_vec_pop(&v, NULL) == MP_OK);

    segment_vec_frozen f;
    CHECK(segment_vec_freeze(&v, &f) == MP_OK);
    CHECK(segment_vec_push(&v, s) != MP_OK);
    CHECK(segment_vec_frozen_len(&f) == 99999);
    CHECK(segment_vec_frozen_at(&f, 41)->to == 82);
    CHECK(strcmp(segment_vec_frozen_at(&f, 7)->label, "outside") == 0);

    CHECK(segment_vec_frozen_thaw(&f, &v) == MP_OK);
    CHECK(segment_vec_push(&v, s) == MP_OK);
    CHECK(segment_vec_free(&v) == MP_OK);
    CHECK(segment_vec_free(&v) != MP_OK);
    return check_failures == 0 ? 0 : 1;
}
