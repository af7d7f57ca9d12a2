// The portable fault expectation of fault.h.
#include "tests/support/fault.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <csignal>
#include <sys/resource.h>
#include <sys/wait.h>
#endif

namespace mp_test {

uint8_t ReadByte(const void *p) {
    return *static_cast<const volatile uint8_t *>(p);
}

void WriteByte(void *p, uint8_t v) {
    *static_cast<volatile uint8_t *>(p) = v;
}

void PrepareForFault() {
#ifdef _WIN32
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
#else
    struct rlimit none = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &none);
#endif
}

bool IsAccessFault(int exit_status) {
#ifdef _WIN32
    return static_cast<unsigned long>(exit_status) == 0xC0000005ul;
#else
    return WIFSIGNALED(exit_status) &&
           (WTERMSIG(exit_status) == SIGSEGV || WTERMSIG(exit_status) == SIGBUS);
#endif
}

} // namespace mp_test
