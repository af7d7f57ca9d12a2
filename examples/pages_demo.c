/*
 * A tour of memory_pages: makes pages, writes them, moves them through the
 * permission states, shows a consumed handle going stale, and shows the MMU
 * turning a write to read-only pages into a fault. It prints each step.
 *
 * Run: bazel run //examples:pages_demo (or tools/demo.sh).
 */
/* fork and waitpid are POSIX, which -std=c11 alone does not declare. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

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
    return 0;
}
