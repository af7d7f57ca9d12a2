// Every OS call inside every page-set operation is made to fail in turn; the
// operation must return the injected status and leave every object it was
// given unchanged and still usable, with no reservation or mapping leaked.
// The faults carry the error codes of both platforms: errno values, and the
// GetLastError() codes Windows gives for the same failures.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/internals/fault_injection.h"
#include "tests/internals/mappings.h"

namespace {

struct Fault {
    mp_status status;
    int os_error;
};

std::ostream &operator<<(std::ostream &os, const Fault &f) {
    return os << mp_status_str(f.status) << " (os error " << f.os_error << ")";
}

const unsigned kRead = MP__PROT_READ, kRW = MP__PROT_READ | MP__PROT_WRITE;

// The access bits of every state this build has.
std::vector<unsigned> States() {
    std::vector<unsigned> states{MP__PROT_NONE, kRead, kRW};
#if MP_HAVE_RX
    states.push_back(MP__PROT_READ | MP__PROT_EXEC);
#endif
#if MP_HAVE_RWX
    states.push_back(kRW | MP__PROT_EXEC);
#endif
    return states;
}

// Prints how many faults a test injected into which operation (the total
// is printed at exit by tests/internals/fault_injection.c).
void Report(int injected, const char *operation) {
    std::printf("[ faults   ] %d injected into %s\n", injected, operation);
}

// Runs attempt(arm) for n = 1, 2, ... where arm() makes the n-th OS call from
// then on fail, until an attempt completes without reaching its n-th call.
// Returns how many faults were injected.
template <class Attempt> int ForEachFault(const Fault &f, Attempt attempt) {
    for (unsigned n = 1; n < 64; n++) {
        attempt([&] { fault_arm(n, f.status, f.os_error); });
        fault_disarm();
        if (fault_fired() == nullptr) return static_cast<int>(n) - 1;
    }
    ADD_FAILURE() << "the operation never completed";
    return 0;
}

// Checks the result of an operation whose fault fired (or not).
void ExpectFaultReported(const Fault &f, mp_status got) {
    const char *fired = fault_fired();
    if (fired == nullptr) {
        EXPECT_EQ(got, MP_OK);
    } else if (std::strcmp(fired, "huge_hint") == 0) {
        EXPECT_EQ(got, MP_OK) << "a failed hint must not fail the call";
    } else {
        EXPECT_EQ(got, f.status) << "fault in " << fired;
        EXPECT_EQ(mp_os_error(), f.os_error) << "fault in " << fired;
    }
}

// Makes a page set in state prot holding the byte pattern 0xa5.
mp__ref MakeFilled(unsigned prot, size_t len) {
    mp__ref rw{};
    EXPECT_EQ(mp__pages_new(len, nullptr, kRW, &rw), MP_OK);
    std::memset(mp__pages_data(&rw, kRW), 0xa5, len);
    if (prot == kRW) return rw;
    mp__ref out{};
    EXPECT_EQ(mp__pages_into(&rw, kRW, prot, &out), MP_OK);
    return out;
}

// Checks that a page set in state prot still holds the pattern, by moving it
// to read access, and frees it.
void ExpectFilledAndFree(mp__ref ref, unsigned prot, size_t len) {
    mp__ref r = ref;
    if (prot != kRead) {
        ASSERT_EQ(mp__pages_into(&ref, prot, kRead, &r), MP_OK);
    }
    const auto *data = static_cast<const unsigned char *>(mp__pages_data(&r, kRead));
    ASSERT_NE(data, nullptr);
    for (size_t i = 0; i < len; i++)
        ASSERT_EQ(data[i], 0xa5) << "at " << i;
    EXPECT_EQ(mp__pages_free(&r, kRead), MP_OK);
}

class PagesFault : public ::testing::TestWithParam<Fault> {
  protected:
    void SetUp() override {
        // The registry allocates its first slots on first use: do that now,
        // so that mapping counts compare like with like.
        mp__ref warm{};
        ASSERT_EQ(mp__pages_new(1, nullptr, kRW, &warm), MP_OK);
        ASSERT_EQ(mp__pages_free(&warm, kRW), MP_OK);
        fault_install();
        reservations_before_ = fault_reservations();
        maps_before_ = mappings_count();
    }
    void TearDown() override {
        fault_uninstall();
        EXPECT_EQ(fault_reservations(), reservations_before_) << "a reservation leaked";
        const char *why = nullptr;
        if (mappings_count_is_exact(&why)) {
            EXPECT_EQ(mappings_count(), maps_before_) << "a mapping leaked";
        }
    }
    long reservations_before_ = 0;
    int maps_before_ = 0;
};

// Whether this platform can leave pages out of core dumps; where it cannot
// (Windows), no_dump is refused with MP_ENOTSUP before any fault could fire.
bool NoDumpSupported() {
    mp_pages_opts opts{};
    opts.no_dump = true;
    mp__ref r{};
    mp_status s = mp__pages_new(1, &opts, kRW, &r);
    if (s == MP_OK) {
        EXPECT_EQ(mp__pages_free(&r, kRW), MP_OK);
    }
    return s != MP_ENOTSUP;
}

TEST_P(PagesFault, NewLeavesOutUntouchedAndLeaksNothing) {
    const bool no_dump = NoDumpSupported();
    if (!no_dump) std::printf("[ note     ] no_dump is not supported here: left out\n");
    std::vector<mp_pages_opts> variants(5);
    variants[1].guard_pages_before = variants[1].guard_pages_after = 2;
    variants[2].populate = true;
    variants[3].lock = true;
    variants[4] = {1, 1, MP_HUGE_TRY, true, true, no_dump, nullptr, 0};
    if (no_dump) {
        variants.emplace_back();
        variants.back().no_dump = true;
    }
    int injected = 0;
    for (unsigned prot : States()) {
        for (const auto &opts : variants) {
            injected += ForEachFault(GetParam(), [&](auto arm) {
                mp__ref out{0xdeadbeef, 0xfeedface};
                arm();
                mp_status s = mp__pages_new(3 * mp_page_size() + 1, &opts, prot, &out);
                fault_disarm();
                ExpectFaultReported(GetParam(), s);
                if (s == MP_OK) {
                    EXPECT_EQ(mp__pages_free(&out, prot), MP_OK);
                } else {
                    EXPECT_EQ(out.slot, 0xdeadbeefu);
                    EXPECT_EQ(out.gen, 0xfeedfaceu);
                }
            });
        }
    }
    EXPECT_GE(injected, static_cast<int>(variants.size() * States().size() * 2))
        << "every variant has at least reserve and commit to fail";
    Report(injected, "new");
}

TEST_P(PagesFault, TransitionLeavesFromValidAndUnchanged) {
    const size_t len = 2 * mp_page_size();
    int injected = 0;
    for (unsigned from : States()) {
        for (unsigned to : States()) {
            if (from == to) continue;
            injected += ForEachFault(GetParam(), [&](auto arm) {
                mp__ref h = MakeFilled(from, len);
                mp__ref out{0xdeadbeef, 0xfeedface};
                arm();
                mp_status s = mp__pages_into(&h, from, to, &out);
                fault_disarm();
                ExpectFaultReported(GetParam(), s);
                if (s == MP_OK) {
                    EXPECT_EQ(mp__pages_len(&h, from), 0u);
                    ExpectFilledAndFree(out, to, len);
                } else {
                    EXPECT_EQ(out.slot, 0xdeadbeefu);
                    EXPECT_EQ(mp__pages_len(&h, from), len);
                    ExpectFilledAndFree(h, from, len);
                }
            });
        }
    }
    EXPECT_GE(injected, 1);
    Report(injected, "transitions");
}

TEST_P(PagesFault, FreeKeepsTheHandleOnFailure) {
    int injected = ForEachFault(GetParam(), [&](auto arm) {
        mp__ref h = MakeFilled(kRW, mp_page_size());
        arm();
        mp_status s = mp__pages_free(&h, kRW);
        fault_disarm();
        ExpectFaultReported(GetParam(), s);
        if (s != MP_OK) {
            ExpectFilledAndFree(h, kRW, mp_page_size());
        }
    });
    EXPECT_EQ(injected, 1);
    Report(injected, "free");
}

TEST_P(PagesFault, DiscardKeepsTheContentsOnFailure) {
    const size_t page = mp_page_size();
    int injected = ForEachFault(GetParam(), [&](auto arm) {
        mp__ref h = MakeFilled(kRW, 4 * page);
        arm();
        mp_status s = mp__pages_discard(&h, kRW, page / 2, 2 * page);
        fault_disarm();
        ExpectFaultReported(GetParam(), s);
        if (s != MP_OK)
            ExpectFilledAndFree(h, kRW, 4 * page);
        else
            EXPECT_EQ(mp__pages_free(&h, kRW), MP_OK);
    });
    EXPECT_EQ(injected, 1);
    Report(injected, "discard");
}

TEST_P(PagesFault, AdviseReportsTheFailure) {
    int injected = ForEachFault(GetParam(), [&](auto arm) {
        mp__ref h = MakeFilled(kRW, mp_page_size());
        arm();
        mp_status s = mp__pages_advise(&h, kRW, 0, 1, MP_ADVICE_WILLNEED);
        fault_disarm();
        ExpectFaultReported(GetParam(), s);
        ExpectFilledAndFree(h, kRW, mp_page_size());
    });
    EXPECT_EQ(injected, 1);
    Report(injected, "advise");
}

// Windows' codes: ERROR_NOT_ENOUGH_MEMORY, ERROR_COMMITMENT_LIMIT,
// ERROR_ACCESS_DENIED, ERROR_DYNAMIC_CODE_BLOCKED (ACG) and
// ERROR_INVALID_ADDRESS.
INSTANTIATE_TEST_SUITE_P(Statuses, PagesFault,
                         ::testing::Values(Fault{MP_ENOMEM, ENOMEM}, Fault{MP_EACCES, EACCES},
                                           Fault{MP_EOS, EINVAL}, Fault{MP_ENOMEM, 8},
                                           Fault{MP_ENOMEM, 1455}, Fault{MP_EACCES, 5},
                                           Fault{MP_EACCES, 1655}, Fault{MP_EOS, 487}));

} // namespace
