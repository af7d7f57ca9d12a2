/*
 * The benchmark harness: command line, clock, interleaved rounds, resident
 * set sizes and result lines (bench/harness.h).
 */
#define _GNU_SOURCE /* clock_gettime and CLOCK_THREAD_CPUTIME_ID under -std=c11 */

#include "bench/harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory_pages/memory_pages.h"

static bool failed;

/* Prints the usage of program name to stderr and returns the exit status
 * of a bad command line. */
static int usage(const char *name) {
    fprintf(stderr, "usage: %s [--tiny] [--rounds N] [--tsv FILE] [--only W[,W...]]\n", name);
    return 2;
}

/* Returns the line of /sys/kernel/mm/transparent_hugepage/enabled without
 * its newline ("always [madvise] never"), or "unknown". */
static const char *thp_mode(char *buf, size_t size) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == NULL) return "unknown";
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (!ok) return "unknown";
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

int mpb_init(int argc, char **argv, const char *name, mpb_opts *opts) {
    const char *tiny_env = getenv("MP_BENCH_TINY");
    opts->tiny = tiny_env != NULL && strcmp(tiny_env, "1") == 0;
    opts->rounds = 0;
    opts->tsv = NULL;
    opts->only = NULL;
    const char *tsv_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tiny") == 0) {
            opts->tiny = true;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end != '\0' || r < 1 || r > 1000) return usage(name);
            opts->rounds = (int)r;
        } else if (strcmp(argv[i], "--tsv") == 0 && i + 1 < argc) {
            tsv_path = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            opts->only = argv[++i];
        } else {
            return usage(name);
        }
    }
    /* Five rounds are enough for the best time to settle on a quiet
     * machine; tiny runs only prove that the code works. */
    if (opts->rounds == 0) opts->rounds = opts->tiny ? 1 : 5;
    if (tsv_path != NULL && (opts->tsv = fopen(tsv_path, "a")) == NULL) {
        fprintf(stderr, "%s: cannot open %s for appending\n", name, tsv_path);
        return 1;
    }
    char thp[128];
    printf("%s: %s sizes, best of %d round%s, in CPU time; page %zu bytes; transparent huge pages: "
           "%s\n",
           name, opts->tiny ? "tiny" : "full", opts->rounds, opts->rounds == 1 ? "" : "s",
           mp_page_size(), thp_mode(thp, sizeof thp));
    fflush(stdout);
    return 0;
}

bool mpb_selected(const mpb_opts *opts, const char *workload) {
    if (opts->only == NULL) return true;
    size_t len = strlen(workload);
    for (const char *p = opts->only; *p != '\0'; p += strcspn(p, ",")) {
        p += strspn(p, ",");
        if (strncmp(p, workload, len) == 0 && (p[len] == ',' || p[len] == '\0')) return true;
    }
    return false;
}

int mpb_finish(mpb_opts *opts) {
    if (opts->tsv != NULL && fclose(opts->tsv) != 0) mpb_fail("cannot write the results file");
    opts->tsv = NULL;
    return failed ? 1 : 0;
}

bool mpb_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failed = true;
    return false;
}

uint64_t mpb_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool mpb_interleave(const mpb_opts *opts, size_t n, mpb_run_fn run, void *ctx, uint64_t *best) {
    for (size_t i = 0; i < n * MPB_MAX_METRICS; i++)
        best[i] = UINT64_MAX;
    for (int r = 0; r < opts->rounds; r++) {
        for (size_t k = 0; k < n; k++) {
            size_t c = (k + (size_t)r) % n;
            uint64_t ns[MPB_MAX_METRICS] = {0};
            if (!run(ctx, c, ns)) return false;
            for (size_t m = 0; m < MPB_MAX_METRICS; m++) {
                uint64_t *b = &best[c * MPB_MAX_METRICS + m];
                if (ns[m] < *b) *b = ns[m];
            }
        }
    }
    return true;
}

/* Returns the value in KiB of the field key ("VmRSS:") of
 * /proc/self/status, or -1. */
static long status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long kib = -1;
    size_t key_len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, key_len) == 0) {
            kib = strtol(line + key_len, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

long mpb_rss_kib(void) {
    return status_kib("VmRSS:");
}

long mpb_peak_rss_kib(void) {
    return status_kib("VmHWM:");
}

bool mpb_reset_peak_rss(void) {
    /* Writing 5 to clear_refs resets VmHWM to VmRSS (Linux 4.0 on). */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL) return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* Appends one result line to the results file, if there is one. */
static void tsv_row(const mpb_opts *opts, const char *kind, const char *workload,
                    const char *subject, const char *baseline, double value, const char *unit,
                    const char *goal, const char *verdict) {
    if (opts->tsv == NULL) return;
    fprintf(opts->tsv, "%s\t%s\t%s\t%s\t%.6g\t%s\t%s\t%s\n", kind, workload, subject, baseline,
            value, unit, goal, verdict);
    fflush(opts->tsv);
}

void mpb_measure(const mpb_opts *opts, const char *workload, const char *subject, double value,
                 const char *unit) {
    printf("  %-3s %-58s %12.3f %s\n", workload, subject, value, unit);
    fflush(stdout);
    tsv_row(opts, "measure", workload, subject, "-", value, unit, "-", "-");
}

void mpb_ratio(const mpb_opts *opts, const char *workload, const char *subject,
               const char *baseline, double ratio, double goal) {
    char goal_text[32] = "-";
    const char *verdict = "report";
    if (goal > 0) {
        /* Three significant digits: goals such as 1/420 must not print as 0.00. */
        snprintf(goal_text, sizeof goal_text, "%.3g", goal);
        verdict = opts->tiny ? "tiny" : ratio <= goal ? "met" : "missed";
    }
    char what[160];
    snprintf(what, sizeof what, "%s / %s", subject, baseline);
    printf("  %-3s %-58s %11.4gx  goal %-7s %s\n", workload, what, ratio,
           goal > 0 ? goal_text : "-", verdict);
    fflush(stdout);
    tsv_row(opts, "ratio", workload, subject, baseline, ratio, "x", goal_text, verdict);
}
