/*
 * Page sets: the untyped core behind every generated mp_pages_S type.
 *
 * A page set is one reservation laid out as
 *     [guard pages before][data: len bytes][guard pages after]
 * where the guards stay reserved with no access, and the data is committed
 * with the access of the handle's state. Its slot in the registry holds the
 * layout; the handle holds only (slot, generation).
 *
 * Every function takes the access bits `prot` of the state its handle type
 * stands for, and treats a handle whose page set has other access as stale,
 * so a handle cast to the wrong type cannot reach memory it should not.
 */
#include <string.h>

#include "memory_pages/features.h"
#include "runtime/os.h"
#include "runtime/registry.h"
#include "runtime/sizes.h"
#include "runtime/status.h"

size_t mp_page_size(void) {
    return mp__os_page_size();
}

size_t mp_alloc_granularity(void) {
    return mp__os_granularity();
}

/* Whether this build lets any page have the access prot. */
static bool prot_allowed(unsigned prot) {
    if ((prot & MP__PROT_EXEC) && !MP_HAVE_RX) return false;
    if ((prot & MP__PROT_EXEC) && (prot & MP__PROT_WRITE) && !MP_HAVE_RWX) return false;
    return true;
}

/* Sets *out to count pages of page bytes, rounded up to unit, or returns
 * false on overflow. */
static bool guard_bytes(size_t count, size_t page, size_t unit, size_t *out) {
    size_t bytes;
    return mp__mul_size(count, page, &bytes) && mp__round_up(bytes, unit, out);
}

/* The sizes of the three parts of a page set. */
typedef struct layout {
    size_t before, data, after, total;
} layout;

static mp_status plan_layout(size_t len, const mp_pages_opts *o, size_t unit, layout *l) {
    size_t page = mp__os_page_size();
    if (!mp__round_up(len, unit, &l->data) ||
        !guard_bytes(o->guard_pages_before, page, unit, &l->before) ||
        !guard_bytes(o->guard_pages_after, page, unit, &l->after) ||
        l->before > SIZE_MAX - l->data || l->after > SIZE_MAX - l->data - l->before) {
        return mp__fail(MP_EOVERFLOW);
    }
    l->total = l->before + l->data + l->after;
    return MP_OK;
}

/* Commits and prepares the data of a fresh reservation as the options say,
 * ending with access prot. On failure the caller releases the reservation. */
static mp_status prepare_data(unsigned char *data, size_t len, const mp_pages_opts *o,
                              unsigned prot) {
    /* Pre-faulting and locking need the pages writable for a moment. */
    unsigned rw = MP__PROT_READ | MP__PROT_WRITE;
    unsigned first = (o->populate || o->lock) ? rw : prot;
    mp_status s = mp__os.commit(data, len, first);
    if (s != MP_OK) return s;
    if (o->huge == MP_HUGE_TRY) {
        /* Only a hint: the pages work either way. */
        (void)mp__os.huge_hint(data, len);
    }
    if (o->no_dump && (s = mp__os.no_dump(data, len)) != MP_OK) return s;
    if (o->populate && (s = mp__os.populate(data, len)) != MP_OK) return s;
    if (o->lock && (s = mp__os.lock(data, len)) != MP_OK) return s;
    if (first != prot && (s = mp__os.protect(data, len, prot)) != MP_OK) return s;
    if (prot & MP__PROT_EXEC) mp__os.flush_icache(data, len);
    return MP_OK;
}

mp_status mp__pages_new(size_t len, const mp_pages_opts *opts, unsigned prot, mp__ref *out) {
    static const mp_pages_opts defaults;
    const mp_pages_opts *o = opts != NULL ? opts : &defaults;
    if (out == NULL || len == 0 || (unsigned)o->huge > MP_HUGE_REQUIRE) return mp__fail(MP_EINVAL);
    if (!prot_allowed(prot)) return mp__fail(MP_ENOTSUP);

    size_t unit = mp__os_page_size();
    unsigned flags = MP_HAVE_RX ? MP__OS_EXECUTABLE : 0;
    if (o->huge == MP_HUGE_REQUIRE) {
        unit = mp__os_huge_page_size();
        if (unit == 0) return mp__fail(MP_ENOTSUP);
        flags |= MP__OS_HUGE;
    }
    /* Zeroed because gcc -O2 cannot see that plan_layout sets every field
     * when it succeeds, and -Werror=maybe-uninitialized would stop -c opt
     * builds. */
    layout l = {0, 0, 0, 0};
    mp_status s = plan_layout(len, o, unit, &l);
    if (s != MP_OK) return s;

    uint32_t index;
    mp__slot *slot = mp__registry_alloc(&index);
    if (slot == NULL) return MP_ENOMEM;
    void *base;
    s = mp__os.reserve(l.total, flags, &base);
    if (s != MP_OK) {
        mp__registry_unalloc(slot, index);
        return s;
    }
    unsigned char *data = (unsigned char *)base + l.before;
    s = prepare_data(data, l.data, o, prot);
    if (s != MP_OK) {
        int err = mp_os_error();
        (void)mp__os.release(base, l.total);
        mp__registry_unalloc(slot, index);
        return mp__fail_os(s, err);
    }

    slot->map_base = base;
    slot->map_size = l.total;
    slot->flags = o->lock ? MP__SLOT_LOCKED : 0;
    atomic_store_explicit(&slot->data, (uintptr_t)data, memory_order_relaxed);
    atomic_store_explicit(&slot->len, l.data, memory_order_relaxed);
    atomic_store_explicit(&slot->prot, prot, memory_order_relaxed);
    mp__slot_end_write(slot, index, out);
    return MP_OK;
}

/* Returns the live slot of ref if its page set has access prot, else NULL. */
static mp__slot *lookup(const mp__ref *ref, unsigned prot) {
    if (ref == NULL) return NULL;
    mp__slot *slot = mp__registry_lookup(ref);
    if (slot == NULL || atomic_load_explicit(&slot->prot, memory_order_relaxed) != prot)
        return NULL;
    return slot;
}

/* The status for a handle that lookup() refused. */
static mp_status refused(const mp__ref *ref) {
    return mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
}

size_t mp__pages_len(const mp__ref *ref, unsigned prot) {
    mp__slot_view v;
    if (ref == NULL || !mp__registry_view(ref, &v) || v.prot != prot) return 0;
    return v.len;
}

void *mp__pages_data(const mp__ref *ref, unsigned prot) {
    mp__slot_view v;
    if (ref == NULL || !mp__registry_view(ref, &v) || v.prot != prot) return NULL;
    return v.data;
}

mp_status mp__pages_free(mp__ref *ref, unsigned prot) {
    mp__slot *slot = lookup(ref, prot);
    if (slot == NULL) return refused(ref);
    mp_status s = mp__os.release(slot->map_base, slot->map_size);
    if (s != MP_OK) return s;
    mp__registry_free(slot, ref->slot);
    return MP_OK;
}

mp_status mp__pages_into(mp__ref *from, unsigned from_prot, unsigned to_prot, mp__ref *to) {
    if (to == NULL) return mp__fail(MP_EINVAL);
    if (!prot_allowed(to_prot)) return mp__fail(MP_ENOTSUP);
    mp__slot *slot = lookup(from, from_prot);
    if (slot == NULL) return refused(from);

    /* A slot whose generations are used up moves to a fresh slot; take it
     * first, so that no failure can come after the protection changed. */
    uint32_t index = from->slot;
    mp__slot *target = slot;
    if (!mp__slot_can_renew(slot)) {
        target = mp__registry_alloc(&index);
        if (target == NULL) return MP_ENOMEM;
    }
    unsigned char *data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    size_t len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    mp_status s = mp__os.protect(data, len, to_prot);
    if (s != MP_OK) {
        if (target != slot) mp__registry_unalloc(target, index);
        return s;
    }
    if (to_prot & MP__PROT_EXEC) mp__os.flush_icache(data, len);

    if (target == slot) {
        mp__slot_begin_write(slot);
    } else {
        target->map_base = slot->map_base;
        target->map_size = slot->map_size;
        target->flags = slot->flags;
        atomic_store_explicit(&target->data, (uintptr_t)data, memory_order_relaxed);
        atomic_store_explicit(&target->len, len, memory_order_relaxed);
        mp__registry_free(slot, from->slot);
    }
    atomic_store_explicit(&target->prot, to_prot, memory_order_relaxed);
    mp__slot_end_write(target, index, to);
    return MP_OK;
}

/* Checks that [offset, offset + len) is a non-empty range inside the data of
 * a live page set and sets *v to it. */
static mp_status checked_range(const mp__ref *ref, unsigned prot, size_t offset, size_t len,
                               mp__slot **slot) {
    *slot = lookup(ref, prot);
    if (*slot == NULL) return refused(ref);
    size_t size = atomic_load_explicit(&(*slot)->len, memory_order_relaxed);
    if (len == 0 || offset >= size || len > size - offset) return mp__fail(MP_EINVAL);
    return MP_OK;
}

mp_status mp__pages_advise(const mp__ref *ref, unsigned prot, size_t offset, size_t len,
                           mp_advice advice) {
    mp__slot *slot;
    mp_status s = checked_range(ref, prot, offset, len, &slot);
    if (s != MP_OK) return s;
    if ((unsigned)advice > MP_ADVICE_WILLNEED) return mp__fail(MP_EINVAL);
    /* Advice applies to whole pages: widen the range to page boundaries,
     * which stay inside the data since it is a whole number of pages. */
    size_t page = mp__os_page_size();
    size_t start = offset & ~(page - 1);
    size_t end = (offset + len + page - 1) & ~(page - 1);
    unsigned char *data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    return mp__os.advise(data + start, end - start, advice);
}

mp_status mp__pages_discard(mp__ref *ref, unsigned prot, size_t offset, size_t len) {
    mp__slot *slot;
    mp_status s = checked_range(ref, prot, offset, len, &slot);
    if (s != MP_OK) return s;
    unsigned char *data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    /* Whole pages inside the range go back to the OS; the partial pages at
     * its ends are zeroed in place. Locked pages stay resident, as the lock
     * asked, and are zeroed instead. */
    size_t page = mp__os_page_size();
    size_t first = (offset + page - 1) & ~(page - 1);
    size_t last = (offset + len) & ~(page - 1);
    if ((slot->flags & MP__SLOT_LOCKED) || first >= last) {
        memset(data + offset, 0, len);
        return MP_OK;
    }
    s = mp__os.discard(data + first, last - first, prot);
    if (s != MP_OK) return s;
    memset(data + offset, 0, first - offset);
    memset(data + last, 0, offset + len - last);
    return MP_OK;
}
