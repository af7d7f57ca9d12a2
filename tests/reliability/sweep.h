/*
 * The counting of the bad-input sweep (bad_input_test.cc and its vector and
 * function-reference parts): each test counts the bad inputs it tries,
 * checks each one's answer, and prints its count; the binary prints the
 * total at the end.
 */
#ifndef MEMORY_PAGES_TESTS_RELIABILITY_SWEEP_H
#define MEMORY_PAGES_TESTS_RELIABILITY_SWEEP_H

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"
#include "tests/internals/mappings.h"

namespace sweep {

/* Bad inputs tried by every test of the binary. */
inline int total_cases = 0;

/* Prints total_cases when the binary's tests are done. */
class PrintTotal : public ::testing::Environment {
  public:
    void TearDown() override {
        std::printf("[ sweep    ] %d bad inputs tried in total\n", total_cases);
    }
};

/* Counts the cases of one test, checks each, and prints the count when the
 * test ends. */
class Cases {
  public:
    explicit Cases(std::string what) : what_(std::move(what)) {}
    ~Cases() {
        std::printf("[ sweep    ] %d bad inputs tried: %s\n", n_, what_.c_str());
        total_cases += n_;
    }
    Cases(const Cases &) = delete;
    Cases &operator=(const Cases &) = delete;

    /* Checks a call that must fail with want and no OS error behind it. */
    void Status(const std::string &call, mp_status got, mp_status want) {
        n_++;
        EXPECT_EQ(got, want) << call << ": " << mp_status_str(got);
        if (got == want && got != MP_OK) {
            EXPECT_EQ(mp_os_error(), 0) << call << " reported an OS error for a bad argument";
        }
    }

    /* Checks a call that the OS must refuse, and that it says why. Under
     * valgrind, whose address-space manager refuses sizes beyond the address
     * space with EINVAL, that refusal is MP_EOS. Windows refuses a
     * reservation beyond the address space with ERROR_INVALID_PARAMETER (87),
     * which the library reports as MP_ENOMEM (runtime/os_windows.c). */
    void Refused(const std::string &call, mp_status got) {
        n_++;
        const bool valgrind = running_on_valgrind();
        EXPECT_EQ(got, valgrind ? MP_EOS : MP_ENOMEM) << call << ": " << mp_status_str(got);
#ifdef _WIN32
        const int refusal = 87;
#else
        const int refusal = valgrind ? EINVAL : ENOMEM;
#endif
        EXPECT_EQ(mp_os_error(), refusal) << call;
    }

    /* Checks a call that must fail with one of two statuses, where which one
     * depends on the platform (overflow on 32-bit, refusal on 64-bit). */
    void Either(const std::string &call, mp_status got, mp_status a, mp_status b) {
        n_++;
        EXPECT_TRUE(got == a || got == b) << call << ": " << mp_status_str(got);
    }

    /* Checks a property that must hold. */
    void Holds(const std::string &what, bool holds) {
        n_++;
        EXPECT_TRUE(holds) << what;
    }

    /* Checks a query that must answer with its "nothing" value. */
    template <class T> void Nothing(const std::string &call, T got) {
        n_++;
        EXPECT_EQ(got, T{}) << call;
    }

  private:
    std::string what_;
    int n_ = 0;
};

} // namespace sweep

#endif /* MEMORY_PAGES_TESTS_RELIABILITY_SWEEP_H */
