/* The command of jit_demo (demo.h). */
#define _POSIX_C_SOURCE 200809L  /* clock_gettime */
#define __USE_MINGW_ANSI_STDIO 1 /* %zu and %lld in MinGW's printf */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include "examples/jit/demo.h"
#include "examples/jit/expr.h"
#include "examples/jit/jit.h"

/* Inputs checked per run at most, so that a mistyped range cannot run for
 * hours. */
#define MAX_INPUTS 10000000000ull

/* The command line, and where the report goes. */
typedef struct options {
    const char *expr;
    int64_t from, to;
    long samples, rounds;
    const char *mode; /* --mode as given, or NULL: what mp_jit_probe found */
    long many;        /* --many N: N expressions in one code arena; 0 without */
    bool help;
    FILE *out, *err;
} options;

static void usage(FILE *f) {
    fprintf(f, "usage: jit_demo EXPRESSION [--from A] [--to B] [--samples N] [--rounds N]\n"
               "                [--mode flip|dual|rwx] [--many N]\n"
               "  EXPRESSION: + - * / ( ) unary minus, integer constants and the variable x,\n"
               "  e.g. \"x*x - 3*x + 7\"; 64-bit integers that wrap, x/0 is 0.\n"
               "  --mode: how the code becomes executable: flip (rw, then rx), dual (a\n"
               "  read-write and a read-execute view of one memory) or rwx; by default the\n"
               "  first of these that works here.\n"
               "  --many N: compiles N variants of the expression (EXPRESSION + i) into one\n"
               "  code arena (flip, or dual with --mode dual), releases half of them,\n"
               "  compiles that half again into the freed space, and checks every result.\n");
}

static bool parse_int(const char *text, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return false;
    *out = v;
    return true;
}

/* Parses the command line; prints one line and returns false when it is
 * wrong. */
static bool parse_options(int argc, char **argv, options *o) {
    FILE *err = o->err;
    o->expr = NULL;
    o->help = false;
    o->from = -1000;
    o->to = 1000;
    o->samples = 5;
    o->rounds = 5;
    o->mode = NULL;
    o->many = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
            return true;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->expr != NULL) {
                fprintf(err, "jit_demo: error: more than one expression: \"%s\"\n", a);
                return false;
            }
            o->expr = a;
            continue;
        }
        if (strcmp(a, "--mode") == 0) {
            if (i + 1 >= argc ||
                (strcmp(argv[i + 1], "flip") != 0 && strcmp(argv[i + 1], "dual") != 0 &&
                 strcmp(argv[i + 1], "rwx") != 0)) {
                fprintf(err, "jit_demo: error: --mode needs flip, dual or rwx\n");
                return false;
            }
            o->mode = argv[++i];
            continue;
        }
        int64_t v;
        if (i + 1 >= argc || !parse_int(argv[i + 1], &v)) {
            fprintf(err, "jit_demo: error: %s needs an integer\n", a);
            return false;
        }
        i++;
        if (strcmp(a, "--from") == 0) {
            o->from = v;
        } else if (strcmp(a, "--to") == 0) {
            o->to = v;
        } else if (strcmp(a, "--samples") == 0 && v >= 0 && v <= 1000) {
            o->samples = (long)v;
        } else if (strcmp(a, "--rounds") == 0 && v >= 1 && v <= 1000) {
            o->rounds = (long)v;
        } else if (strcmp(a, "--many") == 0 && v >= 1 && v <= 1000000) {
            o->many = (long)v;
        } else {
            fprintf(err, "jit_demo: error: unknown option or value out of range: %s %s\n", a,
                    argv[i]);
            return false;
        }
    }
    if (o->expr == NULL) {
        usage(err);
        return false;
    }
    if (o->from > o->to || (uint64_t)o->to - (uint64_t)o->from >= MAX_INPUTS) {
        fprintf(err, "jit_demo: error: need --from <= --to and at most %llu inputs\n", MAX_INPUTS);
        return false;
    }
    return true;
}

/* Seconds of CPU time of this thread, so that time the thread spends
 * descheduled on a busy machine does not count; on Windows, where thread
 * times tick every 15.6 ms, of the performance counter instead. */
static double now(void) {
#ifdef _WIN32
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

/* The ways of evaluating the expression that are timed. */
typedef enum way { BY_INTERPRETER, BY_JIT, BY_RAW_POINTER } way;

/* Evaluates the expression at every input of the range the given way and
 * returns the wrapping sum of the results (which the ways must agree on),
 * and the time it took in *seconds. Each way has a loop of its own, so that
 * the loops differ only in how they evaluate. */
static uint64_t run(way w, const jit_expr *e, const jit_code *code, const options *o,
                    double *seconds) {
    uint64_t sum = 0;
    double start = now();
    if (w == BY_INTERPRETER) {
        for (int64_t x = o->from;; x++) {
            sum += (uint64_t)jit_interpret(e, x);
            if (x == o->to) break;
        }
    } else if (w == BY_JIT) {
        for (int64_t x = o->from;; x++) {
            int64_t y = 0;
            (void)expr_fn_call(&code->fn, x, &y);
            sum += (uint64_t)y;
            if (x == o->to) break;
        }
    } else {
        /* The same code called through a plain function pointer, unchecked:
         * the baseline that shows what the reference's check costs. */
        int64_t (*raw)(int64_t) = (int64_t(*)(int64_t))(uintptr_t)code->entry;
        for (int64_t x = o->from;; x++) {
            sum += (uint64_t)raw(x);
            if (x == o->to) break;
        }
    }
    *seconds = now() - start;
    return sum;
}

/* Checks every input; prints the first mismatch. Returns the number of
 * mismatches, or -1 if a call failed. */
static long long check_all(const jit_expr *e, const jit_code *code, const options *o) {
    FILE *err = o->err;
    long long mismatches = 0;
    for (int64_t x = o->from;; x++) {
        int64_t y = 0;
        mp_status s = expr_fn_call(&code->fn, x, &y);
        if (s != MP_OK) {
            fprintf(err, "jit_demo: error: calling the code failed: %s\n", mp_status_str(s));
            return -1;
        }
        int64_t want = jit_interpret(e, x);
        if (y != want && mismatches++ == 0) {
            fprintf(err,
                    "jit_demo: MISMATCH at x = %" PRId64 ": JIT %" PRId64 ", interpreter %" PRId64
                    "\n",
                    x, y, want);
        }
        if (x == o->to) break;
    }
    return mismatches;
}

/* The i-th of n inputs spread evenly over the range, ends included. */
static int64_t sample_input(const options *o, long i, long n) {
    if (n <= 1) return o->from;
    uint64_t span = (uint64_t)o->to - (uint64_t)o->from;
    /* span * i / (n - 1) without overflow: span < 2^34 and i < 1000. */
    return (int64_t)((uint64_t)o->from + span / (uint64_t)(n - 1) * (uint64_t)i +
                     span % (uint64_t)(n - 1) * (uint64_t)i / (uint64_t)(n - 1));
}

/* Prints what mp_jit_probe found about one way. */
static void print_way(FILE *out, const char *name, const mp_jit_way *w) {
    if (w->works) {
        fprintf(out, "  %-28s works\n", name);
    } else {
        fprintf(out, "  %-28s no: %s", name, mp_status_str(w->status));
#ifdef _WIN32
        if (w->os_error != 0) fprintf(out, " (Windows error %d)", w->os_error);
#else
        if (w->os_error != 0) fprintf(out, " (%s)", strerror(w->os_error));
#endif
        fprintf(out, "\n");
    }
}

/* Prints what the OS offers the library (mp_os_caps). */
static void print_os_caps(FILE *out, const mp_os_caps *c) {
    fprintf(out, "memory from this OS:\n");
    fprintf(out, "  pages                        %zu bytes, reserved in steps of %zu\n",
            c->page_size, c->granularity);
    if (c->huge_page_size != 0) {
        fprintf(out, "  explicit huge pages          %zu bytes\n", c->huge_page_size);
    } else {
        fprintf(out, "  explicit huge pages          none\n");
    }
    const struct {
        const char *name;
        bool has;
    } facts[] = {
        {"transparent huge pages", c->thp},       {"pre-fault in one call", c->populate_write},
        {"leave out of core dumps", c->no_dump},  {"move pages without copying", c->remap},
        {"seal against change", c->mseal},        {"place without replacing", c->fixed_noreplace},
        {"sync every core's code", c->sync_core},
    };
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        fprintf(out, "  %-28s %s\n", facts[i].name, facts[i].has ? "yes" : "no");
    }
}

/* Times the ways given, best of o->rounds each; returns false (after saying
 * so) if their results disagree. */
static bool time_ways(const way *ways, int n, const jit_expr *e, const jit_code *code,
                      const options *o, double *best) {
    FILE *err = o->err;
    uint64_t sums[3];
    for (int k = 0; k < n; k++)
        best[k] = 1e300;
    for (long r = 0; r < o->rounds; r++) {
        for (int k = 0; k < n; k++) {
            double t;
            sums[k] = run(ways[k], e, code, o, &t);
            if (t < best[k]) best[k] = t;
        }
        for (int k = 1; k < n; k++) {
            if (sums[k] != sums[0]) {
                fprintf(err, "jit_demo: MISMATCH: the timed runs disagree\n");
                return false;
            }
        }
    }
    return true;
}

/* The page type that holds the code in each mode. */
static const char *const mode_pages[] = {"mp_pages_rx", "mp_pages_dual", "mp_pages_rwx"};

/* Picks the mode: the one named (NULL: the first that the probe found
 * working, in the order of how much they protect: flip, dual, rwx, else
 * flip). Returns what the probe found about it. */
static const mp_jit_way *choose_mode(const mp_jit_caps *caps, const char *name, jit_mode *mode) {
    const mp_jit_way *ways[] = {&caps->write_then_exec, &caps->dual_mapping, &caps->write_and_exec};
    const jit_mode modes[] = {JIT_MODE_FLIP, JIT_MODE_DUAL, JIT_MODE_RWX};
    for (int k = 0; k < 3; k++) {
        bool named = name != NULL && strcmp(name, jit_mode_name(modes[k])) == 0;
        if (named || (name == NULL && ways[k]->works)) {
            *mode = modes[k];
            return ways[k];
        }
    }
    *mode = JIT_MODE_FLIP;
    return ways[0];
}

/* The bytes of the pages that hold the code. */
static size_t pages_len(const jit_code *code) {
    switch (code->mode) {
#if MP_HAVE_DUAL
    case JIT_MODE_DUAL:
        return mp_pages_dual_len(&code->dual);
#endif
#if MP_HAVE_RWX
    case JIT_MODE_RWX:
        return mp_pages_rwx_len(&code->rwx);
#endif
    default:
        return mp_pages_rx_len(&code->pages);
    }
}

/* ---- --many N: one code arena (issue 15) ---- */

/* Parses variant k of the expression, "(EXPRESSION) + k", into *e. */
static bool parse_variant(const char *expr, long k, jit_expr *e) {
    size_t len = strlen(expr) + 32;
    char *text = malloc(len);
    if (text == NULL) return false;
    snprintf(text, len, "(%s) + %ld", expr, k);
    jit_error perr;
    bool ok = jit_parse(text, e, &perr);
    free(text);
    return ok;
}

static void print_stats(FILE *out, const char *when, const mp_code_arena *a) {
    mp_code_stats st;
    if (mp_code_arena_stats(a, &st) != MP_OK) return;
    fprintf(out,
            "  %-22s %zu spans live, %zu bytes used, %zu committed, %zu free (largest %zu), "
            "%zu mappings\n",
            when, st.spans_live, st.used, st.committed, st.free_bytes, st.largest_free,
            st.mappings);
}

/* Compiles variant k[i] into span i for each i with i % step == first, then
 * finalizes and makes the references. */
static mp_status compile_variants(const options *o, mp_code_arena *a, jit_expr *e, const long *k,
                                  long first, long step, mp_code_span *spans, expr_fn *fns,
                                  size_t *bytes) {
    mp_status s = MP_OK;
    for (long i = first; s == MP_OK && i < o->many; i += step) {
        size_t size = 0;
        s = parse_variant(o->expr, k[i], e) ? jit_compile_span(e, a, &spans[i], &size) : MP_EINVAL;
        *bytes += size;
    }
    if (s == MP_OK) s = mp_code_arena_finalize(a);
    for (long i = first; s == MP_OK && i < o->many; i += step)
        s = expr_fn_from_span(&spans[i], 0, &fns[i]);
    return s;
}

/* Checks every variant at up to 16 inputs of the range against the
 * interpreter; returns the mismatches, or -1 when a call failed. */
static long long check_variants(const options *o, jit_expr *e, const long *k, const expr_fn *fns) {
    long long mismatches = 0;
    for (long i = 0; i < o->many; i++) {
        if (!parse_variant(o->expr, k[i], e)) return -1;
        for (long j = 0; j < 16; j++) {
            int64_t x = sample_input(o, j, 16), y = 0;
            if (expr_fn_call(&fns[i], x, &y) != MP_OK) return -1;
            if (y != jit_interpret(e, x)) mismatches++;
        }
    }
    return mismatches;
}

static int run_many(const options *o, jit_mode mode, FILE *out, FILE *err) {
    long n = o->many;
    mp_code_arena_opts ao = {0};
    ao.mode = mode == JIT_MODE_DUAL ? MP_CODE_DUAL : MP_CODE_FLIP;
    mp_code_arena a;
    mp_status s = mp_code_arena_new(&ao, &a);
    if (s != MP_OK) {
        fprintf(err, "jit_demo: error: mp_code_arena_new: %s\n", mp_status_str(s));
        return 1;
    }
    mp_code_span *spans = calloc((size_t)n, sizeof *spans);
    expr_fn *fns = calloc((size_t)n, sizeof *fns), *old = calloc((size_t)n, sizeof *old);
    long *k = calloc((size_t)n, sizeof *k);
    jit_expr *e = malloc(sizeof *e);
    int status = 1;
    size_t bytes = 0;
    if (spans == NULL || fns == NULL || old == NULL || k == NULL || e == NULL) {
        fprintf(err, "jit_demo: error: out of memory\n");
        goto done;
    }
    fprintf(out, "arena       %ld expressions (EXPRESSION + i) in one code arena, mode %s\n", n,
            ao.mode == MP_CODE_DUAL ? "dual" : "flip");
    for (long i = 0; i < n; i++)
        k[i] = i;
    if ((s = compile_variants(o, &a, e, k, 0, 1, spans, fns, &bytes)) != MP_OK) goto failed;
    fprintf(out, "  compiled %zu bytes of code\n", bytes);
    print_stats(out, "compiled:", &a);
    /* Release every other one, keeping its reference to show it stale. */
    for (long i = 0; i < n; i += 2) {
        old[i] = fns[i];
        if ((s = mp_code_arena_release(&a, &spans[i])) != MP_OK) goto failed;
    }
    print_stats(out, "half released:", &a);
    long stale = 0;
    for (long i = 0; i < n; i += 2)
        stale += !expr_fn_valid(&old[i]);
    for (long i = 0; i < n; i += 2)
        k[i] = n + i;
    bytes = 0;
    if ((s = compile_variants(o, &a, e, k, 0, 2, spans, fns, &bytes)) != MP_OK) goto failed;
    print_stats(out, "compiled again:", &a);
    fprintf(out, "  %ld of %ld released references stale\n", stale, (n + 1) / 2);
    long long mismatches = check_variants(o, e, k, fns);
    if (mismatches == 0 && stale == (n + 1) / 2) {
        fprintf(out, "checked     all %ld expressions at 16 inputs equal the interpreter's\n", n);
        status = 0;
    } else {
        fprintf(out, "checked     %lld results DIFFER from the interpreter's (-1: a call failed)\n",
                mismatches);
    }
    goto done;
failed:
    fprintf(err, "jit_demo: error: the code arena: %s\n", mp_status_str(s));
done:
    if (mp_code_arena_free(&a) != MP_OK) status = 1;
    free(e);
    free(k);
    free(old);
    free(fns);
    free(spans);
    return status;
}

int jit_demo_run(int argc, char **argv, FILE *out, FILE *err) {
    options o;
    o.out = out;
    o.err = err;
    if (!parse_options(argc, argv, &o)) return 2;
    if (o.help) {
        usage(out);
        return 0;
    }

    jit_expr *e = malloc(sizeof *e);
    if (e == NULL) {
        fprintf(err, "jit_demo: error: out of memory\n");
        return 1;
    }
    jit_error perr;
    if (!jit_parse(o.expr, e, &perr)) {
        fprintf(err, "jit_demo: error at column %zu of \"%s\": %s\n", perr.column, o.expr,
                perr.message);
        free(e);
        return 2;
    }
    const uint64_t inputs = (uint64_t)o.to - (uint64_t)o.from + 1;
    fprintf(out, "expression  %s\n", o.expr);
    fprintf(out, "inputs      x = %" PRId64 " to %" PRId64 " (%" PRIu64 " values)\n", o.from, o.to,
            inputs);

    mp_jit_caps caps;
    (void)mp_jit_probe(&caps);
    fprintf(out, "executable memory in this process:\n");
    print_way(out, "write, then flip to execute", &caps.write_then_exec);
    print_way(out, "write and execute at once", &caps.write_and_exec);
    print_way(out, "write here, run there (dual)", &caps.dual_mapping);
    print_os_caps(out, mp_os_capabilities());

    jit_mode mode;
    const mp_jit_way *chosen = choose_mode(&caps, o.mode, &mode);
    if (o.many > 0) {
        int many_status = jit_backend() == NULL || !chosen->works || mode == JIT_MODE_RWX
                              ? (fprintf(err, "jit_demo: error: --many needs a code generator and "
                                              "--mode flip or dual that works here\n"),
                                 2)
                              : run_many(&o, mode, out, err);
        free(e);
        return many_status;
    }
    jit_code code;
    mp_status s = chosen->works ? jit_compile_mode(e, mode, &code) : chosen->status;
    bool jit = s == MP_OK;
    if (jit) {
        fprintf(out, "code        %zu bytes of %s machine code in %zu bytes of %s (--mode %s)\n",
                code.size, jit_backend(), pages_len(&code), mode_pages[mode], jit_mode_name(mode));
    } else {
        fprintf(out, "code        none: %s; falling back to the interpreter\n",
                jit_backend() == NULL ? "no code generator for this machine" : mp_status_str(s));
    }

    fprintf(out, "samples\n");
    for (long i = 0; i < o.samples; i++) {
        int64_t x = sample_input(&o, i, o.samples), y = jit_interpret(e, x);
        if (jit && expr_fn_call(&code.fn, x, &y) != MP_OK) y = INT64_MIN;
        fprintf(out, "  f(%" PRId64 ") = %" PRId64 "\n", x, y);
    }

    int status = 0;
    if (jit) {
        long long mismatches = check_all(e, &code, &o);
        if (mismatches == 0) {
            fprintf(out, "checked     all %" PRIu64 " results equal the interpreter's\n", inputs);
        } else {
            fprintf(out, "checked     %lld of %" PRIu64 " results DIFFER from the interpreter's\n",
                    mismatches, inputs);
            status = 1;
        }
    }

    way ways[3] = {BY_INTERPRETER, BY_JIT, BY_RAW_POINTER};
    double best[3];
    if (status == 0 && time_ways(ways, jit ? 3 : 1, e, &code, &o, best)) {
        double per = 1e9 / (double)inputs;
        fprintf(out, "speed       best of %ld rounds, ns per evaluation:\n", o.rounds);
        fprintf(out, "  interpreter                  %8.2f\n", best[0] * per);
        if (jit) {
            fprintf(out, "  JIT, checked reference       %8.2f   %.1fx the interpreter's speed\n",
                    best[1] * per, best[0] / best[1]);
            fprintf(out,
                    "  JIT, raw function pointer    %8.2f   checked call takes %.2fx the time\n",
                    best[2] * per, best[1] / best[2]);
        }
    } else {
        status = 1;
    }

    if (jit && jit_free(&code) != MP_OK) status = 1;
    free(e);
    return status;
}
