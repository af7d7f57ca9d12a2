/* An element type of the repository @shapes. */
#ifndef SHAPES_CIRCLE_H
#define SHAPES_CIRCLE_H

struct circle {
    double x, y, radius;
};

#endif /* SHAPES_CIRCLE_H */
