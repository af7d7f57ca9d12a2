// Real out-of-memory: in a child process whose address space (RLIMIT_AS) or
// writable private memory (RLIMIT_DATA) is capped a little above what it
// uses, page sets are made and vectors grown until the OS refuses. Every
// refusal must be MP_ENOMEM with the OS's ENOMEM behind it, everything made
// before it must keep its contents, and once all is freed the mapping count
// of /proc/self/maps must be back where it started.
//
// The two limits fail in different places: RLIMIT_AS refuses reservations,
// RLIMIT_DATA (Linux 4.7 and later) lets a reservation through and refuses
// making it writable, so both the reserve and the commit failure paths meet
// a real refusal. Linux only: the limits and /proc are Linux's.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "memory_pages/internal/vec.h" /* mp__vec_cache_drain */
#include "memory_pages/memory_pages.h"
#include "tests/internals/mappings.h"
#include "tests/reliability/vecs.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;
// How far above its current use the child's limit is set.
constexpr size_t kHeadroom = 64 * kMiB;
// More page sets of 1 MiB than the headroom can hold.
constexpr int kMaxSets = 1024;

// The failures the child found; it reports them on stderr, where the parent's
// death-test assertion shows them, and exits with their count.
int failures = 0;

void Fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fputc('\n', stderr);
    failures++;
}

// Ends the child: 0 when nothing failed.
[[noreturn]] void Finish() {
    std::fflush(stdout);
    std::_Exit(failures > 255 ? 255 : failures);
}

// Reads a "Name:   123 kB" line of /proc/self/status, in bytes, or 0.
size_t StatusBytes(const char *name) {
    FILE *f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return 0;
    char line[256];
    size_t bytes = 0;
    const size_t name_len = std::strlen(name);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, name, name_len) == 0 && line[name_len] == ':') {
            bytes = std::strtoull(line + name_len + 1, nullptr, 10) * 1024;
            break;
        }
    }
    std::fclose(f);
    return bytes;
}

// The limits the child can be run under.
struct Limit {
    int resource;
    const char *name;
    const char *usage; // the /proc/self/status line that the limit caps
};
const Limit kAs = {RLIMIT_AS, "RLIMIT_AS", "VmSize"};
const Limit kData = {RLIMIT_DATA, "RLIMIT_DATA", "VmData"};

// Caps the resource of limit at its current use plus kHeadroom.
bool SetLimit(const Limit &limit) {
    const size_t used = StatusBytes(limit.usage);
    if (used == 0) {
        Fail("cannot read %s from /proc/self/status", limit.usage);
        return false;
    }
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = used + kHeadroom;
    if (setrlimit(limit.resource, &rl) != 0) {
        Fail("setrlimit(%s): %s", limit.name, std::strerror(errno));
        return false;
    }
    return true;
}

// Checks that the last call was refused for lack of memory, as the OS said.
void ExpectRefused(const char *what, mp_status s) {
    if (s != MP_ENOMEM) Fail("%s: %s, expected MP_ENOMEM", what, mp_status_str(s));
    if (mp_os_error() != ENOMEM) Fail("%s: mp_os_error() %d, expected ENOMEM", what, mp_os_error());
}

unsigned char FillByte(int i) {
    return static_cast<unsigned char>(i % 251 + 1);
}

// Whether len bytes at p are all b.
bool AllBytes(const uint8_t *p, size_t len, unsigned char b) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != b) return false;
    }
    return true;
}

// The child of the page-set test: makes 1 MiB page sets until refused, and
// checks the refusal, the contents, a transition at the limit, and that
// freeing gives every mapping back.
[[noreturn]] void PageSetsUntilRefused(const Limit &limit) {
    static mp_pages_rw sets[kMaxSets];
    // Make the registry's first slots, and stdout's buffer, before counting.
    mp_pages_rw warm;
    if (mp_pages_rw_new(1, &warm) != MP_OK || mp_pages_rw_free(&warm) != MP_OK) {
        Fail("a page set cannot be made before the limit");
        Finish();
    }
    std::printf("[ oom      ] page sets under %s\n", limit.name);
    const char *why = nullptr;
    const bool exact = mappings_count_is_exact(&why);
    const int maps_before = mappings_count();
    if (!SetLimit(limit)) Finish();

    int n = 0;
    mp_status s = MP_OK;
    for (; n < kMaxSets; n++) {
        s = mp_pages_rw_new(kMiB, &sets[n]);
        if (s != MP_OK) break;
        std::memset(mp_pages_rw_data_mut(&sets[n]), FillByte(n), kMiB);
    }
    if (n == kMaxSets) Fail("%d MiB of page sets were never refused", kMaxSets);
    if (n == 0) Fail("the first page set was refused already");
    ExpectRefused("mp_pages_rw_new at the limit", s);

    // More refusals at the limit: guard pages, a larger set.
    mp_pages_opts opts = {};
    opts.guard_pages_before = opts.guard_pages_after = 16;
    mp_pages_rw more;
    ExpectRefused("mp_pages_rw_new_opts with guard pages at the limit",
                  mp_pages_rw_new_opts(kHeadroom, &opts, &more));
    ExpectRefused("a second mp_pages_rw_new at the limit", mp_pages_rw_new(kHeadroom, &more));

    // Transitions at the limit need no new memory: rw -> r gives write
    // access up, r -> rw takes back what it gave.
    if (n > 0) {
        mp_pages_r r;
        s = mp_pages_rw_into_r(&sets[0], &r);
        if (s == MP_OK) s = mp_pages_r_into_rw(&r, &sets[0]);
        if (s != MP_OK) {
            Fail("rw -> r -> rw at the limit: %s", mp_status_str(s));
            Finish();
        }
    }

    for (int i = 0; i < n; i++) {
        if (!AllBytes(mp_pages_rw_data(&sets[i]), kMiB, FillByte(i)))
            Fail("page set %d lost its contents", i);
        if (mp_pages_rw_free(&sets[i]) != MP_OK) Fail("page set %d cannot be freed", i);
    }
    const int maps_after = mappings_count();
    if (exact && maps_after != maps_before)
        Fail("%d mappings after freeing everything, %d before", maps_after, maps_before);

    // The memory is usable again.
    if (mp_pages_rw_new(kMiB, &sets[0]) != MP_OK || mp_pages_rw_free(&sets[0]) != MP_OK)
        Fail("a page set cannot be made after freeing everything");
    std::printf("[ oom      ] %s: refused after %d MiB of page sets; mappings %d before, %d "
                "after%s%s\n",
                limit.name, n, maps_before, maps_after,
                exact ? "" : " (not compared: ", exact ? "" : why);
    if (!exact) std::printf(")\n");
    Finish();
}

// The child of the vector test: grows a vector one element at a time until
// refused, then checks that it is exactly as before the refused push, and
// that larger requests are refused too; then grows a vector of 3-byte
// elements by extend until refused. With max_capacity (elements; 0: the
// default reservation) the vector's reservation is small, so that it moves
// at every doubling, as 32-bit vectors do with their 8 MiB default: its
// pages span several mappings after the first move, which mremap must never
// leave half moved when the limit refuses the next (runtime/os_posix.c,
// posix_remap).
[[noreturn]] void VectorUntilRefused(const Limit &limit, size_t max_capacity) {
    rel_u64 warm;
    if (rel_u64_new(&warm) != MP_OK || rel_u64_push(&warm, 1) != MP_OK ||
        rel_u64_free(&warm) != MP_OK) {
        Fail("a vector cannot be made before the limit");
        Finish();
    }
    // The warm-up left its reservation in the cache of freed reservations,
    // address space taken before the limit: give it back, so that every
    // vector below must ask the OS for its own.
    if (mp__vec_cache_drain() != MP_OK) Fail("the cache of reservations cannot be drained");
    std::printf("[ oom      ] vectors under %s\n", limit.name);
    const char *why = nullptr;
    const bool exact = mappings_count_is_exact(&why);
    const int maps_before = mappings_count();
    if (!SetLimit(limit)) Finish();

    rel_u64 v;
    mp_vec_opts opts{};
    opts.max_capacity = max_capacity;
    if (rel_u64_new_opts(&opts, &v) != MP_OK) Fail("rel_u64_new_opts refused");
    mp_status s = MP_OK;
    const size_t most = 2 * kHeadroom / sizeof(uint64_t);
    size_t n = 0;
    for (; n < most; n++) {
        if (n == rel_u64_capacity(&v)) {
            s = rel_u64_push(&v, n);
            if (s != MP_OK) break;
        } else {
            s = rel_u64_push(&v, n); // the fast path, no OS call
            if (s != MP_OK) {
                Fail("push with spare capacity failed: %s", mp_status_str(s));
                break;
            }
        }
    }
    if (n == most) Fail("a vector of %zu MiB was never refused", 2 * kHeadroom / kMiB);
    ExpectRefused("push at the limit", s);
    const size_t cap = rel_u64_capacity(&v);
    if (rel_u64_len(&v) != n) Fail("the refused push changed the length");
    ExpectRefused("reserve of 1 GiB at the limit", rel_u64_reserve(&v, 1024 * kMiB / 8));
    uint64_t fill = 7;
    ExpectRefused("resize to 1 GiB at the limit", rel_u64_resize(&v, 1024 * kMiB / 8, fill));
    rel_u64 big;
    ExpectRefused("with_capacity of 1 GiB at the limit",
                  rel_u64_with_capacity(1024 * kMiB / 8, &big));
    if (rel_u64_len(&v) != n || rel_u64_capacity(&v) != cap)
        Fail("refused calls changed the vector");
    for (size_t i = 0; i < n; i++) {
        if (*rel_u64_at(&v, i) != i) {
            Fail("element %zu lost its value", i);
            break;
        }
    }

    if (rel_u64_free(&v) != MP_OK) Fail("the vector cannot be freed");

    // With that memory back, a vector of odd-sized elements, grown by
    // extend, is refused as well.
    rel_odd odd;
    if (rel_odd_new(&odd) != MP_OK) Fail("rel_odd_new refused at the limit");
    static odd_elem chunk[4096];
    for (size_t i = 0; i < 4096; i++)
        chunk[i].b[0] = chunk[i].b[1] = chunk[i].b[2] = 0x5a;
    size_t odd_len = 0;
    for (;;) {
        s = rel_odd_extend(&odd, chunk, 4096);
        if (s != MP_OK) break;
        odd_len += 4096;
    }
    ExpectRefused("extend of the odd-sized vector at the limit", s);
    if (rel_odd_len(&odd) != odd_len) Fail("the refused extend changed the length");
    if (rel_odd_free(&odd) != MP_OK) Fail("the odd-sized vector cannot be freed");

    // The freed vectors may be in the cache; what counts is that nothing
    // else is left behind.
    if (mp__vec_cache_drain() != MP_OK) Fail("the cache of reservations cannot be drained");
    const int maps_after = mappings_count();
    if (exact && maps_after != maps_before)
        Fail("%d mappings after freeing everything, %d before", maps_after, maps_before);
    std::printf("[ oom      ] %s: push refused at %zu elements (%zu MiB), extend at %zu "
                "3-byte elements; mappings %d before, %d after%s%s\n",
                limit.name, n, n * sizeof(uint64_t) / kMiB, odd_len, maps_before, maps_after,
                exact ? "" : " (not compared: ", exact ? "" : why);
    if (!exact) std::printf(")\n");
    Finish();
}

// A cap on the address space cannot work beside the shadow memory of
// AddressSanitizer and ThreadSanitizer: those runs skip the test, and say so.
bool UnderAddressSanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

class OomTest : public ::testing::TestWithParam<Limit> {
  protected:
    void SetUp() override {
        if (UnderAddressSanitizer()) {
            GTEST_SKIP() << "a memory limit cannot be set beside the sanitizer's shadow memory";
        }
        if (running_on_valgrind()) {
            GTEST_SKIP() << "valgrind emulates RLIMIT_DATA and manages the address space itself";
        }
        if (mappings_count() < 0) GTEST_SKIP() << "no /proc/self/maps: not Linux";
        // qemu-user accepts setrlimit for the program it runs but does not
        // apply the limit to the guest's mappings (docs/platforms.md).
        const char *emulator = std::getenv("MP_TEST_EMULATOR");
        if (emulator != nullptr && std::strcmp(emulator, "qemu-user") == 0) {
            GTEST_SKIP() << "qemu-user does not apply RLIMIT_AS or RLIMIT_DATA to the guest";
        }
    }
};

TEST_P(OomTest, PageSetsAreRefusedCleanly) {
    EXPECT_EXIT(PageSetsUntilRefused(GetParam()), ::testing::ExitedWithCode(0), "");
}

TEST_P(OomTest, VectorsAreRefusedCleanly) {
    EXPECT_EXIT(VectorUntilRefused(GetParam(), 0), ::testing::ExitedWithCode(0), "");
}

TEST_P(OomTest, MovingVectorsAreRefusedCleanly) {
    EXPECT_EXIT(VectorUntilRefused(GetParam(), kMiB / sizeof(uint64_t)),
                ::testing::ExitedWithCode(0), "");
}

INSTANTIATE_TEST_SUITE_P(Limits, OomTest, ::testing::Values(kAs, kData),
                         [](const ::testing::TestParamInfo<Limit> &info) {
                             return std::string(info.param.name + 7); // after "RLIMIT_"
                         });

} // namespace
