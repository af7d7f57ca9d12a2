/*
 * Fault injection through the runtime's OS table (runtime/os.h): counting
 * wrappers around every entry of the table, which make the n-th OS call from
 * now fail with a chosen status and OS error, so that tests can walk every
 * failure path of every operation. While installed, the wrappers also keep
 * the balance of reservations made and released, an exact leak check that,
 * unlike the count of mappings in /proc/self/maps, no sanitizer runtime or
 * allocator disturbs.
 *
 * Single-threaded tests only: the countdown and the balance are plain
 * variables. A process that armed a fault prints at exit how many it
 * injected: "[ faults   ] N injected in total" (tools/test.sh reads that
 * line), and for raw system calls how many per entry and per error code.
 */
#ifndef MEMORY_PAGES_TESTS_FAULT_INJECTION_H
#define MEMORY_PAGES_TESTS_FAULT_INJECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Puts the counting wrappers in place of the OS table, with no fault armed:
 * every call goes to the platform. Installing twice does nothing. */
void fault_install(void);

/* Installs the wrappers, over any entry a test replaced, and arms them: the
 * nth call (1-based) from now that can fail returns status and records
 * os_error, every other call goes to the platform. flush_icache cannot fail
 * and is not counted. */
void fault_arm(unsigned nth, mp_status status, int os_error);

/* Disarms: no call fails from now on. The wrappers are installed again over
 * any entry a test replaced since fault_arm, and keep counting. */
void fault_disarm(void);

/* Puts the platform's table back. */
void fault_uninstall(void);

/* The name of the table entry that was made to fail since fault_arm, or NULL
 * if none was. */
const char *fault_fired(void);

/* Successful reserves minus successful releases while the wrappers were
 * installed. A balance that does not move across an operation means that it
 * leaked no reservation. */
long fault_reservations(void);

/* Takes one reservation off the balance: for a test that released, itself,
 * a reservation that the library gave up on when the release of it failed
 * (a vector's old mapping after a completed move, runtime/vec.c). */
void fault_forget_reservation(void);

/*
 * One level down: the raw system calls of the platform file (runtime/
 * sys_posix.h, runtime/sys_windows.h), as SQLite's aSyscall[] does it.
 * Counting wrappers replace every entry of mp__sys; armed, they make the
 * nth raw call from then on fail as the system would, with the error code
 * given: POSIX entries return -1 (MAP_FAILED for mmap and mremap) with errno
 * set, Win32 entries FALSE or NULL after SetLastError. So the branches of
 * os_posix.c and os_windows.c run with a failure, and the mapping of error
 * codes to statuses is exercised. Entries that return nothing
 * (FlushProcessWriteBuffers, GetSystemInfo) cannot fail: they are logged
 * but not counted towards nth.
 *
 * These wrappers work under the OS-table wrappers above, which may stay
 * installed unarmed to keep the reservation balance. Single-threaded, as
 * the rest of this file.
 */

/* One raw call made since sys_fault_arm, as the log keeps it. */
typedef struct sys_call {
    const char *entry; /* the mp__sys entry: "mmap", "VirtualAlloc", ... */
    unsigned nth;      /* the how-many-th call of that entry since arming, from 1 */
    uintptr_t arg[4];  /* its first arguments, as documented per entry in the .c */
    bool failed;       /* whether this is the call that was made to fail */
} sys_call;

/* Puts the counting wrappers in place of mp__sys, with no fault armed.
 * Installing twice does nothing. */
void sys_fault_install(void);

/* Installs the wrappers and arms them: the nth raw call (1-based) from now
 * that can fail fails with os_error (an errno value, or a Win32 error code
 * on Windows); every other call goes to the system. Clears the log. */
void sys_fault_arm(unsigned nth, int os_error);

/* Disarms: no raw call fails from now on; the log keeps what it has. */
void sys_fault_disarm(void);

/* Puts the system's table back. */
void sys_fault_uninstall(void);

/* The call that was made to fail since sys_fault_arm, or NULL if none was. */
const sys_call *sys_fault_fired(void);

/* The raw calls made since sys_fault_arm, in order; at most the first 256
 * are kept. Returns how many there are in *calls. */
size_t sys_fault_log(const sys_call **calls);

/* The total number of faults injected by either level since the process
 * started. */
unsigned long faults_injected(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_FAULT_INJECTION_H */
