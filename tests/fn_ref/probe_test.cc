// mp_jit_probe (runtime.h, docs/jit.md) in every feature combination: what
// it reports for the ways this build allows and refuses, and what it reports
// when the OS refuses, simulated through the runtime's OS table.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "memory_pages/memory_pages.h"
#include "tests/internals/fault_injection.h"

namespace {

/* Whether the probe knows machine code for this architecture. */
constexpr bool kProbeRunsCode =
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86) ||             \
    defined(__aarch64__) || defined(_M_ARM64)
    true;
#else
    false;
#endif

/* Runs the probe once, so that the registry has made its first chunk of
 * slots (with OS calls of its own) before a test counts the probe's calls. */
void WarmUp() {
    mp_jit_caps caps;
    ASSERT_EQ(mp_jit_probe(&caps), MP_OK);
}

/* Runs the probe with its nth OS call failing with status and os_error, and
 * checks that the probe gave back every reservation it made. Returns what
 * the probe returned; *fired is the call that failed, or NULL. */
mp_status ProbeWithFault(unsigned nth, mp_status status, int os_error, mp_jit_caps *caps,
                         const char **fired) {
    WarmUp();
    fault_install();
    const long reservations = fault_reservations();
    fault_arm(nth, status, os_error);
    mp_status s = mp_jit_probe(caps);
    *fired = fault_fired();
    const long leaked = fault_reservations() - reservations;
    fault_uninstall();
    EXPECT_EQ(leaked, 0) << "reservations the probe did not give back";
    return s;
}

TEST(JitProbe, NullIsInvalid) {
    EXPECT_EQ(mp_jit_probe(nullptr), MP_EINVAL);
}

// The machines these tests run on allow executable memory, so each way
// works exactly when the build allows it, and otherwise is refused with
// MP_ENOTSUP and no OS error.
TEST(JitProbe, ReportsWhatThisBuildAllows) {
    mp_jit_caps caps;
    std::memset(&caps, 0xA5, sizeof caps);
    ASSERT_EQ(mp_jit_probe(&caps), MP_OK);
    EXPECT_EQ(caps.ran_code, kProbeRunsCode);

    EXPECT_EQ(caps.write_then_exec.works, MP_HAVE_RX != 0);
    EXPECT_EQ(caps.write_then_exec.status, MP_HAVE_RX ? MP_OK : MP_ENOTSUP);
    EXPECT_EQ(caps.write_then_exec.os_error, 0);

    EXPECT_EQ(caps.write_and_exec.works, MP_HAVE_RWX != 0);
    EXPECT_EQ(caps.write_and_exec.status, MP_HAVE_RWX ? MP_OK : MP_ENOTSUP);
    EXPECT_EQ(caps.write_and_exec.os_error, 0);

    EXPECT_EQ(caps.dual_mapping.works, MP_HAVE_DUAL != 0);
    EXPECT_EQ(caps.dual_mapping.status, MP_HAVE_DUAL ? MP_OK : MP_ENOTSUP);
    EXPECT_EQ(caps.dual_mapping.os_error, 0);

    // What the OS offers beside executable memory, for the log
    // (tests/internals/os_probe_test checks each field).
    const mp_os_caps *os = mp_os_capabilities();
    std::printf("[ os caps  ] page %zu, granularity %zu, huge %zu, thp %d, populate_write %d, "
                "no_dump %d, remap %d, mseal %d, fixed_noreplace %d, sync_core %d\n",
                os->page_size, os->granularity, os->huge_page_size, os->thp, os->populate_write,
                os->no_dump, os->remap, os->mseal, os->fixed_noreplace, os->sync_core);
}

// The OS refuses execute permission as SELinux's execmem or PaX would
// (EACCES from mprotect): the probe reports the refusal and its OS error
// for the way that asked for it, and gives back every reservation it made.
TEST(JitProbe, ReportsTheOsRefusingExecute) {
    if (!MP_HAVE_RX) GTEST_SKIP() << "no executable pages in this build";
    // The probe's third OS call is the protect of rw pages to rx: reserve
    // and commit come first.
    mp_jit_caps caps;
    const char *fired;
    ASSERT_EQ(ProbeWithFault(3, MP_EACCES, EACCES, &caps, &fired), MP_OK);
    ASSERT_NE(fired, nullptr);
    EXPECT_STREQ(fired, "protect");
    EXPECT_FALSE(caps.write_then_exec.works);
    EXPECT_EQ(caps.write_then_exec.status, MP_EACCES);
    EXPECT_EQ(caps.write_then_exec.os_error, EACCES);
    // The other way was tried afterwards, with the OS back to normal.
    EXPECT_EQ(caps.write_and_exec.works, MP_HAVE_RWX != 0);
}

// Mapping rwx pages fails as under an OpenBSD-style W^X policy, while the
// flip from rw to rx still works.
TEST(JitProbe, ReportsTheOsRefusingWriteAndExecute) {
    if (!MP_HAVE_RWX) GTEST_SKIP() << "no rwx pages in this build";
    // Calls 1 to 4 are the first way's reserve, commit, protect and
    // release; call 5 is the second way's reserve, and call 6 its commit
    // with write and execute at once, which the OS refuses.
    mp_jit_caps caps;
    const char *fired;
    ASSERT_EQ(ProbeWithFault(6, MP_ENOTSUP, ENOTSUP, &caps, &fired), MP_OK);
    ASSERT_NE(fired, nullptr);
    EXPECT_STREQ(fired, "commit");
    EXPECT_TRUE(caps.write_then_exec.works);
    EXPECT_FALSE(caps.write_and_exec.works);
    EXPECT_EQ(caps.write_and_exec.status, MP_ENOTSUP);
    EXPECT_EQ(caps.write_and_exec.os_error, ENOTSUP);
}

// The OS refuses the dual mapping as vm.memfd_noexec=2 or SELinux would,
// while the flip from rw to rx still works.
TEST(JitProbe, ReportsTheOsRefusingTheDualMapping) {
    if (!MP_HAVE_DUAL) GTEST_SKIP() << "no dual pairs in this build";
    // Calls 1 to 4 are the first way's reserve, commit, protect and
    // release; the second way makes no call without rwx pages; call 5 is
    // the dual mapping.
    mp_jit_caps caps;
    const char *fired;
    ASSERT_EQ(ProbeWithFault(5, MP_EACCES, EACCES, &caps, &fired), MP_OK);
    ASSERT_NE(fired, nullptr);
    EXPECT_STREQ(fired, "dual_map");
    EXPECT_TRUE(caps.write_then_exec.works);
    EXPECT_FALSE(caps.dual_mapping.works);
    EXPECT_EQ(caps.dual_mapping.status, MP_EACCES);
    EXPECT_EQ(caps.dual_mapping.os_error, EACCES);
}

// No memory at all: both ways fail with MP_ENOMEM, and the probe itself
// still succeeds.
TEST(JitProbe, ReportsNoMemory) {
    mp_jit_caps caps;
    const char *fired;
    ASSERT_EQ(ProbeWithFault(1, MP_ENOMEM, ENOMEM, &caps, &fired), MP_OK);
    EXPECT_STREQ(fired, "reserve");
    EXPECT_FALSE(caps.write_then_exec.works);
    EXPECT_EQ(caps.write_then_exec.status, MP_ENOMEM);
    EXPECT_EQ(caps.write_then_exec.os_error, ENOMEM);
}

} // namespace
