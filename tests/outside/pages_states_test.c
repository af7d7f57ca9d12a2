/*
 * Uses mp_pages_rw, mp_pages_r and mp_pages_none through
 * @memory_pages//:memory_pages from another Bazel workspace: makes pages,
 * writes them, moves them through the three states, and checks that contents
 * survive and that consumed handles and their copies are stale.
 */
#include <stdint.h>

#include "memory_pages/memory_pages.h"

#include "check.h"

/* The byte written at offset i, so that every offset holds a known value. */
static uint8_t pattern(size_t i) {
    return (uint8_t)(i * 7 + 3);
}

/* Returns whether the len bytes at p hold the pattern. */
static int has_pattern(const uint8_t *p, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != pattern(i)) return 0;
    }
    return 1;
}

int main(void) {
    size_t page = mp_page_size();
    CHECK(page > 0 && (page & (page - 1)) == 0);

    /* A length that is not a whole number of pages is rounded up. */
    mp_pages_rw rw;
    CHECK(mp_pages_rw_new(3 * page + 1, &rw) == MP_OK);
    size_t len = mp_pages_rw_len(&rw);
    CHECK(len == 4 * page);
    uint8_t *bytes = mp_pages_rw_data_mut(&rw);
    CHECK(bytes != NULL);
    if (bytes == NULL) return 1;
    for (size_t i = 0; i < len; i++) {
        bytes[i] = pattern(i);
    }

    /* rw -> r: the contents stay; the old handle and a copy of it are stale. */
    mp_pages_rw rw_copy = rw;
    mp_pages_r r;
    CHECK(mp_pages_rw_into_r(&rw, &r) == MP_OK);
    CHECK(mp_pages_r_len(&r) == len);
    const uint8_t *read = mp_pages_r_data(&r);
    CHECK(read != NULL && has_pattern(read, len));
    CHECK(mp_pages_rw_data(&rw) == NULL);
    CHECK(mp_pages_rw_len(&rw_copy) == 0);
    CHECK(mp_pages_rw_free(&rw_copy) == MP_ESTALE);

    /* r -> none -> rw: the contents are back after a round through no access. */
    mp_pages_none none;
    CHECK(mp_pages_r_into_none(&r, &none) == MP_OK);
    CHECK(mp_pages_none_len(&none) == len);
    CHECK(mp_pages_r_data(&r) == NULL);
    mp_pages_rw back;
    CHECK(mp_pages_none_into_rw(&none, &back) == MP_OK);
    const uint8_t *again = mp_pages_rw_data(&back);
    CHECK(again != NULL && has_pattern(again, len));
    CHECK(mp_pages_none_len(&none) == 0);

    /* Bad input gets a status, and a second free is reported, not a crash. */
    mp_pages_r unused;
    CHECK(mp_pages_r_new(0, &unused) == MP_EINVAL);
    CHECK(mp_status_str(MP_ESTALE) != NULL);
    CHECK(mp_pages_rw_free(&back) == MP_OK);
    CHECK(mp_pages_rw_free(&back) == MP_ESTALE);

    if (check_failures == 0) printf("pages_states_test: rw, r and none work from outside\n");
    return check_failures == 0 ? 0 : 1;
}
