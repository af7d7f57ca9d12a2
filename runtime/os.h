/*
 * The OS contract: everything memory_pages asks of the kernel, in one table.
 *
 * One file per platform implements it (os_posix.c, os_windows.c); the build
 * compiles exactly one of them, so no other file tests the platform.
 *
 * Invariants shared by every implementation:
 *  - Addresses and sizes are multiples of mp__os_cfg.page_size, except where
 *    a function says otherwise, and sizes are never zero. A reservation
 *    starts at a multiple of mp__os_cfg.granularity.
 *  - A range passed to any function other than reserve lies inside one live
 *    reservation. release takes exactly the base and size that reserve gave.
 *  - `prot` is a combination of the MP__PROT_* bits of runtime.h. Write and
 *    execute together reach this layer only in builds that allow them; the
 *    callers check, the OS layer does not second-guess.
 *  - Every function returns MP_OK or the status that best names the failure,
 *    and records the OS's own error code with mp__fail_os() so that
 *    mp_os_error() can report it. A failed call changes nothing the caller
 *    can observe, as far as the OS allows: a range that could not be
 *    committed or protected keeps its old access.
 *  - Nothing here prints, aborts or raises a signal.
 *
 * Library code calls the OS only through the table mp__os, and each
 * platform file calls the system only through its own table of raw system
 * calls (sys_posix.h, sys_windows.h). Both tables are const, in read-only
 * memory where a stray write cannot redirect them, except in the runtime
 * built for fault injection (MP_FAULT_INJECTION, the testonly target
 * //runtime:runtime_fault_injection): there tests may replace any entry of
 * either table, to make any call fail on purpose as SQLite's aSyscall[]
 * does, and must restore it.
 */
#ifndef MEMORY_PAGES_RUNTIME_OS_H
#define MEMORY_PAGES_RUNTIME_OS_H

#include "memory_pages/internal/pages.h"
#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for reserve. */
enum {
    /* Back the reservation with huge pages of mp__os_cfg.huge_page_size, or
     * fail: the size is a multiple of that huge page size. */
    MP__OS_HUGE = 1,
    /* The range may become executable later (macOS needs MAP_JIT for it). */
    MP__OS_EXECUTABLE = 2,
    /* A hint that the range will ask for transparent huge pages: reserve
     * it so that the byte at the offset given to reserve starts a huge page,
     * where the platform has transparent huge pages. */
    MP__OS_ALIGN_HUGE = 4
};

/* Writable in the fault-injection build only (see above). */
#ifdef MP_FAULT_INJECTION
#define MP__HOOKABLE
#else
#define MP__HOOKABLE const
#endif

typedef struct mp__os_api {
    /* Reserves size bytes of address space with no access and no memory
     * committed behind it; *out receives the base. With MP__OS_ALIGN_HUGE,
     * base + align_at starts a huge page where that can be had. */
    mp_status (*reserve)(size_t size, size_t align_at, unsigned flags, void **out);
    /* Gives a whole reservation back, or after a remap what is left of it
     * past the pages moved away: that may be nothing (size 0), which
     * succeeds. */
    mp_status (*release)(void *base, size_t size);
    /* Backs a reserved range with memory that reads as zeros, accessible as
     * prot. Memory may be charged now and appear on first touch. */
    mp_status (*commit)(void *addr, size_t size, unsigned prot);
    /* Returns the memory of a committed range, and its commit charge, to the
     * OS; the range goes back to reserved, with no access. flags are those
     * the reservation was made with (only MP__OS_HUGE matters). */
    mp_status (*decommit)(void *addr, size_t size, unsigned flags);
    /* Changes the access of a committed range. */
    mp_status (*protect)(void *addr, size_t size, unsigned prot);
    /* Moves the pages of the committed read-write range [from, from +
     * size), with their contents, to to, without copying, and commits the
     * rest of [to, to + new_size) read-write after them (new_size >= size):
     * that range is part of another reservation, reserved with no access.
     * The range at from is left unmapped: the caller releases only the rest
     * of its reservation. MP_ENOTSUP where the OS cannot move these pages
     * (no such call, a range the OS holds as several mappings, or an
     * emulator that refuses): the caller copies instead, and [to, to +
     * new_size) is untouched. On any failure nothing has moved; after a
     * failure other than MP_ENOTSUP [to, to + new_size) may have left the
     * reservation, which the caller then releases whole. */
    mp_status (*remap)(void *from, size_t size, void *to, size_t new_size);
    /* Returns the memory of a committed range to the OS while it stays
     * accessible as prot (its current access); it reads as zeros after. */
    mp_status (*discard)(void *addr, size_t size, unsigned prot);
    /* Passes an access-pattern hint; platforms without one succeed. */
    mp_status (*advise)(void *addr, size_t size, mp_advice advice);
    /* Asks for transparent huge pages for a range (on), or asks that it get
     * none, whatever the system's default (not on); a hint, platforms
     * without one succeed. */
    mp_status (*huge_hint)(void *addr, size_t size, bool on);
    /* Faults in every page of a committed, writable range. */
    mp_status (*populate)(void *addr, size_t size);
    /* The CPU time of the calling thread in nanoseconds, kernel work in its
     * system calls included, time spent waiting for a CPU not: cheap enough
     * to read around every populate (vec.c times them to choose huge pages,
     * and a busy machine's preemption must not look like a dear populate).
     * Cannot fail. */
    uint64_t (*clock_ns)(void);
    /* Keeps a committed range resident in RAM until it is released. */
    mp_status (*lock)(void *addr, size_t size);
    /* Leaves a range out of core dumps; MP_ENOTSUP where the OS cannot. */
    mp_status (*no_dump)(void *addr, size_t size);
    /* Makes the instruction stream of every thread of the process coherent
     * with the data written to a range, where the OS offers a way (Linux
     * membarrier SYNC_CORE, Windows FlushProcessWriteBuffers); on the calling
     * thread always. Cannot fail: where the process-wide step is missing, the
     * calling thread's flush still happens (docs/jit.md says what holds
     * where). */
    void (*flush_icache)(void *addr, size_t size);

    /* ---- Sealing (shared/API.md section 8) ---- */

    /* Seals the whole reservation [base, base + size), as reserve gave it:
     * from then on, for the life of the process, none of its pages can
     * change access, be unmapped, or be replaced by another mapping, also
     * not by this library (Linux 6.10+: mseal). MP_ENOTSUP where the OS
     * cannot, found at run time where the OS has such a call (Linux kernels
     * before 6.10 and 32-bit kernels refuse it), without one elsewhere
     * (Windows, macOS). On failure nothing is sealed, except in the rare
     * case the Linux documentation names (the kernel failing to split a
     * mapping part way), which the caller cannot tell apart and reports as
     * a failure all the same. */
    mp_status (*seal)(void *base, size_t size);
    /* ---- Placement near an address (issue 14) ---- */

    /* Reserves as reserve does, at an address where every byte of the
     * reservation lies within max_distance bytes of target: the first byte
     * at or above target - max_distance, the last at or below target +
     * max_distance. It never replaces a mapping, whatever the OS. flags are
     * reserve's, but MP__OS_ALIGN_HUGE is not followed (the placement wins
     * over the hint). Returns MP_ENOMEM when no free range that close was
     * found, MP_ENOTSUP where the platform cannot place reservations. */
    mp_status (*reserve_near)(size_t size, unsigned flags, const void *target, size_t max_distance,
                              void **out);

    /* ---- Dual mapping (runtime/dual.c, builds with allow_dual_map) ----
     * One memory mapped twice, read-write and read-execute. Callers of
     * these entries check that the build allows the pair; no view is ever
     * writable and executable, whatever the build. */

    /* Maps size bytes of fresh shared memory, which read as zeros, twice:
     * read-write at *rw_view + data_at and read-execute at *rx_view +
     * data_at, each inside a view of view_size bytes whose other pages are
     * reserved with no access (the guard pages). A child made by fork does
     * not inherit the read-write view. MP_EACCES where the OS refuses shared
     * executable memory, MP_ENOTSUP where the platform cannot map it so (no
     * dual mapping, or guard pages on Windows). On failure nothing is
     * mapped. */
    mp_status (*dual_map)(size_t view_size, size_t data_at, size_t size, void **rw_view,
                          void **rx_view);
    /* Gives back one view that dual_map made, with its guard pages. */
    mp_status (*dual_unmap)(void *view, size_t view_size);
    /* Gives back both views that one dual_map made. On failure nothing was
     * given back, except where the platform file says otherwise. */
    mp_status (*dual_release)(void *rw_view, void *rx_view, size_t view_size);
} mp__os_api;

/* The table in use. In the fault-injection build tests may replace entries
 * and must restore them. */
extern MP__HOOKABLE mp__os_api mp__os;

/* The platform's own implementations, for tests that wrap them. */
extern const mp__os_api mp__os_native;

/* What this platform offers, filled by mp__os_probe when the library is
 * loaded (os_config.c) and read-only after that; mp_os_capabilities()
 * hands it to users. Tests of the fault-injection build may clear a field
 * to take the path of a system that lacks it, and must restore it. */
extern mp_os_caps mp__os_cfg;

/* Asks the OS what it offers (mp_os_caps), and where the platform file
 * looks up optional system calls (Windows), finds them. Runs once, at load,
 * before any test can replace a table entry, so the walks of every system
 * call site never meet a probe. The probes have no other lasting effect on
 * the process and keep errno. */
void mp__os_probe(mp_os_caps *out);

/* Gives the rest of the calling thread's time slice to other threads. */
void mp__os_yield(void);

/* Gives [addr, addr + size) the transparent huge-page advice the option
 * huge asks for: MP_HUGE_TRY asks for huge pages, MP_HUGE_NEVER refuses
 * them, the others ask nothing. Only advice: the pages work either way, so
 * a refusal is ignored. */
static inline void mp__os_huge_advice(void *addr, size_t size, mp_huge huge) {
    if (huge == MP_HUGE_TRY || huge == MP_HUGE_NEVER)
        (void)mp__os.huge_hint(addr, size, huge == MP_HUGE_TRY);
}

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_OS_H */
