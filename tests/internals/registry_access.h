/*
 * Reaches into the slot registry for tests that must drive a slot to the end
 * of its generations without 2^32 transitions. The registry is C11 (atomics),
 * so this small C file stands between it and the C++ tests.
 */
#ifndef MEMORY_PAGES_TESTS_REGISTRY_ACCESS_H
#define MEMORY_PAGES_TESTS_REGISTRY_ACCESS_H

#include <stdint.h>

#include "memory_pages/internal/pages.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The last generation a slot can be live at (registry.h: live generations
 * are 4k + 1). */
#define kLastLive (UINT32_MAX - 2)

/* Moves the live slot of *ref to generation gen (a live one, 4k + 1) and
 * updates *ref, as if that many transitions had happened. */
void set_generation(mp__ref *ref, uint32_t gen);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_REGISTRY_ACCESS_H */
