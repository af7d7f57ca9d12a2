/*
 * A tour of memory_pages: makes pages, writes them, moves them through the
 * permission states, shows a consumed handle going stale, and shows the MMU
 * turning a write to read-only pages into a fault. It prints each step.
 * Last, a SIGSEGV handler asks mp_query what each faulting address hit: a
 * guard page, a frozen vector's element, pages with no access.
 *
 * Run: bazel run //examples:pages_demo (or tools/demo.sh).
 */
/* fork, waitpid and sigaction are POSIX, which -std=c11 alone does not
 * declare. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "examples/pages_demo_vecs.h"
#include "memory_pages/memory_pages.h"

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#define HAVE_FORK 1
#endif

/* Prints what a call returned and returns whether it was MP_OK. */
static int report(const char *what, mp_status s) {
    printf("  %-44s -> %s\n", what, mp_status_str(s));
    return s == MP_OK;
}

#ifdef HAVE_FORK
/* Writes to read-only pages in a child process, so the fault the MMU raises
 * ends the child instead of the demo, and says how the child ended. */
static void show_fault(const mp_pages_r *r) {
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("  (fork failed: not showing the fault)\n");
        return;
    }
    if (child == 0) {
        /* A raw pointer can still try to write: the type system cannot stop
         * a cast, but the page protection can. */
        volatile uint8_t *bytes = (volatile uint8_t *)mp_pages_r_data(r);
        bytes[0] = 'X';
        _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child) {
        printf("  (waitpid failed)\n");
    } else if (WIFSIGNALED(status)) {
        printf("  a write through a cast pointer was stopped by signal %d (%s)\n", WTERMSIG(status),
               WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "not SIGSEGV");
    } else {
        printf("  the write was NOT stopped: the child exited with %d\n", WEXITSTATUS(status));
    }
}
#endif

#ifdef HAVE_FORK
/* ---- What did a fault hit? (mp_query in a SIGSEGV handler) ----
 *
 * The handler may only call async-signal-safe functions: mp_query is one,
 * printf is not, so the message is built by hand into a static buffer and
 * written with write(2). */

static char msg[256];
static size_t msg_len;

static void put_str(const char *s) {
    while (*s != '\0' && msg_len < sizeof msg)
        msg[msg_len++] = *s++;
}

static void put_num(uintptr_t v, unsigned base) {
    char digits[2 * sizeof v + 1];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    if (base == 16) put_str("0x");
    while (n > 0 && msg_len < sizeof msg)
        msg[msg_len++] = digits[--n];
}

static const char *kind_name(mp_kind kind) {
    switch (kind) {
    case MP_KIND_PAGES:
        return "page set";
    case MP_KIND_VEC:
        return "vector";
    case MP_KIND_FROZEN_VEC:
        return "frozen vector";
    case MP_KIND_DUAL:
        return "dual mapping";
    case MP_KIND_CODE_ARENA:
        return "code arena";
    }
    return "object";
}

/* Says what the faulting address hit, in one line, and ends the child. The
 * demo's only vector type holds uint32_t, so an offset is an element index
 * of that size. A fault on data the object may read can only be a write
 * (this demo runs no code in its pages). */
static void on_fault(int sig, siginfo_t *si, void *context) {
    (void)sig, (void)context;
    mp_page_info info;
    const uintptr_t at = (uintptr_t)si->si_addr;
    msg_len = 0;
    put_str("  the handler says: SIGSEGV at ");
    put_num(at, 16);
    put_str(": ");
    if (mp_query(si->si_addr, &info) != MP_OK) {
        put_str("not memory of this library");
    } else if (info.guard) {
        const uintptr_t base = (uintptr_t)info.base, end = base + info.len;
        bool vec = info.kind == MP_KIND_VEC || info.kind == MP_KIND_FROZEN_VEC;
        put_str(at < base ? "guard page before "
                : vec     ? "reservation or guard after "
                          : "guard page after ");
        put_str(kind_name(info.kind));
        put_str(" at ");
        put_num(base, 16);
        put_str(", ");
        uintptr_t bytes = at < base ? base - at : at - end + 1;
        put_num(bytes, 10);
        put_str(bytes == 1 ? " byte" : " bytes");
        put_str(at < base ? " before its start" : " past its end");
    } else {
        put_str((info.access & MP_ACCESS_READ) ? "write to " : "access to ");
        put_str(kind_name(info.kind));
        if (info.kind == MP_KIND_VEC || info.kind == MP_KIND_FROZEN_VEC) {
            put_str(" at element ");
            put_num(info.offset / sizeof(uint32_t), 10);
        } else {
            put_str(info.access == 0 ? " with no access" : "");
            put_str(" at offset ");
            put_num(info.offset, 10);
        }
    }
    put_str("\n");
    (void)!write(STDOUT_FILENO, msg, msg_len);
    _exit(3);
}

/* Runs touch(arg) in a child process whose SIGSEGV handler names what the
 * fault hit, and waits for it. */
static void name_fault(const char *what, void (*touch)(void *), void *arg) {
    printf("  %s\n", what);
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        printf("  (fork failed: not showing the fault)\n");
        return;
    }
    if (child == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        touch(arg);
        _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 3)
        printf("  (the child did not end in the handler)\n");
}

static void write_byte(void *p) {
    *(volatile uint8_t *)p = 1;
}

static void read_byte(void *p) {
    (void)*(volatile uint8_t *)p;
}

static void write_u32(void *p) {
    *(volatile uint32_t *)p = 99;
}

static void show_query(void) {
    printf("\n7. Ask, in a SIGSEGV handler, what each faulting address hit (mp_query).\n");
    size_t page = mp_page_size();
    mp_pages_opts opts = {.guard_pages_before = 1, .guard_pages_after = 1};
    mp_pages_rw rw;
    if (!report("mp_pages_rw_new_opts(100, guards)", mp_pages_rw_new_opts(100, &opts, &rw))) return;
    uint8_t *bytes = mp_pages_rw_data_mut(&rw);
    name_fault("write 16 bytes past the end of a page set:", write_byte, bytes + page + 15);
    name_fault("read 1 byte before its start:", read_byte, bytes - 1);

    u32_vec v;
    if (!report("u32_vec_new(&v)", u32_vec_new(&v))) return;
    for (uint32_t i = 0; i < 20; i++)
        (void)u32_vec_push(&v, i);
    uint32_t *elems = u32_vec_data_mut(&v);
    u32_vec_frozen f;
    if (report("u32_vec_freeze(&v, &f) of 20 elements", u32_vec_freeze(&v, &f))) {
        name_fault("write element 12 of the frozen vector through an old pointer:", write_u32,
                   elems + 12);
        (void)u32_vec_frozen_free(&f);
    } else {
        (void)u32_vec_free(&v);
    }

    mp_pages_none none;
    if (report("mp_pages_rw_into_none(&rw, &none)", mp_pages_rw_into_none(&rw, &none))) {
        name_fault("read offset 40 of the pages with no access:", read_byte, bytes + 40);
        (void)mp_pages_none_free(&none);
    }
    name_fault("write through a pointer near NULL:", write_byte, (void *)(uintptr_t)16);
}
#endif

int main(void) {
    printf("page size: %zu bytes, allocation granularity: %zu bytes\n", mp_page_size(),
           mp_alloc_granularity());
    printf("features: allow_exec=%d deny_xw=%d (mp_pages_rx %s, mp_pages_rwx %s)\n", MP_ALLOW_EXEC,
           MP_DENY_XW, MP_HAVE_RX ? "exists" : "does not exist",
           MP_HAVE_RWX ? "exists" : "does not exist");

    printf("\n1. Ask for 100 bytes of read-write pages, with a guard page on each side.\n");
    mp_pages_opts opts = {.guard_pages_before = 1, .guard_pages_after = 1};
    mp_pages_rw rw;
    if (!report("mp_pages_rw_new_opts(100, guards)", mp_pages_rw_new_opts(100, &opts, &rw))) {
        return 1;
    }
    printf("  the length is rounded up to whole pages: %zu bytes\n", mp_pages_rw_len(&rw));
    strcpy((char *)mp_pages_rw_data_mut(&rw), "hello from a page");
    printf("  wrote \"%s\"\n", (const char *)mp_pages_rw_data(&rw));

    printf("\n2. Make them read-only. The rw handle, and every copy of it, is now stale.\n");
    mp_pages_rw copy = rw;
    mp_pages_r r;
    if (!report("mp_pages_rw_into_r(&rw, &r)", mp_pages_rw_into_r(&rw, &r))) return 1;
    printf("  read back \"%s\"\n", (const char *)mp_pages_r_data(&r));
    printf("  mp_pages_rw_data(&copy) is %s\n", mp_pages_rw_data(&copy) ? "not NULL" : "NULL");
    printf("  mp_pages_rw_len(&rw) is %zu\n", mp_pages_rw_len(&rw));
    report("mp_pages_rw_free(&copy)", mp_pages_rw_free(&copy));
    report("mp_pages_rw_into_r(&copy, &r) again", mp_pages_rw_into_r(&copy, &r));

#ifdef HAVE_FORK
    printf("\n3. Write to the read-only pages anyway, in a child process.\n");
    show_fault(&r);
#endif

    printf("\n4. Take all access away, then give reading and writing back.\n");
    mp_pages_none none;
    if (!report("mp_pages_r_into_none(&r, &none)", mp_pages_r_into_none(&r, &none))) return 1;
    mp_pages_rw back;
    if (!report("mp_pages_none_into_rw(&none, &back)", mp_pages_none_into_rw(&none, &back))) {
        return 1;
    }
    printf("  the contents survived: \"%s\"\n", (const char *)mp_pages_rw_data(&back));

    printf("\n5. Bad input gets a status, never a crash.\n");
    mp_pages_rw unused;
    report("mp_pages_rw_new(0, &unused)", mp_pages_rw_new(0, &unused));
    report("mp_pages_rw_new(SIZE_MAX, &unused)", mp_pages_rw_new(SIZE_MAX, &unused));
    report("mp_pages_rw_advise(&back, len, 1, ...)",
           mp_pages_rw_advise(&back, mp_pages_rw_len(&back), 1, MP_ADVICE_NORMAL));

    printf("\n6. Give the pages back; a second free is reported.\n");
    report("mp_pages_rw_free(&back)", mp_pages_rw_free(&back));
    report("mp_pages_rw_free(&back) again", mp_pages_rw_free(&back));
#ifdef HAVE_FORK
    show_query();
#endif
    return 0;
}
