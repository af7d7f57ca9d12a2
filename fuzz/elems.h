/* Element types of the PagedVec fuzz target: 3 bytes, which does not divide
 * the page, and 4100 bytes, more than a page. */
#ifndef MEMORY_PAGES_FUZZ_ELEMS_H
#define MEMORY_PAGES_FUZZ_ELEMS_H

#include <stdint.h>

typedef struct odd3 {
    uint8_t b[3];
} odd3;

typedef struct wide4100 {
    uint8_t b[4100];
} wide4100;

#endif /* MEMORY_PAGES_FUZZ_ELEMS_H */
