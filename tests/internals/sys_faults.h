// The shared part of the walks that fail raw system calls (fault_injection.h,
// sys_fault_*): the error codes injected, the status each must give, the
// documented branches of the platform files where a failure gives another
// status (or none), and the walk itself with its leak check.
#ifndef MEMORY_PAGES_TESTS_INTERNALS_SYS_FAULTS_H
#define MEMORY_PAGES_TESTS_INTERNALS_SYS_FAULTS_H

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/mman.h>
#endif

#include "memory_pages/runtime.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"

namespace sys_faults {

struct OsError {
    int code;
    const char *name;
};

inline std::ostream &operator<<(std::ostream &os, const OsError &e) {
    return os << e.name << " (" << e.code << ")";
}

// The codes every raw call is failed with in turn.
inline const std::vector<OsError> &OsErrors() {
    static const std::vector<OsError> errors = {
#ifdef _WIN32
        {8, "ERROR_NOT_ENOUGH_MEMORY"},  {1455, "ERROR_COMMITMENT_LIMIT"},
        {5, "ERROR_ACCESS_DENIED"},      {1655, "ERROR_DYNAMIC_CODE_BLOCKED"},
        {87, "ERROR_INVALID_PARAMETER"},
#else
        {ENOMEM, "ENOMEM"}, {EAGAIN, "EAGAIN"}, {EACCES, "EACCES"},
        {EPERM, "EPERM"},   {EINVAL, "EINVAL"}, {EFAULT, "EFAULT"},
#endif
    };
    return errors;
}

// The status a failure with code maps to where no branch intervenes:
// fail_errno() of os_posix.c, fail_last_error() of os_windows.c.
inline mp_status MappedStatus(int code) {
#ifdef _WIN32
    switch (code) {
    case 8:    // ERROR_NOT_ENOUGH_MEMORY
    case 1455: // ERROR_COMMITMENT_LIMIT
        return MP_ENOMEM;
    case 5:    // ERROR_ACCESS_DENIED
    case 1655: // ERROR_DYNAMIC_CODE_BLOCKED
        return MP_EACCES;
    case 50:  // ERROR_NOT_SUPPORTED
    case 120: // ERROR_CALL_NOT_IMPLEMENTED
        return MP_ENOTSUP;
    default:
        return MP_EOS;
    }
#else
    switch (code) {
    case ENOMEM:
    case EAGAIN:
        return MP_ENOMEM;
    case EACCES:
    case EPERM:
        return MP_EACCES;
    default:
        return MP_EOS;
    }
#endif
}

inline bool Entry(const sys_call &c, const char *name) {
    return std::strcmp(c.entry, name) == 0;
}

// What a failed raw call must give, by the rules of the platform file
// alone: the mapped status, or, for the documented branches, the status of
// the branch and its name (which the walks count, so that each branch is
// shown to run at least once). Branches that depend on the caller (a
// vector's retry, its move, its cache) are the walks' business.
struct Expected {
    mp_status status;
    std::string branch; // empty: the plain mapping
};

inline Expected PlatformExpected(const sys_call &c, int code) {
#ifdef _WIN32
    if (Entry(c, "FlushInstructionCache")) {
        return {MP_OK, "FlushInstructionCache failure ignored (flush_icache cannot fail)"};
    }
    if (Entry(c, "VirtualAlloc") && (c.arg[2] & MEM_RESERVE) && code == 87) {
        return {MP_ENOMEM, "VirtualAlloc(MEM_RESERVE) ERROR_INVALID_PARAMETER -> MP_ENOMEM"};
    }
    if (Entry(c, "prefetch") && (code == 120 || code == 50)) {
        return {MP_OK, "prefetch missing -> the hint is ignored"};
    }
#else
    if (Entry(c, "membarrier")) {
        return {MP_OK, "membarrier failure is silent"};
    }
#ifdef MADV_HUGEPAGE
    if (Entry(c, "madvise") && c.arg[2] == MADV_HUGEPAGE) {
        return {MP_OK, "madvise(MADV_HUGEPAGE) hint failure ignored"};
    }
#endif
#ifdef MADV_NOHUGEPAGE
    if (Entry(c, "madvise") && c.arg[2] == MADV_NOHUGEPAGE) {
        return {MP_OK, "madvise(MADV_NOHUGEPAGE) hint failure ignored"};
    }
#endif
#ifdef MADV_POPULATE_WRITE
    if (Entry(c, "madvise") && c.arg[2] == MADV_POPULATE_WRITE && code == EINVAL) {
        return {MP_OK, "madvise(MADV_POPULATE_WRITE) EINVAL -> touching pages"};
    }
#endif
#ifdef MAP_HUGETLB
    if (Entry(c, "mmap") && (c.arg[3] & MAP_HUGETLB) && code == EINVAL) {
        return {MP_ENOTSUP, "mmap(MAP_HUGETLB) EINVAL -> MP_ENOTSUP"};
    }
#endif
    if (Entry(c, "ioctl")) {
        return {MP_OK, "ioctl(PROCMAP_QUERY) fails -> /proc/self/maps is read"};
    }
    if (Entry(c, "mseal") && code == EPERM) {
        return {MP_ENOTSUP, "mseal EPERM -> MP_ENOTSUP"};
    }
    // The first of posix_remap's two moves touches nothing of the vector's:
    // any failure there is MP_ENOTSUP, and the vector copies instead. A
    // failure of the second moves the pages back; a refusal of its
    // arguments lets the vector copy too, any other is the call's status.
    if (Entry(c, "mremap") && (c.nth == 1 || code == EINVAL || code == EFAULT)) {
        return {MP_OK, "mremap refused -> copying"};
    }
#endif
    return {MappedStatus(code), ""};
}

// What a failed raw call under an operation that makes or gives back a dual
// mapping (mp_pages_dual, a dual code arena) must give: the branches of the
// dual mapping in the platform files first, then the platform's rules.
inline Expected DualMapExpected(const sys_call &c, int code) {
#ifdef _WIN32
    if (Entry(c, "CloseHandle")) {
        return {MP_OK, "CloseHandle of the section failure ignored"};
    }
    // dual_release unmaps the rx view first; the second unmap cannot fail
    // for a view base, and its failure is ignored (os_windows.c).
    if (Entry(c, "UnmapViewOfFile") && c.nth == 2) {
        return {MP_OK, "second UnmapViewOfFile of dual_release ignored"};
    }
#else
    if (Entry(c, "memfd_create") && c.nth == 1 && code == EINVAL) {
        return {MP_OK, "memfd_create EINVAL -> again without MFD_EXEC"};
    }
    if (Entry(c, "close")) {
        return {MP_OK, "close of the memfd failure ignored"};
    }
#endif
    return PlatformExpected(c, code);
}

// How many raw calls of entry the log holds since the last sys_fault_arm.
inline int Logged(const char *entry) {
    const sys_call *calls = nullptr;
    const size_t n = sys_fault_log(&calls);
    EXPECT_LT(n, 256u) << "the log is full: counts may be short";
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += Entry(calls[i], entry);
    return count;
}

// Describes a logged call for failure messages: entry, call number, the
// arguments logged.
inline std::string Describe(const sys_call &c) {
    std::ostringstream os;
    os << c.entry << " call " << c.nth << " (args 0x" << std::hex << c.arg[0] << ", 0x" << c.arg[1]
       << ", 0x" << c.arg[2] << ", 0x" << c.arg[3] << ")";
    return os.str();
}

// How often each documented branch ran, over the whole test binary.
inline std::map<std::string, int> &Branches() {
    static std::map<std::string, int> branches;
    return branches;
}

inline void CountBranch(const std::string &branch) {
    if (!branch.empty()) Branches()[branch]++;
}

// Prints the branches that ran; called by the tests that require them.
inline void PrintBranches() {
    for (const auto &b : Branches())
        std::printf("[ branch   ] %d x %s\n", b.second, b.first.c_str());
}

// Whether /proc/self/maps counts this process's mappings exactly; prints the
// reason once where it does not.
inline bool MapsExact() {
    static int exact = -1;
    if (exact < 0) {
        const char *why = "";
#ifdef _WIN32
        // Windows has no /proc; under wine a path to it would describe
        // wine's own Linux process, not the Windows address space.
        why = "Windows has no /proc/self/maps (the reservation balance still counts)";
        exact = 0;
#else
        exact = mappings_count_is_exact(&why) ? 1 : 0;
#endif
        if (!exact) std::printf("[ note     ] no mapping count check: %s\n", why);
    }
    return exact == 1;
}

// Runs run(n) for n = 1, 2, ... where run arms the walk's fault with
// sys_fault_arm(n, code) just before the operation, until a run makes no
// call fail. Before and after each run the reservation balance and the
// mapping count must be equal: run undoes or frees whatever it made (and
// gives back, itself, what the library knowingly gives up on, as a vector's
// old mapping whose release failed after a move). A run may instead return
// true to say that the operation succeeded and its result is kept (a code
// arena's pages made writable or runnable): the mapping count is not
// compared then, since the kernel merges pages with a neighbouring mapping
// of the same access, or splits them from one, as the layout of the moment
// has it. Returns the faults injected.
template <class RunFn> int Walk(const std::string &what, const OsError &e, RunFn run) {
    const bool exact = MapsExact();
    for (unsigned n = 1; n < 200; n++) {
        const long reservations = fault_reservations();
        const int maps = exact ? mappings_count() : 0;
        bool kept = false;
        if constexpr (std::is_same_v<decltype(run(n)), bool>) {
            kept = run(n);
        } else {
            run(n);
        }
        sys_fault_disarm();
        const sys_call *fired = sys_fault_fired();
        const std::string where = what + ", " + e.name + ", fault at raw call " +
                                  std::to_string(n) + (fired ? " (" + Describe(*fired) + ")" : "");
        EXPECT_EQ(fault_reservations(), reservations) << "a reservation leaked: " << where;
        if (exact && !kept) {
            EXPECT_EQ(mappings_count(), maps) << "a mapping leaked: " << where;
        }
        if (::testing::Test::HasFatalFailure()) return 0;
        if (fired == nullptr) return static_cast<int>(n) - 1;
    }
    ADD_FAILURE() << what << ": the walk never ended";
    return 0;
}

// Checks the status and os error of an armed operation against rules (the
// platform rules alone unless told), counts the branch that ran, and returns
// what was expected. With no fault fired the status must be MP_OK.
inline Expected CheckPlatform(const std::string &what, unsigned n, const OsError &e, mp_status got,
                              int os_error,
                              Expected (*rules)(const sys_call &, int) = PlatformExpected) {
    const sys_call *fired = sys_fault_fired();
    if (fired == nullptr) {
        EXPECT_EQ(got, MP_OK) << what << ": with no raw call failing (" << n - 1 << " calls)";
        return {MP_OK, ""};
    }
    Expected want = rules(*fired, e.code);
    EXPECT_EQ(got, want.status) << what << ", " << Describe(*fired) << " failing with " << e
                                << (want.branch.empty() ? "" : ": branch " + want.branch);
    if (got != MP_OK && want.status != MP_OK) {
        EXPECT_EQ(os_error, e.code)
            << what << ": mp_os_error() after " << Describe(*fired) << " failed with " << e;
    }
    CountBranch(want.branch);
    return want;
}

} // namespace sys_faults

#endif // MEMORY_PAGES_TESTS_INTERNALS_SYS_FAULTS_H
