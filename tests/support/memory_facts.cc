// The memory facts of memory_facts.h, from /proc and mincore().
#include "tests/support/memory_facts.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>

#ifndef _WIN32
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace mp_test {

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

bool ReadMaps(std::vector<Mapping> *out) {
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

} // namespace mp_test
