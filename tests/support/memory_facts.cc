// The memory facts of memory_facts.h, from /proc and mincore().
#include "tests/support/memory_facts.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace mp_test {

#ifdef __linux__
namespace {

/* Parses the start, end and permissions of a maps or smaps header line
 * ("7f..-7f.. rw-p 00000000 00:00 0  [heap]"). */
bool ParseMapLine(const std::string &line, Mapping *m) {
    char perms[5] = {0};
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %4s", &m->start, &m->end, perms) !=
        3) {
        return false;
    }
    m->read = perms[0] == 'r';
    m->write = perms[1] == 'w';
    m->exec = perms[2] == 'x';
    m->line = line;
    return true;
}

/* Reads "<Field>:   <n> kB" into bytes. */
bool ParseKbField(const std::string &line, const char *field, size_t *out) {
    std::string prefix = std::string(field) + ":";
    if (line.compare(0, prefix.size(), prefix) != 0) return false;
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str() + prefix.size(), "%llu kB", &kib) != 1) return false;
    *out = static_cast<size_t>(kib) * 1024;
    return true;
}

} // namespace
#endif

bool ReadMaps(std::vector<Mapping> *out) {
#ifdef __linux__
    std::ifstream in("/proc/self/maps");
    if (!in) return false;
    out->clear();
    std::string line;
    while (std::getline(in, line)) {
        Mapping m;
        if (!ParseMapLine(line, &m)) return false;
        out->push_back(m);
    }
    return !out->empty();
#elif defined(_WIN32)
    // Every region of the address space that is not free, as VirtualQuery
    // reports it: reserved regions and PAGE_NOACCESS or PAGE_GUARD pages have
    // no access; copy-on-write pages count as writable, since a write to
    // them succeeds.
    out->clear();
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    const uint8_t *at = static_cast<const uint8_t *>(info.lpMinimumApplicationAddress);
    const uint8_t *end = static_cast<const uint8_t *>(info.lpMaximumApplicationAddress);
    MEMORY_BASIC_INFORMATION region;
    while (at < end && VirtualQuery(at, &region, sizeof region) == sizeof region) {
        const uint8_t *next = static_cast<const uint8_t *>(region.BaseAddress) + region.RegionSize;
        if (region.State != MEM_FREE) {
            Mapping m;
            m.start = reinterpret_cast<uintptr_t>(region.BaseAddress);
            m.end = reinterpret_cast<uintptr_t>(next);
            const DWORD p = region.State == MEM_COMMIT && !(region.Protect & PAGE_GUARD)
                                ? region.Protect & 0xff
                                : PAGE_NOACCESS;
            m.read = p != PAGE_NOACCESS && p != PAGE_EXECUTE;
            m.write = p == PAGE_READWRITE || p == PAGE_WRITECOPY || p == PAGE_EXECUTE_READWRITE ||
                      p == PAGE_EXECUTE_WRITECOPY;
            m.exec = p == PAGE_EXECUTE || p == PAGE_EXECUTE_READ || p == PAGE_EXECUTE_READWRITE ||
                     p == PAGE_EXECUTE_WRITECOPY;
            char text[96];
            std::snprintf(text, sizeof text, "%p-%p %c%c%c state 0x%lx protect 0x%lx",
                          region.BaseAddress, static_cast<const void *>(next), m.read ? 'r' : '-',
                          m.write ? 'w' : '-', m.exec ? 'x' : '-',
                          static_cast<unsigned long>(region.State),
                          static_cast<unsigned long>(region.Protect));
            m.line = text;
            out->push_back(m);
        }
        at = next;
    }
    return !out->empty();
#else
    // Elsewhere there is no such view of the process's own pages.
    (void)out;
    return false;
#endif
}

const Mapping *FindMapping(const std::vector<Mapping> &maps, const void *addr) {
    uintptr_t a = reinterpret_cast<uintptr_t>(addr);
    for (const Mapping &m : maps) {
        if (m.start <= a && a < m.end) return &m;
    }
    return nullptr;
}

bool FindWritableAndExecutable(std::vector<std::string> *out) {
    std::vector<Mapping> maps;
    if (!ReadMaps(&maps)) return false;
    out->clear();
    for (const Mapping &m : maps) {
        if (m.write && m.exec) out->push_back(m.line);
    }
    return true;
}

bool SmapsEntry::HasFlag(const std::string &flag) const {
    for (const std::string &f : vm_flags) {
        if (f == flag) return true;
    }
    return false;
}

bool ReadSmaps(const void *addr, SmapsEntry *out) {
#ifdef __linux__
    std::ifstream in("/proc/self/smaps");
    if (!in) return false;
    uintptr_t a = reinterpret_cast<uintptr_t>(addr);
    bool inside = false;
    bool found = false;
    std::string line;
    while (std::getline(in, line)) {
        Mapping m;
        if (ParseMapLine(line, &m)) {
            // A header line starts the next entry.
            if (found) break;
            inside = m.start <= a && a < m.end;
            if (inside) {
                *out = SmapsEntry();
                found = true;
            }
            continue;
        }
        if (!inside) continue;
        if (line.compare(0, 8, "VmFlags:") == 0) {
            std::istringstream flags(line.substr(8));
            std::string flag;
            while (flags >> flag)
                out->vm_flags.push_back(flag);
        } else {
            (void)(ParseKbField(line, "KernelPageSize", &out->kernel_page_size) ||
                   ParseKbField(line, "Locked", &out->locked));
        }
    }
    return found;
#else
    (void)addr;
    (void)out;
    return false;
#endif
}

bool ResidentPages(const void *addr, size_t len, size_t *out) {
#ifdef _WIN32
    (void)addr;
    (void)len;
    (void)out;
    return false;
#else
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> vec((len + page - 1) / page);
    if (mincore(const_cast<void *>(addr), len, vec.data()) != 0) return false;
    size_t resident = 0;
    for (unsigned char v : vec)
        resident += v & 1;
    *out = resident;
    return true;
#endif
}

#ifdef __linux__
namespace {

/* Maps pages rw pages of scratch memory, runs probe on them, unmaps them. */
template <class Probe> bool WithScratchPages(size_t pages, Probe probe) {
    size_t size = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    bool result = probe(p, size);
    munmap(p, size);
    return result;
}

/* Whether madvise(advice) shows as flag in the VmFlags of the mapping. */
bool AdviceIsVisible(int advice, const char *flag) {
    return WithScratchPages(1, [&](void *p, size_t size) {
        SmapsEntry smaps;
        return madvise(p, size, advice) == 0 && ReadSmaps(p, &smaps) && smaps.HasFlag(flag);
    });
}

} // namespace
#endif

bool NoDumpIsVisible() {
#if defined(__linux__) && defined(MADV_DONTDUMP)
    return AdviceIsVisible(MADV_DONTDUMP, "dd");
#else
    return false;
#endif
}

bool HugePageHintIsVisible() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    return AdviceIsVisible(MADV_HUGEPAGE, "hg");
#else
    return false;
#endif
}

bool LockIsVisible() {
#ifdef __linux__
    return WithScratchPages(1, [](void *p, size_t size) {
        SmapsEntry smaps;
        return mlock(p, size) == 0 && ReadSmaps(p, &smaps) && smaps.HasFlag("lo");
    });
#else
    return false;
#endif
}

int LockProbeError(size_t pages) {
#ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    const size_t size = pages * info.dwPageSize;
    void *p = VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p == nullptr) return static_cast<int>(GetLastError());
    int err = 0;
    if (VirtualLock(p, size)) {
        VirtualUnlock(p, size);
    } else {
        err = static_cast<int>(GetLastError());
    }
    VirtualFree(p, 0, MEM_RELEASE);
    return err;
#else
    const size_t size = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno;
    int err = 0;
    if (mlock(p, size) == 0) {
        munlock(p, size);
    } else {
        err = errno;
    }
    munmap(p, size);
    return err;
#endif
}

bool IsLockLimitError(int err) {
#ifdef _WIN32
    return err == ERROR_WORKING_SET_QUOTA;
#else
    return err == ENOMEM || err == EAGAIN || err == EPERM;
#endif
}

std::string LockErrorText(int err) {
#ifdef _WIN32
    return "Windows error " + std::to_string(err);
#else
    return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")";
#endif
}

bool PopulateIsVisible() {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    return WithScratchPages(4, [](void *p, size_t size) {
        size_t resident = 0;
        if (madvise(p, size, MADV_POPULATE_WRITE) != 0) {
            // The kernel lacks it: the library touches every page instead,
            // which any platform shows.
            return errno == EINVAL;
        }
        return ResidentPages(p, size, &resident) && resident == 4;
    });
#else
    // The library touches every page instead, which residency shows
    // wherever it is reported.
    return true;
#endif
}

} // namespace mp_test
