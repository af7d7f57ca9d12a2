// libFuzzer target for the generator, gen/mpgen.py, which is Python: the
// target embeds CPython, and fuzz/gen_fuzz_driver.py turns each input into a
// command line of the generator, runs it in-process and checks its contract
// (see that file). A broken contract is printed with the generator's
// traceback and aborts, which libFuzzer reports as a crash.
//
// libFuzzer cannot see Python's coverage by itself, so a trace function
// written here maps each pair of consecutive lines run in the generator's
// files (its modules and its compiled templates) to a counter of the
// __libfuzzer_extra_counters section; libFuzzer reads the counters after
// every input, beside those of its own instrumentation, and keeps the inputs
// that reach new pairs or new hit counts of a pair.
//
// Built and run by fuzz/run.sh, which defines GEN_FUZZ_ROOT, the root of the
// repository, for the driver's path.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef GEN_FUZZ_ROOT
#error "GEN_FUZZ_ROOT must name the root of the repository"
#endif

namespace {

// The Python coverage: one counter per (line, previous line) pair, hashed.
// 64 Ki counters keep collisions rare for the generator's few thousand
// pairs; libFuzzer clears and reads them all on every input.
constexpr size_t kEdges = 1 << 16;
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t python_edges[kEdges];

// The key of the line last traced, shifted as AFL does so that A then B and
// B then A are different pairs, and A then A is not the pair zero. Reset
// for every input, so that an input always gives the same pairs.
uint32_t previous_line;

// Path prefixes of the traced files, from the driver's setup().
std::vector<std::string> traced_prefixes;

// The index of the code objects' extra slot in which the trace function
// caches what it decided for each: kUntraced, or the traced file's key (odd).
Py_ssize_t code_slot = -1;
constexpr uintptr_t kUntraced = 2;

// The driver's functions, and the counts printed at exit.
PyObject *run_one, *cleanup;
unsigned long executions, accepted, refused, helped;

[[noreturn]] void Die(const char *what) {
    std::fprintf(stderr, "gen_fuzz: %s\n", what);
    if (PyErr_Occurred()) PyErr_Print();
    std::abort();
}

// FNV-1a, for keys that stay the same from run to run, unlike Python's
// string hash.
uint32_t Fnv1a(const void *bytes, size_t size, uint32_t h = 2166136261u) {
    const auto *text = static_cast<const uint8_t *>(bytes);
    for (size_t i = 0; i < size; i++)
        h = (h ^ text[i]) * 16777619u;
    return h;
}

// kUntraced, or the key of the file of code if it is one of the traced ones.
uintptr_t FileKey(PyCodeObject *code) {
    void *cached = nullptr;
    if (_PyCode_GetExtra(reinterpret_cast<PyObject *>(code), code_slot, &cached) == 0 &&
        cached != nullptr) {
        return reinterpret_cast<uintptr_t>(cached);
    }
    uintptr_t key = kUntraced;
    Py_ssize_t size = 0;
    const char *file = PyUnicode_AsUTF8AndSize(code->co_filename, &size);
    if (file == nullptr) {
        PyErr_Clear(); // a file name that is not UTF-8 is none of ours
    } else {
        for (const std::string &prefix : traced_prefixes) {
            if (static_cast<size_t>(size) >= prefix.size() &&
                std::memcmp(file, prefix.data(), prefix.size()) == 0) {
                key = Fnv1a(file, static_cast<size_t>(size)) | 1;
                break;
            }
        }
    }
    _PyCode_SetExtra(reinterpret_cast<PyObject *>(code), code_slot, reinterpret_cast<void *>(key));
    return key;
}

// The trace function, the C form of what sys.settrace installs: called for
// every line event of every Python frame. In C, the lines of the code not
// traced (argparse, Jinja2 compiling a template) cost a C call each, not a
// Python one. Consecutive traced lines make a pair even across a call or a
// return, so calls are pairs too.
int Trace(PyObject *, PyFrameObject *frame, int what, PyObject *) {
    if (what != PyTrace_LINE) return 0;
    PyCodeObject *code = PyFrame_GetCode(frame);
    const uintptr_t file = FileKey(code);
    Py_DECREF(code);
    if (file == kUntraced) return 0;
    // The line's key: its file's key hashed from the line number.
    const uint32_t line =
        Fnv1a(&file, sizeof file, static_cast<uint32_t>(PyFrame_GetLineNumber(frame)));
    uint8_t &counter = python_edges[(line ^ previous_line) % kEdges];
    if (counter != UINT8_MAX) counter++;
    previous_line = line >> 1;
    return 0;
}

void AtExit() {
    std::printf("gen_fuzz: %lu inputs, %lu accepted (each run twice, same bytes), %lu refused "
                "with one line, %lu --help\n",
                executions, accepted, refused, helped);
    PyObject *done = PyObject_CallNoArgs(cleanup);
    if (done == nullptr) Die("the driver's cleanup failed");
    Py_DECREF(done);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    // No signal handlers: libFuzzer's own handle SIGINT, SIGALRM and the
    // crashes.
    Py_InitializeEx(0);
    // The fuzzer writes nowhere but in its scratch folder, not even the
    // bytecode caches of the modules it imports.
    if (PySys_SetObject("dont_write_bytecode", Py_True) != 0)
        Die("cannot set sys.dont_write_bytecode");
    PyObject *sys_path = PySys_GetObject("path"); // borrowed
    PyObject *fuzz_dir = PyUnicode_FromString(GEN_FUZZ_ROOT "/fuzz");
    if (sys_path == nullptr || fuzz_dir == nullptr || PyList_Insert(sys_path, 0, fuzz_dir) != 0) {
        Die("cannot put fuzz/ on sys.path");
    }
    Py_DECREF(fuzz_dir);
    PyObject *driver = PyImport_ImportModule("gen_fuzz_driver");
    if (driver == nullptr) Die("cannot import fuzz/gen_fuzz_driver.py");
    run_one = PyObject_GetAttrString(driver, "run_one");
    cleanup = PyObject_GetAttrString(driver, "cleanup");
    PyObject *prefixes = PyObject_CallMethod(driver, "setup", nullptr);
    if (run_one == nullptr || cleanup == nullptr || prefixes == nullptr) Die("driver setup failed");
    Py_DECREF(driver);
    for (Py_ssize_t i = 0; i < PyTuple_Size(prefixes); i++) {
        const char *prefix = PyUnicode_AsUTF8(PyTuple_GetItem(prefixes, i));
        if (prefix == nullptr) Die("the driver's setup() did not return strings");
        traced_prefixes.emplace_back(prefix);
    }
    Py_DECREF(prefixes);
    code_slot = _PyEval_RequestCodeExtraIndex(nullptr);
    if (code_slot < 0) Die("no extra slot in code objects for the trace function");
    PyEval_SetTrace(Trace, nullptr);
    std::atexit(AtExit);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    executions++;
    previous_line = 0;
    PyObject *bytes = PyBytes_FromStringAndSize(reinterpret_cast<const char *>(data),
                                                static_cast<Py_ssize_t>(size));
    if (bytes == nullptr) Die("cannot make the input a bytes object");
    PyObject *verdict = PyObject_CallOneArg(run_one, bytes);
    Py_DECREF(bytes);
    if (verdict == nullptr) Die("the generator broke its contract:");
    if (PyUnicode_CompareWithASCIIString(verdict, "accepted") == 0) {
        accepted++;
    } else if (PyUnicode_CompareWithASCIIString(verdict, "refused") == 0) {
        refused++;
    } else {
        helped++;
    }
    Py_DECREF(verdict);
    return 0;
}
