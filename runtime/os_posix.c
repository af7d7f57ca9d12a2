/*
 * The OS contract of os.h for Linux, the BSDs and macOS: mmap, mprotect,
 * madvise, mlock.
 *
 * Reservations are PROT_NONE private anonymous mappings. Linux charges a
 * private mapping against the commit limit only while it is writable, so
 * committing is an mprotect and decommitting is an mprotect back to
 * PROT_NONE plus MADV_DONTNEED, which frees the memory.
 *
 * macOS: executable memory under the hardened runtime must be mapped with
 * MAP_JIT, so reservations that may become executable carry it, and the
 * instruction cache is made coherent with sys_icache_invalidate.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_HUGETLB, MADV_* on glibc */
#define _DARWIN_C_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __APPLE__
#include <libkern/OSCacheControl.h>
#endif

#include "runtime/os.h"
#include "runtime/status.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

/* The Linux value, for C libraries older than the flag (Linux 5.7). */
#if defined(__linux__) && !defined(MREMAP_DONTUNMAP)
#define MREMAP_DONTUNMAP 4
#endif

/* Reports errno as the failure of the current call, choosing the status
 * from it: out of memory, refused permission, or some other OS failure. */
static mp_status fail_errno(void) {
    int err = errno;
    mp_status s;
    switch (err) {
    case ENOMEM:
    case EAGAIN:
        s = MP_ENOMEM;
        break;
    case EACCES:
    case EPERM:
        s = MP_EACCES;
        break;
    default:
        s = MP_EOS;
        break;
    }
    return mp__fail_os(s, err);
}

static int posix_prot(unsigned prot) {
    int p = PROT_NONE;
    if (prot & MP__PROT_READ) p |= PROT_READ;
    if (prot & MP__PROT_WRITE) p |= PROT_WRITE;
    if (prot & MP__PROT_EXEC) p |= PROT_EXEC;
    return p;
}

static mp_status posix_reserve(size_t size, unsigned flags, void **out) {
    int map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
    int prot = PROT_NONE;
    if (flags & MP__OS_HUGE) {
#ifdef MAP_HUGETLB
        /* Without MAP_NORESERVE the kernel takes the huge pages from its pool
         * now, so a short pool fails here with ENOMEM instead of a SIGBUS on
         * first touch. */
        map_flags |= MAP_HUGETLB;
#else
        return mp__fail(MP_ENOTSUP);
#endif
    }
#if defined(__APPLE__) && defined(MAP_JIT)
    if (flags & MP__OS_EXECUTABLE) {
        /* MAP_JIT must be given at mmap time with every permission the range
         * will ever have; the range is then narrowed to no access. */
        map_flags |= MAP_JIT;
        prot = PROT_READ | PROT_WRITE | PROT_EXEC;
    }
#endif
    void *p = mmap(NULL, size, prot, map_flags, -1, 0);
    if (p == MAP_FAILED) {
        if ((flags & MP__OS_HUGE) && errno == EINVAL) {
            return mp__fail_os(MP_ENOTSUP, errno);
        }
        return fail_errno();
    }
    if (prot != PROT_NONE && mprotect(p, size, PROT_NONE) != 0) {
        mp_status s = fail_errno();
        munmap(p, size);
        return s;
    }
    *out = p;
    return MP_OK;
}

static mp_status posix_release(void *base, size_t size) {
    return munmap(base, size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_protect(void *addr, size_t size, unsigned prot) {
    return mprotect(addr, size, posix_prot(prot)) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_decommit(void *addr, size_t size) {
    if (mprotect(addr, size, PROT_NONE) != 0) return fail_errno();
    /* The range is already inaccessible; if the kernel keeps the memory, it
     * is still freed when the reservation is released. */
    (void)madvise(addr, size, MADV_DONTNEED);
    return MP_OK;
}

static mp_status posix_remap(void *from, size_t size, void *to) {
#if defined(__linux__) && defined(MREMAP_FIXED)
    /* MREMAP_DONTUNMAP (Linux 5.7) leaves the old range mapped, empty, so
     * that no other mapping can take its place before the old reservation is
     * released as a whole. Older kernels refuse the flag with EINVAL, and
     * kernels before 6.17 refuse with EFAULT a range that spans several
     * mappings (as it does after an earlier move): the caller copies then. */
    void *p = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
    if (p != MAP_FAILED) return MP_OK;
    if (errno == EINVAL || errno == EFAULT) return mp__fail_os(MP_ENOTSUP, errno);
    return fail_errno();
#else
    (void)from;
    (void)size;
    (void)to;
    return mp__fail(MP_ENOTSUP);
#endif
}

static mp_status posix_discard(void *addr, size_t size, unsigned prot) {
#ifdef __linux__
    /* On private anonymous memory MADV_DONTNEED frees the pages, and the
     * next touch maps fresh zero pages. */
    (void)prot;
    return madvise(addr, size, MADV_DONTNEED) == 0 ? MP_OK : fail_errno();
#else
    /* Elsewhere MADV_DONTNEED and MADV_FREE may keep the old contents, so
     * the range is replaced by a fresh zero mapping with the same access. */
    int map_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    void *p = mmap(addr, size, posix_prot(prot), map_flags, -1, 0);
    return p == MAP_FAILED ? fail_errno() : MP_OK;
#endif
}

static mp_status posix_advise(void *addr, size_t size, mp_advice advice) {
    int a;
    switch (advice) {
    case MP_ADVICE_SEQUENTIAL:
        a = MADV_SEQUENTIAL;
        break;
    case MP_ADVICE_RANDOM:
        a = MADV_RANDOM;
        break;
    case MP_ADVICE_WILLNEED:
        a = MADV_WILLNEED;
        break;
    default:
        a = MADV_NORMAL;
        break;
    }
    return madvise(addr, size, a) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_huge_hint(void *addr, size_t size) {
#ifdef MADV_HUGEPAGE
    return madvise(addr, size, MADV_HUGEPAGE) == 0 ? MP_OK : fail_errno();
#else
    (void)addr;
    (void)size;
    return MP_OK;
#endif
}

static mp_status posix_populate(void *addr, size_t size) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (madvise(addr, size, MADV_POPULATE_WRITE) == 0) return MP_OK;
    /* Kernels before 5.14 do not know MADV_POPULATE_WRITE: touch instead. */
    if (errno != EINVAL) return fail_errno();
#endif
    size_t page = mp__os_page_size();
    for (size_t off = 0; off < size; off += page) {
        volatile unsigned char *b = (volatile unsigned char *)addr + off;
        *b = *b;
    }
    return MP_OK;
}

static mp_status posix_lock(void *addr, size_t size) {
    return mlock(addr, size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_no_dump(void *addr, size_t size) {
#if defined(MADV_DONTDUMP)
    return madvise(addr, size, MADV_DONTDUMP) == 0 ? MP_OK : fail_errno();
#elif defined(MADV_NOCORE)
    return madvise(addr, size, MADV_NOCORE) == 0 ? MP_OK : fail_errno();
#else
    (void)addr;
    (void)size;
    return mp__fail(MP_ENOTSUP);
#endif
}

static void posix_flush_icache(void *addr, size_t size) {
#ifdef __APPLE__
    sys_icache_invalidate(addr, size);
#else
    __builtin___clear_cache((char *)addr, (char *)addr + size);
#endif
}

/* Reserved memory is committed on first touch, so committing is only giving
 * the range its access. */
#define POSIX_API                                                                                  \
    {                                                                                              \
        .reserve = posix_reserve, .release = posix_release, .commit = posix_protect,               \
        .decommit = posix_decommit, .protect = posix_protect, .remap = posix_remap,                \
        .discard = posix_discard, .advise = posix_advise, .huge_hint = posix_huge_hint,            \
        .populate = posix_populate, .lock = posix_lock, .no_dump = posix_no_dump,                  \
        .flush_icache = posix_flush_icache,                                                        \
    }

const mp__os_api mp__os_native = POSIX_API;
mp__os_api mp__os = POSIX_API;

size_t mp__os_page_size(void) {
    static atomic_size_t cached;
    size_t size = atomic_load_explicit(&cached, memory_order_relaxed);
    if (size == 0) {
        long v = sysconf(_SC_PAGESIZE);
        size = v > 0 ? (size_t)v : 4096;
        atomic_store_explicit(&cached, size, memory_order_relaxed);
    }
    return size;
}

size_t mp__os_granularity(void) {
    return mp__os_page_size();
}

/* Reads the default huge page size from /proc/meminfo ("Hugepagesize:  2048 kB"). */
static size_t read_huge_page_size(void) {
#ifdef __linux__
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char *line = strstr(buf, "Hugepagesize:");
    unsigned long kib = 0;
    if (line == NULL || sscanf(line, "Hugepagesize: %lu kB", &kib) != 1) return 0;
    return (size_t)kib * 1024;
#else
    return 0;
#endif
}

size_t mp__os_huge_page_size(void) {
    static atomic_size_t cached;
    static atomic_bool known;
    if (!atomic_load_explicit(&known, memory_order_acquire)) {
        atomic_store_explicit(&cached, read_huge_page_size(), memory_order_relaxed);
        atomic_store_explicit(&known, true, memory_order_release);
    }
    return atomic_load_explicit(&cached, memory_order_relaxed);
}
