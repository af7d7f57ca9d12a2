/*
 * PagedVecs of element types whose headers the paged_vec_library names by
 * labels (a subpackage's header, a generated header, another repository's
 * header): compiling this proves the generated header includes each by a
 * path that resolves, since pushing by value needs the complete types, and
 * running it checks that the elements come back as pushed.
 */
#include "check.h"
#include "label_vecs.h"

int main(void) {
    geo_point_vec points;
    color_vec colors;
    circle_vec circles;
    CHECK(geo_point_vec_new(&points) == MP_OK);
    CHECK(color_vec_new(&colors) == MP_OK);
    CHECK(circle_vec_new(&circles) == MP_OK);
    for (int32_t i = 0; i < 1000; i++) {
        struct geo_point p = {i, -i, 2 * i};
        struct color c = {(unsigned char)i, 1, 2};
        struct circle k = {0.5 * i, 1.0, 2.0};
        CHECK(geo_point_vec_push(&points, p) == MP_OK);
        CHECK(color_vec_push(&colors, c) == MP_OK);
        CHECK(circle_vec_push(&circles, k) == MP_OK);
    }
    CHECK(geo_point_vec_len(&points) == 1000);
    CHECK(geo_point_vec_at(&points, 999)->z == 1998);
    CHECK(color_vec_at(&colors, 300)->r == (unsigned char)300);
    CHECK(circle_vec_at(&circles, 7)->x == 3.5);
    CHECK(geo_point_vec_free(&points) == MP_OK);
    CHECK(color_vec_free(&colors) == MP_OK);
    CHECK(circle_vec_free(&circles) == MP_OK);
    return check_failures == 0 ? 0 : 1;
}
