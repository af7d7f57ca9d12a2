/* Element types of the vectors of the reliability tests: one whose size
 * does not divide the page. */
#ifndef MEMORY_PAGES_TESTS_RELIABILITY_ELEMS_H
#define MEMORY_PAGES_TESTS_RELIABILITY_ELEMS_H

typedef struct odd_elem {
    unsigned char b[3];
} odd_elem;

#endif /* MEMORY_PAGES_TESTS_RELIABILITY_ELEMS_H */
