/*
 * The generated function-reference header compiled as C11 (the GoogleTest
 * suites compile it as C++), with every kind of signature fn_ref_library
 * accepts: each generated function is called on references and handles
 * that must be refused, and the statuses are checked. Prints the first
 * mismatch and exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "memory_pages/memory_pages.h"
#include "tests/fn_ref/test_fns.h"

static int failures;

/* Counts a failure unless got == want. */
static void expect_status(const char *what, mp_status got, mp_status want) {
    if (got != want) {
        fprintf(stderr, "%s: got %s, want %s\n", what, mp_status_str(got), mp_status_str(want));
        failures++;
    }
}

int main(void) {
    mp_pages_rx rx, stale;
    expect_status("mp_pages_rx_new", mp_pages_rx_new(1, &rx), MP_OK);
    stale = rx;
    expect_status("mp_pages_rx_free", mp_pages_rx_free(&rx), MP_OK);

    /* A zeroed reference of each type: never valid, never called. */
    many_fn many;
    ptr_fn ptr;
    noarg_fn noarg;
    memset(&many, 0, sizeof many);
    memset(&ptr, 0, sizeof ptr);
    memset(&noarg, 0, sizeof noarg);
    if (many_fn_valid(&many) || ptr_fn_valid(&ptr) || noarg_fn_valid(&noarg) ||
        many_fn_valid(NULL)) {
        fprintf(stderr, "a zeroed or NULL reference is valid\n");
        failures++;
    }

    uint8_t u8 = 0;
    const char *text = "unchanged";
    expect_status("many_fn_call",
                  many_fn_call(&many, -1, 2, 3, 4ul, 5ll, 6, 7.0f, 8.0, 9.0L, "a", NULL, NULL, NULL,
                               true, 'c', 0, &u8),
                  MP_ESTALE);
    expect_status("many_fn_call NULL ret",
                  many_fn_call(&many, -1, 2, 3, 4ul, 5ll, 6, 7.0f, 8.0, 9.0L, "a", NULL, NULL, NULL,
                               true, 'c', 0, NULL),
                  MP_EINVAL);
    expect_status("ptr_fn_call", ptr_fn_call(&ptr, &text), MP_ESTALE);
    expect_status("noarg_fn_call", noarg_fn_call(&noarg), MP_ESTALE);
    expect_status("noarg_fn_call NULL", noarg_fn_call(NULL), MP_EINVAL);
    if (u8 != 0 || strcmp(text, "unchanged") != 0) {
        fprintf(stderr, "a refused call wrote its result\n");
        failures++;
    }

    /* _raw in C: the pointer types it takes, and no pointer from a stale
     * reference. */
    const char *(*ptr_raw)(void) = NULL;
    void (*noarg_raw)(void) = NULL;
    expect_status("ptr_fn_raw", ptr_fn_raw(&ptr, &ptr_raw), MP_ESTALE);
    expect_status("noarg_fn_raw", noarg_fn_raw(&noarg, &noarg_raw), MP_ESTALE);
    expect_status("noarg_fn_raw NULL out", noarg_fn_raw(&noarg, NULL), MP_EINVAL);
    if (ptr_raw != NULL || noarg_raw != NULL) {
        fprintf(stderr, "_raw handed out a pointer for a stale reference\n");
        failures++;
    }

    expect_status("many_fn_from stale", many_fn_from(&stale, 0, &many), MP_ESTALE);
    expect_status("ptr_fn_from NULL", ptr_fn_from(NULL, 0, &ptr), MP_EINVAL);
    expect_status("noarg_fn_from NULL out", noarg_fn_from(&stale, 0, NULL), MP_EINVAL);
#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    expect_status("mp_pages_rwx_new", mp_pages_rwx_new(1, &rwx), MP_OK);
    expect_status("noarg_fn_from_rwx", noarg_fn_from_rwx(&rwx, 0, &noarg), MP_OK);
    if (!noarg_fn_valid(&noarg)) {
        fprintf(stderr, "a reference into live rwx pages is not valid\n");
        failures++;
    }
    expect_status("mp_pages_rwx_free", mp_pages_rwx_free(&rwx), MP_OK);
    expect_status("noarg_fn_call after free", noarg_fn_call(&noarg), MP_ESTALE);
#endif
    if (failures == 0) printf("all checks passed\n");
    return failures == 0 ? 0 : 1;
}
