/*
 * The dual mapping: one memory mapped twice, a read-write view to write code
 * through and a read-execute view to run it from (shared/API.md section 8;
 * the generated type is mp_pages_dual, in builds with allow_exec and
 * allow_dual_map).
 *
 * A pair is one registry object, as a page set is: one slot whose data is
 * the read-execute view (so that function references made from the pair
 * point into it, through runtime/fn_ref.c unchanged), whose alt is the
 * read-write view, and whose access word is MP__DUAL, which no page set has.
 * Each view is laid out as a page set is, [guard pages][data][guard pages];
 * map_base is the read-write view and map_size the size of one view, and the
 * read-execute view starts as far before its data as the read-write view
 * does.
 *
 * Staleness follows section 3: mp__dual_into_rx is a transition (every other
 * handle, copies and function references made from the pair included, is
 * stale afterwards), and so is free; mp__dual_sync is not, and changes no
 * generation. The read-execute view that into_rx leaves is a page set like
 * any other except that it is marked MP__SLOT_VIEW: runtime/pages.c gives
 * it back with the OS layer's dual_unmap and refuses to make it writable.
 *
 * For mp_query a pair records two ranges, one a view, each of kind
 * MP_KIND_DUAL with its own base and access; the read-execute view that
 * into_rx leaves records one range, as a page set.
 */
#include "memory_pages/features.h"
#include "memory_pages/internal/dual.h"
#include "runtime/os.h"
#include "runtime/registry.h"
#include "runtime/sizes.h"
#include "runtime/status.h"

/* The sizes of one view: its guard pages and data, as runtime/pages.c lays
 * out a page set. */
typedef struct view_layout {
    size_t before, data, total;
} view_layout;

static mp_status plan_view(size_t len, const mp_pages_opts *o, view_layout *l) {
    size_t page = mp__os_cfg.page_size, before, after;
    if (!mp__round_up(len, page, &l->data) || !mp__mul_size(o->guard_pages_before, page, &before) ||
        !mp__mul_size(o->guard_pages_after, page, &after) || before > SIZE_MAX - l->data ||
        after > SIZE_MAX - l->data - before) {
        return mp__fail(MP_EOVERFLOW);
    }
    l->before = before;
    l->total = before + l->data + after;
    return MP_OK;
}

/* Applies the options that act on mapped memory to both views. On failure
 * the caller gives the pair back. */
static mp_status prepare_views(unsigned char *rw, unsigned char *rx, size_t len,
                               const mp_pages_opts *o) {
    mp_status s;
    if (o->huge == MP_HUGE_NEVER) {
        /* Advice, as for page sets; shared memory takes it per mapping. */
        (void)mp__os.huge_hint(rw, len, false);
        (void)mp__os.huge_hint(rx, len, false);
    }
    if (o->no_dump &&
        ((s = mp__os.no_dump(rw, len)) != MP_OK || (s = mp__os.no_dump(rx, len)) != MP_OK)) {
        return s;
    }
    /* The read-write view faults the shared pages in for both. */
    if (o->populate && (s = mp__os.populate(rw, len)) != MP_OK) return s;
    if (o->lock && ((s = mp__os.lock(rw, len)) != MP_OK || (s = mp__os.lock(rx, len)) != MP_OK)) {
        return s;
    }
    return MP_OK;
}

mp_status mp__dual_new(size_t len, const mp_pages_opts *opts, mp__ref *out) {
    static const mp_pages_opts defaults;
    const mp_pages_opts *o = opts != NULL ? opts : &defaults;
    if (out == NULL || len == 0 || (unsigned)o->huge > MP_HUGE_NEVER) return mp__fail(MP_EINVAL);
    if (!MP_HAVE_DUAL) return mp__fail(MP_ENOTSUP);
    /* Shared memory has no explicit huge pages here; MP_HUGE_TRY is a hint
     * and asks nothing (the system's setting for shared memory decides). */
    if (o->huge == MP_HUGE_REQUIRE) return mp__fail(MP_ENOTSUP);
    view_layout l = {0, 0, 0};
    mp_status s = plan_view(len, o, &l);
    if (s != MP_OK) return s;

    uint32_t index;
    mp__slot *slot = mp__registry_alloc(&index);
    if (slot == NULL) return MP_ENOMEM;
    void *rw_view, *rx_view;
    s = mp__os.dual_map(l.total, l.before, l.data, &rw_view, &rx_view);
    if (s != MP_OK) {
        mp__slot_free(slot, index);
        return s;
    }
    unsigned char *rw = (unsigned char *)rw_view + l.before;
    unsigned char *rx = (unsigned char *)rx_view + l.before;
    s = prepare_views(rw, rx, l.data, o);
    if (s != MP_OK) {
        int err = mp_os_error();
        (void)mp__os.dual_release(rw_view, rx_view, l.total);
        mp__slot_free(slot, index);
        return mp__fail_os(s, err);
    }
    mp__os.flush_icache(rx, l.data);

    slot->map_base = rw_view;
    slot->map_size = l.total;
    slot->flags = MP__SLOT_VIEW | (o->lock ? MP__SLOT_LOCKED : 0);
    atomic_store_explicit(&slot->data, (uintptr_t)rx, memory_order_relaxed);
    atomic_store_explicit(&slot->alt, (uintptr_t)rw, memory_order_relaxed);
    atomic_store_explicit(&slot->len, l.data, memory_order_relaxed);
    atomic_store_explicit(&slot->prot, MP__DUAL, memory_order_relaxed);
    const mp__extent views[2] = {
        {(uintptr_t)rx_view, (uintptr_t)rx_view + l.total, (uintptr_t)rx, l.data, MP_KIND_DUAL,
         MP__PROT_READ | MP__PROT_EXEC},
        {(uintptr_t)rw_view, (uintptr_t)rw_view + l.total, (uintptr_t)rw, l.data, MP_KIND_DUAL,
         MP__PROT_READ | MP__PROT_WRITE},
    };
    mp__slot_describe(slot, views, 2);
    mp__slot_publish(slot, index, out);
    return MP_OK;
}

/* Reads the live pair ref names without holding its slot, so that calls
 * that only read never make a concurrent call through a copy or a function
 * reference fail. */
static bool read_pair(const mp__ref *ref, mp__slot_view *v) {
    return ref != NULL && mp__registry_read(ref, v) && v->prot == MP__DUAL;
}

size_t mp__dual_len(const mp__ref *ref) {
    mp__slot_view v;
    return read_pair(ref, &v) ? v.len : 0;
}

void *mp__dual_data_mut(const mp__ref *ref) {
    mp__slot_view v;
    return read_pair(ref, &v) ? v.alt : NULL;
}

const void *mp__dual_code(const mp__ref *ref) {
    mp__slot_view v;
    return read_pair(ref, &v) ? v.data : NULL;
}

mp_status mp__dual_sync(const mp__ref *ref, size_t offset, size_t len) {
    /* Not a state change: the slot is read, not held, so function
     * references made from the pair stay callable from other threads while
     * this runs. Like every call on a handle, it must not race with a free
     * of a copy (section 7): on AArch64 the cache maintenance would then
     * meet unmapped memory. */
    mp__slot_view v;
    if (!read_pair(ref, &v)) return mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
    if (len == 0 || offset >= v.len || len > v.len - offset) return mp__fail(MP_EINVAL);
    /* The instruction cache is cleaned by the addresses code runs from. */
    mp__os.flush_icache(v.data + offset, len);
    return MP_OK;
}

/* Holds the slot of the live pair ref; sets *s when it is not one. */
static mp__slot *hold_pair(const mp__ref *ref, mp_status *s) {
    mp__slot *slot = ref != NULL ? mp__slot_hold(ref, MP__DUAL) : NULL;
    if (slot == NULL) *s = mp__fail(ref == NULL ? MP_EINVAL : MP_ESTALE);
    return slot;
}

/* The first byte of the read-execute view of a held pair. */
static void *rx_view_of(const mp__slot *slot) {
    unsigned char *rx = (unsigned char *)atomic_load_explicit(&slot->data, memory_order_relaxed);
    unsigned char *rw = (unsigned char *)atomic_load_explicit(&slot->alt, memory_order_relaxed);
    return rx - (rw - (unsigned char *)slot->map_base);
}

mp_status mp__dual_into_rx(mp__ref *from, mp__ref *to) {
    if (to == NULL) return mp__fail(MP_EINVAL);
    mp_status s;
    mp__slot *slot = hold_pair(from, &s);
    if (slot == NULL) return s;
    /* As runtime/pages.c does: a slot whose generations are used up moves
     * to a fresh slot, taken before anything changes. */
    uint32_t index = from->slot;
    mp__slot *target = slot;
    if (!mp__slot_can_renew(slot) && (target = mp__registry_alloc(&index)) == NULL) {
        mp__slot_restore(slot, from);
        return MP_ENOMEM;
    }
    s = mp__os.dual_unmap(slot->map_base, slot->map_size);
    if (s != MP_OK) {
        if (target != slot) mp__slot_free(target, index);
        mp__slot_restore(slot, from);
        return s;
    }
    /* The read-execute view stays where it is: addresses computed while the
     * code was written stay right. */
    void *rx_view = rx_view_of(slot);
    uintptr_t data = atomic_load_explicit(&slot->data, memory_order_relaxed);
    size_t len = atomic_load_explicit(&slot->len, memory_order_relaxed);
    unsigned flags = slot->flags;
    target->map_base = rx_view;
    target->map_size = slot->map_size;
    target->flags = flags;
    atomic_store_explicit(&target->data, data, memory_order_relaxed);
    atomic_store_explicit(&target->len, len, memory_order_relaxed);
    atomic_store_explicit(&target->alt, 0, memory_order_relaxed);
    atomic_store_explicit(&target->prot, MP__PROT_READ | MP__PROT_EXEC, memory_order_relaxed);
    const mp__extent view = {(uintptr_t)rx_view, (uintptr_t)rx_view + slot->map_size, data, len,
                             MP_KIND_PAGES,      MP__PROT_READ | MP__PROT_EXEC};
    mp__slot_describe(target, &view, 1);
    if (target != slot) mp__slot_free(slot, from->slot);
    mp__slot_publish(target, index, to);
    return MP_OK;
}

mp_status mp__dual_free(mp__ref *ref) {
    mp_status s;
    mp__slot *slot = hold_pair(ref, &s);
    if (slot == NULL) return s;
    s = mp__os.dual_release(slot->map_base, rx_view_of(slot), slot->map_size);
    if (s != MP_OK) {
        mp__slot_restore(slot, ref);
        return s;
    }
    mp__slot_free(slot, ref->slot);
    return MP_OK;
}
