/* Status strings and the per-thread OS error of the last failure. */
#include "runtime/status.h"

static _Thread_local int last_os_error;

const char *mp_status_str(mp_status s) {
    switch (s) {
    case MP_OK:
        return "success";
    case MP_EINVAL:
        return "invalid argument";
    case MP_ENOMEM:
        return "out of memory or address space";
    case MP_EOVERFLOW:
        return "size computation overflows size_t";
    case MP_EACCES:
        return "permission refused by the OS";
    case MP_ESTALE:
        return "stale handle";
    case MP_ENOTSUP:
        return "not supported on this platform or in this build";
    case MP_EOS:
        return "operating system error";
    }
    return "unknown status";
}

int mp_os_error(void) {
    return last_os_error;
}

mp_status mp__fail(mp_status s) {
    last_os_error = 0;
    return s;
}

mp_status mp__fail_os(mp_status s, int os_error) {
    last_os_error = os_error;
    return s;
}
