/* An element type of this outside workspace, for its own PagedVec. */
#ifndef OUTSIDE_SEGMENT_H
#define OUTSIDE_SEGMENT_H

#include <stdint.h>

struct segment {
    int32_t from, to;
    char label[13]; /* makes the size 21 bytes: not a divisor of any page */
};

#endif /* OUTSIDE_SEGMENT_H */
