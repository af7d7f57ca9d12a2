/*
 * Checked size arithmetic shared by the runtime: every size computation that
 * could overflow size_t goes through one of these, and an overflow becomes
 * MP_EOVERFLOW in the caller.
 */
#ifndef MEMORY_PAGES_RUNTIME_SIZES_H
#define MEMORY_PAGES_RUNTIME_SIZES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets *out to a * b, or returns false if that overflows. */
static inline bool mp__mul_size(size_t a, size_t b, size_t *out) {
    if (b != 0 && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
}

/* Sets *out to n rounded up to a multiple of unit (a power of two), or
 * returns false if that overflows. */
static inline bool mp__round_up(size_t n, size_t unit, size_t *out) {
    if (n > SIZE_MAX - (unit - 1)) return false;
    *out = (n + unit - 1) & ~(unit - 1);
    return true;
}

#endif /* MEMORY_PAGES_RUNTIME_SIZES_H */
