/*
 * mp_query: what a fault handler asks about an address (shared/API.md
 * section 8). The objects record their address ranges in their registry
 * slots (registry.h, "Query"); this looks the address up there. Nothing
 * here takes a lock, allocates, waits or sets errno, so it may run in a
 * signal handler, also one that interrupted a call of this library.
 */
#include "memory_pages/internal/pages.h"
#include "runtime/registry.h"

/* The access bits of the registry are the public ones. */
_Static_assert((int)MP_ACCESS_READ == (int)MP__PROT_READ &&
                   (int)MP_ACCESS_WRITE == (int)MP__PROT_WRITE &&
                   (int)MP_ACCESS_EXEC == (int)MP__PROT_EXEC,
               "MP_ACCESS_* and MP__PROT_* differ");

mp_status mp_query(const void *addr, mp_page_info *out) {
    mp__extent e;
    /* No mp__fail here: it records the failure in thread-local state, which
     * a signal handler should not touch behind the interrupted code. */
    if (out == NULL || !mp__registry_find(addr, &e)) return MP_EINVAL;
    uintptr_t a = (uintptr_t)addr;
    out->kind = (mp_kind)e.kind;
    /* Only the access of the state: a sealed object's MP__SEALED bit, or
     * any other bit the registry keeps beside it, is not the caller's. */
    out->access = e.access & (MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC);
    out->base = (const void *)e.data;
    out->len = e.len;
    out->guard = a < e.data || a - e.data >= e.len;
    out->offset = out->guard ? 0 : a - e.data;
    return MP_OK;
}
