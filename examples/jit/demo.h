/*
 * jit_demo: compiles an arithmetic expression in x to machine code, runs it
 * over a range of inputs through a checked function reference, checks every
 * result against the interpreter, and compares their speed.
 *
 *   bazel run --config=exec //examples/jit:jit_demo -- "x*x - 3*x + 7" --from -1000000 --to 1000000
 *
 * Options: --from A and --to B (the inputs, A <= B, default -1000 and 1000),
 * --samples N (results to print, 0 to 1000, default 5), --rounds N (timing
 * rounds, of which the best counts, 1 to 1000, default 5), --mode
 * flip|dual|rwx (how the code becomes executable: rw then rx, a dual pair,
 * or rwx pages; by default the first of these that mp_jit_probe finds
 * working). A mode this build or process does not have falls back to the
 * interpreter, saying why.
 *
 * Where this process may not make code executable (mp_jit_probe says why),
 * it says so and runs the interpreter alone, as a program with a JIT should.
 */
#ifndef MEMORY_PAGES_EXAMPLES_JIT_DEMO_H
#define MEMORY_PAGES_EXAMPLES_JIT_DEMO_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the demo with the command line argv[1..argc-1], writing its report
 * to out and errors, one line each, to err. Returns the exit status: 0 when
 * every result matched the interpreter's, 1 on a mismatch or a failure, 2
 * for a bad command line or expression. */
int jit_demo_run(int argc, char **argv, FILE *out, FILE *err);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_EXAMPLES_JIT_DEMO_H */
