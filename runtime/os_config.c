/*
 * What the OS offers (mp_os_caps), learnt once when the library is loaded.
 *
 * The probes run in a constructor of the lowest priority a program may use,
 * so they finish before any other constructor of the program, before main,
 * and before any test replaces an entry of the system-call tables. Every
 * object file that reads mp__os_cfg pulls this one into the link, and with
 * it the constructor.
 */
#include "runtime/os.h"

mp_os_caps mp__os_cfg;

__attribute__((constructor(101))) static void probe_at_load(void) {
    mp__os_probe(&mp__os_cfg);
}

const mp_os_caps *mp_os_capabilities(void) {
    return &mp__os_cfg;
}
