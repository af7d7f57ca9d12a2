/*
 * The hand-written part of the public interface of memory_pages: statuses,
 * page facts and the option structs (shared/API.md sections 1 to 3, 5).
 *
 * Users include "memory_pages/memory_pages.h", which is generated for the
 * build's features and includes this header. The declarations under
 * "Internal" below are the runtime entry points that the generated wrappers
 * call; they are not part of the contract and may change.
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

/* Returns the size of a page in bytes, queried from the OS on first use. */
size_t mp_page_size(void);

/* Returns the granularity of address-space reservations in bytes: 64 KiB on
 * Windows, the page size elsewhere. */
size_t mp_alloc_granularity(void);

/* Whether pages should be backed by huge pages. MP_HUGE_TRY is a hint that
 * the OS may ignore; MP_HUGE_REQUIRE fails unless the OS gives huge pages. */
typedef enum mp_huge { MP_HUGE_NO = 0, MP_HUGE_TRY, MP_HUGE_REQUIRE } mp_huge;

/* Options for mp_pages_S_new_opts. All zero means the defaults. */
typedef struct mp_pages_opts {
    size_t guard_pages_before; /* no-access pages just before the data, outside len */
    size_t guard_pages_after;  /* no-access pages just after it */
    mp_huge huge;
    bool populate; /* pre-fault every page */
    bool lock;     /* keep in RAM (mlock / VirtualLock) */
    bool no_dump;  /* leave out of core dumps */
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

/* ------------------------------------------------------------------------
 * Internal: called by the generated wrappers only.
 * ------------------------------------------------------------------------ */

/* Access bits of a page range. */

enum { MP__PROT_NONE = 0, MP__PROT_READ = 1, MP__PROT_WRITE = 2, MP__PROT_EXEC = 4 };

/* A reference to one live page set: the index of its slot in the registry
 * and the generation the slot had when the reference was made. Every
 * generated handle type holds exactly one, as its only member. An all-zero
 * reference is never live. */
typedef struct mp__ref {
    uint32_t slot;
    uint32_t gen;
} mp__ref;

mp_status mp__pages_new(size_t len, const mp_pages_opts *opts, unsigned prot, mp__ref *out);
size_t mp__pages_len(const mp__ref *ref, unsigned prot);
void *mp__pages_data(const mp__ref *ref, unsigned prot);
mp_status mp__pages_free(mp__ref *ref, unsigned prot);
mp_status mp__pages_into(mp__ref *from, unsigned from_prot, unsigned to_prot, mp__ref *to);
mp_status mp__pages_advise(const mp__ref *ref, unsigned prot, size_t offset, size_t len,
                           mp_advice advice);
mp_status mp__pages_discard(mp__ref *ref, unsigned prot, size_t offset, size_t len);

/* A checked reference to a function in executable pages, the only member
 * of every generated function-reference type (runtime/fn_ref.c explains why
 * the inline check below is sound). `gen` points at the generation counter
 * of the pages' slot, which is never freed; `expected` is the generation the
 * pages had when the reference was made, odd and so never 0. An all-zero
 * reference is never live. */
typedef struct mp__fn_ref {
    const uint32_t *gen;
    uint32_t expected;
    void (*code)(void);
} mp__fn_ref;

/* Makes *out refer to the byte at offset of the live pages `pages`, which
 * must have the access prot. MP_EINVAL for NULL or offset >= len,
 * MP_ESTALE for a stale handle. */
mp_status mp__fn_ref_from(const mp__ref *pages, unsigned prot, size_t offset, mp__fn_ref *out);

/* Records a failure of a generated call with no OS error behind it and
 * returns s. */
mp_status mp__fn_ref_fail(mp_status s);

/* Whether the pages f refers to are still in the state, and the same
 * allocation, they were in when f was made. Safe from any thread: it reads
 * only the generation counter, atomically, with acquire order, so a thread
 * that sees the reference live also sees the code written before the pages
 * became executable. */
static inline bool mp__fn_ref_live(const mp__fn_ref *f) {
    return f->gen != NULL && __atomic_load_n(f->gen, __ATOMIC_ACQUIRE) == f->expected;
}

/* ---- PagedVec: the untyped vector core (runtime/vec.c) ----
 *
 * Every generated vector type V and its frozen form V_frozen hold one
 * mp__vec as their only member; the generated functions pass it with
 * sizeof(T), the element size, which is never 0. The generated header reads
 * data, len and cap directly on its fast paths (push, pop, at), after
 * mp__vec_live; everything else goes through the functions below. */
typedef struct mp__vec {
    unsigned char *data; /* first element; NULL while nothing is reserved */
    size_t len;          /* elements in use */
    size_t cap;          /* elements that fit in the committed bytes */
    size_t committed;    /* accessible bytes from data on, whole commit units */
    size_t reserved;     /* bytes of address space from data on, guard excluded */
    size_t keep;         /* committed bytes that clear leaves in place */
    /* The generation counter of ref's registry slot (NULL while there is no
     * slot): slots never move, so the fast paths check liveness with one
     * load of it (mp__vec_live). */
    const uint32_t *slot_gen;
    mp__ref ref;    /* registry slot of the reservation; all zero while there is none */
    mp_huge huge;   /* the huge-page option the vector was made with */
    uint32_t guard; /* nonzero: a no-access guard follows the reservation (not a
                     * bool, so that the struct has no padding bytes) */
} mp__vec;

/* Makes *v an empty vector with the default options, which owns nothing.
 * Field by field, so that the compiler keeps a local vector in registers
 * (a memset of the whole struct makes gcc keep it in memory); mp__vec has
 * no padding, so every byte is set. */
static inline void mp__vec_init_empty(mp__vec *v) {
    v->data = NULL;
    v->len = v->cap = v->committed = v->reserved = v->keep = 0;
    v->slot_gen = NULL;
    v->ref.slot = 0;
    v->ref.gen = 0;
    v->huge = MP_HUGE_NO;
    v->guard = 0;
}

/* Whether v, which owns a registry slot (its len or cap is not 0), may be
 * used as it is: its slot is still at the generation v holds. Any call
 * through another copy that changed the vector's memory (grew, gave back,
 * moved, froze, thawed or freed it) moved the generation on. One relaxed
 * load and a compare, the check of every inline fast path: it is the check
 * of the thread that uses v, which made any change through v itself (API
 * section 7); a false answer while another call holds the slot is settled
 * by mp__vec_wait_live. */
static inline bool mp__vec_owned_live(const mp__vec *v) {
    return __atomic_load_n(v->slot_gen, __ATOMIC_RELAXED) == v->ref.gen;
}

/* Whether v may be used as it is: as mp__vec_owned_live, and a vector that
 * owns no slot is live unless it was consumed. */
static inline bool mp__vec_live(const mp__vec *v) {
    return v->slot_gen != NULL ? mp__vec_owned_live(v) : v->ref.gen == 0;
}

/* The slow side of the checks: waits while a call on a copy of v holds its
 * slot, then answers whether v is live. */
bool mp__vec_wait_live(const mp__vec *v);

/* The checks with their slow side, for the generated functions that read
 * the vector without calling the runtime. The slow side gets a copy, so
 * that the vector's own address never escapes into an out-of-line call and
 * the compiler can keep a local vector in registers across a loop of pushes
 * (docs/benchmarks.md, workload 8). */
static inline bool mp__vec_ok(const mp__vec *v) {
    if (mp__vec_live(v)) return true;
    mp__vec w = *v;
    return mp__vec_wait_live(&w);
}

static inline bool mp__vec_owned_ok(const mp__vec *v) {
    if (mp__vec_owned_live(v)) return true;
    mp__vec w = *v;
    return mp__vec_wait_live(&w);
}

mp_status mp__vec_new(mp__vec *v, const mp_vec_opts *opts, size_t size);
mp_status mp__vec_with_capacity(mp__vec *v, size_t n, size_t size);
/* Makes room for one more element, growing by at least doubling: the slow
 * path of the generated push, which then stores the element itself. */
mp_status mp__vec_grow(mp__vec *v, size_t size);
mp_status mp__vec_pop(mp__vec *v, void *out, size_t size);
mp_status mp__vec_insert(mp__vec *v, size_t i, const void *x, size_t size);
mp_status mp__vec_remove(mp__vec *v, size_t i, void *out, size_t size);
mp_status mp__vec_swap_remove(mp__vec *v, size_t i, void *out, size_t size);
mp_status mp__vec_extend(mp__vec *v, const void *src, size_t n, size_t size);
mp_status mp__vec_resize(mp__vec *v, size_t n, const void *fill, size_t size);
mp_status mp__vec_truncate(mp__vec *v, size_t n);
mp_status mp__vec_clear(mp__vec *v, size_t size);
mp_status mp__vec_reserve(mp__vec *v, size_t additional, size_t size);
mp_status mp__vec_shrink_to_fit(mp__vec *v, size_t size);
mp_status mp__vec_freeze(mp__vec *v, mp__vec *out);
mp_status mp__vec_free(mp__vec *v);
size_t mp__vec_frozen_len(const mp__vec *f);
const void *mp__vec_frozen_data(const mp__vec *f);
const void *mp__vec_frozen_at(const mp__vec *f, size_t i, size_t size);
mp_status mp__vec_frozen_free(mp__vec *f);
mp_status mp__vec_thaw(mp__vec *f, mp__vec *out);

/* Releases every reservation that freed vectors left in the cache of
 * runtime/vec.c. For tests that count mappings or fail OS calls one by one;
 * stops at, and returns, the first failed release. */
mp_status mp__vec_cache_drain(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_H */
