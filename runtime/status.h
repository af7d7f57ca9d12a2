/*
 * Failure reporting inside the runtime. Every failing public call ends in one
 * of these, so that mp_os_error() always describes the last failure of the
 * calling thread.
 */
#ifndef MEMORY_PAGES_RUNTIME_STATUS_H
#define MEMORY_PAGES_RUNTIME_STATUS_H

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a failure with no OS error behind it and returns s. */
mp_status mp__fail(mp_status s);

/* Records a failure caused by the OS error code os_error and returns s. */
mp_status mp__fail_os(mp_status s, int os_error);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_RUNTIME_STATUS_H */
