/*
 * Byte patterns for tests: contents that differ from byte to byte and from
 * one seed to another, and sentinel-filled objects that show whether a
 * failed call wrote to them.
 */
#ifndef MEMORY_PAGES_TESTS_SUPPORT_BYTES_H
#define MEMORY_PAGES_TESTS_SUPPORT_BYTES_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mp_test {

/* The byte at index i of the pattern with the given seed; never the same
 * for two neighbouring indexes, and never zero. */
inline uint8_t PatternByte(size_t i, unsigned seed) {
    return static_cast<uint8_t>((i * 131u + seed * 17u) % 255u + 1u);
}

/* Fills len bytes at p with the pattern of seed. */
inline void FillPattern(uint8_t *p, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++)
        p[i] = PatternByte(i, seed);
}

/* Returns the index of the first of len bytes at p that differs from the
 * pattern of seed, or len when they all match. */
inline size_t PatternMismatch(const uint8_t *p, size_t len, unsigned seed) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != PatternByte(i, seed)) return i;
    }
    return len;
}

/* Returns the index of the first non-zero byte of len bytes at p, or len. */
inline size_t NonZeroAt(const uint8_t *p, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) return i;
    }
    return len;
}

/* The byte that sentinel objects are filled with. */
constexpr uint8_t kSentinel = 0xA5;

/* Returns a T whose every byte is kSentinel. */
template <class T> T Sentinel() {
    T t;
    std::memset(static_cast<void *>(&t), kSentinel, sizeof t);
    return t;
}

/* Whether every byte of t is still kSentinel. */
template <class T> bool IsSentinel(const T &t) {
    const uint8_t *b = reinterpret_cast<const uint8_t *>(&t);
    for (size_t i = 0; i < sizeof t; i++) {
        if (b[i] != kSentinel) return false;
    }
    return true;
}

/* Whether a and b have the same bytes. */
template <class T> bool SameBytes(const T &a, const T &b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

} // namespace mp_test

#endif /* MEMORY_PAGES_TESTS_SUPPORT_BYTES_H */
