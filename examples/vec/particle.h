/* The element type of the PagedVec demo: 32 bytes, declared by the user in a
 * header of their own, as any element type is. */
#ifndef MEMORY_PAGES_EXAMPLES_VEC_PARTICLE_H
#define MEMORY_PAGES_EXAMPLES_VEC_PARTICLE_H

struct particle {
    double x, y;   /* position */
    double vx, vy; /* velocity */
};

#endif /* MEMORY_PAGES_EXAMPLES_VEC_PARTICLE_H */
