/*
 * The raw system calls of os_posix.c, in one table, so that the fault
 * injection tests can make each call site fail with the errno of their
 * choice and so reach every branch of the platform file (os.h says when the
 * table is writable). Only os_posix.c calls through it.
 *
 * Each entry has the signature and the error convention of the POSIX or
 * Linux call it names (-1 or MAP_FAILED with errno set); mremap,
 * membarrier, mseal, memfd_create and ioctl take fixed arguments instead of
 * C varargs.
 */
#ifndef MEMORY_PAGES_RUNTIME_SYS_POSIX_H
#define MEMORY_PAGES_RUNTIME_SYS_POSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/os.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp__sys_api {
    void *(*mmap)(void *addr, size_t size, int prot, int flags, int fd, off_t offset);
    int (*munmap)(void *addr, size_t size);
    int (*mprotect)(void *addr, size_t size, int prot);
    int (*madvise)(void *addr, size_t size, int advice);
    void *(*mremap)(void *from, size_t old_size, size_t new_size, int flags, void *to);
    int (*mlock)(const void *addr, size_t size);
    int (*membarrier)(int cmd, unsigned flags);
    int (*mseal)(void *addr, size_t size, unsigned long flags);
    int (*sched_yield)(void);
    long (*sysconf)(int name);
    int (*open)(const char *path, int flags);
    ssize_t (*read)(int fd, void *buf, size_t size);
    int (*close)(int fd);
    /* Only PROCMAP_QUERY on /proc/self/maps (Linux 6.11), for placements. */
    int (*ioctl)(int fd, unsigned long request, void *arg);
    /* The dual mapping's memory: Linux memfd_create (ENOSYS elsewhere). */
    int (*memfd_create)(const char *name, unsigned flags);
    int (*ftruncate)(int fd, off_t size);
} mp__sys_api;

extern MP__HOOKABLE mp__sys_api mp__sys;

/* The real calls, for tests that wrap them. */
extern const mp__sys_api mp__sys_native;

#ifdef MP_FAULT_INJECTION
/* Set by tests to make reserve_near skip its guesses (the last placement's
 * base and end, the cache of gaps) and ask the kernel every time
 * (os_posix.c). */
extern bool mp__near_cache_off;
/* Set by tests to make reserve_near read /proc/self/maps instead of asking
 * for the mappings near the target one by one (PROCMAP_QUERY). */
extern bool mp__near_query_off;
#endif

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_SYS_POSIX_H */
