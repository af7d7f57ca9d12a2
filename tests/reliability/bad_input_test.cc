// The bad-input sweep over every public page function: NULL, zero, SIZE_MAX,
// sizes whose rounding overflows, out-of-range offsets and advice, and
// stale handles of every kind (freed, consumed by a transition, zeroed,
// garbage, of another state), for every state and every transition of the
// build. Each case must give its exact status, record no OS error where the
// OS was not asked, write nothing to the out-parameter, and leave the live
// page sets it was given working. The test counts the cases and prints them.
#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/reliability/sweep.h"
#include "tests/support/bytes.h"
#include "tests/support/states.h"

namespace {

using mp_test::IsSentinel;
using mp_test::Sentinel;
using sweep::Cases;

// Handles of state S that name no live page set of that state, each with
// the way it was made. The one live page set they include, of another
// state, is freed with this object.
template <class S> struct StaleHandles {
    using H = typename S::Handle;
    std::vector<std::pair<std::string, H>> handles;

    StaleHandles() {
        const size_t page = mp_page_size();
        H freed;
        EXPECT_EQ(S::New(page, &freed), MP_OK);
        H freed_copy = freed;
        EXPECT_EQ(S::Free(&freed), MP_OK);
        handles.emplace_back("a freed handle", freed_copy);

        // A handle consumed by a transition, and a copy made before it.
        mp_pages_rw rw;
        EXPECT_EQ(mp_pages_rw_new(page, &rw), MP_OK);
        H live;
        EXPECT_EQ(mp_test::FromRw<S>(&rw, &live), MP_OK);
        H copy = live;
        mp_pages_none gone;
        if constexpr (std::is_same_v<S, mp_test::NoneState>) {
            mp_pages_r moved;
            EXPECT_EQ(mp_pages_none_into_r(&live, &moved), MP_OK);
            EXPECT_EQ(mp_pages_r_into_none(&moved, &gone), MP_OK);
        } else {
            EXPECT_EQ((mp_test::Transition<S, mp_test::NoneState>::Into(&live, &gone)), MP_OK);
        }
        handles.emplace_back("a handle consumed by a transition", live);
        handles.emplace_back("a copy of a consumed handle", copy);
        EXPECT_EQ(mp_pages_none_free(&gone), MP_OK);

        // Garbage: zeroed, slots that do not exist, generations never given.
        handles.emplace_back("a zeroed handle", H{});
        handles.emplace_back("slot UINT32_MAX", H{{UINT32_MAX, 1}});
        handles.emplace_back("slot 0x7fffffff", H{{0x7fffffffu, 1}});
        handles.emplace_back("an unused slot of the registry", H{{4000, 1}});

        // A live page set of another state (none, or rw for S = none), seen
        // through this state's type, and its slot at generations it does not
        // have.
        mp__ref other;
        if constexpr (std::is_same_v<S, mp_test::NoneState>) {
            EXPECT_EQ(mp_pages_rw_new(page, &other_rw), MP_OK);
            other = other_rw.ref_;
        } else {
            EXPECT_EQ(mp_pages_none_new(page, &other_none), MP_OK);
            other = other_none.ref_;
        }
        handles.emplace_back("a live handle of another state", H{other});
        handles.emplace_back("a live slot at an even (changing) generation",
                             H{{other.slot, other.gen + 1}});
        handles.emplace_back("a live slot at a generation not reached yet",
                             H{{other.slot, other.gen + 2}});
    }

    ~StaleHandles() {
        if constexpr (std::is_same_v<S, mp_test::NoneState>) {
            EXPECT_EQ(mp_pages_rw_free(&other_rw), MP_OK);
        } else {
            EXPECT_EQ(mp_pages_none_free(&other_none), MP_OK);
        }
    }

    mp_pages_rw other_rw{};
    mp_pages_none other_none{};
};

template <class S> class SweepStates : public ::testing::Test {};
TYPED_TEST_SUITE(SweepStates, mp_test::AllStates, mp_test::StateName);

TYPED_TEST(SweepStates, NewRefusesBadSizesAndOptions) {
    using S = TypeParam;
    using H = typename S::Handle;
    Cases c(std::string("mp_pages_") + S::kName + "_new, _new_opts");
    const size_t page = mp_page_size();

    H out = Sentinel<H>();
    c.Status("new(0)", S::New(0, &out), MP_EINVAL);
    c.Status("new(1, NULL)", S::New(1, nullptr), MP_EINVAL);
    c.Status("new(SIZE_MAX)", S::New(SIZE_MAX, &out), MP_EOVERFLOW);
    c.Status("new(SIZE_MAX - page + 2)", S::New(SIZE_MAX - page + 2, &out), MP_EOVERFLOW);
    c.Refused("new(SIZE_MAX - page + 1)", S::New(SIZE_MAX - page + 1, &out));
#if SIZE_MAX > 0xFFFFFFFFu
    // Beyond any 64-bit address space; on 32-bit the case above is already.
    c.Refused("new(2^62)", S::New(size_t{1} << 62, &out));
#endif
    EXPECT_TRUE(IsSentinel(out)) << "a failed new wrote its out-parameter";

    mp_pages_opts opts = {};
    c.Status("new_opts(0, defaults)", S::NewOpts(0, &opts, &out), MP_EINVAL);
    c.Status("new_opts(1, defaults, NULL)", S::NewOpts(1, &opts, nullptr), MP_EINVAL);
    c.Status("new_opts(0, NULL)", S::NewOpts(0, nullptr, &out), MP_EINVAL);
    c.Status("new_opts(SIZE_MAX, NULL)", S::NewOpts(SIZE_MAX, nullptr, &out), MP_EOVERFLOW);
    opts.guard_pages_before = SIZE_MAX;
    c.Status("guard_pages_before = SIZE_MAX", S::NewOpts(1, &opts, &out), MP_EOVERFLOW);
    opts = {};
    opts.guard_pages_after = SIZE_MAX / page + 1;
    c.Status("guard_pages_after = SIZE_MAX / page + 1", S::NewOpts(1, &opts, &out), MP_EOVERFLOW);
    opts = {};
    opts.guard_pages_before = opts.guard_pages_after = SIZE_MAX / page / 2 + 1;
    c.Status("guard pages before + after overflow", S::NewOpts(1, &opts, &out), MP_EOVERFLOW);
    opts = {};
    opts.guard_pages_after = SIZE_MAX / page - 1;
    c.Status("guard pages + data overflow", S::NewOpts(2 * page, &opts, &out), MP_EOVERFLOW);
#if SIZE_MAX > 0xFFFFFFFFu
    opts = {};
    opts.guard_pages_before = (size_t{1} << 62) / page;
    c.Refused("guard pages of 2^62 bytes", S::NewOpts(1, &opts, &out));
#endif
    for (int huge : {MP_HUGE_NEVER + 1, 100, INT_MAX, -1}) {
        opts = {};
        opts.huge = static_cast<mp_huge>(huge);
        c.Status("huge = " + std::to_string(huge), S::NewOpts(1, &opts, &out), MP_EINVAL);
    }
    EXPECT_TRUE(IsSentinel(out)) << "a failed new_opts wrote its out-parameter";
}

extern "C" int sweep_near_anchor(int x) {
    return x ^ 1;
}

// Bad placements (mp_pages_opts.near, max_distance; docs/jit.md "Placement
// near an address"): a half placement is MP_EINVAL with no OS error; a
// window nothing fits in is MP_ENOMEM (a distance smaller than the pages,
// guard pages that make them larger than the window, near at the bottom of
// the address space); near at the very top is refused or placed within
// range, never wrapped around; near + max_distance overflowing either way
// is clamped to the address space, not wrapped into a small window, so it
// places the pages. Every refusal leaves *out alone and maps nothing.
TYPED_TEST(SweepStates, NewRefusesBadPlacements) {
    using S = TypeParam;
    using H = typename S::Handle;
    Cases c(std::string("mp_pages_") + S::kName + "_new_opts, near and max_distance");
    const size_t page = mp_page_size();
    const void *anchor = reinterpret_cast<const void *>(&sweep_near_anchor);
    const char *why = "";
    const bool exact = mappings_count_is_exact(&why);
    const int maps = exact ? mappings_count() : 0;
    H out = Sentinel<H>();
    mp_pages_opts opts = {};

    opts.max_distance = size_t{1} << 20;
    c.Status("near NULL, max_distance 1 MiB", S::NewOpts(1, &opts, &out), MP_EINVAL);
    opts.max_distance = SIZE_MAX;
    c.Status("near NULL, max_distance SIZE_MAX", S::NewOpts(1, &opts, &out), MP_EINVAL);
    opts = {};
    opts.near = anchor;
    c.Status("near set, max_distance 0", S::NewOpts(1, &opts, &out), MP_EINVAL);
    opts.guard_pages_before = 2;
    c.Status("near set, max_distance 0, guard pages", S::NewOpts(1, &opts, &out), MP_EINVAL);

    // Windows nothing fits in: MP_ENOMEM (an OS error may stand behind it,
    // that of the last candidate refused).
    auto no_room = [&](const std::string &call, size_t len) {
        c.Holds(call + " gives MP_ENOMEM", S::NewOpts(len, &opts, &out) == MP_ENOMEM);
    };
    opts = {};
    opts.near = anchor;
    opts.max_distance = page / 2;
    no_room("max_distance half a page, 2 pages", 2 * page);
    opts.max_distance = page - 1;
    no_room("max_distance a page less one, 3 pages", 3 * page);
    opts.max_distance = 4 * page;
    opts.guard_pages_before = opts.guard_pages_after = 4;
    no_room("max_distance 4 pages, 4 guard pages either side of 1", 1);
    opts = {};
    opts.near = anchor;
    opts.max_distance = 2 * page;
    opts.guard_pages_after = 5;
    no_room("max_distance 2 pages, 5 guard pages after 1", 1);
    opts = {};
    opts.max_distance = page;
    for (uintptr_t low : {uintptr_t{1}, uintptr_t{page}, uintptr_t{0x8000}}) {
        opts.near = reinterpret_cast<const void *>(low);
        no_room("near the bottom of the address space (" + std::to_string(low) + ")", 1);
    }
    EXPECT_TRUE(IsSentinel(out)) << "a refused placement wrote its out-parameter";
    if (exact) {
        EXPECT_EQ(mappings_count(), maps) << "a refused placement left a mapping";
    }

    // The very top: no wrap-around to the bottom. Refused where the top is
    // the kernel's (64-bit); placed within range if the OS ever gives it.
    opts = {};
    opts.near = reinterpret_cast<const void *>(UINTPTR_MAX);
    opts.max_distance = 4 * page;
    H top = Sentinel<H>();
    const mp_status top_status = S::NewOpts(1, &opts, &top);
    c.Holds("near UINTPTR_MAX gives MP_ENOMEM or pages within range",
            top_status == MP_ENOMEM ||
                (top_status == MP_OK &&
                 reinterpret_cast<uintptr_t>(S::Address(&top)) >= UINTPTR_MAX - 4 * page));
    if (top_status == MP_OK) {
        EXPECT_EQ(S::Free(&top), MP_OK);
    } else {
        EXPECT_TRUE(IsSentinel(top)) << "a refused placement wrote its out-parameter";
    }

    // near + max_distance beyond UINTPTR_MAX, and near - max_distance below
    // 0: clamped, not wrapped. With the whole address space in the window
    // the pages are placed; with half of it (from near at the top, down;
    // from near at the bottom, up) they are placed within range or refused
    // for want of room there (the top half is the kernel's on 64-bit).
    for (uintptr_t at : {UINTPTR_MAX - page, uintptr_t{16} * page}) {
        for (size_t distance : {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1}) {
            opts = {};
            opts.near = reinterpret_cast<const void *>(at);
            opts.max_distance = distance;
            H p = Sentinel<H>();
            const mp_status s = S::NewOpts(page, &opts, &p);
            const std::string call =
                "near " + std::to_string(at) + ", max_distance " + std::to_string(distance);
            if (distance > SIZE_MAX / 2 + 1) {
                c.Holds(call + " is placed", s == MP_OK);
            } else if (s == MP_OK) {
                const auto a = reinterpret_cast<uintptr_t>(S::Address(&p));
                const uintptr_t d = a > at ? a + page - 1 - at : at - a;
                c.Holds(call + " is within range", d <= distance);
            } else {
                c.Holds(call + " gives MP_ENOMEM", s == MP_ENOMEM);
            }
            if (s == MP_OK) {
                EXPECT_EQ(S::Free(&p), MP_OK) << call;
            } else {
                EXPECT_TRUE(IsSentinel(p)) << call << ": a refused placement wrote *out";
            }
        }
    }
    if (exact) {
        EXPECT_EQ(mappings_count(), maps) << "a mapping left after the placements were freed";
    }
}

TYPED_TEST(SweepStates, StaleAndNullHandlesAreRefused) {
    using S = TypeParam;
    using H = typename S::Handle;
    Cases c(std::string("mp_pages_") + S::kName + " functions on stale and NULL handles");
    const size_t page = mp_page_size();
    StaleHandles<S> stale;

    c.Nothing("len(NULL)", S::Len(nullptr));
    c.Status("free(NULL)", S::Free(nullptr), MP_EINVAL);
    c.Status("advise(NULL)", S::Advise(nullptr, 0, 1, MP_ADVICE_NORMAL), MP_EINVAL);
    if constexpr (S::kReadable) c.Nothing("data(NULL)", S::Data(nullptr));
    if constexpr (S::kWritable) c.Nothing("data_mut(NULL)", S::DataMut(nullptr));
    if constexpr (std::is_same_v<S, mp_test::RwState>) {
        c.Status("discard(NULL)", mp_pages_rw_discard(nullptr, 0, 1), MP_EINVAL);
    }

    for (auto &[what, h] : stale.handles) {
        const H before = h;
        c.Nothing("len(" + what + ")", S::Len(&h));
        c.Status("advise(" + what + ")", S::Advise(&h, 0, page, MP_ADVICE_NORMAL), MP_ESTALE);
        if constexpr (S::kReadable) c.Nothing("data(" + what + ")", S::Data(&h));
        if constexpr (S::kWritable) c.Nothing("data_mut(" + what + ")", S::DataMut(&h));
        if constexpr (std::is_same_v<S, mp_test::RwState>) {
            c.Status("discard(" + what + ")", mp_pages_rw_discard(&h, 0, page), MP_ESTALE);
        }
        c.Status("free(" + what + ")", S::Free(&h), MP_ESTALE);
        c.Status("second free(" + what + ")", S::Free(&h), MP_ESTALE);
        EXPECT_TRUE(mp_test::SameBytes(h, before)) << what << " was written to";
    }
}

TYPED_TEST(SweepStates, RangesOutsideThePagesAreRefused) {
    using S = TypeParam;
    using H = typename S::Handle;
    Cases c(std::string("mp_pages_") + S::kName + "_advise" +
            (std::is_same_v<S, mp_test::RwState> ? ", mp_pages_rw_discard" : "") +
            " ranges and advice");
    const size_t page = mp_page_size();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(2 * page, &rw), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&rw), 2 * page, 7);
    H h;
    ASSERT_EQ(mp_test::FromRw<S>(&rw, &h), MP_OK);
    const size_t len = S::Len(&h);
    ASSERT_EQ(len, 2 * page);

    const std::vector<std::pair<size_t, size_t>> ranges = {
        {0, 0},
        {len, 1},
        {len, 0},
        {len - 1, 2},
        {0, len + 1},
        {1, len},
        {SIZE_MAX, 1},
        {1, SIZE_MAX},
        {SIZE_MAX, 0},
        {len / 2, SIZE_MAX},
        {SIZE_MAX, SIZE_MAX},
        {page, SIZE_MAX - page + 1},
    };
    for (auto [offset, n] : ranges) {
        const std::string range = std::to_string(offset) + ", " + std::to_string(n);
        c.Status("advise(" + range + ")", S::Advise(&h, offset, n, MP_ADVICE_WILLNEED), MP_EINVAL);
        if constexpr (std::is_same_v<S, mp_test::RwState>) {
            c.Status("discard(" + range + ")", mp_pages_rw_discard(&h, offset, n), MP_EINVAL);
        }
    }
    for (int advice : {4, 5, 1000, INT_MAX, -1}) {
        c.Status("advise(advice " + std::to_string(advice) + ")",
                 S::Advise(&h, 0, 1, static_cast<mp_advice>(advice)), MP_EINVAL);
    }

    // The page set is untouched and still works.
    EXPECT_EQ(S::Len(&h), len);
    ASSERT_EQ(mp_test::ToRw<S>(&h, &rw), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&rw), len, 7), len);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

template <class T> class SweepTransitions : public ::testing::Test {};
TYPED_TEST_SUITE(SweepTransitions, mp_test::AllTransitions, mp_test::TransitionName);

TYPED_TEST(SweepTransitions, BadHandlesAreRefusedAndNothingChanges) {
    using T = TypeParam;
    using From = typename T::FromState;
    using To = typename T::ToState;
    Cases c(std::string("mp_pages_") + From::kName + "_into_" + To::kName);
    const size_t page = mp_page_size();
    StaleHandles<From> stale;

    typename To::Handle to = Sentinel<typename To::Handle>();
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new(page, &rw), MP_OK);
    mp_test::FillPattern(mp_pages_rw_data_mut(&rw), page, 3);
    typename From::Handle from;
    ASSERT_EQ(mp_test::FromRw<From>(&rw, &from), MP_OK);
    const auto from_before = from;

    c.Status("into(NULL, to)", T::Into(nullptr, &to), MP_EINVAL);
    c.Status("into(from, NULL)", T::Into(&from, nullptr), MP_EINVAL);
    c.Status("into(NULL, NULL)", T::Into(nullptr, nullptr), MP_EINVAL);
    for (auto &[what, h] : stale.handles) {
        const auto before = h;
        c.Status("into(" + what + ")", T::Into(&h, &to), MP_ESTALE);
        EXPECT_TRUE(mp_test::SameBytes(h, before)) << what << " was written to";
    }
    EXPECT_TRUE(IsSentinel(to)) << "a failed transition wrote its out-parameter";

    // The live page set is untouched and still works.
    EXPECT_TRUE(mp_test::SameBytes(from, from_before));
    EXPECT_EQ(From::Len(&from), page);
    ASSERT_EQ(mp_test::ToRw<From>(&from, &rw), MP_OK);
    EXPECT_EQ(mp_test::PatternMismatch(mp_pages_rw_data(&rw), page, 3), page);
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

const auto *const print_total = ::testing::AddGlobalTestEnvironment(new sweep::PrintTotal);

// No entry point of the runtime, not even the internal ones that generated
// code calls, gives a page an access the build does not allow: execute
// without allow_exec, write and execute at once with deny_xw
// (docs/security.md).
TEST(SweepFeatures, EntryPointsRefuseAccessTheBuildDoesNotAllow) {
    std::vector<std::pair<std::string, unsigned>> refused;
#if !MP_HAVE_RX
    refused.emplace_back("x", MP__PROT_EXEC);
    refused.emplace_back("rx", MP__PROT_READ | MP__PROT_EXEC);
#endif
#if !MP_HAVE_RWX
    refused.emplace_back("wx", MP__PROT_WRITE | MP__PROT_EXEC);
    refused.emplace_back("rwx", MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC);
#endif
    if (refused.empty()) GTEST_SKIP() << "this build allows every access";
    Cases c("runtime entry points asked for access the build does not allow");
    const unsigned rw = MP__PROT_READ | MP__PROT_WRITE;
    mp_pages_rw pages;
    ASSERT_EQ(mp_pages_rw_new(1, &pages), MP_OK);
    for (const auto &[name, prot] : refused) {
        mp__ref out = Sentinel<mp__ref>();
        c.Status("mp__pages_new(" + name + ")", mp__pages_new(1, nullptr, prot, &out), MP_ENOTSUP);
        c.Status("mp__pages_into(rw -> " + name + ")", mp__pages_into(&pages.ref_, rw, prot, &out),
                 MP_ENOTSUP);
        EXPECT_TRUE(IsSentinel(out)) << name;
    }
    EXPECT_EQ(mp_pages_rw_len(&pages), mp_page_size()) << "a refused transition consumed it";
    EXPECT_EQ(mp_pages_rw_free(&pages), MP_OK);
}

TEST(SweepStatus, EveryValueHasAString) {
    Cases c("mp_status_str, mp_jit_probe");
    for (int v : {-1, 8, 9, 100, INT_MAX, INT_MIN}) {
        c.Holds("mp_status_str(" + std::to_string(v) + ") is not NULL",
                mp_status_str(static_cast<mp_status>(v)) != nullptr);
    }
    c.Status("mp_jit_probe(NULL)", mp_jit_probe(nullptr), MP_EINVAL);
}

} // namespace
