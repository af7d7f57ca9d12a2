/* The registry access of registry_access.h. */
#include "tests/internals/registry_access.h"

#include "runtime/registry.h"

void set_generation(mp__ref *ref, uint32_t gen) {
    mp__slot *slot = mp__registry_slot(ref->slot);
    if (slot == NULL || atomic_load(&slot->gen) != ref->gen) return;
    atomic_store(&slot->gen, gen);
    ref->gen = gen;
}
