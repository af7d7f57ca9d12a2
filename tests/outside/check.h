/*
 * A minimal check macro for the outside-workspace programs, which use no test
 * framework so that they depend on nothing but @memory_pages.
 */
#ifndef OUTSIDE_CHECK_H
#define OUTSIDE_CHECK_H

#include <stdio.h>

/* The number of failed checks so far; main returns nonzero when it is not 0. */
static int check_failures;

/* Records and prints a failure when cond is false; goes on either way so one
 * run shows every failed check. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

#endif /* OUTSIDE_CHECK_H */
