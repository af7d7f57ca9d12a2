/*
 * MP_TEST_VEC_FUNCTIONS(V, T): the members that forward a C++ wrapper type
 * to the generated functions of vector V of T, for the tests and fuzzers
 * that drive every vector type alike (tests/vec/vec_types.h,
 * tests/reliability/bad_input_vec_test.cc, fuzz/vec_fuzz.cc). Each puts it in
 * a class of its own, beside what only it needs.
 */
#ifndef MEMORY_PAGES_TESTS_SUPPORT_VEC_OPS_H
#define MEMORY_PAGES_TESTS_SUPPORT_VEC_OPS_H

#include <cstddef>

#include "memory_pages/memory_pages.h"

#define MP_TEST_VEC_FUNCTIONS(V, T)                                                                \
    using Vec = V;                                                                                 \
    using Frozen = V##_frozen;                                                                     \
    using Elem = T;                                                                                \
    static mp_status New(Vec *v) {                                                                 \
        return V##_new(v);                                                                         \
    }                                                                                              \
    static mp_status WithCapacity(size_t n, Vec *v) {                                              \
        return V##_with_capacity(n, v);                                                            \
    }                                                                                              \
    static mp_status NewOpts(const mp_vec_opts *o, Vec *v) {                                       \
        return V##_new_opts(o, v);                                                                 \
    }                                                                                              \
    static size_t Len(const Vec *v) {                                                              \
        return V##_len(v);                                                                         \
    }                                                                                              \
    static size_t Capacity(const Vec *v) {                                                         \
        return V##_capacity(v);                                                                    \
    }                                                                                              \
    static const Elem *Data(const Vec *v) {                                                        \
        return V##_data(v);                                                                        \
    }                                                                                              \
    static Elem *DataMut(Vec *v) {                                                                 \
        return V##_data_mut(v);                                                                    \
    }                                                                                              \
    static const Elem *At(const Vec *v, size_t i) {                                                \
        return V##_at(v, i);                                                                       \
    }                                                                                              \
    static Elem *AtMut(Vec *v, size_t i) {                                                         \
        return V##_at_mut(v, i);                                                                   \
    }                                                                                              \
    static mp_status Push(Vec *v, const Elem &x) {                                                 \
        return V##_push(v, x);                                                                     \
    }                                                                                              \
    static mp_status Pop(Vec *v, Elem *out) {                                                      \
        return V##_pop(v, out);                                                                    \
    }                                                                                              \
    static mp_status Insert(Vec *v, size_t i, const Elem &x) {                                     \
        return V##_insert(v, i, x);                                                                \
    }                                                                                              \
    static mp_status Remove(Vec *v, size_t i, Elem *out) {                                         \
        return V##_remove(v, i, out);                                                              \
    }                                                                                              \
    static mp_status SwapRemove(Vec *v, size_t i, Elem *out) {                                     \
        return V##_swap_remove(v, i, out);                                                         \
    }                                                                                              \
    static mp_status Extend(Vec *v, const Elem *src, size_t n) {                                   \
        return V##_extend(v, src, n);                                                              \
    }                                                                                              \
    static mp_status Resize(Vec *v, size_t n, const Elem &fill) {                                  \
        return V##_resize(v, n, fill);                                                             \
    }                                                                                              \
    static mp_status Truncate(Vec *v, size_t n) {                                                  \
        return V##_truncate(v, n);                                                                 \
    }                                                                                              \
    static mp_status Clear(Vec *v) {                                                               \
        return V##_clear(v);                                                                       \
    }                                                                                              \
    static mp_status Reserve(Vec *v, size_t n) {                                                   \
        return V##_reserve(v, n);                                                                  \
    }                                                                                              \
    static mp_status ReserveExact(Vec *v, size_t n) {                                              \
        return V##_reserve_exact(v, n);                                                            \
    }                                                                                              \
    static mp_status PushWithinCapacity(Vec *v, const Elem &x) {                                   \
        return V##_push_within_capacity(v, x);                                                     \
    }                                                                                              \
    static mp_status InsertN(Vec *v, size_t i, const Elem *src, size_t n) {                        \
        return V##_insert_n(v, i, src, n);                                                         \
    }                                                                                              \
    static mp_status RemoveRange(Vec *v, size_t from, size_t to, Elem *out) {                      \
        return V##_remove_range(v, from, to, out);                                                 \
    }                                                                                              \
    static mp_status Clone(const Vec *v, Vec *out) {                                               \
        return V##_clone(v, out);                                                                  \
    }                                                                                              \
    static Vec Init() {                                                                            \
        return Vec V##_INIT;                                                                       \
    }                                                                                              \
    static mp_status ShrinkToFit(Vec *v) {                                                         \
        return V##_shrink_to_fit(v);                                                               \
    }                                                                                              \
    static mp_status Freeze(Vec *v, Frozen *f) {                                                   \
        return V##_freeze(v, f);                                                                   \
    }                                                                                              \
    static mp_status Free(Vec *v) {                                                                \
        return V##_free(v);                                                                        \
    }                                                                                              \
    static size_t FrozenLen(const Frozen *f) {                                                     \
        return V##_frozen_len(f);                                                                  \
    }                                                                                              \
    static const Elem *FrozenData(const Frozen *f) {                                               \
        return V##_frozen_data(f);                                                                 \
    }                                                                                              \
    static const Elem *FrozenAt(const Frozen *f, size_t i) {                                       \
        return V##_frozen_at(f, i);                                                                \
    }                                                                                              \
    static mp_status FrozenFree(Frozen *f) {                                                       \
        return V##_frozen_free(f);                                                                 \
    }                                                                                              \
    static mp_status Thaw(Frozen *f, Vec *v) {                                                     \
        return V##_frozen_thaw(f, v);                                                              \
    }

#endif /* MEMORY_PAGES_TESTS_SUPPORT_VEC_OPS_H */
