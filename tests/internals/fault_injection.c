/* The counting wrappers of fault_injection.h. */
#include "tests/internals/fault_injection.h"

#include <stdio.h>
#include <stdlib.h>

#include "runtime/os.h"
#include "runtime/status.h"

static unsigned countdown;
static unsigned long injected; /* faults fired since the process started */
static mp_status fault_status;
static int fault_os_error;
static const char *fired;
static long reservations;
static bool installed;

/* Counts one call of the entry name and says whether it must fail. */
static bool hit(const char *name) {
    if (countdown == 0 || --countdown != 0) return false;
    fired = name;
    injected++;
    return true;
}

/* Prints the count every test binary that injects faults ends with, which
 * tools/test.sh shows. */
static void print_injected(void) {
    printf("[ faults   ] %lu injected in total\n", injected);
}

#define FAIL_IF_HIT(name)                                                                          \
    if (hit(#name)) return mp__fail_os(fault_status, fault_os_error)

static mp_status reserve(size_t size, size_t align_at, unsigned flags, void **out) {
    FAIL_IF_HIT(reserve);
    mp_status s = mp__os_native.reserve(size, align_at, flags, out);
    if (s == MP_OK) reservations++;
    return s;
}

static mp_status release(void *base, size_t size) {
    FAIL_IF_HIT(release);
    mp_status s = mp__os_native.release(base, size);
    if (s == MP_OK) reservations--;
    return s;
}

static mp_status commit(void *addr, size_t size, unsigned prot) {
    FAIL_IF_HIT(commit);
    return mp__os_native.commit(addr, size, prot);
}

static mp_status decommit(void *addr, size_t size, unsigned flags) {
    FAIL_IF_HIT(decommit);
    return mp__os_native.decommit(addr, size, flags);
}

static mp_status protect(void *addr, size_t size, unsigned prot) {
    FAIL_IF_HIT(protect);
    return mp__os_native.protect(addr, size, prot);
}

static mp_status remap(void *from, size_t size, void *to) {
    FAIL_IF_HIT(remap);
    return mp__os_native.remap(from, size, to);
}

static mp_status discard(void *addr, size_t size, unsigned prot) {
    FAIL_IF_HIT(discard);
    return mp__os_native.discard(addr, size, prot);
}

static mp_status advise(void *addr, size_t size, mp_advice advice) {
    FAIL_IF_HIT(advise);
    return mp__os_native.advise(addr, size, advice);
}

static mp_status huge_hint(void *addr, size_t size) {
    FAIL_IF_HIT(huge_hint);
    return mp__os_native.huge_hint(addr, size);
}

static mp_status populate(void *addr, size_t size) {
    FAIL_IF_HIT(populate);
    return mp__os_native.populate(addr, size);
}

static mp_status lock(void *addr, size_t size) {
    FAIL_IF_HIT(lock);
    return mp__os_native.lock(addr, size);
}

static mp_status no_dump(void *addr, size_t size) {
    FAIL_IF_HIT(no_dump);
    return mp__os_native.no_dump(addr, size);
}

/* flush_icache cannot fail, so it goes straight to the platform. */
static void flush_icache(void *addr, size_t size) {
    mp__os_native.flush_icache(addr, size);
}

static const mp__os_api counting = {
    .reserve = reserve,
    .release = release,
    .commit = commit,
    .decommit = decommit,
    .protect = protect,
    .remap = remap,
    .discard = discard,
    .advise = advise,
    .huge_hint = huge_hint,
    .populate = populate,
    .lock = lock,
    .no_dump = no_dump,
    .flush_icache = flush_icache,
};

void fault_install(void) {
    if (installed) return;
    countdown = 0;
    mp__os = counting;
    installed = true;
}

void fault_arm(unsigned nth, mp_status status, int os_error) {
    static bool reporting;
    if (!reporting) reporting = atexit(print_injected) == 0;
    mp__os = counting;
    installed = true;
    countdown = nth;
    fault_status = status;
    fault_os_error = os_error;
    fired = NULL;
}

void fault_disarm(void) {
    countdown = 0;
    if (installed) mp__os = counting;
}

void fault_uninstall(void) {
    countdown = 0;
    mp__os = mp__os_native;
    installed = false;
}

const char *fault_fired(void) {
    return fired;
}

long fault_reservations(void) {
    return reservations;
}
