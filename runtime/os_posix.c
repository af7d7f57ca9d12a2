/*
 * The OS contract of os.h for Linux, the BSDs and macOS: mmap, mprotect,
 * madvise, mlock.
 *
 * Reservations are PROT_NONE private anonymous mappings. Linux charges a
 * private mapping against the commit limit only while it is writable, so
 * committing is an mprotect and decommitting is an mprotect back to
 * PROT_NONE plus MADV_DONTNEED, which frees the memory.
 *
 * Elsewhere MADV_DONTNEED may keep the contents, so decommitting (and
 * discarding, where no MAP_JIT range is involved) replaces the range with a
 * fresh anonymous mapping, whose pages read as zeros when touched again.
 *
 * macOS (checked against Apple's documentation and the XNU sources, but not
 * built or run: this project has no macOS machine):
 *  - Under the hardened runtime, only MAP_JIT memory may ever execute, and
 *    only with the com.apple.security.cs.allow-jit entitlement. Reservations
 *    that may become executable are mapped PROT_NONE with MAP_JIT; without
 *    the entitlement that mmap fails, and so does the page set.
 *  - On Apple silicon a page may never be writable and executable at once:
 *    the kernel refuses an RWX mprotect, and an RWX MAP_JIT page is writable
 *    or executable per thread, as pthread_jit_write_protect_np() switches it
 *    for the calling thread only. The states of this library are the same
 *    for every thread, so this layer keeps to mprotect between none, r, rw
 *    and rx, and refuses write with execute with MP_ENOTSUP (mp_pages_rwx).
 *    The per-thread switch acts on RWX pages only, so rw and rx pages of a
 *    MAP_JIT range should have the same access in every thread; that is read
 *    from the sources, not tested. This layer never calls
 *    pthread_jit_write_protect_np(): a per-thread writable-or-executable
 *    state would be a different contract. XNU also refuses to change the
 *    protection of a MAP_JIT range that is RWX, which is why reservations are
 *    made PROT_NONE directly rather than RWX and then narrowed.
 *  - MAP_JIT cannot be combined with MAP_FIXED, so a MAP_JIT range cannot be
 *    replaced by a fresh mapping without losing the right to execute. In
 *    builds where ranges may be MAP_JIT (MP_HAVE_RX), discard zeroes the
 *    range and then lets the kernel take the pages back (MADV_FREE): the
 *    memory is returned when the system needs it, not at once, and the
 *    range reads as zeros either way.
 *  - The instruction cache is made coherent with sys_icache_invalidate(), as
 *    Apple asks before running newly written instructions.
 *  - Pages are 16 KiB on Apple silicon (4 KiB under Rosetta and on Intel);
 *    the size is always read from sysconf.
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

#include "memory_pages/features.h"
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
    /* MAP_JIT is only given at mmap time, and PROT_NONE is enough: the
     * maximum protection of an anonymous mapping is always read, write and
     * execute, and the range gets its access by mprotect later. */
    if (flags & MP__OS_EXECUTABLE) map_flags |= MAP_JIT;
#endif
    void *p = mmap(NULL, size, PROT_NONE, map_flags, -1, 0);
    if (p == MAP_FAILED) {
        if ((flags & MP__OS_HUGE) && errno == EINVAL) {
            return mp__fail_os(MP_ENOTSUP, errno);
        }
        return fail_errno();
    }
    *out = p;
    return MP_OK;
}

static mp_status posix_release(void *base, size_t size) {
    return munmap(base, size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_protect(void *addr, size_t size, unsigned prot) {
#if defined(__APPLE__) && defined(__aarch64__)
    /* Apple silicon has no page that is writable and executable for every
     * thread (see the top of this file). */
    if ((prot & MP__PROT_WRITE) && (prot & MP__PROT_EXEC)) return mp__fail(MP_ENOTSUP);
#endif
    return mprotect(addr, size, posix_prot(prot)) == 0 ? MP_OK : fail_errno();
}

#ifndef __linux__
/* Replaces [addr, addr + size) by a fresh private anonymous mapping with
 * access prot: the old pages go back to the kernel at once, and the new ones
 * read as zeros. On failure the old mapping is left as it was. */
static mp_status fresh_mapping(void *addr, size_t size, unsigned prot) {
    void *p = mmap(addr, size, posix_prot(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? fail_errno() : MP_OK;
}
#endif

static mp_status posix_decommit(void *addr, size_t size) {
#ifdef __linux__
    if (mprotect(addr, size, PROT_NONE) != 0) return fail_errno();
    /* The range is already inaccessible; if the kernel keeps the memory, it
     * is still freed when the reservation is released. */
    (void)madvise(addr, size, MADV_DONTNEED);
    return MP_OK;
#else
    /* MADV_DONTNEED keeps the contents here, and a later commit must read
     * as zeros. No caller decommits a range that may become executable (page
     * sets are never decommitted), so losing MAP_JIT on macOS is harmless. */
    return fresh_mapping(addr, size, MP__PROT_NONE);
#endif
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
#elif defined(__APPLE__) && MP_HAVE_RX
    /* The range may be MAP_JIT, which a fresh mapping would lose (see the
     * top of this file): zero it, then let the kernel take the pages back.
     * Discard is only asked of writable page sets. */
    (void)prot;
    memset(addr, 0, size);
    return madvise(addr, size, MADV_FREE) == 0 ? MP_OK : fail_errno();
#else
    /* Elsewhere MADV_DONTNEED and MADV_FREE may keep the old contents, so
     * the range is replaced by a fresh zero mapping with the same access. */
    return fresh_mapping(addr, size, prot);
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
