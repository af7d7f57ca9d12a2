/*
 * The OS contract of os.h for Linux, the BSDs and macOS: mmap, mprotect,
 * madvise, mlock.
 *
 * Reservations are PROT_NONE private anonymous mappings. A private mapping
 * is charged against the commit limit (Committed_AS on Linux) from the
 * moment it becomes writable until it is unmapped, whatever happens to its
 * pages in between, so committing is an mprotect, and decommitting replaces
 * the range with a fresh PROT_NONE mapping: that frees the memory and the
 * charge at once, and the pages read as zeros when committed again.
 *
 * Every system call goes through the table mp__sys of sys_posix.h, except
 * the two of the macOS dual mapping (see "Dual mapping" below).
 *
 * Outside Linux MADV_DONTNEED may keep the contents, so discarding, where no
 * MAP_JIT range is involved, also replaces the range with a fresh anonymous
 * mapping.
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
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_HUGETLB, MADV_*, mremap on glibc */
#define _DARWIN_C_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#if defined(__GLIBC__) && defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h> /* __libc_single_threaded, glibc 2.32+ */
#define HAVE_SINGLE_THREADED 1
#endif
#endif
#include <time.h>
#include <unistd.h>

#ifdef __APPLE__
#include <libkern/OSCacheControl.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#endif
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "memory_pages/features.h"
#include "runtime/near.h"
#include "runtime/os.h"
#include "runtime/spin.h"
#include "runtime/status.h"
#include "runtime/sys_posix.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

/* The Linux values, for C libraries older than the flags (Linux 5.7, 4.16). */
#if defined(__linux__) && !defined(MREMAP_DONTUNMAP)
#define MREMAP_DONTUNMAP 4
#endif
#if defined(__linux__) && !defined(MAP_FIXED_NOREPLACE)
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define MEMBARRIER_QUERY 0                     /* MEMBARRIER_CMD_QUERY */
#define MEMBARRIER_SYNC_CORE (1 << 5)          /* MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE */
#define MEMBARRIER_REGISTER_SYNC_CORE (1 << 6) /* ..._REGISTER_PRIVATE_EXPEDITED_SYNC_CORE */

/* ---- The raw calls (sys_posix.h) ---- */

static void *sys_mremap(void *from, size_t old_size, size_t new_size, int flags, void *to) {
#ifdef __linux__
    return mremap(from, old_size, new_size, flags, to);
#else
    (void)from, (void)old_size, (void)new_size, (void)flags, (void)to;
    errno = ENOSYS;
    return MAP_FAILED;
#endif
}

static int sys_membarrier(int cmd, unsigned flags) {
#if defined(__linux__) && defined(SYS_membarrier)
    return (int)syscall(SYS_membarrier, cmd, flags, 0);
#else
    (void)cmd, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* mseal (Linux 6.10+) seals a range against any later change of its
 * mappings or access. Its number, for headers older than the call: 462 on
 * every architecture this builds for (Linux numbers calls added since 5.1
 * alike on all of them, alpha aside). It is made on 32-bit builds too,
 * which have the number: the kernel answers whether it seals there (a
 * 32-bit kernel refuses with EPERM or ENOSYS). */
#if defined(__linux__) && !defined(SYS_mseal)
#define SYS_mseal 462
#endif

static int sys_mseal(void *addr, size_t size, unsigned long flags) {
#ifdef __linux__
    return (int)syscall(SYS_mseal, addr, size, flags);
#else
    (void)addr, (void)size, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

static int sys_open(const char *path, int flags) {
    return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

static int sys_memfd_create(const char *name, unsigned flags) {
#if defined(__linux__) && defined(SYS_memfd_create)
    return (int)syscall(SYS_memfd_create, name, flags);
#else
    (void)name, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

#define SYS_API                                                                                    \
    {                                                                                              \
        .mmap = mmap, .munmap = munmap, .mprotect = mprotect, .madvise = madvise,                  \
        .mremap = sys_mremap, .mlock = mlock, .membarrier = sys_membarrier, .mseal = sys_mseal,    \
        .sched_yield = sched_yield, .sysconf = sysconf, .open = sys_open, .read = read,            \
        .close = close, .ioctl = sys_ioctl, .memfd_create = sys_memfd_create,                      \
        .ftruncate = ftruncate,                                                                    \
    }

const mp__sys_api mp__sys_native = SYS_API;
MP__HOOKABLE mp__sys_api mp__sys = SYS_API;

/* ---- The OS contract ---- */

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

/* Cuts a fresh mapping of size + align bytes at *base down to the size bytes
 * from the first address a at which a + align_at is a multiple of align,
 * and sets *base to a. On failure the whole mapping is given back. */
static mp_status trim_to_alignment(void **base, size_t size, size_t align, size_t align_at) {
    unsigned char *start = (unsigned char *)*base;
    size_t head = (align - ((uintptr_t)start + align_at) % align) % align, tail = align - head;
    unsigned char *aligned = start + head;
    if (head != 0 && mp__sys.munmap(start, head) != 0) {
        mp_status s = fail_errno();
        (void)mp__sys.munmap(start, size + align);
        return s;
    }
    if (tail != 0 && mp__sys.munmap(aligned + size, tail) != 0) {
        mp_status s = fail_errno();
        (void)mp__sys.munmap(aligned, size + tail);
        return s;
    }
    *base = aligned;
    return MP_OK;
}

static mp_status posix_reserve(size_t size, size_t align_at, unsigned flags, void **out) {
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
    /* Transparent huge pages back only whole, aligned huge pages, and mmap
     * aligns no range to them whose size is not a multiple of one: map a
     * huge page more than asked, and cut it down around the aligned part. */
    size_t align = 0;
#ifdef MADV_HUGEPAGE
    if ((flags & MP__OS_ALIGN_HUGE) && !(flags & MP__OS_HUGE)) align = mp__os_cfg.huge_page_size;
#endif
    if (align <= mp__os_cfg.page_size || size > SIZE_MAX - align) align = 0;
    void *p = mp__sys.mmap(NULL, size + align, PROT_NONE, map_flags, -1, 0);
    if (p == MAP_FAILED) {
        if ((flags & MP__OS_HUGE) && errno == EINVAL) return mp__fail_os(MP_ENOTSUP, errno);
        return fail_errno();
    }
    if (align != 0) {
        mp_status s = trim_to_alignment(&p, size, align, align_at);
        if (s != MP_OK) return s;
    }
    *out = p;
    return MP_OK;
}

static mp_status posix_release(void *base, size_t size) {
    if (size == 0) return MP_OK;
    return mp__sys.munmap(base, size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_protect(void *addr, size_t size, unsigned prot) {
#if defined(__APPLE__) && defined(__aarch64__)
    /* Apple silicon has no page that is writable and executable for every
     * thread (see the top of this file). */
    if ((prot & MP__PROT_WRITE) && (prot & MP__PROT_EXEC)) return mp__fail(MP_ENOTSUP);
#endif
    return mp__sys.mprotect(addr, size, posix_prot(prot)) == 0 ? MP_OK : fail_errno();
}

/* Replaces [addr, addr + size) by a fresh private anonymous mapping with
 * access prot: the old pages and their commit charge go back to the kernel
 * at once, and the new ones read as zeros. On failure the old mapping is
 * left as it was. */
static mp_status fresh_mapping(void *addr, size_t size, unsigned prot) {
    void *p =
        mp__sys.mmap(addr, size, posix_prot(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? fail_errno() : MP_OK;
}

static mp_status posix_decommit(void *addr, size_t size, unsigned flags) {
    if (flags & MP__OS_HUGE) {
        /* A fresh mapping would not be hugetlb. hugetlb pages are not charged
         * to Committed_AS; MADV_DONTNEED gives them back to the pool. */
        if (mp__sys.mprotect(addr, size, PROT_NONE) != 0) return fail_errno();
        (void)mp__sys.madvise(addr, size, MADV_DONTNEED);
        return MP_OK;
    }
    /* No caller decommits a range that may become executable (page sets are
     * never decommitted), so losing MAP_JIT on macOS is harmless. */
    return fresh_mapping(addr, size, MP__PROT_NONE);
}

static mp_status posix_remap(void *from, size_t size, void *to, size_t new_size) {
#if defined(__linux__) && defined(MREMAP_FIXED)
    /* Two moves, so that a failure never leaves part of the range moved.
     * With MREMAP_FIXED, Linux 6.17 moves a range of several mappings one
     * after the other, and a failure partway leaves the ones before it
     * moved (mremap(2)): a vector under RLIMIT_DATA lost its elements that
     * way (tests/reliability:oom_test on i686). Without MREMAP_FIXED,
     * mremap moves one mapping, whole or not at all, and refuses a range of
     * several (EFAULT) without a side effect. So the range first moves to a
     * place of the kernel's choosing, which touches nothing of ours. Any
     * refusal there, a range of several mappings among them, is MP_ENOTSUP:
     * the caller copies instead, into a destination this call has not
     * touched. The old range is left unmapped, and the caller releases only
     * the rest of its reservation (MREMAP_DONTUNMAP would keep it mapped,
     * but qemu-user then takes it for free and maps other things there). */
    void *p = mp__sys.mremap(from, size, size, MREMAP_MAYMOVE, NULL);
    if (p == MAP_FAILED) return mp__fail_os(MP_ENOTSUP, errno);
    /* Then the one mapping into place, and the rest of new_size committed
     * after it (growing the mapping in the same call would keep it one,
     * but valgrind loses track of the pages it grows). A single mapping
     * moves whole or not at all; if it does not, or the rest cannot be
     * committed, it moves back where it was. A refusal of the arguments
     * (EINVAL, EFAULT: qemu-user gives EFAULT here, having checked the
     * range before any change) lets the caller copy as above; any other
     * failure is the call's. */
    mp_status s;
    if (mp__sys.mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED) {
        /* Committed as commit does (posix_protect), read-write. */
        s = new_size == size ? MP_OK
                             : posix_protect((unsigned char *)to + size, new_size - size,
                                             MP__PROT_READ | MP__PROT_WRITE);
        if (s == MP_OK) return MP_OK;
        p = to;
    } else {
        int err = errno;
        s = err == EINVAL || err == EFAULT ? mp__fail_os(MP_ENOTSUP, err) : fail_errno();
    }
    /* Moving one mapping back into the hole it left needs no memory that
     * the first move did not; should it fail all the same, the elements
     * stay at p, lost to the vector: the one case left, two failures of the
     * kernel in a row on the same mapping. */
    (void)mp__sys.mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, from);
    return s;
#else
    (void)from;
    (void)size;
    (void)to;
    (void)new_size;
    return mp__fail(MP_ENOTSUP);
#endif
}

static mp_status posix_discard(void *addr, size_t size, unsigned prot) {
#ifdef __linux__
    /* On private anonymous memory MADV_DONTNEED frees the pages, and the
     * next touch maps fresh zero pages. */
    (void)prot;
    return mp__sys.madvise(addr, size, MADV_DONTNEED) == 0 ? MP_OK : fail_errno();
#elif defined(__APPLE__) && MP_HAVE_RX
    /* The range may be MAP_JIT, which a fresh mapping would lose (see the
     * top of this file): zero it, then let the kernel take the pages back.
     * Discard is only asked of writable page sets. */
    (void)prot;
    memset(addr, 0, size);
    return mp__sys.madvise(addr, size, MADV_FREE) == 0 ? MP_OK : fail_errno();
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
    return mp__sys.madvise(addr, size, a) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_huge_hint(void *addr, size_t size, bool on) {
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    return mp__sys.madvise(addr, size, on ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0 ? MP_OK
                                                                                  : fail_errno();
#else
    (void)addr;
    (void)size;
    (void)on;
    return MP_OK;
#endif
}

static mp_status posix_populate(void *addr, size_t size) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    /* Where the load-time probe found MADV_POPULATE_WRITE unknown (kernels
     * before 5.14), every call would only fail with EINVAL: touch at once.
     * A kernel that advertised it and refuses with EINVAL all the same (an
     * emulator) is touched too. */
    if (mp__os_cfg.populate_write) {
        if (mp__sys.madvise(addr, size, MADV_POPULATE_WRITE) == 0) return MP_OK;
        if (errno != EINVAL) return fail_errno();
    }
#endif
    /* A compare-and-swap of 0 for 0 is a write access that keeps the byte
     * whatever it holds: a page never touched takes one write fault, where
     * reading the byte first would map the shared zero page and then fault a
     * second time to copy it on write. (A page that holds data is resident
     * already.) Compilers keep a volatile compare-and-swap, where an atomic
     * add of 0 may become a plain load. */
    size_t page = mp__os_cfg.page_size;
    for (size_t off = 0; off < size; off += page) {
        unsigned char zero = 0;
        (void)__atomic_compare_exchange_n((volatile unsigned char *)addr + off, &zero, 0, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    return MP_OK;
}

/* The CPU time of the calling thread: what a populate costs that thread,
 * kernel work such as compacting memory for a huge page included, while the
 * time it waits for a CPU on a busy machine is not. clock_gettime cannot
 * fail for this clock id, so it is called directly rather than through
 * mp__sys: there is no failure to inject, and tests replace mp__os.clock_ns
 * to fake the time. */
static uint64_t posix_clock_ns(void) {
    struct timespec t;
    (void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static mp_status posix_lock(void *addr, size_t size) {
    return mp__sys.mlock(addr, size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_no_dump(void *addr, size_t size) {
#if defined(MADV_DONTDUMP)
    return mp__sys.madvise(addr, size, MADV_DONTDUMP) == 0 ? MP_OK : fail_errno();
#elif defined(MADV_NOCORE)
    return mp__sys.madvise(addr, size, MADV_NOCORE) == 0 ? MP_OK : fail_errno();
#else
    (void)addr;
    (void)size;
    return mp__fail(MP_ENOTSUP);
#endif
}

/* Whether the calling thread is the only one of the process, read without a
 * system call: glibc 2.32+ keeps __libc_single_threaded true until the
 * first pthread_create (and may leave it false after the other threads
 * exit, which only costs a needless barrier). While it is true no other
 * thread exists and none can appear before this call returns, since only
 * the calling thread could create one; a thread created afterwards starts
 * in user space only after the kernel has switched to it, which serializes
 * its core (what membarrier SYNC_CORE itself relies on for threads that are
 * not running). Threads made with a raw clone(CLONE_VM | CLONE_THREAD)
 * that bypasses glibc are not seen: such a program owns the rule, as
 * docs/jit.md says. Elsewhere: false, the barrier is always made. */
static bool only_thread(void) {
#ifdef HAVE_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/* Makes every other thread of the process execute a core-serializing
 * instruction before it runs user code again, so that none keeps running
 * instructions it fetched before the flush (ARM's rule for cross-modified
 * code; x86 asks for the same). Linux 4.16+: membarrier SYNC_CORE, which a
 * process registers for once. Elsewhere, and where the kernel refuses it
 * (older kernels, qemu-user, seccomp), nothing: the flush then holds for the
 * calling thread, and for the others after their next system call or
 * context switch (docs/jit.md). */
static void sync_other_cores(void) {
    enum { UNKNOWN, REGISTERED, UNAVAILABLE };
    static atomic_int state = UNKNOWN;
    if (!mp__os_cfg.sync_core || only_thread()) return;
    int now = atomic_load_explicit(&state, memory_order_acquire);
    if (now == UNKNOWN) {
        int saved = errno;
        now = mp__sys.membarrier(MEMBARRIER_REGISTER_SYNC_CORE, 0) == 0 ? REGISTERED : UNAVAILABLE;
        errno = saved;
        atomic_store_explicit(&state, now, memory_order_release);
    }
    if (now == REGISTERED) {
        int saved = errno;
        (void)mp__sys.membarrier(MEMBARRIER_SYNC_CORE, 0);
        errno = saved;
    }
}

static void posix_flush_icache(void *addr, size_t size) {
#ifdef __APPLE__
    sys_icache_invalidate(addr, size);
#else
    __builtin___clear_cache((char *)addr, (char *)addr + size);
#endif
    sync_other_cores();
}

/* Seals with Linux mseal. Its documentation names three failures: EINVAL
 * for bad arguments (flags, alignment, overflow: never ours), ENOMEM for a
 * range with unmapped holes (never a whole reservation), and EPERM where
 * sealing is not supported (32-bit kernels). Kernels before 6.10 and
 * emulators that do not know the call (qemu-user 7) give ENOSYS. EPERM and
 * ENOSYS are MP_ENOTSUP; a seccomp filter that refuses the call with EPERM
 * reads the same, which is what it means to the caller. Elsewhere (macOS,
 * the BSDs) the raw call gives ENOSYS: OpenBSD's mimmutable would be the
 * match there, and is not used since nothing here builds for OpenBSD.
 * The call is made whatever mp__os_cfg.mseal says, and its result decides:
 * the fault-injection tests fail it through the table. */
static mp_status posix_seal(void *base, size_t size) {
    if (mp__sys.mseal(base, size, 0) == 0) return MP_OK;
    if (errno == ENOSYS || errno == EPERM) return mp__fail_os(MP_ENOTSUP, errno);
    return fail_errno();
}

/* ---- Placement near an address (os.h reserve_near) ----
 *
 * Linux: the free ranges are the gaps between the mappings of the window.
 * Since Linux 6.11 the kernel describes the mapping at or after an address
 * (the PROCMAP_QUERY ioctl on /proc/self/maps), so a search asks for the
 * mappings of its window one by one, a few system calls where the window
 * holds few mappings. Where the kernel does not know the call (before 6.11,
 * qemu-user's emulated file), where it fails, or where the window holds
 * more than NEAR_QUERIES mappings, the whole of /proc/self/maps is read
 * through the raw calls open, read and close into a buffer on the stack
 * (no allocation). The nearest candidates of near.h are mapped with
 * MAP_FIXED_NOREPLACE (Linux 4.17), which fails with EEXIST instead of
 * replacing a mapping that another thread made since the kernel was asked.
 * Kernels before 4.17 do not know the flag and take the
 * address as a hint: they map there when the range is free and elsewhere
 * when it is not, so every result is checked, and one that landed outside
 * the window is unmapped and the next candidate tried. After
 * NEAR_ROUNDS listings without success, MP_ENOMEM. Where the
 * probe found the flag unknown (mp__os_cfg.fixed_noreplace false: old
 * kernels, qemu-user), it is not passed at all.
 *
 * Asking costs more than a mapping (a few system calls for the walk, tens
 * of microseconds for a reading of the file in a small process, growing
 * with its mappings), so a search tries, before it:
 * - the base of the last placement and its end: a JIT that allocates near
 *   one function again and again, or frees and allocates, mostly finds room
 *   there;
 * - then at most NEAR_CACHE_TRIES candidates among the largest gaps the last
 *   reading found and the gaps the last walks found (near.h,
 *   mp__near_gaps), less the places taken or found taken since: placements
 *   near functions far apart in turn find room there without asking again.
 * Both are guesses, tried with the same call and the same checks as the
 * listed candidates, so a stale one costs one refused mmap and never a
 * replaced mapping or a place out of range. When they give nothing, the
 * kernel is asked: the gaps a walk finds join the cache, and what a reading
 * of the whole file says replaces it. The memory the library frees is not
 * added back to the cache (that would cost every free a lock): it is found
 * again when the kernel is next asked.
 *
 * Elsewhere (the BSDs, macOS) there is no such list of mappings here, and
 * reserve_near gives MP_ENOTSUP.
 */

/* Listings of the window before a search gives up. Each one fails only
 * when every candidate was taken by another thread in the meantime. */
#define NEAR_ROUNDS 4

/* Candidates of the cache a search tries before it asks the kernel. */
#define NEAR_CACHE_TRIES 2

/* Mappings a walk asks for before it gives way to a reading of the whole
 * file: each costs a system call (about 1.3 µs on the machine of
 * docs/benchmarks.md, where a reading of a small process's file costs about
 * 25 µs), so a window crowded with mappings is listed faster at once. */
#define NEAR_QUERIES 16

#ifdef __linux__
/* The last placement's base and end, shared by every thread (a stale value
 * costs one refused mmap, nothing more). */
static atomic_uintptr_t near_last_base, near_last_end;

/* The gaps of the last reading of /proc/self/maps, shared by every thread.
 * Many threads may place at once, and every placement changes the cache
 * (it takes its place out), so its readers would often have to retry
 * under a seqlock; a spin lock (spin.h) held for a copy or a pass over the
 * MP__NEAR_GAPS ranges, never across a system call, costs less. */
static mp__near_gaps near_cache;
static atomic_flag near_cache_lock = ATOMIC_FLAG_INIT;

#ifdef MP_FAULT_INJECTION
bool mp__near_cache_off, mp__near_query_off;
#endif

/* The argument of PROCMAP_QUERY (Linux 6.11), declared here for the older
 * headers this builds with (Debian 12's <linux/fs.h> has none) after the
 * kernel's documented layout, 104 bytes on every architecture. The kernel
 * reads the size from the first field. Only the fields up to vma_end are
 * used; no name or build id is asked for (their sizes and addresses are 0). */
struct procmap_query_arg {
    uint64_t size, query_flags, query_addr;
    uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
    uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
    uint64_t vma_name_addr, build_id_addr;
};
_Static_assert(sizeof(struct procmap_query_arg) == 104, "the kernel's struct procmap_query");
#define PROCMAP_QUERY_REQUEST _IOWR('f', 17, struct procmap_query_arg)
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10

/* Takes [base, base + size) out of the cache. */
static void near_cache_take(uintptr_t base, size_t size) {
    mp__spin_lock(&near_cache_lock);
    mp__near_gaps_take(&near_cache, base, size);
    mp__spin_unlock(&near_cache_lock);
}

/* Tries to map size bytes exactly at base with map_flags, never replacing
 * anything. Sets *err to the errno and returns false when the place is
 * taken or unusable; else returns true with *s the outcome: MP_OK with *out
 * set, or the failure. Either way the place tried, or taken, leaves the
 * cache. */
static bool try_place(const mp__near_search *search, uintptr_t base, int map_flags, unsigned flags,
                      int *err, void **out, mp_status *s) {
    void *want = (void *)base;
    void *p = mp__sys.mmap(want, search->size, PROT_NONE, map_flags, -1, 0);
    if (p == MAP_FAILED) {
        /* Taken since the file was read (EEXIST), beyond the address space
         * (ENOMEM), or below what the kernel allows (EPERM,
         * vm.mmap_min_addr): the next candidate may do. */
        if (errno == EEXIST || errno == ENOMEM || errno == EPERM) {
            *err = errno;
            near_cache_take(base, search->size);
            return false;
        }
        *s = (flags & MP__OS_HUGE) && errno == EINVAL ? mp__fail_os(MP_ENOTSUP, errno)
                                                      : fail_errno();
        return true;
    }
    if (p == want || mp__near_fits(search, (uintptr_t)p)) {
        atomic_store_explicit(&near_last_base, (uintptr_t)p, memory_order_relaxed);
        atomic_store_explicit(&near_last_end, (uintptr_t)p + search->size, memory_order_relaxed);
        near_cache_take((uintptr_t)p, search->size);
        *out = p;
        *s = MP_OK;
        return true;
    }
    /* Taken as a hint (no MAP_FIXED_NOREPLACE), and placed elsewhere. */
    if (mp__sys.munmap(p, search->size) != 0) {
        *s = fail_errno();
        return true;
    }
    near_cache_take(base, search->size);
    *err = EEXIST;
    return false;
}

/* Reads /proc/self/maps from fd and offers every gap between mappings to
 * the search, and keeps the largest in *gaps. Parses as the bytes come, so
 * a line split between two reads needs no buffer of its own. */
static mp_status read_gaps(int fd, mp__near_search *search, mp__near_gaps *gaps) {
    /* Each line starts "start-end "; field 0 is start, 1 is end, 2 the rest. */
    uintptr_t prev_end = 0, value = 0, start = 0;
    int field = 0;
    char buf[4096];
    gaps->count = 0;
    for (;;) {
        ssize_t n = mp__sys.read(fd, buf, sizeof buf);
        if (n < 0) return fail_errno();
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (field == 2) {
                if (c == '\n') field = 0;
                continue;
            }
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit >= 0) {
                value = value << 4 | (uintptr_t)digit;
            } else if (field == 0) {
                start = value;
                value = 0;
                field = 1;
            } else {
                mp__near_offer(search, prev_end, start);
                mp__near_gaps_keep(gaps, prev_end, start);
                prev_end = value;
                value = 0;
                field = c == '\n' ? 0 : 2;
            }
        }
    }
    mp__near_offer(search, prev_end, UINTPTR_MAX);
    mp__near_gaps_keep(gaps, prev_end, UINTPTR_MAX);
    return MP_OK;
}

/* Offers the gaps of the search's window by asking the kernel, through fd
 * (/proc/self/maps), for the mapping at or after an address, from the
 * window's first byte on, until a mapping reaches past its last; the gaps
 * found join the cache. Returns false, with the search to be listed from
 * the file, when the call fails (ENOTTY before Linux 6.11 and under
 * qemu-user) or the window holds more than NEAR_QUERIES mappings. */
static bool query_gaps(int fd, mp__near_search *search) {
    uintptr_t from[NEAR_QUERIES + 1], to[NEAR_QUERIES + 1];
    size_t found = 0;
    uint64_t at = search->first, last_byte = (uint64_t)search->last + (search->size - 1);
    bool done = false;
    for (int i = 0; i < NEAR_QUERIES && !done; i++) {
        struct procmap_query_arg q;
        memset(&q, 0, sizeof q);
        q.size = sizeof q;
        q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
        q.query_addr = at;
        uint64_t gap_end;
        if (mp__sys.ioctl(fd, PROCMAP_QUERY_REQUEST, &q) == 0) {
            gap_end = q.vma_start;
            done = q.vma_end > last_byte;
        } else if (errno == ENOENT) {
            gap_end = UINTPTR_MAX; /* no mapping at or after `at` */
            done = true;
        } else {
            return false;
        }
        if (gap_end > UINTPTR_MAX) gap_end = UINTPTR_MAX; /* a 32-bit process's last page */
        if (gap_end > at) {
            from[found] = (uintptr_t)at;
            to[found++] = (uintptr_t)gap_end;
        }
        at = q.vma_end;
    }
    if (!done) return false;
    for (size_t i = 0; i < found; i++)
        mp__near_offer(search, from[i], to[i]);
    mp__spin_lock(&near_cache_lock);
    for (size_t i = 0; i < found; i++) {
        /* Out first, so that the cache holds it once. */
        mp__near_gaps_take(&near_cache, from[i], to[i] - from[i]);
        mp__near_gaps_keep(&near_cache, from[i], to[i]);
    }
    mp__spin_unlock(&near_cache_lock);
    return true;
}

/* Lists the free ranges of the search's window: by a walk (query_gaps)
 * where the kernel answers, else by a reading of the whole file, whose gaps
 * then replace the cache. */
static mp_status list_gaps(mp__near_search *search) {
    int fd = mp__sys.open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno();
    bool query = true;
#ifdef MP_FAULT_INJECTION
    query = !mp__near_query_off;
#endif
    mp_status s = MP_OK;
    if (!query || !query_gaps(fd, search)) {
        mp__near_gaps fresh;
        s = read_gaps(fd, search, &fresh);
        if (s == MP_OK) {
            mp__spin_lock(&near_cache_lock);
            near_cache = fresh;
            mp__spin_unlock(&near_cache_lock);
        }
    }
    /* Whatever was asked is answered: a failing close loses nothing. */
    (void)mp__sys.close(fd);
    return s;
}
#endif

static mp_status posix_reserve_near(size_t size, unsigned flags, const void *target,
                                    size_t max_distance, void **out) {
#ifdef __linux__
    /* Where the kernel does not know MAP_FIXED_NOREPLACE the address is
     * passed as a plain hint, which never replaces a mapping either; the
     * result is checked either way (try_place). */
    int map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (mp__os_cfg.fixed_noreplace) map_flags |= MAP_FIXED_NOREPLACE;
    size_t align = mp__os_cfg.page_size;
    if (flags & MP__OS_HUGE) {
        /* hugetlb mappings start at a multiple of the huge page size. */
        map_flags |= MAP_HUGETLB;
        align = mp__os_cfg.huge_page_size;
    }
    mp__near_search search;
    if (!mp__near_start(&search, target, max_distance, size, align)) return mp__fail(MP_ENOMEM);
    int err = 0;
    mp_status s;
    bool guess = true;
#ifdef MP_FAULT_INJECTION
    guess = !mp__near_cache_off;
#endif
    if (guess) {
        uintptr_t hints[2] = {atomic_load_explicit(&near_last_base, memory_order_relaxed),
                              atomic_load_explicit(&near_last_end, memory_order_relaxed)};
        for (size_t i = 0; i < 2; i++) {
            if (hints[i] == 0 || !mp__near_fits(&search, hints[i])) continue;
            if (try_place(&search, hints[i], map_flags, flags, &err, out, &s)) return s;
        }
        mp__spin_lock(&near_cache_lock);
        mp__near_gaps_offer(&near_cache, &search);
        mp__spin_unlock(&near_cache_lock);
        for (size_t i = 0; i < search.count && i < NEAR_CACHE_TRIES; i++) {
            if (try_place(&search, search.base[i], map_flags, flags, &err, out, &s)) return s;
        }
    }
    for (int round = 0; round < NEAR_ROUNDS; round++) {
        search.count = 0;
        if ((s = list_gaps(&search)) != MP_OK) return s;
        if (search.count == 0) break;
        for (size_t i = 0; i < search.count; i++) {
            if (try_place(&search, search.base[i], map_flags, flags, &err, out, &s)) return s;
        }
    }
    return mp__fail_os(MP_ENOMEM, err);
#else
    (void)size, (void)flags, (void)target, (void)max_distance, (void)out;
    return mp__fail(MP_ENOTSUP);
#endif
}

/* ---- Dual mapping ----
 *
 * Linux: the memory is a memfd (memfd_create, Linux 3.17), mapped MAP_SHARED
 * twice, read-write and read-execute. Both views and their guard pages lie in
 * one reservation, [rw view][rx view], so that one munmap gives the pair back
 * at once and nothing is left half freed. Linux 6.3 added MFD_EXEC and
 * MFD_NOEXEC_SEAL and the sysctl vm.memfd_noexec: without MFD_EXEC a memfd
 * may be sealed against execution (and the kernel warns), and at
 * vm.memfd_noexec=2 a memfd that asks for MFD_EXEC is refused with EACCES,
 * which gives MP_EACCES, as SELinux's refusal of executable shared memory
 * (EACCES or EPERM from mmap) does. Older kernels refuse the unknown flag
 * with EINVAL: the memfd is made again without it. The read-write view is
 * MADV_DONTFORK: a child made by fork has no mapping there, so it cannot
 * write the parent's code (MADV_WIPEONFORK works on private memory only).
 * The child inherits the read-execute view, as it does every other code.
 *
 * macOS (written against Apple's documentation and the XNU sources, compiled
 * nowhere: this project has no macOS machine and no macOS SDK; nothing of it
 * has run. Its syntax was checked once with clang against hand-written
 * stand-ins of the Apple headers, which proves nothing about those headers
 * or the calls' behaviour). The same layout, one reservation
 * [rw view][rx view] that one munmap gives back, made in four steps:
 *  1. The reservation is one PROT_NONE private anonymous MAP_JIT mapping.
 *     Apple's "Porting just-in-time compilers to Apple silicon" and the
 *     mmap(2) man page of XNU: under the hardened runtime only MAP_JIT memory
 *     may be writable-then-executable, and only with the entitlement
 *     com.apple.security.cs.allow-jit; without it the mmap fails. MAP_JIT
 *     cannot be combined with MAP_FIXED or MAP_SHARED (XNU's mmap), which is
 *     why the views are not mapped separately over the reservation as on
 *     Linux. The refusal's errno is not documented (EPERM, or EINVAL in
 *     third-party accounts); since the arguments are valid for MAP_JIT, both
 *     give MP_EACCES here.
 *  2. The data of the rw view gets read and write by mprotect, and
 *     minherit(VM_INHERIT_NONE) keeps it out of a fork child (the man page
 *     of minherit(2); XNU's own default for MAP_JIT entries differs between
 *     releases, so it is set, not assumed).
 *  3. mach_vm_remap (mach/mach_vm.h; the vm_remap page of XNU's Mach
 *     documentation) maps the same pages again over the data of the rx half
 *     of the reservation: copy = FALSE shares the memory instead of copying
 *     it, and VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE replaces the reserved
 *     range in one step, so no other mapping can take the address in
 *     between. XNU's vm_map_remap marks the new entry MAP_JIT when the source
 *     is (outside "alien" and embedded maps), which is what lets it execute
 *     under the hardened runtime; that is read from the sources, not
 *     documented by Apple. The rx view is inherited by a fork child as a
 *     copy (VM_INHERIT_COPY), so the child may run the code but never write
 *     the parent's. The kern_return_t of a failure is the OS error then:
 *     KERN_NO_SPACE and KERN_RESOURCE_SHORTAGE give MP_ENOMEM,
 *     KERN_PROTECTION_FAILURE MP_EACCES, any other MP_EOS.
 *  4. mprotect makes the rx view read and execute. Neither view is ever
 *     writable and executable, so Apple silicon's per-thread switch of RWX
 *     MAP_JIT pages (pthread_jit_write_protect_np) plays no part.
 * Any failure unmaps the reservation, which takes every step back. Code
 * written through the rw view is made runnable by flush_icache on the rx
 * view, sys_icache_invalidate() as Apple asks. mach_vm_remap and minherit
 * do not go through mp__sys: fault-injection wrappers of calls that no test
 * here can run would test nothing.
 *
 * Other POSIX systems (the BSDs) have shm_open or memfd_create with their
 * own rules on execution; that path is not written, and gives MP_ENOTSUP.
 */

#ifdef __linux__
/* The Linux flags, for C libraries older than them. */
#define MP_MFD_CLOEXEC 0x0001u
#define MP_MFD_EXEC 0x0010u /* Linux 6.3 */

/* Returns a memfd whose memory may be mapped executable, or -1 with errno
 * set. */
static int exec_memfd(void) {
    int fd = mp__sys.memfd_create("memory_pages_dual", MP_MFD_CLOEXEC | MP_MFD_EXEC);
    if (fd < 0 && errno == EINVAL) {
        /* A kernel before 6.3 does not know MFD_EXEC; its memfds may all
         * be mapped executable. */
        fd = mp__sys.memfd_create("memory_pages_dual", MP_MFD_CLOEXEC);
    }
    return fd;
}
#endif

static mp_status posix_dual_map(size_t view_size, size_t data_at, size_t size, void **rw_view,
                                void **rx_view) {
#ifdef __linux__
    if (view_size > SIZE_MAX / 2) return mp__fail(MP_EOVERFLOW);
    int fd = exec_memfd();
    if (fd < 0) {
        /* A kernel without memfd_create, or an emulator that hides it. */
        if (errno == ENOSYS) return mp__fail_os(MP_ENOTSUP, errno);
        return fail_errno();
    }
    mp_status s = MP_OK;
    unsigned char *base = MAP_FAILED;
    if (mp__sys.ftruncate(fd, (off_t)size) != 0) {
        s = fail_errno();
    } else if ((base = mp__sys.mmap(NULL, 2 * view_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                                    0)) == MAP_FAILED) {
        s = fail_errno();
    } else if (mp__sys.mmap(base + data_at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                            fd, 0) == MAP_FAILED ||
               mp__sys.mmap(base + view_size + data_at, size, PROT_READ | PROT_EXEC,
                            MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
               mp__sys.madvise(base + data_at, size, MADV_DONTFORK) != 0) {
        s = fail_errno();
    }
    /* The mappings keep the memory alive; the descriptor is not needed.
     * Linux releases it even when close reports an error, so there is
     * nothing to undo then. */
    int saved = errno;
    (void)mp__sys.close(fd);
    errno = saved;
    if (s != MP_OK) {
        if (base != MAP_FAILED) (void)mp__sys.munmap(base, 2 * view_size);
        return s;
    }
    *rw_view = base;
    *rx_view = base + view_size;
    return MP_OK;
#elif defined(__APPLE__)
    if (view_size > SIZE_MAX / 2) return mp__fail(MP_EOVERFLOW);
    unsigned char *base =
        mp__sys.mmap(NULL, 2 * view_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_JIT, -1, 0);
    if (base == MAP_FAILED) {
        /* The hardened runtime's refusal of MAP_JIT (see above). */
        if (errno == EINVAL) return mp__fail_os(MP_EACCES, errno);
        return fail_errno();
    }
    unsigned char *rw = base + data_at, *rx = base + view_size + data_at;
    mp_status s = MP_OK;
    if (mp__sys.mprotect(rw, size, PROT_READ | PROT_WRITE) != 0 ||
        minherit((void *)rw, size, VM_INHERIT_NONE) != 0) {
        s = fail_errno();
    } else {
        mach_vm_address_t at = (mach_vm_address_t)(uintptr_t)rx;
        vm_prot_t cur, max;
        kern_return_t kr = mach_vm_remap(
            mach_task_self(), &at, size, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, mach_task_self(),
            (mach_vm_address_t)(uintptr_t)rw, FALSE, &cur, &max, VM_INHERIT_COPY);
        if (kr != KERN_SUCCESS) {
            s = mp__fail_os(kr == KERN_NO_SPACE || kr == KERN_RESOURCE_SHORTAGE ? MP_ENOMEM
                            : kr == KERN_PROTECTION_FAILURE                     ? MP_EACCES
                                                                                : MP_EOS,
                            kr);
        } else if (mp__sys.mprotect(rx, size, PROT_READ | PROT_EXEC) != 0) {
            s = fail_errno();
        }
    }
    if (s != MP_OK) {
        /* The status keeps the first failure's OS error. */
        (void)mp__sys.munmap(base, 2 * view_size);
        return s;
    }
    *rw_view = base;
    *rx_view = base + view_size;
    return MP_OK;
#else
    (void)view_size, (void)data_at, (void)size, (void)rw_view, (void)rx_view;
    return mp__fail(MP_ENOTSUP);
#endif
}

static mp_status posix_dual_unmap(void *view, size_t view_size) {
    return mp__sys.munmap(view, view_size) == 0 ? MP_OK : fail_errno();
}

static mp_status posix_dual_release(void *rw_view, void *rx_view, size_t view_size) {
    /* dual_map put the views side by side: one call gives both back. */
    (void)rx_view;
    return mp__sys.munmap(rw_view, 2 * view_size) == 0 ? MP_OK : fail_errno();
}

/* Reserved memory is committed on first touch, so committing is only giving
 * the range its access. */
#define POSIX_API                                                                                  \
    {                                                                                              \
        .reserve = posix_reserve, .release = posix_release, .commit = posix_protect,               \
        .decommit = posix_decommit, .protect = posix_protect, .remap = posix_remap,                \
        .discard = posix_discard, .advise = posix_advise, .huge_hint = posix_huge_hint,            \
        .populate = posix_populate, .clock_ns = posix_clock_ns, .lock = posix_lock,                \
        .no_dump = posix_no_dump, .flush_icache = posix_flush_icache, .seal = posix_seal,          \
        .reserve_near = posix_reserve_near, .dual_map = posix_dual_map,                            \
        .dual_unmap = posix_dual_unmap, .dual_release = posix_dual_release,                        \
    }

const mp__os_api mp__os_native = POSIX_API;
MP__HOOKABLE mp__os_api mp__os = POSIX_API;

void mp__os_yield(void) {
    (void)mp__sys.sched_yield();
}

#ifdef __linux__
/* Reads up to size - 1 bytes of a small file (of /proc or /sys) into buf
 * and ends them with a zero; returns false when the file cannot be read. */
static bool read_small_file(const char *path, char *buf, size_t size) {
    int fd = mp__sys.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = mp__sys.read(fd, buf, size - 1);
    (void)mp__sys.close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    return true;
}

/* The default size of explicit huge pages (MAP_HUGETLB), from /proc/meminfo
 * ("Hugepagesize:  2048 kB"); 0 where there is none. */
static size_t huge_page_size(void) {
    char buf[4096];
    unsigned long kib = 0;
    if (!read_small_file("/proc/meminfo", buf, sizeof buf)) return 0;
    const char *line = strstr(buf, "Hugepagesize:");
    if (line == NULL || sscanf(line, "Hugepagesize: %lu kB", &kib) != 1) return 0;
    return (size_t)kib * 1024;
}

/* Whether madvise(MADV_HUGEPAGE) gets transparent huge pages: the kernel
 * has them, and its setting (read, never changed) is not "[never]". */
static bool thp_on_request(void) {
    char buf[128];
    return read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) &&
           strstr(buf, "[never]") == NULL;
}
#endif

#if defined(MADV_POPULATE_WRITE) || defined(MADV_DONTDUMP) || defined(MADV_NOCORE)
/* Whether the kernel knows an madvise advice: it checks the advice before
 * anything else, and an empty range then succeeds. */
static bool advice_known(int advice) {
    return mp__sys.madvise(NULL, 0, advice) == 0;
}
#endif

/* Whether MAP_FIXED_NOREPLACE (Linux 4.17+) refuses an occupied address.
 * Older kernels take the flag for a hint and map elsewhere. */
static bool fixed_noreplace_works(size_t page) {
#ifdef MAP_FIXED_NOREPLACE
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    void *taken = mp__sys.mmap(NULL, page, PROT_NONE, flags, -1, 0);
    if (taken == MAP_FAILED) return false;
    void *again = mp__sys.mmap(taken, page, PROT_NONE, flags | MAP_FIXED_NOREPLACE, -1, 0);
    bool refused = again == MAP_FAILED && errno == EEXIST;
    if (again != MAP_FAILED) (void)mp__sys.munmap(again, page);
    (void)mp__sys.munmap(taken, page);
    return refused;
#else
    (void)page;
    return false;
#endif
}

void mp__os_probe(mp_os_caps *out) {
    int saved = errno;
    long page = mp__sys.sysconf(_SC_PAGESIZE);
    /* sysconf cannot fail for _SC_PAGESIZE on any system this supports;
     * should it, the smallest page size of them all is safe to assume. */
    size_t page_size = page > 0 ? (size_t)page : 4096;
    int barriers = mp__sys.membarrier(MEMBARRIER_QUERY, 0);
    *out = (mp_os_caps) {
        .page_size = page_size, .granularity = page_size,
#ifdef __linux__
        .huge_page_size = huge_page_size(), .thp = thp_on_request(), .remap = true,
#endif
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
        .populate_write = advice_known(MADV_POPULATE_WRITE),
#endif
#if defined(MADV_DONTDUMP)
        .no_dump = advice_known(MADV_DONTDUMP),
#elif defined(MADV_NOCORE)
        .no_dump = advice_known(MADV_NOCORE),
#endif
        /* An empty range is sealed at once where the kernel has mseal. */
            .mseal = mp__sys.mseal(NULL, 0, 0) == 0,
        .fixed_noreplace = fixed_noreplace_works(page_size),
        .sync_core = barriers > 0 && (barriers & MEMBARRIER_SYNC_CORE),
    };
    errno = saved;
}
