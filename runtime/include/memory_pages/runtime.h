/*
 * The hand-written part of the public interface of memory_pages: statuses,
 * page facts and the option structs (shared/API.md sections 1 to 3, 5).
 *
 * Users include "memory_pages/memory_pages.h", which is generated for the
 * build's features and includes this header. Everything here is contract;
 * what the generated code calls is in memory_pages/internal/ (not part of
 * the contract, and it may change).
 */
#ifndef MEMORY_PAGES_RUNTIME_H
#define MEMORY_PAGES_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The result of every fallible call. */
typedef enum mp_status {
    MP_OK = 0,
    MP_EINVAL,    /* bad argument: NULL, zero length, offset or index out of range */
    MP_ENOMEM,    /* the OS refused memory or address space */
    MP_EOVERFLOW, /* a size computation would overflow size_t */
    MP_EACCES,  /* the OS refused the permission (SELinux execmem, PaX, W^X policy, Windows ACG) */
    MP_ESTALE,  /* the handle was consumed, freed, or its pages changed state */
    MP_ENOTSUP, /* not available on this platform or in this build */
    MP_EOS      /* any other OS failure; mp_os_error() has the code */
} mp_status;

/* Returns a short English description of s. Never NULL, also for values
 * outside the enum. */
const char *mp_status_str(mp_status s);

/* Returns the errno (or GetLastError() on Windows) behind the last failed
 * call of this library on the calling thread, or 0 when that failure had no
 * OS error behind it or no call has failed yet. */
int mp_os_error(void);

/* Returns the size of a page in bytes, as the OS reports it. */
size_t mp_page_size(void);

/* Returns the granularity of address-space reservations in bytes: 64 KiB on
 * Windows, the page size elsewhere. */
size_t mp_alloc_granularity(void);

/* What the OS and its kernel offer this library, learnt once when the
 * library is loaded (docs/platforms.md says what each field means on each
 * platform). A true field is what the kernel advertises; a call that relies
 * on it still checks the result, because a sandbox (seccomp) or an emulator
 * may refuse what the kernel knows. */
typedef struct mp_os_caps {
    size_t page_size;      /* mp_page_size() */
    size_t granularity;    /* mp_alloc_granularity() */
    size_t huge_page_size; /* explicit huge pages for MP_HUGE_REQUIRE; 0 when there are none */
    bool thp;              /* transparent huge pages on request (MP_HUGE_TRY) */
    bool populate_write;   /* a writable range is pre-faulted in one call, not a fault a page */
    bool no_dump;          /* a range can be left out of core dumps */
    bool remap;            /* pages move to another address without being copied */
    bool mseal;            /* a range can be sealed against change for the life of the process */
    bool fixed_noreplace;  /* placing memory at an address fails rather than replace a mapping */
    bool sync_core;        /* every thread's instruction stream is made coherent in one call */
} mp_os_caps;

/* Returns the capabilities of this system; never NULL. */
const mp_os_caps *mp_os_capabilities(void);

/* Whether pages should be backed by huge pages.
 *  - MP_HUGE_NO (the default) asks nothing of page sets: the system's setting
 *    decides (Linux's transparent huge pages may back them under "always").
 *    A vector decides for itself once it is large (docs/paged_vec.md, "Huge
 *    pages").
 *  - MP_HUGE_TRY asks for transparent huge pages: a hint the OS may ignore.
 *  - MP_HUGE_REQUIRE fails unless the OS gives huge pages.
 *  - MP_HUGE_NEVER asks for small pages only, whatever the system's setting
 *    (MADV_NOHUGEPAGE; nothing to ask where huge pages come only on
 *    request). Advice like MP_HUGE_TRY: a kernel that refuses it changes
 *    memory use, never a status or the data. */
typedef enum mp_huge { MP_HUGE_NO = 0, MP_HUGE_TRY, MP_HUGE_REQUIRE, MP_HUGE_NEVER } mp_huge;

/* Options for mp_pages_S_new_opts. All zero means the defaults. */
typedef struct mp_pages_opts {
    size_t guard_pages_before; /* no-access pages just before the data, outside len */
    size_t guard_pages_after;  /* no-access pages just after it */
    mp_huge huge;
    bool populate; /* pre-fault every page */
    bool lock;     /* keep in RAM (mlock / VirtualLock) */
    bool no_dump;  /* leave out of core dumps */
    /* With max_distance: every byte of the pages, guard pages included,
     * lies within max_distance bytes of near, or the call fails with
     * MP_ENOMEM; an existing mapping is never replaced (docs/jit.md). Both
     * zero: anywhere. near without max_distance, or max_distance without
     * near, is MP_EINVAL. Windows' windef.h defines `near` as nothing: the
     * field keeps its name whatever was included before, and code that
     * names it after <windows.h> needs `#undef near` (docs/platforms.md). */
#if defined(__GNUC__) || defined(_MSC_VER)
#pragma push_macro("near")
#endif
#undef near
    const void *near;
#if defined(__GNUC__) || defined(_MSC_VER)
#pragma pop_macro("near")
#endif
    size_t max_distance;
} mp_pages_opts;

/* Access-pattern hints for mp_pages_S_advise. */
typedef enum mp_advice {
    MP_ADVICE_NORMAL = 0,
    MP_ADVICE_SEQUENTIAL,
    MP_ADVICE_RANDOM,
    MP_ADVICE_WILLNEED
} mp_advice;

/* Options for V_new_opts of a generated PagedVec. All zero means the
 * defaults. */
typedef struct mp_vec_opts {
    size_t capacity;     /* elements to commit up front */
    size_t max_capacity; /* elements of address space to reserve: growth up to here never moves */
    mp_huge huge;
    bool guard; /* a no-access page after the reservation */
} mp_vec_opts;

/* ------------------------------------------------------------------------
 * What an address is (docs/jit.md, "Query").
 * ------------------------------------------------------------------------ */

/* The kinds of objects mp_query knows. */
typedef enum mp_kind {
    MP_KIND_PAGES = 1,  /* a page set, in any state */
    MP_KIND_VEC,        /* a PagedVec */
    MP_KIND_FROZEN_VEC, /* a frozen PagedVec */
    MP_KIND_DUAL,       /* one view of a dual mapping */
    MP_KIND_CODE_ARENA  /* a code arena */
} mp_kind;

/* Bits of mp_page_info.access. */
enum { MP_ACCESS_READ = 1, MP_ACCESS_WRITE = 2, MP_ACCESS_EXEC = 4 };

/* What mp_query found at an address. */
typedef struct mp_page_info {
    mp_kind kind;
    unsigned access;  /* MP_ACCESS_READ | MP_ACCESS_WRITE | MP_ACCESS_EXEC of the state */
    const void *base; /* first byte of the data */
    size_t len;       /* bytes of data */
    size_t offset;    /* (char *)addr - (char *)base; meaningful when !guard */
    bool guard;       /* addr lies in one of its guard pages */
} mp_page_info;

/* Finds the live object of this library whose memory holds addr: its data,
 * its guard pages, or (for a vector) its reservation past the committed
 * capacity, which counts as guard. Returns MP_OK with *out filled, or
 * MP_EINVAL when out is NULL or addr lies in no live object (a freed or
 * consumed one included). Async-signal-safe: takes no lock, allocates
 * nothing and never waits, so a SIGSEGV handler may call it; it reads every
 * registry slot ever used, so it costs time in proportion to the most
 * objects that were ever live at once. */
mp_status mp_query(const void *addr, mp_page_info *out);

/* ------------------------------------------------------------------------
 * JIT capability probe (docs/jit.md).
 * ------------------------------------------------------------------------ */

/* How one way of making code executable fared in this process. */
typedef struct mp_jit_way {
    bool works;       /* code written this way ran and returned what it should */
    mp_status status; /* MP_OK if it works; else why not: MP_ENOTSUP when this build does not
                         allow the way, MP_EACCES when the OS refused the permission, ... */
    int os_error;     /* the errno or GetLastError() behind status, 0 if none */
} mp_jit_way;

/* What mp_jit_probe found. */
typedef struct mp_jit_caps {
    /* Write code into mp_pages_rw, move the pages into mp_pages_rx, run it.
     * Needs allow_exec. */
    mp_jit_way write_then_exec;
    /* Write code into mp_pages_rwx and run it there, without a transition.
     * Needs allow_exec and deny_xw=false. */
    mp_jit_way write_and_exec;
    /* Write code through the read-write view of mp_pages_dual, run it from
     * the read-execute view: no page is ever writable and executable, but
     * the code has a writable alias. Needs allow_exec and allow_dual_map. */
    mp_jit_way dual_mapping;
    /* Whether the probe ran code. It does on x86 and AArch64; elsewhere it
     * knows no machine code, and a way "works" when the OS granted the
     * permissions. */
    bool ran_code;
} mp_jit_caps;

/* Finds out which ways of making code executable work in this process, and
 * why the others do not, by trying each on one page: see mp_jit_caps.
 * Returns MP_EINVAL if out is NULL; otherwise MP_OK with the findings in
 * *out, also when no way works. Takes a few system calls; never prints or
 * faults. */
mp_status mp_jit_probe(mp_jit_caps *out);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_H */
