// mp_query (shared/API.md section 8): what an address is. Every state of a
// page set with guard pages before and after, vectors (committed capacity,
// the reservation past it and the guard page), frozen vectors, objects that
// were freed or moved (MP_EINVAL), addresses of nothing; then calls from a
// SIGSEGV handler on real faults, and calls racing with threads that change
// the objects (run under TSan and ASan too).
#include <gtest/gtest.h>

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <thread>

#include "memory_pages/memory_pages.h"
#include "tests/query/query_vecs.h"
#include "tests/support/states.h"

namespace {

using mp_test::AllStates;

template <class S> unsigned AccessOf() {
    const unsigned r = MP_ACCESS_READ, w = MP_ACCESS_WRITE, x = MP_ACCESS_EXEC;
    return (S::kReadable ? r : 0u) | (S::kWritable ? w : 0u) | (S::kExecutable ? x : 0u);
}

const uint8_t *At(const void *base, ptrdiff_t offset) {
    return static_cast<const uint8_t *>(base) + offset;
}

// Queries addr and expects an object of kind and access at base, len bytes,
// with addr at offset (or in a guard page when offset < 0).
void ExpectInfo(const char *what, const void *addr, mp_kind kind, unsigned access, const void *base,
                size_t len, ptrdiff_t offset) {
    mp_page_info info;
    std::memset(&info, 0xee, sizeof info);
    ASSERT_EQ(mp_query(addr, &info), MP_OK) << what << " at " << addr;
    EXPECT_EQ(info.kind, kind) << what;
    EXPECT_EQ(info.access, access) << what;
    EXPECT_EQ(info.base, base) << what;
    EXPECT_EQ(info.len, len) << what;
    EXPECT_EQ(info.guard, offset < 0) << what;
    if (offset >= 0) {
        EXPECT_EQ(info.offset, static_cast<size_t>(offset)) << what;
    }
}

void ExpectNothing(const char *what, const void *addr) {
    mp_page_info info;
    std::memset(&info, 0xee, sizeof info);
    mp_page_info untouched = info;
    EXPECT_EQ(mp_query(addr, &info), MP_EINVAL) << what << " at " << addr;
    EXPECT_EQ(std::memcmp(&info, &untouched, sizeof info), 0) << what << ": *out was written";
}

template <class S> class QueryState : public ::testing::Test {};
TYPED_TEST_SUITE(QueryState, AllStates, mp_test::StateName);

TYPED_TEST(QueryState, DataAndGuardPagesBeforeAndAfter) {
    using S = TypeParam;
    const ptrdiff_t page = static_cast<ptrdiff_t>(mp_page_size());
    mp_pages_opts opts{};
    opts.guard_pages_before = 2;
    opts.guard_pages_after = 1;
    typename S::Handle p;
    ASSERT_EQ(S::NewOpts(3 * page, &opts, &p), MP_OK);
    const void *base = S::Address(&p);
    const size_t len = 3 * page;
    const unsigned access = AccessOf<S>();
    ExpectInfo("first byte", base, MP_KIND_PAGES, access, base, len, 0);
    ExpectInfo("a middle byte", At(base, page + 17), MP_KIND_PAGES, access, base, len, page + 17);
    ExpectInfo("last byte", At(base, 3 * page - 1), MP_KIND_PAGES, access, base, len, 3 * page - 1);
    ExpectInfo("first guard byte before", At(base, -2 * page), MP_KIND_PAGES, access, base, len,
               -1);
    ExpectInfo("last guard byte before", At(base, -1), MP_KIND_PAGES, access, base, len, -1);
    ExpectInfo("first guard byte after", At(base, 3 * page), MP_KIND_PAGES, access, base, len, -1);
    ExpectInfo("last guard byte after", At(base, 4 * page - 1), MP_KIND_PAGES, access, base, len,
               -1);
    typename S::Handle copy = p;
    ASSERT_EQ(S::Free(&p), MP_OK);
    ExpectNothing("a freed page set", base);
    ExpectNothing("a freed page set's guard", At(base, -1));
    EXPECT_EQ(S::Free(&copy), MP_ESTALE);
}

// A transition keeps the address and changes the access the query reports;
// the consumed handle's copy names the same pages, which now answer with the
// new state.
TEST(Query, FollowsTransitions) {
    const size_t page = mp_page_size();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(page, &rw), MP_OK);
    const void *base = mp_pages_rw_data(&rw);
    ExpectInfo("rw", base, MP_KIND_PAGES, MP_ACCESS_READ | MP_ACCESS_WRITE, base, page, 0);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    ExpectInfo("r", base, MP_KIND_PAGES, MP_ACCESS_READ, base, page, 0);
    mp_pages_none none;
    ASSERT_EQ(mp_pages_r_into_none(&r, &none), MP_OK);
    ExpectInfo("none", base, MP_KIND_PAGES, 0, base, page, 0);
#if MP_HAVE_RX
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_none_into_rx(&none, &rx), MP_OK);
    ExpectInfo("rx", base, MP_KIND_PAGES, MP_ACCESS_READ | MP_ACCESS_EXEC, base, page, 0);
    ASSERT_EQ(mp_pages_rx_free(&rx), MP_OK);
#else
    ASSERT_EQ(mp_pages_none_free(&none), MP_OK);
#endif
    ExpectNothing("freed", base);
}

// A sealed page set and a sealed vector answer with the access of their
// state, read-only, and for good: sealing keeps the address.
TEST(Query, SealedObjects) {
    if (!mp_os_capabilities()->mseal)
        GTEST_SKIP() << "this system has no mseal (Linux 6.10+, 64-bit)";
    const size_t page = mp_page_size();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(page, &rw), MP_OK);
    const void *base = mp_pages_rw_data(&rw);
    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    mp_pages_r_sealed sealed;
    ASSERT_EQ(mp_pages_r_seal(&r, &sealed), MP_OK);
    ExpectInfo("sealed r", base, MP_KIND_PAGES, MP_ACCESS_READ, base, page, 0);

    u32_vec v;
    ASSERT_EQ(u32_vec_new(&v), MP_OK);
    ASSERT_EQ(u32_vec_push(&v, 7), MP_OK);
    const void *data = u32_vec_data(&v);
    const size_t committed = u32_vec_capacity(&v) * sizeof(uint32_t);
    u32_vec_frozen f;
    ASSERT_EQ(u32_vec_freeze(&v, &f), MP_OK);
    u32_vec_sealed s;
    ASSERT_EQ(u32_vec_frozen_seal(&f, &s), MP_OK);
    ExpectInfo("sealed vector", data, MP_KIND_FROZEN_VEC, MP_ACCESS_READ, data, committed, 0);
}

TEST(Query, AddressesOfNothingAndBadArguments) {
    int on_stack = 0;
    static int in_data;
    ExpectNothing("a stack variable", &on_stack);
    ExpectNothing("a static variable", &in_data);
    ExpectNothing("NULL", nullptr);
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(1, &rw), MP_OK);
    EXPECT_EQ(mp_query(mp_pages_rw_data(&rw), nullptr), MP_EINVAL);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

// A vector answers for its whole reservation: the committed capacity is
// its data, the rest and its guard page are guard; a frozen vector answers
// as one, read-only; a freed vector (in the cache of reservations or not)
// answers no more.
TEST(Query, VectorsAndFrozenVectors) {
    const size_t page = mp_page_size();
    mp_vec_opts opts{};
    opts.capacity = 10;
    opts.max_capacity = 4 * page; // 4 pages of elements: 16 KiB-ish of reservation
    opts.guard = true;
    u32_vec v;
    ASSERT_EQ(u32_vec_new_opts(&opts, &v), MP_OK);
    for (uint32_t i = 0; i < 20; i++)
        ASSERT_EQ(u32_vec_push(&v, i), MP_OK);
    const uint32_t *data = u32_vec_data(&v);
    const size_t committed = u32_vec_capacity(&v) * sizeof(uint32_t);
    ASSERT_EQ(committed % page, 0u);
    const size_t reserved = opts.max_capacity * sizeof(uint32_t);
    const unsigned rw = MP_ACCESS_READ | MP_ACCESS_WRITE;
    ExpectInfo("element 0", data, MP_KIND_VEC, rw, data, committed, 0);
    ExpectInfo("element 12", data + 12, MP_KIND_VEC, rw, data, committed, 48);
    ExpectInfo("last committed byte", At(data, committed - 1), MP_KIND_VEC, rw, data, committed,
               committed - 1);
    ExpectInfo("past the capacity", At(data, committed), MP_KIND_VEC, rw, data, committed, -1);
    ExpectInfo("last reserved byte", At(data, reserved - 1), MP_KIND_VEC, rw, data, committed, -1);
    ExpectInfo("the guard page", At(data, reserved), MP_KIND_VEC, rw, data, committed, -1);
    ExpectInfo("the guard page's last byte", At(data, reserved + page - 1), MP_KIND_VEC, rw, data,
               committed, -1);

    // Growth inside the reservation: the same base, more data.
    ASSERT_EQ(u32_vec_reserve(&v, 3 * page / sizeof(uint32_t)), MP_OK);
    ASSERT_EQ(u32_vec_data(&v), data);
    const size_t grown = u32_vec_capacity(&v) * sizeof(uint32_t);
    ASSERT_GT(grown, committed);
    ExpectInfo("after reserve", At(data, committed), MP_KIND_VEC, rw, data, grown, committed);

    u32_vec_frozen f;
    ASSERT_EQ(u32_vec_freeze(&v, &f), MP_OK);
    ExpectInfo("frozen element 12", data + 12, MP_KIND_FROZEN_VEC, MP_ACCESS_READ, data, grown, 48);
    ExpectInfo("frozen guard", At(data, reserved), MP_KIND_FROZEN_VEC, MP_ACCESS_READ, data, grown,
               -1);
    ASSERT_EQ(u32_vec_frozen_thaw(&f, &v), MP_OK);
    ExpectInfo("thawed", data, MP_KIND_VEC, rw, data, grown, 0);

    // Past the reservation the vector moves: its old address answers no more.
    ASSERT_EQ(u32_vec_reserve(&v, 2 * opts.max_capacity), MP_OK);
    const uint32_t *moved = u32_vec_data(&v);
    ASSERT_NE(moved, data);
    ExpectInfo("moved", moved + 12, MP_KIND_VEC, rw, moved, u32_vec_capacity(&v) * 4, 48);
    ExpectNothing("where the vector was", data);
    ASSERT_EQ(u32_vec_free(&v), MP_OK);
    ExpectNothing("a freed vector", moved);

    // A default vector's reservation goes to the cache when freed.
    u32_vec d;
    ASSERT_EQ(u32_vec_new(&d), MP_OK);
    ASSERT_EQ(u32_vec_push(&d, 7), MP_OK);
    const uint32_t *cached = u32_vec_data(&d);
    ExpectInfo("default vector", cached, MP_KIND_VEC, rw, cached, u32_vec_capacity(&d) * 4, 0);
    ASSERT_EQ(u32_vec_free(&d), MP_OK);
    ExpectNothing("a freed vector's cached reservation", cached);

    // A frozen empty vector owns a slot but no memory.
    u32_vec e;
    ASSERT_EQ(u32_vec_new(&e), MP_OK);
    u32_vec_frozen ef;
    ASSERT_EQ(u32_vec_freeze(&e, &ef), MP_OK);
    ExpectNothing("address 0 near an empty frozen vector", nullptr);
    ASSERT_EQ(u32_vec_frozen_free(&ef), MP_OK);
}

#ifndef _WIN32
// ---- From a signal handler ----

sigjmp_buf g_jump;
volatile sig_atomic_t g_faults;
mp_page_info g_info;
mp_status g_status;
const void *g_addr;

void OnFault(int, siginfo_t *si, void *) {
    g_addr = si->si_addr;
    g_status = mp_query(si->si_addr, &g_info);
    g_faults = g_faults + 1;
    siglongjmp(g_jump, 1);
}

class QuerySignal : public ::testing::Test {
  protected:
    void SetUp() override {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = OnFault;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        ASSERT_EQ(sigaction(SIGSEGV, &sa, &old_segv_), 0);
        ASSERT_EQ(sigaction(SIGBUS, &sa, &old_bus_), 0);
    }
    void TearDown() override {
        sigaction(SIGSEGV, &old_segv_, nullptr);
        sigaction(SIGBUS, &old_bus_, nullptr);
    }
    // Runs touch, which must fault, and returns whether the handler ran.
    template <class F> bool Faults(F touch) {
        g_status = MP_EOS;
        const int before = g_faults;
        if (sigsetjmp(g_jump, 1) == 0) touch();
        return g_faults == before + 1;
    }
    struct sigaction old_segv_, old_bus_;
};

TEST_F(QuerySignal, HandlerNamesWhatTheFaultHit) {
    const size_t page = mp_page_size();
    mp_pages_opts opts{};
    opts.guard_pages_before = 1;
    opts.guard_pages_after = 1;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new_opts(page, &opts, &rw), MP_OK);
    volatile uint8_t *bytes = mp_pages_rw_data_mut(&rw);
    const void *base = mp_pages_rw_data(&rw);

    ASSERT_TRUE(Faults([&] { bytes[page + 5] = 1; })) << "a write to the guard page after";
    EXPECT_EQ(g_status, MP_OK);
    EXPECT_EQ(g_addr, At(base, page + 5));
    EXPECT_EQ(g_info.kind, MP_KIND_PAGES);
    EXPECT_TRUE(g_info.guard);
    EXPECT_EQ(g_info.base, base);

    ASSERT_TRUE(Faults([&] { (void)bytes[-1]; })) << "a read of the guard page before";
    EXPECT_EQ(g_status, MP_OK);
    EXPECT_TRUE(g_info.guard);

    mp_pages_r r;
    ASSERT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    ASSERT_TRUE(Faults([&] { bytes[100] = 1; })) << "a write to read-only pages";
    EXPECT_EQ(g_status, MP_OK);
    EXPECT_FALSE(g_info.guard);
    EXPECT_EQ(g_info.offset, 100u);
    EXPECT_EQ(g_info.access, static_cast<unsigned>(MP_ACCESS_READ));
    ASSERT_EQ(mp_pages_r_free(&r), MP_OK);

    u32_vec v;
    ASSERT_EQ(u32_vec_new(&v), MP_OK);
    for (uint32_t i = 0; i < 20; i++)
        ASSERT_EQ(u32_vec_push(&v, i), MP_OK);
    volatile uint32_t *elems = const_cast<uint32_t *>(u32_vec_data(&v));
    u32_vec_frozen f;
    ASSERT_EQ(u32_vec_freeze(&v, &f), MP_OK);
    ASSERT_TRUE(Faults([&] { elems[12] = 99; })) << "a write to a frozen vector";
    EXPECT_EQ(g_status, MP_OK);
    EXPECT_EQ(g_info.kind, MP_KIND_FROZEN_VEC);
    EXPECT_EQ(g_info.offset / sizeof(uint32_t), 12u);
    EXPECT_EQ(u32_vec_frozen_at(&f, 12)[0], 12u) << "the write did not happen";
    ASSERT_EQ(u32_vec_frozen_free(&f), MP_OK);

    // A fault outside the library: the handler learns that it is not ours.
    ASSERT_TRUE(Faults([&] { *reinterpret_cast<volatile int *>(uintptr_t{8}) = 1; }));
    EXPECT_EQ(g_status, MP_EINVAL);
}
#else
TEST(QuerySignal, HandlerNamesWhatTheFaultHit) {
    GTEST_SKIP() << "windows does not have POSIX signal handlers (SIGSEGV with siginfo)";
}
#endif

// ---- Racing with threads that change the objects ----

// One thread moves a page set between rw and r and grows a vector inside
// its reservation, as fast as it can; this thread queries both all the
// while. Every answer is whole: the right kind and base, an access and a
// length that the object really had.
TEST(Query, ConsistentWhileOtherThreadsChangeTheObjects) {
    const size_t page = mp_page_size();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(2 * page, &rw), MP_OK);
    const void *pages = mp_pages_rw_data(&rw);
    mp_vec_opts opts{};
    opts.capacity = 1;
    opts.max_capacity = 64 * page;
    u32_vec v;
    ASSERT_EQ(u32_vec_new_opts(&opts, &v), MP_OK);
    const uint32_t *elems = u32_vec_data(&v);
    std::atomic<bool> stop{false}, queried{false};
    std::thread changer([&] {
        // Not before the first query: on a loaded machine the whole loop
        // could run while this thread waits for a CPU, and no query would
        // race it (seen once, native i686 in CI).
        while (!queried.load())
            std::this_thread::yield();
        mp_pages_r r;
        for (int i = 0; i < 3000 && !stop.load(); i++) {
            if (mp_pages_rw_into_r(&rw, &r) != MP_OK || mp_pages_r_into_rw(&r, &rw) != MP_OK) break;
            if (u32_vec_push(&v, static_cast<uint32_t>(i)) != MP_OK) break;
        }
        stop.store(true);
    });
    size_t queries = 0, last_len = 0;
    while (!stop.load()) {
        mp_page_info info;
        ASSERT_EQ(mp_query(At(pages, page + 1), &info), MP_OK);
        ASSERT_EQ(info.kind, MP_KIND_PAGES);
        ASSERT_EQ(info.base, pages);
        ASSERT_EQ(info.len, 2 * page);
        ASSERT_TRUE(info.access == MP_ACCESS_READ ||
                    info.access == (MP_ACCESS_READ | MP_ACCESS_WRITE))
            << info.access;
        ASSERT_EQ(mp_query(elems, &info), MP_OK);
        ASSERT_EQ(info.kind, MP_KIND_VEC);
        ASSERT_EQ(info.base, static_cast<const void *>(elems));
        ASSERT_EQ(info.len % page, 0u);
        ASSERT_GE(info.len, last_len) << "the committed capacity only grows here";
        last_len = info.len;
        queries++;
        queried.store(true);
    }
    changer.join();
    EXPECT_GT(queries, 0u);
    EXPECT_EQ(u32_vec_data(&v), elems) << "the vector stayed in its reservation";
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
    EXPECT_EQ(u32_vec_free(&v), MP_OK);
}

} // namespace
