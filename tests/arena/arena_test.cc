// The code arena (issue 15, shared/API.md section 8) over the runtime users
// link: spans written, finalized, called and released, each with its own
// staleness; a seeded random walk against a model, with W^X, the access of
// every span's page, the statistics and the mappings checked after every
// step; placement near an address; mp_query; bad input; threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/arena/arena_code.h"
#include "tests/arena/arena_fns.h"
#include "tests/support/memory_facts.h"

namespace {

constexpr size_t kGranule = 64;

size_t Round64(size_t n) {
    return (n + kGranule - 1) / kGranule * kGranule;
}

/* Writes the code returning a + b + k into the span, the whole span long. */
void WriteCode(mp_code_span *s, uint32_t k) {
    uint8_t *w = mp_code_span_write(s);
    ASSERT_NE(w, nullptr);
    std::vector<uint8_t> c = arena_code::Code(k, mp_code_span_len(s));
    std::memcpy(w, c.data(), c.size());
}

/* Sets *mode to each mode this build has: flip always, dual with
 * allow_dual_map. */
std::vector<mp_code_mode> Modes() {
    std::vector<mp_code_mode> modes = {MP_CODE_FLIP};
    if (MP_HAVE_DUAL) modes.push_back(MP_CODE_DUAL);
    return modes;
}

/* Whether no mapping of the process is writable and executable. */
void ExpectNoWx() {
    std::vector<std::string> wx;
    ASSERT_TRUE(mp_test::FindWritableAndExecutable(&wx));
    for (const std::string &line : wx)
        ADD_FAILURE() << "writable and executable: " << line;
}

TEST(Arena, SpanLifecycle) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    for (mp_code_mode mode : Modes()) {
        SCOPED_TRACE(mode);
        mp_code_arena_opts o = {};
        o.reserve = 1 << 20;
        o.mode = mode;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        mp_code_span s, t;
        ASSERT_EQ(mp_code_arena_alloc(&a, 20, &s), MP_OK);
        ASSERT_EQ(mp_code_arena_alloc(&a, 100, &t), MP_OK);
        EXPECT_EQ(mp_code_span_len(&s), 64u);
        EXPECT_EQ(mp_code_span_len(&t), 128u);
        const void *addr = mp_code_span_addr(&s);
        ASSERT_NE(addr, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(addr) % kGranule, 0u);
        /* Before finalize: writable, no reference. */
        binop_fn f;
        EXPECT_EQ(binop_fn_from_span(&s, 0, &f), MP_ESTALE);
        WriteCode(&s, 7);
        WriteCode(&t, 9);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        EXPECT_EQ(mp_code_span_write(&s), nullptr);
        EXPECT_EQ(mp_code_span_addr(&s), addr) << "the address never changes";
        ASSERT_EQ(binop_fn_from_span(&s, 0, &f), MP_OK);
        EXPECT_EQ(binop_fn_from_span(&s, 64, &f), MP_EINVAL);
        binop_fn g;
        ASSERT_EQ(binop_fn_from_span(&t, 0, &g), MP_OK);
        int64_t r = 0;
        ASSERT_EQ(binop_fn_call(&f, 1, 2, &r), MP_OK);
        EXPECT_EQ(r, 10);
        /* Releasing s stales s, its copies and its references, not t's. */
        mp_code_span copy = s;
        binop_fn fcopy = f;
        ASSERT_EQ(mp_code_arena_release(&a, &s), MP_OK);
        EXPECT_EQ(mp_code_arena_release(&a, &copy), MP_ESTALE);
        EXPECT_EQ(binop_fn_call(&fcopy, 1, 2, &r), MP_ESTALE);
        EXPECT_FALSE(binop_fn_valid(&f));
        EXPECT_EQ(mp_code_span_addr(&copy), nullptr);
        EXPECT_EQ(mp_code_span_len(&copy), 0u);
        EXPECT_EQ(mp_code_span_write(&copy), nullptr);
        EXPECT_EQ(binop_fn_from_span(&copy, 0, &f), MP_ESTALE);
        EXPECT_TRUE(binop_fn_valid(&g));
        ASSERT_EQ(binop_fn_call(&g, 1, 2, &r), MP_OK);
        EXPECT_EQ(r, 12);
        /* Another span finalized later leaves g valid. */
        mp_code_span u;
        ASSERT_EQ(mp_code_arena_alloc(&a, 16, &u), MP_OK);
        WriteCode(&u, 11);
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        EXPECT_TRUE(binop_fn_valid(&g));
        /* Freeing the arena stales everything left. */
        mp_code_arena acopy = a;
        ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
        EXPECT_EQ(mp_code_arena_free(&acopy), MP_ESTALE);
        EXPECT_FALSE(binop_fn_valid(&g));
        EXPECT_EQ(mp_code_span_addr(&t), nullptr);
        EXPECT_EQ(mp_code_span_addr(&u), nullptr);
        EXPECT_EQ(mp_code_arena_alloc(&acopy, 16, &u), MP_ESTALE);
        EXPECT_EQ(mp_code_arena_finalize(&acopy), MP_ESTALE);
        mp_code_stats st;
        EXPECT_EQ(mp_code_arena_stats(&acopy, &st), MP_ESTALE);
    }
}

TEST(Arena, BadInput) {
    mp_code_arena a;
    EXPECT_EQ(mp_code_arena_new(nullptr, nullptr), MP_EINVAL);
    mp_code_arena_opts o = {};
    o.mode = static_cast<mp_code_mode>(3);
    EXPECT_EQ(mp_code_arena_new(&o, &a), MP_EINVAL);
    o = {};
    o.max_distance = 1 << 20;
    EXPECT_EQ(mp_code_arena_new(&o, &a), MP_EINVAL) << "a distance without a place";
    o = {};
    o.near = &o;
    EXPECT_EQ(mp_code_arena_new(&o, &a), MP_EINVAL) << "a place without a distance";
    o = {};
    o.mode = MP_CODE_DUAL;
    if (!MP_HAVE_DUAL) {
        EXPECT_EQ(mp_code_arena_new(&o, &a), MP_ENOTSUP);
    } else {
        o.near = &o;
        o.max_distance = 1u << 30;
        EXPECT_EQ(mp_code_arena_new(&o, &a), MP_ENOTSUP) << "dual with placement";
    }
    o = {};
    o.reserve = SIZE_MAX;
    EXPECT_EQ(mp_code_arena_new(&o, &a), MP_EOVERFLOW);

    o = {};
    o.reserve = 1 << 16;
    o.mode = MP_CODE_FLIP;
    mp_code_arena b;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    ASSERT_EQ(mp_code_arena_new(&o, &b), MP_OK);
    mp_code_span s;
    EXPECT_EQ(mp_code_arena_alloc(&a, 0, &s), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_alloc(&a, 16, nullptr), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_alloc(nullptr, 16, &s), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_alloc(&a, (1 << 16) + 1, &s), MP_ENOMEM);
    EXPECT_EQ(mp_code_arena_alloc(&a, SIZE_MAX, &s), MP_ENOMEM);
    ASSERT_EQ(mp_code_arena_alloc(&a, 1 << 16, &s), MP_OK) << "the whole reservation";
    mp_code_span t;
    EXPECT_EQ(mp_code_arena_alloc(&a, 1, &t), MP_ENOMEM);
    EXPECT_EQ(mp_code_arena_release(&b, &s), MP_EINVAL) << "a span of another arena";
    EXPECT_NE(mp_code_span_addr(&s), nullptr) << "a refused release changes nothing";
    EXPECT_EQ(mp_code_arena_release(&a, nullptr), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_release(nullptr, &s), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_stats(&a, nullptr), MP_EINVAL);
    EXPECT_EQ(mp_code_arena_free(nullptr), MP_EINVAL);
    EXPECT_EQ(mp_code_span_write(nullptr), nullptr);
    EXPECT_EQ(mp_code_span_addr(nullptr), nullptr);
    EXPECT_EQ(mp_code_span_len(nullptr), 0u);
    /* Handles of one type are not taken for another. */
    EXPECT_EQ(mp_code_arena_release(reinterpret_cast<mp_code_arena *>(&s),
                                    reinterpret_cast<mp_code_span *>(&a)),
              MP_ESTALE);
    EXPECT_EQ(mp_pages_rx_free(reinterpret_cast<mp_pages_rx *>(&s)), MP_ESTALE);
    EXPECT_EQ(mp_pages_rx_free(reinterpret_cast<mp_pages_rx *>(&a)), MP_ESTALE);
    binop_fn f;
    EXPECT_EQ(binop_fn_from(reinterpret_cast<mp_pages_rx *>(&s), 0, &f), MP_ESTALE);
    mp_code_span zero = {};
    EXPECT_EQ(mp_code_arena_release(&a, &zero), MP_ESTALE);
    EXPECT_EQ(binop_fn_from_span(nullptr, 0, &f), MP_EINVAL);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    ASSERT_EQ(mp_code_arena_free(&b), MP_OK);
}

/* In flip mode a page with a finalized live span is never made writable
 * again: a new span goes elsewhere until the page holds no live span, and
 * then reuses it. */
TEST(Arena, FlipKeepsFinalizedPagesReadExecute) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    size_t page = mp_page_size();
    mp_code_arena_opts o = {};
    o.reserve = 8 * page;
    o.mode = MP_CODE_FLIP;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    mp_code_span s;
    ASSERT_EQ(mp_code_arena_alloc(&a, 64, &s), MP_OK);
    WriteCode(&s, 1);
    ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
    uintptr_t first = reinterpret_cast<uintptr_t>(mp_code_span_addr(&s));
    mp_code_span t;
    ASSERT_EQ(mp_code_arena_alloc(&a, 64, &t), MP_OK);
    uintptr_t second = reinterpret_cast<uintptr_t>(mp_code_span_addr(&t));
    EXPECT_EQ(second / page, first / page + 1) << "not on the finalized page";
    std::vector<mp_test::Mapping> maps;
    ASSERT_TRUE(mp_test::ReadMaps(&maps));
    const mp_test::Mapping *m = mp_test::FindMapping(maps, mp_code_span_addr(&s));
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->exec && !m->write) << m->line;
    m = mp_test::FindMapping(maps, mp_code_span_addr(&t));
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->write && !m->exec) << m->line;
    /* Released, the page is reused (first fit) and made writable again. */
    ASSERT_EQ(mp_code_arena_release(&a, &s), MP_OK);
    mp_code_span u;
    ASSERT_EQ(mp_code_arena_alloc(&a, 64, &u), MP_OK);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mp_code_span_addr(&u)), first);
    WriteCode(&u, 2);
    WriteCode(&t, 3);
    ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
    binop_fn f;
    int64_t r = 0;
    ASSERT_EQ(binop_fn_from_span(&u, 0, &f), MP_OK);
    ASSERT_EQ(binop_fn_call(&f, 0, 0, &r), MP_OK);
    EXPECT_EQ(r, 2);
    ASSERT_EQ(binop_fn_from_span(&t, 0, &f), MP_OK);
    ASSERT_EQ(binop_fn_call(&f, 0, 0, &r), MP_OK);
    EXPECT_EQ(r, 3);
    ExpectNoWx();
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* In dual mode a new span goes where the span placed last ended (next
 * fit), not into the space a span has just left, which the CPU may still
 * hold as instructions; past the end of the committed part it wraps to
 * the first free granule before the arena commits more. Each function is
 * written, run and released before the next one is allocated. */
TEST(Arena, DualPlacesNextFit) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    if (!MP_HAVE_DUAL) GTEST_SKIP() << "no dual pairs in this build";
    size_t page = mp_page_size();
    mp_code_arena_opts o = {};
    o.reserve = 8 * page;
    o.mode = MP_CODE_DUAL;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    uintptr_t base = 0;
    for (size_t i = 0; i <= page / kGranule; i++) {
        SCOPED_TRACE(i);
        mp_code_span s;
        ASSERT_EQ(mp_code_arena_alloc(&a, kGranule, &s), MP_OK);
        uintptr_t at = reinterpret_cast<uintptr_t>(mp_code_span_addr(&s));
        if (i == 0) base = at;
        /* The page holds page / kGranule granules: the one after the last
         * wraps to the first. */
        EXPECT_EQ(at, base + i % (page / kGranule) * kGranule);
        WriteCode(&s, static_cast<uint32_t>(i % arena_code::kMaxK));
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        binop_fn f;
        int64_t r = 0;
        ASSERT_EQ(binop_fn_from_span(&s, 0, &f), MP_OK);
        ASSERT_EQ(binop_fn_call(&f, 1, 2, &r), MP_OK);
        EXPECT_EQ(r, 3 + int64_t(i % arena_code::kMaxK));
        ASSERT_EQ(mp_code_arena_release(&a, &s), MP_OK);
        mp_code_stats st;
        ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
        EXPECT_EQ(st.committed, page) << "the committed part did not grow";
    }
    /* A live span in the way is stepped over, and a span that does not fit
     * before the end of the committed part wraps too. */
    mp_code_span live, next, wide;
    ASSERT_EQ(mp_code_arena_alloc(&a, kGranule, &live), MP_OK); /* granule 1 */
    ASSERT_EQ(mp_code_arena_alloc(&a, kGranule, &next), MP_OK);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mp_code_span_addr(&next)), base + 2 * kGranule);
    ASSERT_EQ(mp_code_arena_release(&a, &next), MP_OK);
    ASSERT_EQ(mp_code_arena_alloc(&a, page - 4 * kGranule, &wide), MP_OK);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mp_code_span_addr(&wide)), base + 3 * kGranule);
    ASSERT_EQ(mp_code_arena_release(&a, &wide), MP_OK);
    ASSERT_EQ(mp_code_arena_alloc(&a, 2 * kGranule, &wide), MP_OK);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mp_code_span_addr(&wide)), base + 2 * kGranule)
        << "wrapped to the first free run that fits, past the live span";
    mp_code_stats st;
    ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
    EXPECT_EQ(st.committed, page);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* The model of the random walk. */
struct Span {
    mp_code_span h;
    size_t len;
    uintptr_t addr;
    uint32_t k;
    bool finalized;
    binop_fn ref;
};

struct Walk {
    mp_code_mode mode;
    size_t page, reserve;
    mp_code_arena a;
    uintptr_t base = 0;
    std::vector<Span> live;
    std::vector<Span> released; /* the last few, to check they stay stale */
    size_t committed_end = 0;   /* the end of the highest span ever, from base */

    /* The largest run of granules a new span could take: free, and (flip)
     * on pages that hold no finalized live span. */
    size_t LargestFree() const {
        size_t granules = reserve / kGranule;
        std::vector<bool> used(granules), blocked(reserve / page);
        for (const Span &s : live) {
            size_t off = s.addr - base;
            for (size_t g = off / kGranule; g < (off + s.len) / kGranule; g++)
                used[g] = true;
            if (s.finalized && mode == MP_CODE_FLIP) {
                for (size_t p = off / page; p <= (off + s.len - 1) / page; p++)
                    blocked[p] = true;
            }
        }
        size_t best = 0, run = 0;
        for (size_t g = 0; g < granules; g++) {
            run = (used[g] || blocked[g * kGranule / page]) ? 0 : run + 1;
            best = std::max(best, run);
        }
        return best * kGranule;
    }

    void Check() {
        mp_code_stats st;
        ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
        size_t used = 0;
        for (const Span &s : live)
            used += s.len;
        EXPECT_EQ(st.reserved, reserve);
        EXPECT_EQ(st.spans_live, live.size());
        EXPECT_EQ(st.used, used);
        EXPECT_EQ(st.free_bytes, st.committed - st.used);
        EXPECT_EQ(st.committed % page, 0u);
        EXPECT_GE(st.committed, committed_end);
        EXPECT_LE(st.committed, (committed_end + page - 1) / page * page);
        EXPECT_EQ(st.largest_free, LargestFree());
        /* W^X, and each span's page has the access of its state. */
        ExpectNoWx();
        std::vector<mp_test::Mapping> maps;
        ASSERT_TRUE(mp_test::ReadMaps(&maps));
        size_t in_arena = 0;
        std::string lines;
        for (const mp_test::Mapping &m : maps) {
            if (m.end > base && m.start < base + reserve) {
                in_arena++;
                lines += m.line + "\n";
            }
        }
        if (mode == MP_CODE_FLIP) {
            /* The statistic counts one mapping per run of pages of one
             * access (and the bookkeeping): the least the kernel can use.
             * The kernel may keep pages committed at different times
             * apart, but never more than one mapping per page. */
            EXPECT_GE(in_arena, st.mappings - 1) << lines;
            EXPECT_LE(in_arena, 1 + st.committed / page) << lines;
            for (const Span &s : live) {
                const mp_test::Mapping *m = mp_test::FindMapping(maps, (void *)s.addr);
                ASSERT_NE(m, nullptr);
                EXPECT_EQ(m->exec, s.finalized) << m->line;
                EXPECT_EQ(m->write, !s.finalized) << m->line;
            }
        } else {
            EXPECT_EQ(in_arena, 1u) << "the read-execute view is one mapping";
            EXPECT_EQ(st.mappings, 3u);
        }
    }

    void Alloc(std::mt19937 &rng) {
        size_t size = rng() % 8 == 0 ? 1 + rng() % (3 * page) : 16 + rng() % 241;
        size = std::max(size, arena_code::kMinLen);
        mp_code_span s;
        size_t free_before = LargestFree();
        mp_status st = mp_code_arena_alloc(&a, size, &s);
        if (st == MP_ENOMEM) {
            EXPECT_LT(free_before, Round64(size));
            return;
        }
        ASSERT_EQ(st, MP_OK);
        Span m{s,
               Round64(size),
               reinterpret_cast<uintptr_t>(mp_code_span_addr(&s)),
               static_cast<uint32_t>(rng() % arena_code::kMaxK),
               false,
               {}};
        EXPECT_EQ(mp_code_span_len(&s), m.len);
        ASSERT_GE(m.addr, base);
        ASSERT_LE(m.addr + m.len, base + reserve);
        for (const Span &o : live) {
            EXPECT_TRUE(m.addr + m.len <= o.addr || o.addr + o.len <= m.addr) << "spans overlap";
        }
        WriteCode(&m.h, m.k);
        committed_end = std::max(committed_end, m.addr + m.len - base);
        live.push_back(m);
    }

    void Finalize() {
        ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
        for (Span &s : live) {
            if (s.finalized) continue;
            s.finalized = true;
            EXPECT_EQ(mp_code_span_write(&s.h), nullptr);
            ASSERT_EQ(binop_fn_from_span(&s.h, 0, &s.ref), MP_OK);
        }
    }

    void CallAll() {
        for (Span &s : live) {
            if (!s.finalized) {
                binop_fn f;
                EXPECT_EQ(binop_fn_from_span(&s.h, 0, &f), MP_ESTALE);
                continue;
            }
            int64_t r = 0;
            ASSERT_EQ(binop_fn_call(&s.ref, 3, 4, &r), MP_OK);
            EXPECT_EQ(r, 7 + static_cast<int64_t>(s.k));
        }
        for (Span &s : released) {
            int64_t r = 0;
            if (s.finalized) {
                EXPECT_EQ(binop_fn_call(&s.ref, 3, 4, &r), MP_ESTALE);
            }
            EXPECT_EQ(mp_code_span_addr(&s.h), nullptr);
        }
    }

    void Release(std::mt19937 &rng) {
        if (live.empty()) return;
        size_t i = rng() % live.size();
        Span s = live[i];
        mp_code_span copy = s.h;
        ASSERT_EQ(mp_code_arena_release(&a, &s.h), MP_OK);
        EXPECT_EQ(mp_code_arena_release(&a, &copy), MP_ESTALE);
        live.erase(live.begin() + static_cast<long>(i));
        released.push_back(s);
        if (released.size() > 32) released.erase(released.begin());
    }
};

/* Alloc, write, finalize, call and release in a seeded random order, checked
 * against the model after every step. */
TEST(Arena, RandomWalkAgainstModel) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    for (mp_code_mode mode : Modes()) {
        for (uint32_t seed = 1; seed <= 3; seed++) {
            SCOPED_TRACE(testing::Message() << "mode " << mode << " seed " << seed);
            Walk w;
            w.mode = mode;
            w.page = mp_page_size();
            w.reserve = 32 * w.page;
            mp_code_arena_opts o = {};
            o.reserve = w.reserve;
            o.mode = mode;
            ASSERT_EQ(mp_code_arena_new(&o, &w.a), MP_OK);
            mp_code_span probe;
            ASSERT_EQ(mp_code_arena_alloc(&w.a, 1, &probe), MP_OK);
            mp_page_info info;
            ASSERT_EQ(mp_query(mp_code_span_addr(&probe), &info), MP_OK);
            EXPECT_EQ(info.kind, MP_KIND_CODE_ARENA);
            EXPECT_EQ(info.access, unsigned(MP_ACCESS_READ | MP_ACCESS_EXEC));
            w.base = reinterpret_cast<uintptr_t>(info.base);
            w.committed_end = mp_code_span_len(&probe);
            ASSERT_EQ(mp_code_arena_release(&w.a, &probe), MP_OK);
            std::mt19937 rng(seed);
            for (int step = 0; step < 600 && !HasFatalFailure(); step++) {
                unsigned op = rng() % 100;
                if (op < 40) {
                    w.Alloc(rng);
                } else if (op < 55) {
                    w.Finalize();
                } else if (op < 70) {
                    w.CallAll();
                } else {
                    w.Release(rng);
                }
                w.Check();
            }
            w.Finalize();
            w.CallAll();
            binop_fn any = {};
            if (!w.live.empty()) any = w.live[0].ref;
            ASSERT_EQ(mp_code_arena_free(&w.a), MP_OK);
            if (!w.live.empty()) {
                EXPECT_FALSE(binop_fn_valid(&any));
            }
            EXPECT_NE(mp_query(reinterpret_cast<void *>(w.base), &info), MP_OK);
        }
    }
}

/* The mappings of the process do not grow with the number of functions:
 * 20,000 functions written, finalized, called and released one at a time,
 * then in batches of 100, leave the arena with a constant handful. */
TEST(Arena, MappingsStayBounded) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    for (mp_code_mode mode : Modes()) {
        SCOPED_TRACE(mode);
        mp_code_arena_opts o = {};
        o.mode = mode;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        std::vector<mp_test::Mapping> maps;
        ASSERT_TRUE(mp_test::ReadMaps(&maps));
        const size_t before = maps.size();
        for (size_t batch : {size_t(1), size_t(100)}) {
            for (size_t i = 0; i < 20000; i += batch) {
                std::vector<mp_code_span> spans(batch);
                for (size_t j = 0; j < batch; j++) {
                    ASSERT_EQ(mp_code_arena_alloc(&a, 16 + (i + j) % 241, &spans[j]), MP_OK);
                    WriteCode(&spans[j], static_cast<uint32_t>((i + j) % arena_code::kMaxK));
                }
                ASSERT_EQ(mp_code_arena_finalize(&a), MP_OK);
                for (size_t j = 0; j < batch; j++) {
                    binop_fn f;
                    int64_t r = 0;
                    ASSERT_EQ(binop_fn_from_span(&spans[j], 0, &f), MP_OK);
                    ASSERT_EQ(binop_fn_call(&f, 1, 1, &r), MP_OK);
                    ASSERT_EQ(r, 2 + int64_t((i + j) % arena_code::kMaxK));
                    ASSERT_EQ(mp_code_arena_release(&a, &spans[j]), MP_OK);
                }
            }
            ASSERT_TRUE(mp_test::ReadMaps(&maps));
            EXPECT_LE(maps.size(), before + 8) << "batches of " << batch;
            mp_code_stats st;
            ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
            EXPECT_LE(st.mappings, 4u);
            EXPECT_LE(st.committed, 64 * mp_page_size()) << "the freed space was reused";
        }
        ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    }
}

/* mp_query answers for the arena's code, the committed part as data and
 * the rest of the reservation as guard. */
TEST(Arena, Query) {
    size_t page = mp_page_size();
    mp_code_arena_opts o = {};
    o.reserve = 16 * page;
    o.mode = MP_CODE_FLIP;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    mp_code_span s;
    ASSERT_EQ(mp_code_arena_alloc(&a, page + 1, &s), MP_OK);
    const uint8_t *addr = static_cast<const uint8_t *>(mp_code_span_addr(&s));
    mp_page_info info;
    ASSERT_EQ(mp_query(addr + page, &info), MP_OK);
    EXPECT_EQ(info.kind, MP_KIND_CODE_ARENA);
    EXPECT_EQ(info.base, addr);
    EXPECT_EQ(info.len, 2 * page);
    EXPECT_EQ(info.offset, page);
    EXPECT_FALSE(info.guard);
    ASSERT_EQ(mp_query(addr + 5 * page, &info), MP_OK);
    EXPECT_TRUE(info.guard) << "reserved, not committed yet";
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    EXPECT_EQ(mp_query(addr, &info), MP_EINVAL);
}

int64_t Target(int64_t x) {
    return x * 2;
}

/* near and max_distance place the whole arena within reach of an address. */
TEST(Arena, Near) {
    const void *target = reinterpret_cast<const void *>(&Target);
    mp_code_arena_opts o = {};
    o.reserve = 1 << 20;
    o.near = target;
    o.max_distance = (size_t)1 << 30;
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
    mp_code_span s;
    ASSERT_EQ(mp_code_arena_alloc(&a, 64, &s), MP_OK);
    mp_page_info info;
    ASSERT_EQ(mp_query(mp_code_span_addr(&s), &info), MP_OK);
    uintptr_t lo = reinterpret_cast<uintptr_t>(info.base), t = reinterpret_cast<uintptr_t>(target);
    uintptr_t hi = lo + o.reserve - 1;
    EXPECT_LE(t > lo ? t - lo : lo - t, o.max_distance);
    EXPECT_LE(t > hi ? t - hi : hi - t, o.max_distance);
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* The default options: 64 MiB, the mode the probe found. */
TEST(Arena, Defaults) {
    mp_code_arena a;
    ASSERT_EQ(mp_code_arena_new(nullptr, &a), MP_OK);
    mp_code_stats st;
    ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
    EXPECT_EQ(st.reserved, size_t(64) << 20);
    EXPECT_EQ(st.committed, 0u);
    EXPECT_EQ(st.used, 0u);
    EXPECT_EQ(st.spans_live, 0u);
    EXPECT_EQ(st.largest_free, size_t(64) << 20);
    mp_jit_caps caps;
    ASSERT_EQ(mp_jit_probe(&caps), MP_OK);
    EXPECT_EQ(st.mappings, caps.dual_mapping.works ? 3u : 2u) << "dual where the probe found it";
    ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
}

/* A reader-writer lock of a mutex and a condition variable, writers first.
 * MinGW's std::shared_mutex (winpthreads' rwlock) does not reliably keep a
 * writer out while readers hold it (msys2/MINGW-packages issues 3319 and
 * 25193): under wine a finalize ran between another thread's alloc and its
 * write, and the test below, which relies on exactly that exclusion, failed. */
class RwLock {
  public:
    void lock_shared() {
        std::unique_lock<std::mutex> hold(mutex_);
        changed_.wait(hold, [&] { return !writing_ && writers_waiting_ == 0; });
        readers_++;
    }
    void unlock_shared() {
        std::lock_guard<std::mutex> hold(mutex_);
        if (--readers_ == 0) changed_.notify_all();
    }
    void lock() {
        std::unique_lock<std::mutex> hold(mutex_);
        writers_waiting_++;
        changed_.wait(hold, [&] { return !writing_ && readers_ == 0; });
        writers_waiting_--;
        writing_ = true;
    }
    void unlock() {
        std::lock_guard<std::mutex> hold(mutex_);
        writing_ = false;
        changed_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int readers_ = 0, writers_waiting_ = 0;
    bool writing_ = false;
};

/* The rule of runtime/code_arena.c, exactly: the arena serializes its
 * calls itself, and the caller's only lock is a reader-writer lock held
 * shared from alloc to the end of writing a span and exclusively by
 * finalize. Threads allocate, write, finalize, call, release and read the
 * statistics of one arena, each finding its own code, and every reference
 * of a released span stale. */
TEST(Arena, Threads) {
    if (!arena_code::kHaveCode) GTEST_SKIP() << "no test code for this architecture";
    for (mp_code_mode mode : Modes()) {
        SCOPED_TRACE(mode);
        mp_code_arena_opts o = {};
        o.reserve = 1 << 20;
        o.mode = mode;
        mp_code_arena a;
        ASSERT_EQ(mp_code_arena_new(&o, &a), MP_OK);
        std::atomic<int> errors{0};
        RwLock writing;
        std::vector<std::thread> threads;
        for (uint32_t t = 0; t < 4; t++) {
            threads.emplace_back([&, t] {
                std::mt19937 rng(t);
                std::vector<std::pair<binop_fn, uint32_t>> kept;
                std::vector<mp_code_span> spans;
                for (int i = 0; i < 400; i++) {
                    mp_code_span s;
                    uint32_t k = (t * 1000 + static_cast<uint32_t>(i)) % arena_code::kMaxK;
                    {
                        std::shared_lock<RwLock> lock(writing);
                        if (mp_code_arena_alloc(&a, 16 + rng() % 241, &s) != MP_OK) {
                            errors++;
                            continue;
                        }
                        std::vector<uint8_t> c = arena_code::Code(k, mp_code_span_len(&s));
                        uint8_t *w = mp_code_span_write(&s);
                        if (w == nullptr) {
                            errors++;
                            continue;
                        }
                        std::memcpy(w, c.data(), c.size());
                    }
                    {
                        std::unique_lock<RwLock> lock(writing);
                        if (mp_code_arena_finalize(&a) != MP_OK) errors++;
                    }
                    binop_fn f;
                    int64_t r = 0;
                    if (binop_fn_from_span(&s, 0, &f) != MP_OK ||
                        binop_fn_call(&f, 1, 1, &r) != MP_OK || r != 2 + int64_t(k)) {
                        errors++;
                    }
                    kept.push_back({f, k});
                    spans.push_back(s);
                    if (spans.size() > 8) {
                        size_t j = rng() % spans.size();
                        if (mp_code_arena_release(&a, &spans[j]) != MP_OK ||
                            binop_fn_valid(&kept[j].first)) {
                            errors++;
                        }
                        spans.erase(spans.begin() + static_cast<long>(j));
                        kept.erase(kept.begin() + static_cast<long>(j));
                    }
                    for (auto &p : kept) {
                        if (binop_fn_call(&p.first, 2, 2, &r) != MP_OK ||
                            r != 4 + int64_t(p.second))
                            errors++;
                    }
                    mp_code_stats st;
                    if (mp_code_arena_stats(&a, &st) != MP_OK) errors++;
                }
                for (auto &s : spans) {
                    if (mp_code_arena_release(&a, &s) != MP_OK) errors++;
                }
            });
        }
        for (auto &th : threads)
            th.join();
        EXPECT_EQ(errors.load(), 0);
        mp_code_stats st;
        ASSERT_EQ(mp_code_arena_stats(&a, &st), MP_OK);
        EXPECT_EQ(st.spans_live, 0u);
        EXPECT_EQ(st.used, 0u);
        ExpectNoWx();
        ASSERT_EQ(mp_code_arena_free(&a), MP_OK);
    }
}

} // namespace
