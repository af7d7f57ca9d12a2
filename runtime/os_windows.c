/*
 * The OS contract of os.h for Windows: VirtualAlloc, VirtualProtect,
 * VirtualFree, VirtualLock, FlushInstructionCache.
 *
 * Windows separates the two steps that os.h names: MEM_RESERVE takes address
 * space only (no access, no commit charge), MEM_COMMIT backs a reserved range
 * with memory that reads as zeros and charges it against the commit limit,
 * and MEM_DECOMMIT gives that memory back while the range stays reserved.
 * Reserved pages fault on any access, exactly as PAGE_NOACCESS pages do, so
 * guard pages are simply left reserved and cost no commit charge.
 *
 * Reservations start at multiples of the allocation granularity (64 KiB on
 * every current Windows), which mp__os_cfg.granularity records; protections
 * and commits work on whole pages.
 *
 * Decisions where Windows has no exact match for the contract:
 *  - discard: MEM_RESET keeps the old contents until the system reuses the
 *    memory, so it cannot promise zeros. Discard decommits the range, which
 *    frees the memory, and commits it again, which gives fresh zero pages.
 *    Committing again fails only when other processes took the commit
 *    charge just given back; the whole pages of the range are then left
 *    reserved with no access (the old contents can never be read again),
 *    the rest of the page set is unchanged, and the call returns MP_ENOMEM.
 *    A later discard of the same range that succeeds makes them accessible
 *    again, as zeros. docs/security.md states this, the one case where a
 *    failed call of the library changes its object.
 *  - The instruction stream: FlushInstructionCache, then
 *    FlushProcessWriteBuffers, which interrupts every processor running a
 *    thread of the process, so that none keeps running stale instructions.
 *  - Huge pages: MEM_LARGE_PAGES memory is reserved and committed in one
 *    step, is always read-write and cannot be decommitted, and it needs
 *    SeLockMemoryPrivilege enabled in the process token, which a library
 *    should not turn on behind its caller's back. Page sets need no-access
 *    guards, protection changes and decommit, so this layer reports no huge
 *    page size: MP_HUGE_REQUIRE fails with MP_ENOTSUP. MP_HUGE_TRY is a hint
 *    that Windows has no equivalent for (it has no transparent huge pages),
 *    so it succeeds and changes nothing.
 *  - no_dump: Windows has no per-range switch that keeps memory out of every
 *    kind of dump (WerRegisterExcludedMemoryBlock covers Windows Error
 *    Reporting only, for a handful of blocks), so it gives MP_ENOTSUP.
 *  - advise: MP_ADVICE_WILLNEED prefetches with PrefetchVirtualMemory where
 *    the system has it (Windows 8 and later); the other advice values have no
 *    Windows counterpart and succeed as the hints they are.
 *
 * Executable memory needs no special reservation here (MP__OS_EXECUTABLE is
 * ignored). A process running under Arbitrary Code Guard refuses every
 * executable protection with ERROR_DYNAMIC_CODE_BLOCKED, reported as
 * MP_EACCES.
 */

#include "runtime/near.h"
#include "runtime/os.h"
#include "runtime/status.h"
#include "runtime/sys_windows.h"

/* Arbitrary Code Guard's refusal of executable memory; older mingw-w64
 * headers do not name it. */
#ifndef ERROR_DYNAMIC_CODE_BLOCKED
#define ERROR_DYNAMIC_CODE_BLOCKED 1655L
#endif

/* ---- The raw calls (sys_windows.h) ---- */

/* Calls newer than the oldest Windows this library loads on, looked up once
 * when it loads (mp__os_probe); NULL where the system lacks them.
 * PrefetchVirtualMemory came with Windows 8 (kernel32), VirtualAlloc2 with
 * Windows 10 1803 (kernelbase). */
typedef BOOL(WINAPI *prefetch_fn)(HANDLE, ULONG_PTR, PWIN32_MEMORY_RANGE_ENTRY, ULONG);
typedef PVOID(WINAPI *alloc2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, MEM_EXTENDED_PARAMETER *,
                                 ULONG);
static prefetch_fn prefetch_call;
static alloc2_fn alloc2_call;

/* Returns the function name of an already loaded module, or NULL. FARPROC
 * is a generic function pointer; going through void (*)(void) tells the
 * compiler that the conversion the caller makes is intended. */
static void (*optional_call(const wchar_t *module, const char *name))(void) {
    HMODULE m = GetModuleHandleW(module);
    return m != NULL ? (void (*)(void))GetProcAddress(m, name) : NULL;
}

static BOOL sys_prefetch(PWIN32_MEMORY_RANGE_ENTRY range) {
    if (prefetch_call == NULL) {
        SetLastError(ERROR_CALL_NOT_IMPLEMENTED);
        return FALSE;
    }
    return prefetch_call(GetCurrentProcess(), 1, range, 0);
}

static PVOID sys_alloc2(PVOID addr, SIZE_T size, ULONG type, ULONG protect,
                        MEM_EXTENDED_PARAMETER *params, ULONG count) {
    if (alloc2_call == NULL) {
        SetLastError(ERROR_CALL_NOT_IMPLEMENTED);
        return NULL;
    }
    return alloc2_call(GetCurrentProcess(), addr, size, type, protect, params, count);
}

#define SYS_API                                                                                    \
    {                                                                                              \
        .VirtualAlloc = VirtualAlloc, .VirtualFree = VirtualFree,                                  \
        .VirtualProtect = VirtualProtect, .VirtualLock = VirtualLock,                              \
        .FlushInstructionCache = FlushInstructionCache,                                            \
        .FlushProcessWriteBuffers = FlushProcessWriteBuffers, .SwitchToThread = SwitchToThread,    \
        .GetSystemInfo = GetSystemInfo, .prefetch = sys_prefetch, .VirtualAlloc2 = sys_alloc2,     \
        .VirtualQuery = VirtualQuery, .CreateFileMappingW = CreateFileMappingW,                    \
        .MapViewOfFile = MapViewOfFile, .UnmapViewOfFile = UnmapViewOfFile,                        \
        .CloseHandle = CloseHandle,                                                                \
    }

const mp__sys_api mp__sys_native = SYS_API;
MP__HOOKABLE mp__sys_api mp__sys = SYS_API;

/* ---- The OS contract ---- */

/* Reports GetLastError() as the failure of the current call, choosing the
 * status from it: out of memory or commit, refused permission, unsupported,
 * or some other OS failure. */
static mp_status fail_last_error(void) {
    DWORD err = GetLastError();
    mp_status s;
    switch (err) {
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_COMMITMENT_MINIMUM:
    case ERROR_PAGEFILE_QUOTA:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NO_SYSTEM_RESOURCES:
        s = MP_ENOMEM;
        break;
    case ERROR_ACCESS_DENIED:
    case ERROR_DYNAMIC_CODE_BLOCKED:
    case ERROR_PRIVILEGE_NOT_HELD:
        s = MP_EACCES;
        break;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
        s = MP_ENOTSUP;
        break;
    default:
        s = MP_EOS;
        break;
    }
    return mp__fail_os(s, (int)err);
}

/* The page protection constant for a combination of MP__PROT_* bits.
 * Windows has no write-only pages, so write always comes with read. */
static DWORD win_prot(unsigned prot) {
    bool write = (prot & MP__PROT_WRITE) != 0;
    bool read = write || (prot & MP__PROT_READ) != 0;
    if (prot & MP__PROT_EXEC) {
        return write ? PAGE_EXECUTE_READWRITE : read ? PAGE_EXECUTE_READ : PAGE_EXECUTE;
    }
    return write ? PAGE_READWRITE : read ? PAGE_READONLY : PAGE_NOACCESS;
}

static mp_status win_reserve(size_t size, size_t align_at, unsigned flags, void **out) {
    /* No transparent huge pages: MP__OS_ALIGN_HUGE asks nothing here. */
    (void)align_at;
    /* No huge page size is reported (see the top of this file), so callers
     * never ask for huge pages; refuse rather than hand out small ones. */
    if (flags & MP__OS_HUGE) return mp__fail(MP_ENOTSUP);
    void *p = mp__sys.VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);
    if (p == NULL) {
        /* The flags and protection are fixed and valid, and the size is whole
         * pages, so ERROR_INVALID_PARAMETER can only mean that the size is
         * larger than the address space: that is no address space. */
        DWORD err = GetLastError();
        if (err == ERROR_INVALID_PARAMETER) return mp__fail_os(MP_ENOMEM, (int)err);
        return fail_last_error();
    }
    *out = p;
    return MP_OK;
}

static mp_status win_release(void *base, size_t size) {
    /* MEM_RELEASE frees the whole reservation made at base and requires a
     * size of zero; it decommits whatever is still committed. Nothing is
     * left to release after a remap, which Windows never does. */
    if (size == 0) return MP_OK;
    return mp__sys.VirtualFree(base, 0, MEM_RELEASE) ? MP_OK : fail_last_error();
}

static mp_status win_commit(void *addr, size_t size, unsigned prot) {
    return mp__sys.VirtualAlloc(addr, size, MEM_COMMIT, win_prot(prot)) != NULL ? MP_OK
                                                                                : fail_last_error();
}

static mp_status win_decommit(void *addr, size_t size, unsigned flags) {
    (void)flags;
    return mp__sys.VirtualFree(addr, size, MEM_DECOMMIT) ? MP_OK : fail_last_error();
}

static mp_status win_protect(void *addr, size_t size, unsigned prot) {
    DWORD old;
    return mp__sys.VirtualProtect(addr, size, win_prot(prot), &old) ? MP_OK : fail_last_error();
}

static mp_status win_remap(void *from, size_t size, void *to, size_t new_size) {
    /* Windows cannot move committed private pages to another address (it
     * has no mremap), so the caller copies. */
    (void)from;
    (void)size;
    (void)to;
    (void)new_size;
    return mp__fail(MP_ENOTSUP);
}

static mp_status win_discard(void *addr, size_t size, unsigned prot) {
    /* Decommitting cannot fail on a committed range inside a reservation.
     * Committing again can (see the top of this file). */
    if (!mp__sys.VirtualFree(addr, size, MEM_DECOMMIT)) return fail_last_error();
    return win_commit(addr, size, prot);
}

static mp_status win_advise(void *addr, size_t size, mp_advice advice) {
    if (advice != MP_ADVICE_WILLNEED) return MP_OK;
    WIN32_MEMORY_RANGE_ENTRY range = {.VirtualAddress = addr, .NumberOfBytes = size};
    if (mp__sys.prefetch(&range)) return MP_OK;
    /* A system without PrefetchVirtualMemory, or with the entry point but
     * not the feature behind it (as some compatibility layers), simply
     * ignores the hint. */
    DWORD err = GetLastError();
    if (err == ERROR_CALL_NOT_IMPLEMENTED || err == ERROR_NOT_SUPPORTED) return MP_OK;
    return fail_last_error();
}

static mp_status win_huge_hint(void *addr, size_t size, bool on) {
    /* Windows has no transparent huge pages to ask for or refuse. */
    (void)addr;
    (void)size;
    (void)on;
    return MP_OK;
}

/* The CPU time of the calling thread, user and kernel, as os.h asks.
 * GetThreadTimes does not fail for the current thread's pseudo handle (0
 * if it ever did: the policy then judges nothing); it is called directly
 * rather than through mp__sys, as there is no failure to inject (tests
 * replace mp__os.clock_ns to fake the time). */
static uint64_t win_clock_ns(void) {
    FILETIME created, exited, kernel, user;
    if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) return 0;
    uint64_t k = ((uint64_t)kernel.dwHighDateTime << 32) | kernel.dwLowDateTime;
    uint64_t u = ((uint64_t)user.dwHighDateTime << 32) | user.dwLowDateTime;
    /* FILETIME counts 100 ns units. */
    return (k + u) * 100u;
}

static mp_status win_populate(void *addr, size_t size) {
    /* Committed pages are demand-zero until touched: writing each page makes
     * the system back it now. The range is writable, as os.h requires. */
    size_t page = mp__os_cfg.page_size;
    for (size_t off = 0; off < size; off += page) {
        volatile unsigned char *b = (volatile unsigned char *)addr + off;
        *b = *b;
    }
    return MP_OK;
}

static mp_status win_lock(void *addr, size_t size) {
    /* VirtualLock fails with ERROR_WORKING_SET_QUOTA (MP_ENOMEM) once the
     * locked pages would exceed the process's minimum working set; raising
     * that limit is the application's decision, not the library's. */
    return mp__sys.VirtualLock(addr, size) ? MP_OK : fail_last_error();
}

static mp_status win_no_dump(void *addr, size_t size) {
    (void)addr;
    (void)size;
    return mp__fail(MP_ENOTSUP);
}

static void win_flush_icache(void *addr, size_t size) {
    /* On the current process this only fails for a bad range, which the
     * callers never pass; there is nothing to report then. */
    (void)mp__sys.FlushInstructionCache(GetCurrentProcess(), addr, size);
    mp__sys.FlushProcessWriteBuffers();
}

/* Windows has no call that makes a mapping permanent (VirtualProtect and
 * VirtualFree work on any range of the process at any time), so sealing is
 * not supported. */
static mp_status win_seal(void *base, size_t size) {
    (void)base;
    (void)size;
    return mp__fail(MP_ENOTSUP);
}

/* ---- Placement near an address (os.h reserve_near) ----
 *
 * First VirtualAlloc2 with MEM_ADDRESS_REQUIREMENTS, which places the
 * reservation inside the window in one call. Where it is missing
 * (ERROR_CALL_NOT_IMPLEMENTED), or fails for any other reason (emulations
 * may lack the requirements), or returns an address outside the window
 * (which is then released), the free regions
 * of the window are listed with VirtualQuery and the nearest candidates of
 * near.h reserved with VirtualAlloc at an explicit address, which fails
 * instead of replacing anything. After NEAR_ROUNDS listings without
 * success, MP_ENOMEM.
 */

#define NEAR_ROUNDS 4

/* Lists the free regions of the search's window with VirtualQuery and
 * offers each to the search. */
static mp_status offer_free_regions(mp__near_search *search) {
    uintptr_t at = search->first, end = search->last + search->size;
    while (at < end) {
        MEMORY_BASIC_INFORMATION info;
        if (mp__sys.VirtualQuery((LPCVOID)at, &info, sizeof info) == 0) {
            /* Past the highest address an application may use. */
            if (GetLastError() == ERROR_INVALID_PARAMETER) break;
            return fail_last_error();
        }
        uintptr_t from = (uintptr_t)info.BaseAddress, to = from + info.RegionSize;
        if (to <= at) break;
        if (info.State == MEM_FREE) mp__near_offer(search, from, to);
        at = to;
    }
    return MP_OK;
}

/* The target is not called `near` here: windef.h defines that word away. */
static mp_status win_reserve_near(size_t size, unsigned flags, const void *target,
                                  size_t max_distance, void **out) {
    if (flags & MP__OS_HUGE) return mp__fail(MP_ENOTSUP);
    mp__near_search search;
    size_t gran = mp__os_cfg.granularity;
    if (!mp__near_start(&search, target, max_distance, size, gran)) return mp__fail(MP_ENOMEM);

    /* The requirements name the lowest base and the highest last byte,
     * which must be a multiple of the granularity less one: rounded down,
     * so that any place VirtualAlloc2 picks is inside the window. */
    MEM_ADDRESS_REQUIREMENTS req = {
        .LowestStartingAddress = (PVOID)search.first,
        .HighestEndingAddress = (PVOID)(((search.last + size) & ~(uintptr_t)(gran - 1)) - 1),
        .Alignment = 0,
    };
    MEM_EXTENDED_PARAMETER param = {0};
    param.Type = MemExtendedParameterAddressRequirements;
    param.Pointer = &req;
    void *p = mp__sys.VirtualAlloc2(NULL, size, MEM_RESERVE, PAGE_NOACCESS, &param, 1);
    if (p != NULL && mp__near_fits(&search, (uintptr_t)p)) {
        *out = p;
        return MP_OK;
    }
    if (p != NULL && !mp__sys.VirtualFree(p, 0, MEM_RELEASE)) return fail_last_error();
    /* Any refusal, for want of VirtualAlloc2, of the requirements or of room
     * below the rounded-down end, leaves the answer to the listing. */
    DWORD err = 0;
    for (int round = 0; round < NEAR_ROUNDS; round++) {
        search.count = 0;
        mp_status s = offer_free_regions(&search);
        if (s != MP_OK) return s;
        if (search.count == 0) break;
        for (size_t i = 0; i < search.count; i++) {
            p = mp__sys.VirtualAlloc((LPVOID)search.base[i], size, MEM_RESERVE, PAGE_NOACCESS);
            if (p != NULL) {
                *out = p;
                return MP_OK;
            }
            /* Taken since it was listed (ERROR_INVALID_ADDRESS), no room,
             * or an address the system refuses (ERROR_INVALID_PARAMETER):
             * the next candidate may do. */
            err = GetLastError();
            if (err != ERROR_INVALID_ADDRESS && err != ERROR_NOT_ENOUGH_MEMORY &&
                err != ERROR_INVALID_PARAMETER) {
                return fail_last_error();
            }
        }
    }
    return mp__fail_os(MP_ENOMEM, (int)err);
}

/* ---- Dual mapping ----
 *
 * A section backed by the paging file (CreateFileMappingW with
 * INVALID_HANDLE_VALUE), created PAGE_EXECUTE_READWRITE so that views of
 * it may be either, and mapped twice: FILE_MAP_WRITE gives a read-write
 * view, FILE_MAP_READ | FILE_MAP_EXECUTE a read-execute one. The views keep
 * the section alive, so its handle is closed at once; handles are not
 * inherited by child processes, and Windows has no fork. Under Arbitrary
 * Code Guard the section is refused with ERROR_DYNAMIC_CODE_BLOCKED
 * (MP_EACCES).
 *
 * MapViewOfFile places each view where the system chooses, so there is no
 * room for guard pages around it: a pair with guard pages gives MP_ENOTSUP.
 * Windows 10 1803 and later could place views inside a reservation with
 * placeholders (VirtualAlloc2 with MEM_RESERVE_PLACEHOLDER, then
 * MapViewOfFile3 with MEM_REPLACE_PLACEHOLDER); that is not written.
 *
 * The two views are two calls to give back. The read-execute view goes
 * first, so that a failure there changes nothing; UnmapViewOfFile fails only
 * for an address that is not the base of a view, which this layer never
 * passes, so a failure of the second is ignored: the view would stay mapped
 * and unreachable, a leak, never a fault.
 */

static mp_status win_dual_map(size_t view_size, size_t data_at, size_t size, void **rw_view,
                              void **rx_view) {
    if (data_at != 0 || view_size != size) return mp__fail(MP_ENOTSUP);
    uint64_t size64 = size;
    HANDLE section =
        mp__sys.CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_EXECUTE_READWRITE | SEC_COMMIT,
                                   (DWORD)(size64 >> 32), (DWORD)size64, NULL);
    if (section == NULL) return fail_last_error();
    mp_status s = MP_OK;
    void *rw = mp__sys.MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, size);
    void *rx = NULL;
    if (rw == NULL) {
        s = fail_last_error();
    } else if ((rx = mp__sys.MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0,
                                           size)) == NULL) {
        s = fail_last_error();
        (void)mp__sys.UnmapViewOfFile(rw);
    }
    /* Closing a handle this layer just opened fails only for a bad handle;
     * the views keep the section alive either way. */
    DWORD err = GetLastError();
    (void)mp__sys.CloseHandle(section);
    SetLastError(err);
    if (s != MP_OK) return s;
    *rw_view = rw;
    *rx_view = rx;
    return MP_OK;
}

static mp_status win_dual_unmap(void *view, size_t view_size) {
    (void)view_size;
    return mp__sys.UnmapViewOfFile(view) ? MP_OK : fail_last_error();
}

static mp_status win_dual_release(void *rw_view, void *rx_view, size_t view_size) {
    (void)view_size;
    if (!mp__sys.UnmapViewOfFile(rx_view)) return fail_last_error();
    (void)mp__sys.UnmapViewOfFile(rw_view);
    return MP_OK;
}

#define WINDOWS_API                                                                                \
    {                                                                                              \
        .reserve = win_reserve, .release = win_release, .commit = win_commit,                      \
        .decommit = win_decommit, .protect = win_protect, .remap = win_remap,                      \
        .discard = win_discard, .advise = win_advise, .huge_hint = win_huge_hint,                  \
        .populate = win_populate, .clock_ns = win_clock_ns, .lock = win_lock,                      \
        .no_dump = win_no_dump, .flush_icache = win_flush_icache, .seal = win_seal,                \
        .reserve_near = win_reserve_near, .dual_map = win_dual_map, .dual_unmap = win_dual_unmap,  \
        .dual_release = win_dual_release,                                                          \
    }

const mp__os_api mp__os_native = WINDOWS_API;
MP__HOOKABLE mp__os_api mp__os = WINDOWS_API;

void mp__os_yield(void) {
    (void)mp__sys.SwitchToThread();
}

void mp__os_probe(mp_os_caps *out) {
    prefetch_call = (prefetch_fn)optional_call(L"kernel32.dll", "PrefetchVirtualMemory");
    alloc2_call = (alloc2_fn)optional_call(L"kernelbase.dll", "VirtualAlloc2");
    SYSTEM_INFO info;
    mp__sys.GetSystemInfo(&info);
    *out = (mp_os_caps){
        .page_size = info.dwPageSize,
        .granularity = info.dwAllocationGranularity,
        /* Large pages cannot serve page sets (the top of this file), and
         * Windows has no transparent huge pages, no per-range dump switch,
         * no sealing and no call that moves pages. */
        .huge_page_size = 0,
        /* Committed pages are demand-zero: populate touches each page. */
        .populate_write = false,
        /* VirtualAlloc at an address in use fails; it never replaces. */
        .fixed_noreplace = true,
        /* FlushProcessWriteBuffers interrupts every processor running a
         * thread of the process (flush_icache). */
        .sync_core = true,
    };
}
