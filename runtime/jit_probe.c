/*
 * mp_jit_probe: finds out which ways of making code executable work in this
 * process, so that a program can fall back to an interpreter when none does.
 *
 * Each way is tried for real, through the same runtime calls a JIT makes,
 * so the answer includes everything that can refuse: the build's features,
 * SELinux's execmem, PaX MPROTECT, an OpenBSD-style W^X policy, macOS's
 * hardened runtime, Windows' arbitrary code guard. Where the probe knows the
 * machine code of the target, it writes a tiny function that returns a known
 * value and calls it; once the OS has granted execute permission, running a
 * `mov; ret` cannot fault, so the probe never crashes.
 */
#include <string.h>

#include "memory_pages/internal/dual.h"
#include "runtime/os.h"
#include "runtime/status.h"

/* The test function, returning PROBE_VALUE as an int, for the architectures
 * the probe knows. PROBE_CODE_SIZE is 0 where it knows none. */
#define PROBE_VALUE 42
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
/* mov eax, 42; ret */
static const unsigned char probe_code[] = {0xB8, PROBE_VALUE, 0x00, 0x00, 0x00, 0xC3};
#define PROBE_CODE_SIZE sizeof probe_code
#elif defined(__aarch64__) || defined(_M_ARM64)
/* movz w0, #42; ret (little-endian A64 words 0x52800540 and 0xd65f03c0) */
static const unsigned char probe_code[] = {0x40, 0x05, 0x80, 0x52, 0xC0, 0x03, 0x5F, 0xD6};
#define PROBE_CODE_SIZE sizeof probe_code
#else
static const unsigned char probe_code[1];
#define PROBE_CODE_SIZE 0
#endif

/* Records a failed step of a way in *way. */
static void refused(mp_jit_way *way, mp_status s) {
    way->works = false;
    way->status = s;
    way->os_error = mp_os_error();
}

/* Runs the test function at code, if there is one for this target, and
 * records the result in *way. */
static void run(const void *code, mp_jit_way *way) {
    if (PROBE_CODE_SIZE > 0) {
        int (*fn)(void) = (int (*)(void))(uintptr_t)code;
        if (fn() != PROBE_VALUE) {
            /* The OS granted execute permission but the code did not run as
             * written: report it rather than trust it. */
            way->works = false;
            way->status = MP_EOS;
            way->os_error = 0;
            return;
        }
    }
    way->works = true;
    way->status = MP_OK;
    way->os_error = 0;
}

/* Tries writing the test function into rw pages, moving them to rx and
 * running it. */
static void probe_write_then_exec(mp_jit_way *way) {
    mp__ref rw, rx;
    mp_status s = mp__pages_new(1, NULL, MP__PROT_READ | MP__PROT_WRITE, &rw);
    if (s != MP_OK) {
        refused(way, s);
        return;
    }
    memcpy(mp__pages_data(&rw, MP__PROT_READ | MP__PROT_WRITE), probe_code, PROBE_CODE_SIZE);
    s = mp__pages_into(&rw, MP__PROT_READ | MP__PROT_WRITE, MP__PROT_READ | MP__PROT_EXEC, &rx);
    if (s != MP_OK) {
        refused(way, s);
        (void)mp__pages_free(&rw, MP__PROT_READ | MP__PROT_WRITE);
        return;
    }
    run(mp__pages_data(&rx, MP__PROT_READ | MP__PROT_EXEC), way);
    (void)mp__pages_free(&rx, MP__PROT_READ | MP__PROT_EXEC);
}

/* Tries writing the test function into rwx pages and running it there. */
static void probe_write_and_exec(mp_jit_way *way) {
    const unsigned rwx = MP__PROT_READ | MP__PROT_WRITE | MP__PROT_EXEC;
    mp__ref ref;
    mp_status s = mp__pages_new(1, NULL, rwx, &ref);
    if (s != MP_OK) {
        refused(way, s);
        return;
    }
    unsigned char *data = mp__pages_data(&ref, rwx);
    memcpy(data, probe_code, PROBE_CODE_SIZE);
    /* Written after the pages became executable: the instruction cache must
     * be told, as a JIT writing into rwx pages must do too. */
    mp__os.flush_icache(data, mp__pages_len(&ref, rwx));
    run(data, way);
    (void)mp__pages_free(&ref, rwx);
}

/* Tries writing the test function through the read-write view of a dual
 * pair and running it from the read-execute view. */
static void probe_dual_mapping(mp_jit_way *way) {
    mp__ref pair;
    mp_status s = mp__dual_new(1, NULL, &pair);
    if (s != MP_OK) {
        refused(way, s);
        return;
    }
    memcpy(mp__dual_data_mut(&pair), probe_code, PROBE_CODE_SIZE);
    (void)mp__dual_sync(&pair, 0, mp__dual_len(&pair));
    run(mp__dual_code(&pair), way);
    (void)mp__dual_free(&pair);
}

mp_status mp_jit_probe(mp_jit_caps *out) {
    if (out == NULL) return mp__fail(MP_EINVAL);
    mp_jit_caps caps;
    probe_write_then_exec(&caps.write_then_exec);
    probe_write_and_exec(&caps.write_and_exec);
    probe_dual_mapping(&caps.dual_mapping);
    caps.ran_code = PROBE_CODE_SIZE > 0;
    *out = caps;
    return MP_OK;
}
