/*
 * The test vectors as C++ types, for GoogleTest typed tests: VecOps<V>
 * forwards to the generated functions of V, whose names differ per vector,
 * and makes elements whose every byte depends on a seed.
 */
#ifndef MEMORY_PAGES_TESTS_VEC_VEC_TYPES_H
#define MEMORY_PAGES_TESTS_VEC_VEC_TYPES_H

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/vec_ops.h"
#include "tests/vec/test_vecs.h"

namespace vec_test {

template <class V> struct VecOps;

#define VEC_TEST_OPS(V, T)                                                                         \
    template <> struct VecOps<V> { MP_TEST_VEC_FUNCTIONS(V, T) };

VEC_TEST_OPS(vec1, elem1);
VEC_TEST_OPS(vec3, elem3);
VEC_TEST_OPS(vec8, elem8);
VEC_TEST_OPS(vec24, elem24);
VEC_TEST_OPS(vec5000, elem5000);

#undef VEC_TEST_OPS

/* The vector types every typed suite runs over. */
using AllVecs = ::testing::Types<vec1, vec3, vec8, vec24, vec5000>;

/* Returns an element made from seed: its first bytes are the low bytes of
 * seed (so small seeds give distinct elements as far as the size allows),
 * the rest pseudo-random bytes drawn from seed. */
template <class T> T MakeElem(uint64_t seed) {
    T t;
    uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < sizeof t.b; i++) {
        t.b[i] = static_cast<uint8_t>(i < 3 ? seed >> (8 * i) : x >> 56);
        x = x * 6364136223846793005u + 1442695040888963407u;
    }
    return t;
}

template <class T> bool SameElem(const T &a, const T &b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/* Everything a failed call must leave as it was: the vector's own bytes
 * (pointer, length, capacity, reservation, registry reference) and its
 * elements. */
template <class V> struct Snapshot {
    using Ops = VecOps<V>;
    using Elem = typename Ops::Elem;

    explicit Snapshot(const V &v) {
        std::memcpy(raw, &v, sizeof v);
        if (Ops::Len(&v) != 0) elems.assign(Ops::Data(&v), Ops::Data(&v) + Ops::Len(&v));
    }

    /* Adds a failure to the current test unless v matches the snapshot. */
    void ExpectSame(const V &v) const {
        EXPECT_EQ(0, std::memcmp(raw, &v, sizeof v)) << "the vector's fields changed";
        ASSERT_EQ(elems.size(), Ops::Len(&v));
        if (!elems.empty()) {
            EXPECT_EQ(0, std::memcmp(elems.data(), Ops::Data(&v), elems.size() * sizeof(Elem)))
                << "the elements changed";
        }
    }

    unsigned char raw[sizeof(V)];
    std::vector<Elem> elems;
};

/* A number of elements that a vector of len elements of size bytes cannot
 * make room for. SIZE_MAX / 2 is one where the bytes overflow size_t (sizes
 * from 3 bytes on) or exceed every 64-bit address space; for 1-byte elements
 * on 32-bit systems it is 2 GiB, which the OS may grant, so there it is
 * SIZE_MAX - len, whose bytes overflow when rounded to pages. */
inline size_t UnreservableCount(size_t len, size_t size) {
    const size_t half = SIZE_MAX / 2;
    bool overflows = half > SIZE_MAX - len || len + half > SIZE_MAX / size;
    return overflows || sizeof(void *) >= 8 ? half : SIZE_MAX - len;
}

/* The status of asking for room for len + n elements of size bytes: an
 * overflow when the byte count, rounded up to pages, does not fit size_t,
 * else the OS refusing address space it cannot have. */
inline mp_status UnreservableStatus(size_t len, size_t n, size_t size) {
    if (n > SIZE_MAX - len || len + n > SIZE_MAX / size) return MP_EOVERFLOW;
    size_t bytes = (len + n) * size;
    return bytes > SIZE_MAX - (mp_page_size() - 1) ? MP_EOVERFLOW : MP_ENOMEM;
}

} // namespace vec_test

#endif /* MEMORY_PAGES_TESTS_VEC_VEC_TYPES_H */
