/*
 * The element types of the PagedVec test vectors: 1, 3, 8, 24 and 5000
 * bytes. 3 and 24 do not divide the page; 5000 is larger than a 4 KiB page
 * and does not divide 16 or 64 KiB pages either.
 */
#ifndef MEMORY_PAGES_TESTS_VEC_ELEMS_H
#define MEMORY_PAGES_TESTS_VEC_ELEMS_H

#include <stdint.h>

typedef struct elem1 {
    uint8_t b[1];
} elem1;

typedef struct elem3 {
    uint8_t b[3];
} elem3;

typedef struct elem8 {
    uint8_t b[8];
} elem8;

typedef struct elem24 {
    uint8_t b[24];
} elem24;

typedef struct elem5000 {
    uint8_t b[5000];
} elem5000;

#endif /* MEMORY_PAGES_TESTS_VEC_ELEMS_H */
