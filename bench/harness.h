/*
 * The benchmark harness shared by every benchmark program in bench/.
 *
 * A benchmark compares contenders (this library and what a user would pick
 * instead) in one process, timed in CPU time (mpb_clock_ns). Each round runs every contender once,
 * in an order that rotates from round to round, and the best (smallest) time of each contender over
 * all rounds is kept; results are reported as ratios of those best times, because the machines are
 * shared and noisy and only ratios measured side by side mean anything. Nothing here asserts a
 * time: a benchmark fails only when a contender computes a wrong result or cannot get its memory.
 *
 * Every result is printed as a line on stdout and, with --tsv FILE, appended
 * to FILE as tab-separated fields that bench/plot.py reads:
 *     kind  workload  subject  baseline  value  unit  goal  verdict
 * kind is "measure" (an absolute figure of one contender: baseline, goal and
 * verdict are "-") or "ratio" (subject / baseline, unit "x", goal the most
 * the ratio may be, or "-" for figures that are only reported; verdict
 * "met", "missed", "report", or "tiny" when the run used tiny sizes and
 * proves only that the benchmark works).
 */
#ifndef MEMORY_PAGES_BENCH_HARNESS_H
#define MEMORY_PAGES_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most figures one run of a contender may time (see mpb_interleave). */
#define MPB_MAX_METRICS 4

/* How a benchmark program was asked to run. */
typedef struct mpb_opts {
    bool tiny;        /* tiny sizes, one round: proves the benchmark works in seconds */
    int rounds;       /* rounds of every contender; the best of them counts */
    FILE *tsv;        /* where results are appended, or NULL */
    const char *only; /* comma-separated workloads to run, or NULL for all */
} mpb_opts;

/* Reads the command line of a benchmark program called name:
 *     [--tiny] [--rounds N] [--tsv FILE] [--only W[,W...]]
 * --only runs only the workloads named (by their numbers in
 * docs/benchmarks.md), for profiling one of them. The environment variable MP_BENCH_TINY=1 also
 * asks for tiny sizes. Returns 0 on success, or the exit status the program should return (2 for a
 * bad command line, after printing its usage to stderr). Prints a header line naming the program,
 * the mode and the page facts. */
int mpb_init(int argc, char **argv, const char *name, mpb_opts *opts);

/* Whether workload (its number, "1" to "9") was asked for. */
bool mpb_selected(const mpb_opts *opts, const char *workload);

/* Closes the results file and returns the program's exit status: 0, or 1
 * when any mpb_fail was reported. */
int mpb_finish(mpb_opts *opts);

/* Reports a failure (a wrong result, a refused allocation) on stderr, marks
 * the run failed, and returns false so callers can `return mpb_fail(...)`. */
bool mpb_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Returns the CPU time, user and system, that the calling thread has used,
 * in nanoseconds. Benchmarks time themselves with it rather than with a
 * wall clock: on a shared machine a wall clock also counts the time spent
 * waiting for a CPU while others work, which is not the cost of the code
 * under test. The kernel's work for the thread (page faults, system calls)
 * is counted. */
uint64_t mpb_clock_ns(void);

/* One run of contender c: it times its own work, so that set-up and
 * clean-up stay out of the figures, and stores up to MPB_MAX_METRICS times
 * in ns[]. Returns false (after mpb_fail) when the run went wrong. */
typedef bool (*mpb_run_fn)(void *ctx, size_t c, uint64_t *ns);

/* Runs contenders 0 .. n-1 for opts->rounds rounds, each round in an order
 * rotated by one from the last, and stores the best time of each metric in
 * best[c * MPB_MAX_METRICS + metric]. Metrics a run does not set count as
 * 0. Returns false as soon as a run fails. */
bool mpb_interleave(const mpb_opts *opts, size_t n, mpb_run_fn run, void *ctx, uint64_t *best);

/* The resident set of this process in KiB (VmRSS), or -1 if unknown. */
long mpb_rss_kib(void);

/* The peak resident set of this process in KiB (VmHWM), or -1 if unknown. */
long mpb_peak_rss_kib(void);

/* Resets the peak resident set to the current one (Linux's clear_refs), so
 * that mpb_peak_rss_kib() measures from now on. Returns false where that
 * is not possible; the peak then covers the whole process so far. */
bool mpb_reset_peak_rss(void);

/* Reports an absolute figure of one contender. */
void mpb_measure(const mpb_opts *opts, const char *workload, const char *subject, double value,
                 const char *unit);

/* Reports subject / baseline as a ratio, judged against goal: met when the
 * ratio is at most goal. A goal <= 0 means the ratio is only reported. */
void mpb_ratio(const mpb_opts *opts, const char *workload, const char *subject,
               const char *baseline, double ratio, double goal);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_BENCH_HARNESS_H */
