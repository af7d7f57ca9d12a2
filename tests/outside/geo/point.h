/* An element type in a subpackage of the outside workspace. */
#ifndef OUTSIDE_GEO_POINT_H
#define OUTSIDE_GEO_POINT_H

#include <stdint.h>

struct geo_point {
    int32_t x, y, z;
};

#endif /* OUTSIDE_GEO_POINT_H */
