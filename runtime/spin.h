/*
 * The lock of the runtime's few shared tables (the registry's free list, the
 * cache of freed vector reservations), and the wait of a call for a registry
 * slot that another call holds.
 *
 * The tables are held for a handful of instructions and never across a
 * system call, so a lock word that spins costs less than a mutex and needs
 * nothing beyond C11. A waiter pauses the core while it spins, and after a
 * short while gives its time slice away (mp__os_yield), so that a waiter
 * never starves the thread it waits for, also on one core.
 */
#ifndef MEMORY_PAGES_RUNTIME_SPIN_H
#define MEMORY_PAGES_RUNTIME_SPIN_H

#include <stdatomic.h>

#include "runtime/os.h"

/* Spins before a waiter yields: about a microsecond of pauses. */
#define MP__SPINS_BEFORE_YIELD 64

/* Tells the core that this thread is spinning. */
static inline void mp__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One round of a wait: pause, or yield once the wait has gone on. */
static inline void mp__backoff(unsigned *rounds) {
    if (++*rounds < MP__SPINS_BEFORE_YIELD) {
        mp__cpu_relax();
    } else {
        mp__os_yield();
    }
}

static inline void mp__spin_lock(atomic_flag *lock) {
    unsigned rounds = 0;
    while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire))
        mp__backoff(&rounds);
}

static inline void mp__spin_unlock(atomic_flag *lock) {
    atomic_flag_clear_explicit(lock, memory_order_release);
}

#endif /* MEMORY_PAGES_RUNTIME_SPIN_H */
