// The jit_demo command (demo.h): its report on a good expression, the
// one-line error that points at the column of a bad one, and its command
// line errors. Builds with allow_exec only.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#ifdef _WIN32
#include <windows.h>
#endif

#include "examples/jit/demo.h"
#include "memory_pages/memory_pages.h"

namespace {

/* A temporary file that goes away when closed. Windows' tmpfile() wants to
 * write in the root of the drive, so there it is made in the temporary
 * folder instead. */
FILE *TempFile() {
#ifdef _WIN32
    char dir[MAX_PATH], path[MAX_PATH];
    if (GetTempPathA(MAX_PATH, dir) == 0 || GetTempFileNameA(dir, "jit", 0, path) == 0) {
        return nullptr;
    }
    return std::fopen(path, "w+bTD"); /* T: keep in memory, D: delete on close */
#else
    return std::tmpfile();
#endif
}

struct Result {
    int status;
    std::string out, err;
};

std::string ReadAll(FILE *f) {
    std::string text;
    std::rewind(f);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        text.append(buf, n);
    std::fclose(f);
    return text;
}

/* Runs the demo with args (after the program name). */
Result RunDemo(std::vector<std::string> args) {
    args.insert(args.begin(), "jit_demo");
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(&a[0]);
    FILE *out = TempFile(), *err = TempFile();
    Result r{-1, "", ""};
    if (out == nullptr || err == nullptr) {
        ADD_FAILURE() << "no temporary file";
        return r;
    }
    r.status = jit_demo_run((int)argv.size(), argv.data(), out, err);
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
}

bool Has(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

TEST(Demo, ReportsResultsChecksAndSpeed) {
    Result r = RunDemo({"x*x - 3*x + 7", "--from", "-1000", "--to", "1000", "--rounds", "2"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_TRUE(Has(r.out, "inputs      x = -1000 to 1000 (2001 values)\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  f(-1000) = 1003007\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  f(0) = 7\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  f(500) = 248507\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  f(1000) = 997007\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "checked     all 2001 results equal the interpreter's\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "x the interpreter's speed\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  write, then flip to execute  works\n")) << r.out;
    const mp_os_caps *caps = mp_os_capabilities();
    EXPECT_TRUE(Has(r.out, "memory from this OS:\n  pages                        " +
                               std::to_string(caps->page_size) + " bytes, reserved in steps of " +
                               std::to_string(caps->granularity) + "\n"))
        << r.out;
    EXPECT_TRUE(Has(r.out, std::string("  seal against change          ") +
                               (caps->mseal ? "yes" : "no") + "\n"))
        << r.out;
}

// Without --mode the demo takes the first way the probe found working:
// flip, which every machine here allows in a build with allow_exec.
TEST(Demo, DefaultModeIsTheFirstThatWorks) {
    Result r = RunDemo({"x + 1", "--rounds", "1"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(Has(r.out, "of mp_pages_rx (--mode flip)\n")) << r.out;
    EXPECT_TRUE(Has(r.out, "  write here, run there (dual)")) << r.out;
}

// Each mode runs the code where the build has it, and falls back to the
// interpreter, saying why, where it does not.
TEST(Demo, EachMode) {
    struct Mode {
        const char *name, *pages;
        bool in_build;
    };
    const Mode modes[] = {{"flip", "mp_pages_rx", true},
                          {"dual", "mp_pages_dual", MP_HAVE_DUAL != 0},
                          {"rwx", "mp_pages_rwx", MP_HAVE_RWX != 0}};
    for (const Mode &m : modes) {
        Result r = RunDemo({"x*x - 3*x + 7", "--mode", m.name, "--rounds", "1"});
        EXPECT_EQ(r.status, 0) << m.name << ": " << r.err;
        if (m.in_build) {
            EXPECT_TRUE(Has(r.out, std::string("of ") + m.pages + " (--mode " + m.name + ")\n"))
                << r.out;
            EXPECT_TRUE(Has(r.out, "checked     all 2001 results equal the interpreter's\n"))
                << r.out;
        } else {
            EXPECT_TRUE(Has(r.out, std::string("code        none: ") + mp_status_str(MP_ENOTSUP) +
                                       "; falling back to the interpreter\n"))
                << m.name << ": " << r.out;
        }
    }
}

/* --many N: N variants in one code arena, half released and compiled again
 * into the freed space, every result checked, the released references
 * stale. */
TEST(Demo, ManyInOneArena) {
    std::vector<std::string> modes = {"flip"};
    if (MP_HAVE_DUAL) modes.push_back("dual");
    for (const std::string &m : modes) {
        Result r = RunDemo({"x*x - 3*x + 7", "--many", "1001", "--mode", m});
        EXPECT_EQ(r.status, 0) << m << ": " << r.err;
        EXPECT_TRUE(Has(r.out, "arena       1001 expressions (EXPRESSION + i) in one code arena, "
                               "mode " +
                                   m + "\n"))
            << r.out;
        EXPECT_TRUE(Has(r.out, "half released:         500 spans live")) << r.out;
        EXPECT_TRUE(Has(r.out, "compiled again:        1001 spans live")) << r.out;
        EXPECT_TRUE(Has(r.out, "  501 of 501 released references stale\n")) << r.out;
        EXPECT_TRUE(Has(r.out, "checked     all 1001 expressions at 16 inputs equal the "
                               "interpreter's\n"))
            << r.out;
    }
    EXPECT_EQ(RunDemo({"x", "--many", "0"}).status, 2);
    EXPECT_EQ(RunDemo({"x", "--many", "2", "--mode", "rwx"}).status, 2);
}

TEST(Demo, SingleInputAndNoSamples) {
    Result r = RunDemo({"x / 0 - -x", "--from", "-9223372036854775808", "--to",
                        "-9223372036854775808", "--samples", "0", "--rounds", "1"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(Has(r.out, "checked     all 1 results equal the interpreter's\n")) << r.out;
    EXPECT_FALSE(Has(r.out, "  f(")) << r.out;
}

TEST(Demo, BadExpressionIsOneLinePointingAtTheColumn) {
    Result r = RunDemo({"x*x - 3*x + )"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "jit_demo: error at column 13 of \"x*x - 3*x + )\": expected x, a number, "
                     "'-' or '(' but found ')'\n");

    r = RunDemo({"2 * y"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.err,
              "jit_demo: error at column 5 of \"2 * y\": unknown name 'y' (the variable is x)\n");
}

TEST(Demo, BadCommandLines) {
    const std::vector<std::vector<std::string>> cases = {
        {"x", "--from", "5", "--to", "1"},
        {"x", "--from", "abc"},
        {"x", "--to"},
        {"x", "--rounds", "0"},
        {"x", "--speed", "1"},
        {"x", "y"},
        {"x", "--from", "-9223372036854775808", "--to", "9223372036854775807"},
        {"x", "--mode", "jit"},
        {"x", "--mode"},
    };
    for (const auto &args : cases) {
        Result r = RunDemo(args);
        EXPECT_EQ(r.status, 2) << args[1];
        EXPECT_EQ(r.out, "");
        ASSERT_FALSE(r.err.empty());
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
        EXPECT_EQ(r.err.rfind("jit_demo: error: ", 0), 0u) << r.err;
    }
    Result none = RunDemo({});
    EXPECT_EQ(none.status, 2);
    EXPECT_TRUE(Has(none.err, "usage: jit_demo EXPRESSION")) << none.err;
    Result help = RunDemo({"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_TRUE(Has(help.out, "usage: jit_demo EXPRESSION")) << help.out;
}

} // namespace
