/* The mapping count of mappings.h, from Linux's /proc/self/maps. */
#include "tests/internals/mappings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MAPPINGS_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MAPPINGS_UNDER_SANITIZER 1
#endif

void mappings_single_malloc_arena(void) {
#ifdef __GLIBC__
    (void)mallopt(M_ARENA_MAX, 1);
#endif
}

int mappings_count(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) return -1;
    int lines = 0;
    for (int c; (c = fgetc(maps)) != EOF;) {
        if (c == '\n') lines++;
    }
    fclose(maps);
    return lines;
}

bool running_on_valgrind(void) {
#ifdef RUNNING_ON_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

bool mappings_count_is_exact(const char **why) {
#ifdef MAPPINGS_UNDER_SANITIZER
    *why = "the sanitizer runtime maps memory of its own";
    return false;
#else
    if (running_on_valgrind()) {
        *why = "valgrind maps memory of its own";
        return false;
    }
    if (mappings_count() < 0) {
        *why = "this system has no /proc/self/maps";
        return false;
    }
    /* qemu-user writes /proc/self/maps from its own page table, which splits
     * and merges runs of pages differently from the kernel: the count moved
     * by one when a flip arena turned a page read-write and back (aarch64). */
    const char *emulator = getenv("MP_TEST_EMULATOR");
    if (emulator != NULL && strcmp(emulator, "qemu-user") == 0) {
        *why = "qemu-user emulates /proc/self/maps, with runs of its own";
        return false;
    }
    *why = "";
    return true;
#endif
}
