// libFuzzer target: drives a code arena (issue 15) with a sequence of
// operations decoded from the input (alloc, write, finalize, call, release,
// stats, a fault armed for the next operation) and checks it against a
// model after every one: every finalized, unreleased span runs and returns
// what was written; every released span's handle and references are stale
// and stay so; the statistics match; a call that failed under an injected
// OS fault left the arena exactly as the model has it. The arena is flip
// or dual (the input's first byte), dual being the exec-and-dual build of
// fuzz/run.sh. x86-64 and AArch64 only (tests/arena/arena_code.h). Built
// and run by fuzz/run.sh.
#include <fuzzer/FuzzedDataProvider.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "arena_fuzz_fns.h"
#include "tests/arena/arena_code.h"
#include "tests/internals/fault_injection.h"

namespace {

// Stops the run with a message; libFuzzer saves the input that did it.
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "arena_fuzz: check failed: %s: ", #cond);                         \
            std::fprintf(stderr, __VA_ARGS__);                                                     \
            std::fputc('\n', stderr);                                                              \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

struct Span {
    mp_code_span h;
    size_t len;
    uint32_t k;
    bool finalized;
    binop_fn ref;
};

struct Model {
    mp_code_arena a;
    std::vector<Span> live, released;
    size_t used = 0;
};

void CheckStats(Model &m) {
    mp_code_stats st;
    CHECK(mp_code_arena_stats(&m.a, &st) == MP_OK, "stats");
    CHECK(st.spans_live == m.live.size(), "%zu spans live, model %zu", st.spans_live,
          m.live.size());
    CHECK(st.used == m.used, "%zu used, model %zu", st.used, m.used);
    CHECK(st.free_bytes == st.committed - st.used, "free bytes");
    CHECK(st.committed <= st.reserved, "committed beyond the reservation");
}

void CheckAll(Model &m) {
    for (Span &s : m.live) {
        if (!s.finalized) continue;
        int64_t r = 0;
        CHECK(binop_fn_call(&s.ref, 5, 6, &r) == MP_OK, "a live span's reference refused");
        CHECK(r == 11 + int64_t(s.k), "span returned %lld, wrote %u", (long long)r, s.k);
    }
    for (Span &s : m.released) {
        int64_t r = 0;
        CHECK(mp_code_span_addr(&s.h) == nullptr, "a released span has an address");
        CHECK(!s.finalized || binop_fn_call(&s.ref, 5, 6, &r) == MP_ESTALE,
              "a released span's reference called");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!arena_code::kHaveCode) return 0;
    FuzzedDataProvider in(data, size);
    fault_install();
    Model m;
    mp_code_arena_opts o = {};
    o.reserve = 64 * mp_page_size();
    o.mode = MP_HAVE_DUAL && in.ConsumeBool() ? MP_CODE_DUAL : MP_CODE_FLIP;
    CHECK(mp_code_arena_new(&o, &m.a) == MP_OK, "new");
    uint32_t next_k = 0;
    while (in.remaining_bytes() > 0) {
        unsigned op = in.ConsumeIntegralInRange<unsigned>(0, 5);
        bool armed = false;
        if (op == 5) {
            /* The next operation's nth OS call fails. */
            fault_arm(in.ConsumeIntegralInRange<unsigned>(1, 4), MP_ENOMEM, ENOMEM);
            armed = true;
            op = in.ConsumeIntegralInRange<unsigned>(0, 4);
        }
        mp_code_stats before;
        CHECK(mp_code_arena_stats(&m.a, &before) == MP_OK, "stats");
        mp_status s = MP_OK;
        switch (op) {
        case 0: { /* alloc and write */
            size_t want = in.ConsumeBool()
                              ? in.ConsumeIntegralInRange<size_t>(1, 300)
                              : in.ConsumeIntegralInRange<size_t>(1, 3 * mp_page_size());
            want = want < arena_code::kMinLen ? arena_code::kMinLen : want;
            Span sp{{}, 0, next_k++ % arena_code::kMaxK, false, {}};
            s = mp_code_arena_alloc(&m.a, want, &sp.h);
            if (s == MP_OK) {
                sp.len = mp_code_span_len(&sp.h);
                CHECK(sp.len >= want && sp.len % 64 == 0, "span length %zu for %zu", sp.len, want);
                std::vector<uint8_t> c = arena_code::Code(sp.k, sp.len);
                uint8_t *w = mp_code_span_write(&sp.h);
                CHECK(w != nullptr, "no write pointer");
                std::memcpy(w, c.data(), c.size());
                m.used += sp.len;
                m.live.push_back(sp);
            } else {
                CHECK(s == MP_ENOMEM, "alloc: %s", mp_status_str(s));
            }
            break;
        }
        case 1: /* finalize */
            s = mp_code_arena_finalize(&m.a);
            if (s == MP_OK) {
                for (Span &sp : m.live) {
                    if (sp.finalized) continue;
                    sp.finalized = true;
                    CHECK(mp_code_span_write(&sp.h) == nullptr, "writable after finalize");
                    CHECK(binop_fn_from_span(&sp.h, 0, &sp.ref) == MP_OK, "from_span");
                }
            } else {
                CHECK(armed, "finalize failed with no fault: %s", mp_status_str(s));
                for (Span &sp : m.live) {
                    if (!sp.finalized) {
                        /* Still writable: the failed finalize undid its runs. */
                        CHECK(mp_code_span_write(&sp.h) != nullptr, "not writable");
                        std::vector<uint8_t> c = arena_code::Code(sp.k, sp.len);
                        std::memcpy(mp_code_span_write(&sp.h), c.data(), c.size());
                    }
                }
            }
            break;
        case 2: /* release */
            if (!m.live.empty()) {
                size_t i = in.ConsumeIntegralInRange<size_t>(0, m.live.size() - 1);
                Span sp = m.live[i];
                mp_code_span copy = sp.h;
                CHECK(mp_code_arena_release(&m.a, &sp.h) == MP_OK, "release");
                CHECK(mp_code_arena_release(&m.a, &copy) == MP_ESTALE, "released twice");
                m.used -= sp.len;
                m.live.erase(m.live.begin() + static_cast<long>(i));
                m.released.push_back(sp);
                if (m.released.size() > 64) m.released.erase(m.released.begin());
            }
            break;
        default: /* call everything */
            CheckAll(m);
            break;
        }
        fault_disarm();
        if (s != MP_OK) {
            mp_code_stats after;
            CHECK(mp_code_arena_stats(&m.a, &after) == MP_OK, "stats");
            CHECK(std::memcmp(&before, &after, sizeof before) == 0,
                  "a failed call changed the arena");
        }
        CheckStats(m);
    }
    CheckAll(m);
    binop_fn any = {};
    bool have = false;
    for (Span &sp : m.live) {
        if (sp.finalized) {
            any = sp.ref;
            have = true;
        }
    }
    CHECK(mp_code_arena_free(&m.a) == MP_OK, "free");
    CHECK(!have || !binop_fn_valid(&any), "a reference outlived the arena");
    fault_uninstall();
    return 0;
}
