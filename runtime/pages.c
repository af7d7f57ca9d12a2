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
#include "memory_pages/internal/pages.h"
#include "runtime/os.h"
#include "runtime/registry.h"
#include "runtime/sizes.h"
#include "runtime/status.h"

size_t mp_page_size(void) {
    return mp__os_cfg.page_size;
}

size_t mp_alloc_granularity(void) {
    return mp__os_cfg.granularity;
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
    size_t page = mp__os_cfg.page_size;
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
    mp__os_huge_advice(data, len, o->huge);
    if (o->no_dump && (s = mp__os.no_dump(data, len)) != MP_OK) return s;
    if (o->populate && (s = mp__os.populate(data, len)) != MP_OK) return s;
    if (o->lock && (s = mp__os.lock(data, len)) != MP_OK) return s;
    if (first != prot && (s = mp__os.protect(data, len, prot)) != MP_OK) return s;
    if (prot & MP__PROT_EXEC) mp__os.flush_icache(data, len);
    return MP_OK;
}

/* Records the page set of slot, with access prot, for mp_query: the whole
 * reservation answers, its guard pages as guard. */
static void describe(mp__slot *slot, unsigned prot) {
    mp__extent e;
    e.lo = (uintptr_t)slot->map_base;
    e.hi = e.lo + slot->map_size;
    e.data = atomic_load_explicit(&slot->data, memory_order_relaxed);
    e.len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    e.kind = MP_KIND_PAGES;
    e.access = prot;
    mp__slot_describe(slot, &e, 1);
}

mp_status mp__pages_new(size_t len, const mp_pages_opts *opts, unsigned prot, mp__ref *out) {
    static const mp_pages_opts defaults;
    const mp_pages_opts *o = opts != NULL ? opts : &defaults;
    if (out == NULL || len == 0 || (unsigned)o->huge > MP_HUGE_NEVER) return mp__fail(MP_EINVAL);
    /* near and max_distance come together or not at all: a placement asked
     * without a distance, or a distance without a place, is a mistake that
     * must not pass as "anywhere". */
    if ((o->near == NULL) != (o->max_distance == 0)) return mp__fail(MP_EINVAL);
    if (!prot_allowed(prot)) return mp__fail(MP_ENOTSUP);

    size_t unit = mp__os_cfg.page_size;
    unsigned flags = MP_HAVE_RX ? MP__OS_EXECUTABLE : 0;
    if (o->huge == MP_HUGE_REQUIRE) {
        unit = mp__os_cfg.huge_page_size;
        if (unit == 0) return mp__fail(MP_ENOTSUP);
        flags |= MP__OS_HUGE;
    } else if (o->huge == MP_HUGE_TRY) {
        flags |= MP__OS_ALIGN_HUGE;
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
    if (o->near != NULL) {
        /* Every byte of the reservation, guard pages included, lies within
         * max_distance of near. */
        s = mp__os.reserve_near(l.total, flags, o->near, o->max_distance, &base);
    } else {
        /* The data, not the reservation, starts a huge page (MP_HUGE_TRY). */
        s = mp__os.reserve(l.total, l.before, flags, &base);
    }
    if (s != MP_OK) {
        mp__slot_free(slot, index);
        return s;
    }
    unsigned char *data = (unsigned char *)base + l.before;
    s = prepare_data(data, l.data, o, prot);
    if (s != MP_OK) {
        int err = mp_os_error();
        (void)mp__os.release(base, l.total);
        mp__slot_free(slot, index);
        return mp__fail_os(s, err);
    }

    slot->map_base = base;
    slot->map_size = l.total;
    slot->flags = o->lock ? MP__SLOT_LOCKED : 0;
    atomic_store_explicit(&slot->data, (uintptr_t)data, memory_order_relaxed);
    atomic_store_explicit(&slot->len, l.data, memory_order_relaxed);
    atomic_store_explicit(&slot->prot, prot, memory_order_relaxed);
    describe(slot, prot);
    mp__slot_publish(slot, index, out);
    return MP_OK;
}

/* Holds the slot of ref if its page set is live and has access prot (see
 * registry.h); the caller restores, publishes or frees it. Sets *s to the
 * status to return when it is not. */
static mp__slot *hold(const mp__ref *ref, unsigned prot, mp_status *s) {
    mp__slot *slot = ref != NULL ? mp__slot_hold(ref, prot) : NULL;
    if (slot == NULL) *s = mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
    return slot;
}

/* Reads the layout of the live page set ref with access prot. Takes no hold,
 * so that the calls that only read (len, data, advise, function references)
 * never make a concurrent check of a copy fail. */
static bool read_live(const mp__ref *ref, unsigned prot, mp__slot_view *v) {
    return ref != NULL && mp__registry_read(ref, v) && v->prot == prot;
}

size_t mp__pages_len(const mp__ref *ref, unsigned prot) {
    mp__slot_view v;
    return read_live(ref, prot, &v) ? v.len : 0;
}

void *mp__pages_data(const mp__ref *ref, unsigned prot) {
    mp__slot_view v;
    return read_live(ref, prot, &v) ? v.data : NULL;
}

mp_status mp__pages_free(mp__ref *ref, unsigned prot) {
    mp_status s;
    mp__slot *slot = hold(ref, prot, &s);
    if (slot == NULL) return s;
    /* The read-execute view a dual pair left (runtime/dual.c) is a view of
     * shared memory, which the OS gives back its own way. */
    s = (slot->flags & MP__SLOT_VIEW) ? mp__os.dual_unmap(slot->map_base, slot->map_size)
                                      : mp__os.release(slot->map_base, slot->map_size);
    if (s != MP_OK) {
        mp__slot_restore(slot, ref);
        return s;
    }
    mp__slot_free(slot, ref->slot);
    return MP_OK;
}

/* Ends the life of the held page set of from in its state: step(slot,
 * to_prot) does to the pages what the new state asks, then the page set is
 * published with the access to_prot at a new generation in *to, and from
 * and its copies are stale. When step fails, nothing changes. */
static mp_status move_on(mp__ref *from, unsigned from_prot, unsigned to_prot,
                         mp_status (*step)(const mp__slot *slot, unsigned to_prot), mp__ref *to) {
    mp_status s;
    mp__slot *slot = hold(from, from_prot, &s);
    if (slot == NULL) return s;
    /* The read-execute view a dual pair left never becomes writable again:
     * on Windows the view cannot, and elsewhere its memory is shared. */
    if ((slot->flags & MP__SLOT_VIEW) && (to_prot & MP__PROT_WRITE)) {
        mp__slot_restore(slot, from);
        return mp__fail(MP_ENOTSUP);
    }

    /* A slot whose generations are used up moves to a fresh slot; take it
     * first, so that no failure can come after the step. */
    uint32_t index = from->slot;
    mp__slot *target = slot;
    if (!mp__slot_can_renew(slot) && (target = mp__registry_alloc(&index)) == NULL) {
        mp__slot_restore(slot, from);
        return MP_ENOMEM;
    }
    s = step(slot, to_prot);
    if (s != MP_OK) {
        if (target != slot) mp__slot_free(target, index);
        mp__slot_restore(slot, from);
        return s;
    }

    if (target != slot) {
        target->map_base = slot->map_base;
        target->map_size = slot->map_size;
        target->flags = slot->flags;
        atomic_store_explicit(&target->data,
                              atomic_load_explicit(&slot->data, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&target->len, atomic_load_explicit(&slot->len, memory_order_relaxed),
                              memory_order_relaxed);
        mp__slot_free(slot, from->slot);
    }
    atomic_store_explicit(&target->prot, to_prot, memory_order_relaxed);
    describe(target, to_prot);
    mp__slot_publish(target, index, to);
    return MP_OK;
}

/* The step of a transition: the data gets the access to_prot. */
static mp_status change_access(const mp__slot *slot, unsigned to_prot) {
    unsigned char *data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    size_t len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    mp_status s = mp__os.protect(data, len, to_prot);
    if (s == MP_OK && (to_prot & MP__PROT_EXEC)) mp__os.flush_icache(data, len);
    return s;
}

mp_status mp__pages_into(mp__ref *from, unsigned from_prot, unsigned to_prot, mp__ref *to) {
    if (to == NULL) return mp__fail(MP_EINVAL);
    if (!prot_allowed(to_prot)) return mp__fail(MP_ENOTSUP);
    return move_on(from, from_prot, to_prot, change_access, to);
}

/* Whether [offset, offset + len) is a non-empty range inside size bytes. */
static bool in_range(size_t size, size_t offset, size_t len) {
    return len != 0 && offset < size && len <= size - offset;
}

mp_status mp__pages_advise(const mp__ref *ref, unsigned prot, size_t offset, size_t len,
                           mp_advice advice) {
    /* Advice never changes what the pages hold, so it reads the layout
     * without holding the slot (read_live). */
    mp__slot_view v;
    if (!read_live(ref, prot, &v)) return mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
    if (!in_range(v.len, offset, len) || (unsigned)advice > MP_ADVICE_WILLNEED)
        return mp__fail(MP_EINVAL);
    /* Advice applies to whole pages: widen the range to page boundaries,
     * which stay inside the data since it is a whole number of pages. */
    size_t page = mp__os_cfg.page_size;
    size_t start = offset & ~(page - 1);
    size_t end = (offset + len + page - 1) & ~(page - 1);
    return mp__os.advise(v.data + start, end - start, advice);
}

/* Zeroes [offset, offset + len) of the held page set slot with access
 * prot, giving whole pages inside it back to the OS. */
static mp_status discard_held(mp__slot *slot, unsigned prot, size_t offset, size_t len) {
    unsigned char *data = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    /* Whole pages inside the range go back to the OS; the partial pages at
     * its ends are zeroed in place. Locked pages stay resident, as the lock
     * asked, and are zeroed instead. */
    size_t page = mp__os_cfg.page_size;
    size_t first = (offset + page - 1) & ~(page - 1);
    size_t last = (offset + len) & ~(page - 1);
    if ((slot->flags & MP__SLOT_LOCKED) || first >= last) {
        memset(data + offset, 0, len);
        return MP_OK;
    }
    mp_status s = mp__os.discard(data + first, last - first, prot);
    if (s != MP_OK) return s;
    memset(data + offset, 0, first - offset);
    memset(data + last, 0, offset + len - last);
    return MP_OK;
}

mp_status mp__pages_discard(mp__ref *ref, unsigned prot, size_t offset, size_t len) {
    mp_status s;
    mp__slot *slot = hold(ref, prot, &s);
    if (slot == NULL) return s;
    if (in_range(atomic_load_explicit(&slot->len, memory_order_relaxed), offset, len)) {
        s = discard_held(slot, prot, offset, len);
    } else {
        s = mp__fail(MP_EINVAL);
    }
    mp__slot_restore(slot, ref);
    return s;
}

/* The step of sealing (shared/API.md section 8): the whole reservation is
 * sealed, guard pages included, so that nothing can be mapped over them
 * either. */
static mp_status seal_all(const mp__slot *slot, unsigned to_prot) {
    (void)to_prot;
    return mp__os.seal(slot->map_base, slot->map_size);
}

/* The slot of a sealed page set stays live at the generation published here
 * for the rest of the process (registry.h): no call holds it again, so it is
 * never freed or reused, and function references into sealed code never go
 * stale. */
mp_status mp__pages_seal(mp__ref *from, unsigned prot, mp__ref *to) {
    if (to == NULL) return mp__fail(MP_EINVAL);
    return move_on(from, prot, prot | MP__SEALED, seal_all, to);
}
