// Page sets across fork() (docs/security.md): the child gets a private,
// copy-on-write copy of every page set, with the same access, and handles
// that name its copies; what either process then does (writes,
// transitions, frees) does not reach the other. Memory locks are not
// inherited (POSIX); no_dump is kept. POSIX only.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "memory_pages/memory_pages.h"
#include "tests/support/memory_facts.h"

namespace {

// Reports a failed check of the child on stderr and counts it.
int child_failures = 0;

void ChildCheck(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "child: %s\n", what);
        child_failures++;
    }
}

bool AllBytes(const uint8_t *p, size_t len, uint8_t b) {
    for (size_t i = 0; i < len; i++) {
        if (p[i] != b) return false;
    }
    return true;
}

// Waits for the child and returns its exit status, or -1 if it did not exit.
int WaitExit(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// Forks a child that reads the smaps entry of the mapping holding data and
// checks it with check(entry), which reports through ChildCheck. Returns
// the child's exit status: 0 when every check passed, -1 if it did not run.
template <class Check> int CheckSmapsInChild(const void *data, Check check) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == -1) return -1;
    if (pid == 0) {
        mp_test::SmapsEntry child;
        ChildCheck(mp_test::ReadSmaps(data, &child), "no smaps in the child");
        check(child);
        std::fflush(nullptr);
        _exit(child_failures);
    }
    return WaitExit(pid);
}

TEST(Fork, EachProcessChangesOnlyItsOwnCopy) {
    const size_t len = 2 * mp_page_size();
    // rw stays in the parent; r_source is freed by the parent after the fork.
    mp_pages_rw rw, source;
    ASSERT_EQ(mp_pages_rw_new(len, &rw), MP_OK);
    std::memset(mp_pages_rw_data_mut(&rw), 0x11, len);
    ASSERT_EQ(mp_pages_rw_new(len, &source), MP_OK);
    std::memset(mp_pages_rw_data_mut(&source), 0x33, len);
    mp_pages_r r_source;
    ASSERT_EQ(mp_pages_rw_into_r(&source, &r_source), MP_OK);

    int to_child[2];
    ASSERT_EQ(pipe(to_child), 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_NE(pid, -1);
    if (pid == 0) {
        // The child: wait until the parent has changed its own copies.
        char go = 0;
        ChildCheck(read(to_child[0], &go, 1) == 1, "no word from the parent");
        ChildCheck(mp_pages_rw_len(&rw) == len, "the rw handle is not live in the child");
        ChildCheck(mp_pages_rw_data(&rw) != nullptr && AllBytes(mp_pages_rw_data(&rw), len, 0x11),
                   "the child's rw copy changed with the parent's writes");
        ChildCheck(mp_pages_r_len(&r_source) == len &&
                       AllBytes(mp_pages_r_data(&r_source), len, 0x33),
                   "the child's r copy went with the parent's free");
        std::memset(mp_pages_rw_data_mut(&rw), 0x22, len);
        mp_pages_none none;
        ChildCheck(mp_pages_rw_into_none(&rw, &none) == MP_OK, "a transition in the child");
        ChildCheck(mp_pages_none_free(&none) == MP_OK, "a free in the child");
        ChildCheck(mp_pages_r_free(&r_source) == MP_OK, "a second free in the child");
        std::fflush(nullptr);
        _exit(child_failures);
    }
    // The parent writes, moves and frees its copies, then lets the child look.
    std::memset(mp_pages_rw_data_mut(&rw), 0x44, len);
    ASSERT_EQ(mp_pages_r_free(&r_source), MP_OK);
    ASSERT_EQ(write(to_child[1], "g", 1), 1);
    close(to_child[1]);
    close(to_child[0]);
    EXPECT_EQ(WaitExit(pid), 0) << "the child found a problem (its stderr says which)";

    // The child's writes, transition and free did not reach the parent.
    ASSERT_EQ(mp_pages_rw_len(&rw), len);
    EXPECT_TRUE(AllBytes(mp_pages_rw_data(&rw), len, 0x44));
    mp_pages_r r;
    EXPECT_EQ(mp_pages_rw_into_r(&rw, &r), MP_OK);
    EXPECT_EQ(mp_pages_r_free(&r), MP_OK);
}

// The lock option is a memory lock, which a child does not inherit.
TEST(Fork, LocksAreNotInherited) {
    // Only a refusal of the lock itself (RLIMIT_MEMLOCK, privileges), seen
    // by locking a page alone first, lets this test skip for the limit. It
    // comes first, because LockIsVisible is false where mlock fails too.
    const int lock_error = mp_test::LockProbeError(1);
    if (lock_error != 0) {
        ASSERT_TRUE(mp_test::IsLockLimitError(lock_error))
            << "locking a scratch page failed with " << mp_test::LockErrorText(lock_error);
        GTEST_SKIP() << "this process may not lock a page: " << mp_test::LockErrorText(lock_error);
    }
    if (!mp_test::LockIsVisible()) GTEST_SKIP() << "mlock does not show in /proc/self/smaps here";
    mp_pages_opts opts = {};
    opts.lock = true;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new_opts(mp_page_size(), &opts, &rw), MP_OK);
    mp_test::SmapsEntry smaps;
    EXPECT_TRUE(mp_test::ReadSmaps(mp_pages_rw_data(&rw), &smaps) && smaps.locked > 0)
        << "the parent's page set is not locked";
    EXPECT_EQ(CheckSmapsInChild(mp_pages_rw_data(&rw),
                                [](const mp_test::SmapsEntry &child) {
                                    ChildCheck(child.locked == 0, "the child inherited the lock");
                                    ChildCheck(!child.HasFlag("lo"),
                                               "the child's mapping is marked locked");
                                }),
              0)
        << "the child found a problem (its stderr says which)";
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

// no_dump marks the mapping, and the child's copy keeps the mark.
TEST(Fork, NoDumpIsKept) {
    if (!mp_test::NoDumpIsVisible()) GTEST_SKIP() << "MADV_DONTDUMP does not show here";
    mp_pages_opts opts = {};
    opts.no_dump = true;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rw_new_opts(mp_page_size(), &opts, &rw), MP_OK);
    EXPECT_EQ(CheckSmapsInChild(mp_pages_rw_data(&rw),
                                [](const mp_test::SmapsEntry &child) {
                                    ChildCheck(child.HasFlag("dd"),
                                               "the child's copy lost no_dump");
                                }),
              0)
        << "the child found a problem (its stderr says which)";
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

} // namespace
