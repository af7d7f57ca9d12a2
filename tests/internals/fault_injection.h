/*
 * Fault injection through the runtime's OS table (runtime/os.h): makes the
 * n-th OS call from now fail with a chosen status and OS error, so that tests
 * can walk every failure path of every operation.
 */
#ifndef MEMORY_PAGES_TESTS_FAULT_INJECTION_H
#define MEMORY_PAGES_TESTS_FAULT_INJECTION_H

#include <stdbool.h>

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces the OS table with counting wrappers; the nth call (1-based) that
 * can fail returns status and records os_error, every other call goes to the
 * platform. flush_icache cannot fail and is not counted. */
void fault_arm(unsigned nth, mp_status status, int os_error);

/* Puts the platform's table back. */
void fault_disarm(void);

/* The name of the table entry that was made to fail since fault_arm, or NULL
 * if none was. */
const char *fault_fired(void);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_FAULT_INJECTION_H */
