/*
 * A spin lock for the runtime's few shared tables (the registry, the cache
 * of freed vector reservations). Each is held for a handful of instructions,
 * so spinning costs less than a futex, and it needs nothing beyond C11.
 */
#ifndef MEMORY_PAGES_RUNTIME_SPIN_H
#define MEMORY_PAGES_RUNTIME_SPIN_H

#include <stdatomic.h>

static inline void mp__spin_lock(atomic_flag *lock) {
    while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire)) {
    }
}

static inline void mp__spin_unlock(atomic_flag *lock) {
    atomic_flag_clear_explicit(lock, memory_order_release);
}

#endif /* MEMORY_PAGES_RUNTIME_SPIN_H */
