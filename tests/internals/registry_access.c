/* The registry access of registry_access.h. */
#include "tests/internals/registry_access.h"

#include "runtime/registry.h"

void set_generation(mp__ref *ref, uint32_t gen) {
    mp__slot *slot = mp__registry_lookup(ref);
    if (slot == NULL) return;
    atomic_store(&slot->gen, gen);
    ref->gen = gen;
}
