/* A struct element type for the C test, declared in a header of its own as
 * users' element types are. */
#ifndef MEMORY_PAGES_TESTS_VEC_POINT_H
#define MEMORY_PAGES_TESTS_VEC_POINT_H

struct point {
    int x, y;
};

#endif /* MEMORY_PAGES_TESTS_VEC_POINT_H */
