/*
 * Built only with --@memory_pages//:allow_exec (it names mp_pages_rx, which
 * exists in no other build), so a successful build proves the flag is
 * settable from another workspace. It writes a tiny function into rw pages,
 * moves them to rx, and calls it where it knows the machine code.
 *
 * Usage: exec_states_test --expect-rwx=0|1, whether the build should also
 * have mp_pages_rwx (that is, whether --@memory_pages//:deny_xw=false was
 * given); the runner knows, so the program does not take the build's word.
 */
#include <stdint.h>
#include <string.h>

#include "memory_pages/memory_pages.h"

#include "check.h"

/* Machine code of a function `int f(void) { return 42; }`, where known. */
#if defined(__x86_64__)
static const uint8_t return_42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 42; ret */
#elif defined(__aarch64__)
static const uint8_t return_42[] = {0x40, 0x05, 0x80, 0x52,
                                    0xc0, 0x03, 0x5f, 0xd6}; /* mov w0, 42; ret */
#else
#define NO_MACHINE_CODE 1
#endif

/* Calls the function at code and returns its result. POSIX guarantees that an
 * object address converts to a function pointer; ISO C leaves it open. */
#ifndef NO_MACHINE_CODE
static int call_return_42(const uint8_t *code) {
    int (*fn)(void);
    memcpy(&fn, &code, sizeof fn);
    return fn();
}
#endif

/* Writes the function into fresh rw pages, moves them to rx, checks the bytes
 * and calls it, then moves the pages back to rw and frees them. */
static void check_rx(void) {
    mp_pages_rw rw;
    CHECK(mp_pages_rw_new(1, &rw) == MP_OK);
    uint8_t *bytes = mp_pages_rw_data_mut(&rw);
    CHECK(bytes != NULL);
    if (bytes == NULL) return;
#ifndef NO_MACHINE_CODE
    memcpy(bytes, return_42, sizeof return_42);
#else
    bytes[0] = 42;
#endif
    mp_pages_rx rx;
    CHECK(mp_pages_rw_into_rx(&rw, &rx) == MP_OK);
    CHECK(mp_pages_rw_data(&rw) == NULL);
    const uint8_t *code = mp_pages_rx_data(&rx);
    CHECK(code != NULL);
    if (code == NULL) return;
#ifndef NO_MACHINE_CODE
    CHECK(memcmp(code, return_42, sizeof return_42) == 0);
    CHECK(call_return_42(code) == 42);
#else
    CHECK(code[0] == 42);
    printf("exec_states_test: no machine code for this architecture; not calling it\n");
#endif
    mp_pages_rw again;
    CHECK(mp_pages_rx_into_rw(&rx, &again) == MP_OK);
    CHECK(mp_pages_rx_len(&rx) == 0);
    CHECK(mp_pages_rw_free(&again) == MP_OK);
}

#if MP_HAVE_RWX
/* Writes the function straight into rwx pages and calls it from there. */
static void check_rwx(void) {
    mp_pages_rwx rwx;
    CHECK(mp_pages_rwx_new(1, &rwx) == MP_OK);
    uint8_t *bytes = mp_pages_rwx_data_mut(&rwx);
    CHECK(bytes != NULL);
    if (bytes == NULL) return;
#ifndef NO_MACHINE_CODE
    memcpy(bytes, return_42, sizeof return_42);
    CHECK(call_return_42(bytes) == 42);
#endif
    CHECK(mp_pages_rwx_free(&rwx) == MP_OK);
}
#endif

int main(int argc, char **argv) {
    int expect_rwx = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-rwx=0") == 0) expect_rwx = 0;
        if (strcmp(argv[i], "--expect-rwx=1") == 0) expect_rwx = 1;
    }
    if (expect_rwx < 0) {
        fprintf(stderr, "usage: %s --expect-rwx=0|1\n", argv[0]);
        return 2;
    }

    CHECK(MP_ALLOW_EXEC == 1);
    CHECK(MP_HAVE_RX == 1);
    CHECK(MP_HAVE_RWX == expect_rwx);
    CHECK(MP_DENY_XW == !expect_rwx);
    check_rx();
#if MP_HAVE_RWX
    check_rwx();
#endif

    if (check_failures == 0) {
        printf("exec_states_test: rx%s work from outside\n", MP_HAVE_RWX ? " and rwx" : "");
    }
    return check_failures == 0 ? 0 : 1;
}
