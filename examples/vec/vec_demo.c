/*
 * PagedVec demo: a vector of particles that grows to a million elements
 * without its elements ever moving, is frozen read-only while it is only
 * read, and gives its memory back when it is cleared.
 *
 * Built by Bazel (bazel run //examples/vec:vec_demo) or, without Bazel, by
 * the Makefile beside it, which runs the generator's CLI. Exits 0 when every
 * step did what it should, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "examples/vec/demo_vecs.h"

/* Prints the step and exits unless the call returned want. */
static void expect(const char *step, mp_status got, mp_status want) {
    printf("  %-44s %s\n", step, mp_status_str(got));
    if (got != want) {
        printf("unexpected: wanted \"%s\"\n", mp_status_str(want));
        exit(1);
    }
}

int main(void) {
    enum { N = 1000000 };
    particle_vec ps;
    expect("particle_vec_new", particle_vec_new(&ps), MP_OK);

    /* Growth commits more of one reservation: the first element stays put,
     * so the pointer taken after the first push is still good at the end. */
    struct particle p = {0, 0, 1, 0.5};
    expect("push the first particle", particle_vec_push(&ps, p), MP_OK);
    const struct particle *first = particle_vec_at(&ps, 0);
    size_t growths = 0, cap = particle_vec_capacity(&ps);
    for (int i = 1; i < N; i++) {
        p.x = i;
        p.y = -i;
        if (particle_vec_push(&ps, p) != MP_OK) {
            printf("push %d failed\n", i);
            return 1;
        }
        if (particle_vec_capacity(&ps) != cap) {
            cap = particle_vec_capacity(&ps);
            growths++;
        }
    }
    printf("  %zu particles, capacity %zu, after %zu growths\n", particle_vec_len(&ps), cap,
           growths);
    printf("  first particle still at the same address: %s\n",
           first == particle_vec_at(&ps, 0) ? "yes" : "NO");
    if (first != particle_vec_at(&ps, 0)) return 1;

    /* One step of the simulation, writing in place. */
    for (size_t i = 0; i < particle_vec_len(&ps); i++) {
        struct particle *q = particle_vec_at_mut(&ps, i);
        q->x += q->vx;
        q->y += q->vy;
    }

    /* Frozen: the pages are read-only and the vector is consumed. The frozen
     * type has no mutable accessor, and a write through an old pointer
     * would fault. */
    particle_vec_frozen frozen;
    expect("particle_vec_freeze", particle_vec_freeze(&ps, &frozen), MP_OK);
    expect("push on the frozen (consumed) vector", particle_vec_push(&ps, p), MP_ESTALE);
    double sum = 0;
    const struct particle *all = particle_vec_frozen_data(&frozen);
    for (size_t i = 0; i < particle_vec_frozen_len(&frozen); i++)
        sum += all[i].x;
    printf("  sum of x over the frozen particles: %.1f\n", sum);
    if (sum != (double)N * (N - 1) / 2 + N) return 1;

    /* Thawed: writable again; the frozen handle and its copies are stale. */
    particle_vec_frozen copy = frozen;
    expect("particle_vec_frozen_thaw", particle_vec_frozen_thaw(&frozen, &ps), MP_OK);
    printf("  frozen copy after thaw: len %zu\n", particle_vec_frozen_len(&copy));
    struct particle gone;
    expect("swap_remove particle 0", particle_vec_swap_remove(&ps, 0, &gone), MP_OK);

    /* Failures change nothing. */
    expect("reserve SIZE_MAX / 2 more", particle_vec_reserve(&ps, SIZE_MAX / 2), MP_EOVERFLOW);
    expect("remove past the end", particle_vec_remove(&ps, N, NULL), MP_EINVAL);
    printf("  still %zu particles\n", particle_vec_len(&ps));

    /* clear keeps the capacity; shrink_to_fit gives the pages back. */
    expect("particle_vec_clear", particle_vec_clear(&ps), MP_OK);
    printf("  after clear: len %zu, capacity %zu\n", particle_vec_len(&ps),
           particle_vec_capacity(&ps));
    expect("particle_vec_shrink_to_fit", particle_vec_shrink_to_fit(&ps), MP_OK);
    printf("  after shrink_to_fit: capacity %zu\n", particle_vec_capacity(&ps));
    expect("particle_vec_free", particle_vec_free(&ps), MP_OK);
    expect("particle_vec_free again", particle_vec_free(&ps), MP_ESTALE);

    /* A scalar vector, with a reservation of its own size. */
    u32_vec ids;
    mp_vec_opts opts = {0};
    opts.max_capacity = 1000;
    opts.guard = true;
    expect("u32_vec_new_opts (max_capacity 1000, guard)", u32_vec_new_opts(&opts, &ids), MP_OK);
    for (uint32_t i = 0; i < 1000; i++)
        u32_vec_push(&ids, i * i);
    printf("  ids[999] = %" PRIu32 "\n", *u32_vec_at(&ids, 999));
    expect("u32_vec_free", u32_vec_free(&ids), MP_OK);
    printf("vec_demo: ok\n");
    return 0;
}
