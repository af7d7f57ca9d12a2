/* The jit_demo program: see demo.h. */
#include <stdio.h>

#include "examples/jit/demo.h"

int main(int argc, char **argv) {
    return jit_demo_run(argc, argv, stdout, stderr);
}
