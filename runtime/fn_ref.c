/*
 * Function references: typed pointers into executable pages that notice when
 * those pages change state or are freed (shared/API.md section 4, the
 * generated code is templates/fn_ref.h.j2).
 *
 * A reference holds the address of its slot's generation counter, the
 * generation the slot had when the reference was made, and the address of
 * the code. Checking it is one atomic load and a compare, done inline by the
 * generated _call and _valid (mp__fn_ref_live in runtime.h), with no call
 * into this file. That is sound because of three facts of the registry:
 *  - slots are never freed or moved (registry.h), so the counter's address
 *    stays readable for the life of the process, whatever happens to the
 *    pages, and reading it from any thread is memory-safe;
 *  - every free and every transition moves the counter on, and it never
 *    comes back to an old value: a slot whose counter would wrap is retired;
 *    while a transition or free is under way the counter holds a value no
 *    reference expects, so a call then is refused, and it goes back to the
 *    old value only when the transition failed and the pages kept their
 *    state (registry.h);
 *  - the counter is an atomic_uint_least32_t that the runtime accesses with
 *    C11 atomics, while the inline check, which must also compile as C++,
 *    reads it with __atomic_load_n through a uint32_t pointer. gcc and clang
 *    give a lock-free _Atomic uint32_t the size, alignment and
 *    representation of uint32_t, and their <stdatomic.h> performs
 *    atomic_load_explicit as that same builtin on the same object, so both
 *    sides make the same atomic accesses. The assertions below check the
 *    layout on every target this is compiled for.
 */
#include <stdatomic.h>

#include "memory_pages/internal/fn_ref.h"
#include "runtime/registry.h"
#include "runtime/status.h"

_Static_assert(sizeof(atomic_uint_least32_t) == sizeof(uint32_t),
               "the generation counter must have the size of uint32_t");
_Static_assert(_Alignof(atomic_uint_least32_t) == _Alignof(uint32_t),
               "the generation counter must have the alignment of uint32_t");
_Static_assert(_Generic((uint_least32_t)0, unsigned int : 1, default : 0) &&
                   ATOMIC_INT_LOCK_FREE == 2,
               "the generation counter must be a lock-free unsigned int");

/* Converts the address of code in executable pages to a function pointer.
 * ISO C leaves the conversion to the implementation; every platform
 * memory_pages supports defines it as the same address (POSIX requires it
 * for dlsym). */
static void (*code_pointer(unsigned char *addr))(void) {
    return (void (*)(void))(uintptr_t)addr;
}

mp_status mp__fn_ref_from(const mp__ref *pages, unsigned prot, size_t offset, mp__fn_ref *out) {
    if (pages == NULL || out == NULL) return mp__fail(MP_EINVAL);
    /* The layout is read without holding the slot, so that making a
     * reference never makes a concurrent call through another one fail. A
     * reference made just as the pages change state carries the old
     * generation, and so is stale from birth. */
    mp__slot_view view;
    if (!mp__registry_read(pages, &view) || view.prot != prot) return mp__fail(MP_ESTALE);
    if (offset >= view.len) return mp__fail(MP_EINVAL);
    out->gen = (const uint32_t *)&mp__registry_slot(pages->slot)->gen;
    out->expected = pages->gen;
    out->code = code_pointer(view.data + offset);
    return MP_OK;
}

mp_status mp__fn_ref_fail(mp_status s) {
    return mp__fail(s);
}
