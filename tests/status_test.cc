// Tests of shared/API.md section 1: mp_status, mp_status_str, mp_os_error.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"

namespace {

const mp_status kAllStatuses[] = {MP_OK,     MP_EINVAL, MP_ENOMEM,  MP_EOVERFLOW,
                                  MP_EACCES, MP_ESTALE, MP_ENOTSUP, MP_EOS};

/* A length that rounds up to whole pages without overflow, but that no
 * address space can hold, so that the OS refuses it with ENOMEM. */
size_t UnmappableLen() {
    return SIZE_MAX - 2 * mp_page_size() + 1;
}

/* Makes the calling thread's last failure an OS failure (ENOMEM). */
void FailWithOsError() {
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new(UnmappableLen(), &p), MP_ENOMEM);
}

/* Makes the calling thread's last failure one with no OS error behind it. */
void FailWithoutOsError() {
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new(0, &p), MP_EINVAL);
}

TEST(StatusTest, OkIsZero) {
    EXPECT_EQ(MP_OK, 0);
}

TEST(StatusTest, StatusesAreDistinct) {
    std::set<int> values;
    for (mp_status s : kAllStatuses)
        values.insert(s);
    EXPECT_EQ(values.size(), sizeof kAllStatuses / sizeof kAllStatuses[0]);
}

TEST(StatusStrTest, EveryStatusHasItsOwnText) {
    std::set<std::string> texts;
    for (mp_status s : kAllStatuses) {
        const char *text = mp_status_str(s);
        ASSERT_NE(text, nullptr) << "status " << s;
        EXPECT_GT(std::strlen(text), 0u) << "status " << s;
        texts.insert(text);
    }
    EXPECT_EQ(texts.size(), sizeof kAllStatuses / sizeof kAllStatuses[0]);
}

TEST(StatusStrTest, UnknownStatusesHaveATextUnlikeAnyKnownOne) {
    const int unknown[] = {MP_EOS + 1, 1000, -1, INT32_MAX, INT32_MIN};
    for (int value : unknown) {
        const char *text = mp_status_str(static_cast<mp_status>(value));
        ASSERT_NE(text, nullptr) << "value " << value;
        EXPECT_GT(std::strlen(text), 0u) << "value " << value;
        for (mp_status s : kAllStatuses) {
            EXPECT_STRNE(text, mp_status_str(s)) << "value " << value << " vs status " << s;
        }
    }
}

TEST(OsErrorTest, IsZeroOnAThreadWithNoFailure) {
    int seen = -1;
    std::thread t([&] { seen = mp_os_error(); });
    t.join();
    EXPECT_EQ(seen, 0);
}

TEST(OsErrorTest, IsTheOsErrorOfTheLastFailure) {
    FailWithOsError();
    EXPECT_NE(mp_os_error(), 0);
#ifndef _WIN32
    EXPECT_EQ(mp_os_error(), ENOMEM);
#endif
}

TEST(OsErrorTest, IsZeroAfterAFailureWithNoOsErrorBehindIt) {
    FailWithOsError();
    FailWithoutOsError();
    EXPECT_EQ(mp_os_error(), 0);
}

TEST(OsErrorTest, IsKeptBySuccessfulCalls) {
    FailWithOsError();
    int err = mp_os_error();
    mp_pages_rw p;
    ASSERT_EQ(mp_pages_rw_new(1, &p), MP_OK);
    ASSERT_EQ(mp_pages_rw_free(&p), MP_OK);
    EXPECT_EQ(mp_os_error(), err);
}

TEST(OsErrorTest, IsPerThread) {
    FailWithOsError();
    int main_error = mp_os_error();
    ASSERT_NE(main_error, 0);
    int before = -1;
    int after_own_failure = -1;
    std::thread t([&] {
        before = mp_os_error();
        FailWithoutOsError();
        after_own_failure = mp_os_error();
    });
    t.join();
    EXPECT_EQ(before, 0);
    EXPECT_EQ(after_own_failure, 0);
    EXPECT_EQ(mp_os_error(), main_error);
}

} // namespace
