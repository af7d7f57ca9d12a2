/*
 * Expecting a memory-access fault, portably, in GoogleTest death tests.
 *
 *     MP_EXPECT_FAULT(mp_test::WriteByte(p, 1));
 *
 * runs the statement in a child process and passes when the child is killed
 * by an access fault: SIGSEGV or SIGBUS on POSIX systems, the exit code
 * 0xC0000005 (STATUS_ACCESS_VIOLATION) on Windows. The child turns core
 * dumps and crash dialogs off first, so expected faults leave no trace.
 *
 * ReadByte and WriteByte access memory through volatile pointers, so the
 * compiler keeps an access whose result is never used.
 */
#ifndef MEMORY_PAGES_TESTS_SUPPORT_FAULT_H
#define MEMORY_PAGES_TESTS_SUPPORT_FAULT_H

#include <cstdint>

#include <gtest/gtest.h>

namespace mp_test {

/* Reads the byte at p through a volatile pointer. */
uint8_t ReadByte(const void *p);

/* Writes v to the byte at p through a volatile pointer. */
void WriteByte(void *p, uint8_t v);

/* Turns off core dumps (POSIX) or crash dialogs (Windows) for this process.
 * Called in the child of a death test just before the faulting statement. */
void PrepareForFault();

/* Whether exit_status, as GoogleTest's death tests report it, means that the
 * process was ended by a memory-access fault. */
bool IsAccessFault(int exit_status);

} // namespace mp_test

/* Passes when statement faults on a memory access (see above). */
#define MP_EXPECT_FAULT(statement)                                                                 \
    EXPECT_EXIT(                                                                                   \
        {                                                                                          \
            ::mp_test::PrepareForFault();                                                          \
            statement;                                                                             \
        },                                                                                         \
        ::mp_test::IsAccessFault, "")

/* As MP_EXPECT_FAULT, but ends the current test when it fails. */
#define MP_ASSERT_FAULT(statement)                                                                 \
    ASSERT_EXIT(                                                                                   \
        {                                                                                          \
            ::mp_test::PrepareForFault();                                                          \
            statement;                                                                             \
        },                                                                                         \
        ::mp_test::IsAccessFault, "")

#endif /* MEMORY_PAGES_TESTS_SUPPORT_FAULT_H */
