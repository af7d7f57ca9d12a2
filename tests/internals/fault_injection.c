/* The counting wrappers of fault_injection.h. */
#include "tests/internals/fault_injection.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "runtime/os.h"
#include "runtime/status.h"
#ifdef _WIN32
#include "runtime/sys_windows.h"
#else
#include <errno.h>
#include <sys/mman.h>

#include "runtime/sys_posix.h"
#endif

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

static void print_sys_counts(void);

/* Prints the count every test binary that injects faults ends with, which
 * tools/test.sh shows, and the raw-call faults by entry and error code. */
static void print_injected(void) {
    printf("[ faults   ] %lu injected in total\n", injected);
    print_sys_counts();
}

/* Registers print_injected once, when the first fault of either level is
 * armed. */
static void report_at_exit(void) {
    static bool reporting;
    if (!reporting) reporting = atexit(print_injected) == 0;
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

static mp_status remap(void *from, size_t size, void *to, size_t new_size) {
    FAIL_IF_HIT(remap);
    return mp__os_native.remap(from, size, to, new_size);
}

static mp_status discard(void *addr, size_t size, unsigned prot) {
    FAIL_IF_HIT(discard);
    return mp__os_native.discard(addr, size, prot);
}

static mp_status advise(void *addr, size_t size, mp_advice advice) {
    FAIL_IF_HIT(advise);
    return mp__os_native.advise(addr, size, advice);
}

static mp_status huge_hint(void *addr, size_t size, bool on) {
    FAIL_IF_HIT(huge_hint);
    return mp__os_native.huge_hint(addr, size, on);
}

static mp_status populate(void *addr, size_t size) {
    FAIL_IF_HIT(populate);
    return mp__os_native.populate(addr, size);
}

/* The clock cannot fail, so it goes straight to the platform. */
static uint64_t clock_ns(void) {
    return mp__os_native.clock_ns();
}

static mp_status lock(void *addr, size_t size) {
    FAIL_IF_HIT(lock);
    return mp__os_native.lock(addr, size);
}

static mp_status no_dump(void *addr, size_t size) {
    FAIL_IF_HIT(no_dump);
    return mp__os_native.no_dump(addr, size);
}

static mp_status seal(void *base, size_t size) {
    FAIL_IF_HIT(seal);
    return mp__os_native.seal(base, size);
}

static mp_status dual_map(size_t view_size, size_t data_at, size_t size, void **rw_view,
                          void **rx_view) {
    FAIL_IF_HIT(dual_map);
    mp_status s = mp__os_native.dual_map(view_size, data_at, size, rw_view, rx_view);
    /* A dual pair is two views, each given back on its own (dual_unmap) or
     * both at once (dual_release): the balance counts views. */
    if (s == MP_OK) reservations += 2;
    return s;
}

static mp_status dual_unmap(void *view, size_t view_size) {
    FAIL_IF_HIT(dual_unmap);
    mp_status s = mp__os_native.dual_unmap(view, view_size);
    if (s == MP_OK) reservations--;
    return s;
}

static mp_status dual_release(void *rw_view, void *rx_view, size_t view_size) {
    FAIL_IF_HIT(dual_release);
    mp_status s = mp__os_native.dual_release(rw_view, rx_view, view_size);
    if (s == MP_OK) reservations -= 2;
    return s;
}

/* flush_icache cannot fail, so it goes straight to the platform. */
static void flush_icache(void *addr, size_t size) {
    mp__os_native.flush_icache(addr, size);
}

/* ---- Placement near an address (issue 14) ---- */

static mp_status reserve_near(size_t size, unsigned flags, const void *target, size_t max_distance,
                              void **out) {
    FAIL_IF_HIT(reserve_near);
    mp_status s = mp__os_native.reserve_near(size, flags, target, max_distance, out);
    if (s == MP_OK) reservations++;
    return s;
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
    .clock_ns = clock_ns,
    .lock = lock,
    .no_dump = no_dump,
    .flush_icache = flush_icache,
    .seal = seal,
    .reserve_near = reserve_near,
    .dual_map = dual_map,
    .dual_unmap = dual_unmap,
    .dual_release = dual_release,
};

void fault_install(void) {
    if (installed) return;
    countdown = 0;
    mp__os = counting;
    installed = true;
}

void fault_arm(unsigned nth, mp_status status, int os_error) {
    report_at_exit();
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

void fault_forget_reservation(void) {
    reservations--;
}

unsigned long faults_injected(void) {
    return injected;
}

/* ---- Raw system calls ---- */

enum { SYS_LOG_MAX = 256, SYS_CODES_MAX = 16 };

static unsigned sys_countdown;
static int sys_error;
static bool sys_installed;
static sys_call sys_log[SYS_LOG_MAX];
static size_t sys_log_len;
static const sys_call *sys_fired;
static sys_call sys_fired_call; /* a copy, also when the log is full */
/* Calls of each entry since arming, by entry name (a handful of entries:
 * a linear search is fine). */
static struct {
    const char *entry;
    unsigned calls;
    unsigned long injected;
} sys_entries[16];
/* Faults injected per error code, for the report at exit. */
static struct {
    int code;
    unsigned long injected;
} sys_codes[SYS_CODES_MAX];

/* Returns the counters of entry, making them on first use. */
static unsigned *entry_calls(const char *entry, unsigned long **injected_out) {
    size_t i = 0;
    while (i < sizeof sys_entries / sizeof sys_entries[0] && sys_entries[i].entry != NULL &&
           strcmp(sys_entries[i].entry, entry) != 0)
        i++;
    if (i == sizeof sys_entries / sizeof sys_entries[0]) abort(); /* more entries than slots */
    sys_entries[i].entry = entry;
    if (injected_out != NULL) *injected_out = &sys_entries[i].injected;
    return &sys_entries[i].calls;
}

/* Logs one raw call of entry with its first arguments and says whether it
 * must fail. can_fail is false for entries that return nothing. */
static bool sys_hit(const char *entry, bool can_fail, uintptr_t a0, uintptr_t a1, uintptr_t a2,
                    uintptr_t a3) {
    unsigned long *entry_injected;
    unsigned nth = ++*entry_calls(entry, &entry_injected);
    bool fail = can_fail && sys_countdown != 0 && --sys_countdown == 0;
    sys_call c = {entry, nth, {a0, a1, a2, a3}, fail};
    if (sys_log_len < SYS_LOG_MAX) sys_log[sys_log_len++] = c;
    if (fail) {
        sys_fired_call = c;
        sys_fired = &sys_fired_call;
        injected++;
        ++*entry_injected;
        size_t i = 0;
        while (i < SYS_CODES_MAX - 1 && sys_codes[i].injected != 0 &&
               sys_codes[i].code != sys_error)
            i++;
        sys_codes[i].code = sys_error;
        sys_codes[i].injected++;
    }
    return fail;
}

static void print_sys_counts(void) {
    for (size_t i = 0; i < sizeof sys_entries / sizeof sys_entries[0]; i++) {
        if (sys_entries[i].entry != NULL && sys_entries[i].injected != 0)
            printf("[ faults   ] %lu into raw call %s\n", sys_entries[i].injected,
                   sys_entries[i].entry);
    }
    for (size_t i = 0; i < SYS_CODES_MAX; i++) {
        if (sys_codes[i].injected != 0)
            printf("[ faults   ] %lu with OS error %d\n", sys_codes[i].injected, sys_codes[i].code);
    }
}

#define U(x) ((uintptr_t)(x))

#ifdef _WIN32

/* Arguments logged: VirtualAlloc (addr, size, type, protect); VirtualFree
 * (addr, size, type); VirtualProtect (addr, size, protect); VirtualLock
 * (addr, size); FlushInstructionCache (addr, size); prefetch (addr, size);
 * CreateFileMappingW (protect, size high, size low); MapViewOfFile (access,
 * size); UnmapViewOfFile (base); CloseHandle (handle). */

#define SYS_FAIL(value)                                                                            \
    do {                                                                                           \
        SetLastError((DWORD)sys_error);                                                            \
        return value;                                                                              \
    } while (0)

static LPVOID WINAPI w_VirtualAlloc(LPVOID addr, SIZE_T size, DWORD type, DWORD protect) {
    if (sys_hit("VirtualAlloc", true, U(addr), size, type, protect)) SYS_FAIL(NULL);
    return mp__sys_native.VirtualAlloc(addr, size, type, protect);
}

static BOOL WINAPI w_VirtualFree(LPVOID addr, SIZE_T size, DWORD type) {
    if (sys_hit("VirtualFree", true, U(addr), size, type, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.VirtualFree(addr, size, type);
}

static BOOL WINAPI w_VirtualProtect(LPVOID addr, SIZE_T size, DWORD protect, PDWORD old) {
    if (sys_hit("VirtualProtect", true, U(addr), size, protect, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.VirtualProtect(addr, size, protect, old);
}

static BOOL WINAPI w_VirtualLock(LPVOID addr, SIZE_T size) {
    if (sys_hit("VirtualLock", true, U(addr), size, 0, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.VirtualLock(addr, size);
}

static BOOL WINAPI w_FlushInstructionCache(HANDLE process, LPCVOID addr, SIZE_T size) {
    if (sys_hit("FlushInstructionCache", true, U(addr), size, 0, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.FlushInstructionCache(process, addr, size);
}

static VOID WINAPI w_FlushProcessWriteBuffers(VOID) {
    (void)sys_hit("FlushProcessWriteBuffers", false, 0, 0, 0, 0);
    mp__sys_native.FlushProcessWriteBuffers();
}

static BOOL WINAPI w_SwitchToThread(VOID) {
    if (sys_hit("SwitchToThread", true, 0, 0, 0, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.SwitchToThread();
}

static VOID WINAPI w_GetSystemInfo(LPSYSTEM_INFO info) {
    (void)sys_hit("GetSystemInfo", false, 0, 0, 0, 0);
    mp__sys_native.GetSystemInfo(info);
}

static BOOL w_prefetch(PWIN32_MEMORY_RANGE_ENTRY range) {
    if (sys_hit("prefetch", true, U(range->VirtualAddress), range->NumberOfBytes, 0, 0))
        SYS_FAIL(FALSE);
    return mp__sys_native.prefetch(range);
}

/* Placement near an address (issue 14). Arguments logged: VirtualAlloc2
 * (addr, size, type, protect); VirtualQuery (addr). */

static PVOID w_VirtualAlloc2(PVOID addr, SIZE_T size, ULONG type, ULONG protect,
                             MEM_EXTENDED_PARAMETER *params, ULONG count) {
    if (sys_hit("VirtualAlloc2", true, U(addr), size, type, protect)) SYS_FAIL(NULL);
    return mp__sys_native.VirtualAlloc2(addr, size, type, protect, params, count);
}

static SIZE_T WINAPI w_VirtualQuery(LPCVOID addr, PMEMORY_BASIC_INFORMATION info, SIZE_T size) {
    if (sys_hit("VirtualQuery", true, U(addr), 0, 0, 0)) SYS_FAIL(0);
    return mp__sys_native.VirtualQuery(addr, info, size);
}

static HANDLE WINAPI w_CreateFileMappingW(HANDLE file, LPSECURITY_ATTRIBUTES attributes,
                                          DWORD protect, DWORD size_high, DWORD size_low,
                                          LPCWSTR name) {
    if (sys_hit("CreateFileMappingW", true, protect, size_high, size_low, 0)) SYS_FAIL(NULL);
    return mp__sys_native.CreateFileMappingW(file, attributes, protect, size_high, size_low, name);
}

static LPVOID WINAPI w_MapViewOfFile(HANDLE mapping, DWORD access, DWORD offset_high,
                                     DWORD offset_low, SIZE_T size) {
    if (sys_hit("MapViewOfFile", true, access, size, 0, 0)) SYS_FAIL(NULL);
    return mp__sys_native.MapViewOfFile(mapping, access, offset_high, offset_low, size);
}

static BOOL WINAPI w_UnmapViewOfFile(LPCVOID base) {
    if (sys_hit("UnmapViewOfFile", true, U(base), 0, 0, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.UnmapViewOfFile(base);
}

static BOOL WINAPI w_CloseHandle(HANDLE handle) {
    if (sys_hit("CloseHandle", true, U(handle), 0, 0, 0)) SYS_FAIL(FALSE);
    return mp__sys_native.CloseHandle(handle);
}

static const mp__sys_api sys_counting = {
    .VirtualAlloc = w_VirtualAlloc,
    .VirtualFree = w_VirtualFree,
    .VirtualProtect = w_VirtualProtect,
    .VirtualLock = w_VirtualLock,
    .FlushInstructionCache = w_FlushInstructionCache,
    .FlushProcessWriteBuffers = w_FlushProcessWriteBuffers,
    .SwitchToThread = w_SwitchToThread,
    .GetSystemInfo = w_GetSystemInfo,
    .prefetch = w_prefetch,
    .VirtualAlloc2 = w_VirtualAlloc2,
    .VirtualQuery = w_VirtualQuery,
    .CreateFileMappingW = w_CreateFileMappingW,
    .MapViewOfFile = w_MapViewOfFile,
    .UnmapViewOfFile = w_UnmapViewOfFile,
    .CloseHandle = w_CloseHandle,
};

#else

/* Arguments logged: mmap (addr, size, prot, flags); munmap (addr, size);
 * mprotect (addr, size, prot); madvise (addr, size, advice); mremap (from,
 * size, flags, to); mlock (addr, size); membarrier (cmd, flags); mseal
 * (addr, size, flags); sysconf (name); open (flags); read (fd, size); close
 * (fd); ioctl (fd, request); memfd_create (flags); ftruncate (fd, size). */

#define SYS_FAIL(value)                                                                            \
    do {                                                                                           \
        errno = sys_error;                                                                         \
        return value;                                                                              \
    } while (0)

static void *w_mmap(void *addr, size_t size, int prot, int flags, int fd, off_t offset) {
    if (sys_hit("mmap", true, U(addr), size, U(prot), U(flags))) SYS_FAIL(MAP_FAILED);
    return mp__sys_native.mmap(addr, size, prot, flags, fd, offset);
}

static int w_munmap(void *addr, size_t size) {
    if (sys_hit("munmap", true, U(addr), size, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.munmap(addr, size);
}

static int w_mprotect(void *addr, size_t size, int prot) {
    if (sys_hit("mprotect", true, U(addr), size, U(prot), 0)) SYS_FAIL(-1);
    return mp__sys_native.mprotect(addr, size, prot);
}

static int w_madvise(void *addr, size_t size, int advice) {
    if (sys_hit("madvise", true, U(addr), size, U(advice), 0)) SYS_FAIL(-1);
    return mp__sys_native.madvise(addr, size, advice);
}

static void *w_mremap(void *from, size_t old_size, size_t new_size, int flags, void *to) {
    if (sys_hit("mremap", true, U(from), old_size, U(flags), U(to))) SYS_FAIL(MAP_FAILED);
    return mp__sys_native.mremap(from, old_size, new_size, flags, to);
}

static int w_mlock(const void *addr, size_t size) {
    if (sys_hit("mlock", true, U(addr), size, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.mlock(addr, size);
}

static int w_membarrier(int cmd, unsigned flags) {
    if (sys_hit("membarrier", true, U(cmd), flags, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.membarrier(cmd, flags);
}

static int w_mseal(void *addr, size_t size, unsigned long flags) {
    if (sys_hit("mseal", true, U(addr), size, flags, 0)) SYS_FAIL(-1);
    return mp__sys_native.mseal(addr, size, flags);
}

static int w_sched_yield(void) {
    if (sys_hit("sched_yield", true, 0, 0, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.sched_yield();
}

static long w_sysconf(int name) {
    if (sys_hit("sysconf", true, U(name), 0, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.sysconf(name);
}

static int w_open(const char *path, int flags) {
    if (sys_hit("open", true, U(flags), 0, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.open(path, flags);
}

static ssize_t w_read(int fd, void *buf, size_t size) {
    if (sys_hit("read", true, U(fd), size, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.read(fd, buf, size);
}

static int w_close(int fd) {
    if (sys_hit("close", true, U(fd), 0, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.close(fd);
}

static int w_ioctl(int fd, unsigned long request, void *arg) {
    if (sys_hit("ioctl", true, U(fd), U(request), 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.ioctl(fd, request, arg);
}

static int w_memfd_create(const char *name, unsigned flags) {
    if (sys_hit("memfd_create", true, U(flags), 0, 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.memfd_create(name, flags);
}

static int w_ftruncate(int fd, off_t size) {
    if (sys_hit("ftruncate", true, U(fd), U(size), 0, 0)) SYS_FAIL(-1);
    return mp__sys_native.ftruncate(fd, size);
}

static const mp__sys_api sys_counting = {
    .mmap = w_mmap,
    .munmap = w_munmap,
    .mprotect = w_mprotect,
    .madvise = w_madvise,
    .mremap = w_mremap,
    .mlock = w_mlock,
    .membarrier = w_membarrier,
    .mseal = w_mseal,
    .sched_yield = w_sched_yield,
    .sysconf = w_sysconf,
    .open = w_open,
    .read = w_read,
    .close = w_close,
    .ioctl = w_ioctl,
    .memfd_create = w_memfd_create,
    .ftruncate = w_ftruncate,
};

#endif

void sys_fault_install(void) {
    if (sys_installed) return;
    sys_countdown = 0;
    mp__sys = sys_counting;
    sys_installed = true;
}

void sys_fault_arm(unsigned nth, int os_error) {
    report_at_exit();
    mp__sys = sys_counting;
    sys_installed = true;
    sys_countdown = nth;
    sys_error = os_error;
    sys_fired = NULL;
    sys_log_len = 0;
    for (size_t i = 0; i < sizeof sys_entries / sizeof sys_entries[0]; i++)
        sys_entries[i].calls = 0;
}

void sys_fault_disarm(void) {
    sys_countdown = 0;
}

void sys_fault_uninstall(void) {
    sys_countdown = 0;
    mp__sys = mp__sys_native;
    sys_installed = false;
}

const sys_call *sys_fault_fired(void) {
    return sys_fired;
}

size_t sys_fault_log(const sys_call **calls) {
    *calls = sys_log;
    return sys_log_len;
}
