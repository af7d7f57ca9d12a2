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
 * injected: "[ faults   ] N injected in total".
 */
#ifndef MEMORY_PAGES_TESTS_FAULT_INJECTION_H
#define MEMORY_PAGES_TESTS_FAULT_INJECTION_H

#include <stdbool.h>

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

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_FAULT_INJECTION_H */
