/*
 * The count of this process's mappings, as the OS reports it, for tests that
 * check that the library gives back every mapping it made; and whether a
 * tool that changes how mappings behave is running the process.
 */
#ifndef MEMORY_PAGES_TESTS_MAPPINGS_H
#define MEMORY_PAGES_TESTS_MAPPINGS_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the number of lines of /proc/self/maps, or -1 where there is no
 * such file. */
int mappings_count(void);

/* Whether mappings_count() moves only when this process's own code maps or
 * unmaps memory. It does not under AddressSanitizer, ThreadSanitizer and
 * valgrind, whose runtimes map memory of their own at any time; then *why
 * says so and tests fall back on the exact reservation balance of
 * fault_injection.h. Also false where there is no /proc. */
bool mappings_count_is_exact(const char **why);

/* Makes every thread allocate from one malloc arena (glibc's M_ARENA_MAX),
 * for tests that count mappings while threads run: a thread that finds the
 * other arenas busy maps a new one (two mappings), at a moment that the
 * machine's load decides. Elsewhere it does nothing. */
void mappings_single_malloc_arena(void);

/* Whether this process runs under valgrind, whose own address-space manager
 * answers some mmap calls differently from the kernel (EINVAL, not ENOMEM,
 * for sizes beyond the address space) and which emulates RLIMIT_DATA. */
bool running_on_valgrind(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_MAPPINGS_H */
