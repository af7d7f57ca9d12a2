"""Compiler options for the project's own C and C++ code."""

C_OPTS = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
]

CXX_OPTS = [
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
]
