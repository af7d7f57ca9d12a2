// The promise of shared/API.md section 1 that no library function prints:
// this process's stdout and stderr (file descriptors 1 and 2) are sent to a
// temporary file around calls of the public functions with bad input (NULL,
// zero, stale handles, out-of-range offsets and indexes, sizes that
// overflow) and around calls that fail because the OS refused (sizes beyond
// the address space; ordinary sizes in a child process whose RLIMIT_AS
// leaves no room for them), and the file must stay empty. It covers page
// sets of every state of the build and every transition, vectors, and, in
// builds with allow_exec, function references.
//
// Each call's status is checked too, after the output is restored, so that
// a call that did not reach the failure it means to test (and so had
// nothing to print) fails the test rather than passing it.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "memory_pages/memory_pages.h"
#include "tests/internals/mappings.h"
#include "tests/reliability/vecs.h"
#include "tests/support/states.h"
#include "tests/support/vec_ops.h"
#if MP_HAVE_RX
#include "tests/fn_ref/test_code.h"
#include "tests/reliability/stress_fns.h"
#endif

namespace {

// Sends file descriptors 1 and 2 to a temporary file from Start to Stop,
// and returns what was written to them meanwhile. Both C streams are
// flushed at each end, so that text the library left in stdio's buffers is
// counted too.
class Capture {
  public:
    // Returns false, with the reason in *error, when the redirection could
    // not be set up.
    bool Start(std::string *error) {
        std::fflush(stdout);
        std::fflush(stderr);
        file_ = std::tmpfile();
        if (file_ == nullptr) return Fail("tmpfile", error);
        saved_out_ = dup(1);
        saved_err_ = dup(2);
        if (saved_out_ < 0 || saved_err_ < 0) return Fail("dup", error);
        if (dup2(fileno(file_), 1) < 0 || dup2(fileno(file_), 2) < 0) return Fail("dup2", error);
        return true;
    }

    // Restores fds 1 and 2 and returns everything written to them.
    std::string Stop() {
        std::fflush(stdout);
        std::fflush(stderr);
        if (saved_out_ >= 0) dup2(saved_out_, 1);
        if (saved_err_ >= 0) dup2(saved_err_, 2);
        std::string text;
        if (file_ != nullptr) {
            std::rewind(file_);
            char buf[4096];
            size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0)
                text.append(buf, n);
        }
        return text;
    }

    ~Capture() {
        if (saved_out_ >= 0) close(saved_out_);
        if (saved_err_ >= 0) close(saved_err_);
        if (file_ != nullptr) std::fclose(file_);
    }

  private:
    bool Fail(const char *call, std::string *error) {
        *error = std::string(call) + ": " + std::strerror(errno);
        return false;
    }

    FILE *file_ = nullptr;
    int saved_out_ = -1;
    int saved_err_ = -1;
};

// The answers of the calls made while the output is captured, checked once
// it is restored (a failed EXPECT prints, which would land in the capture).
class Answers {
  public:
    void Status(const std::string &call, mp_status got, mp_status want) {
        calls_++;
        if (got != want) {
            wrong_.push_back(call + ": " + mp_status_str(got) + ", want " + mp_status_str(want));
        }
    }
    void Holds(const std::string &what, bool holds) {
        calls_++;
        if (!holds) wrong_.push_back(what + " does not hold");
    }
    int calls() const {
        return calls_;
    }
    const std::vector<std::string> &wrong() const {
        return wrong_;
    }
    void Check() const {
        for (const std::string &w : wrong_)
            ADD_FAILURE() << w;
    }

  private:
    int calls_ = 0;
    std::vector<std::string> wrong_;
};

// Runs body with the output captured, then requires that nothing was
// written, that every answer was the expected one, and that at least
// min_calls calls were made.
template <class Body> void ExpectSilent(const std::string &what, int min_calls, Body body) {
    Answers answers;
    Capture capture;
    std::string error;
    const bool started = capture.Start(&error);
    if (started) body(&answers);
    const std::string text = capture.Stop();
    ASSERT_TRUE(started) << "cannot capture fds 1 and 2: " << error;
    EXPECT_EQ(text, "") << what << " wrote " << text.size() << " bytes to stdout or stderr";
    answers.Check();
    EXPECT_GE(answers.calls(), min_calls) << what << ": too few calls were made";
}

// The status with which the OS refuses a size beyond the address space:
// MP_ENOMEM, or MP_EOS under valgrind, whose address-space manager refuses
// it with EINVAL (tests/reliability/sweep.h).
mp_status Refusal() {
    return running_on_valgrind() ? MP_EOS : MP_ENOMEM;
}

// ---- Status and page facts ----

TEST(NeverPrints, StatusAndPageFacts) {
    ExpectSilent("mp_status_str, mp_os_error, page facts, mp_jit_probe", 9, [](Answers *a) {
        for (int v : {-1, 8, 100, INT_MAX, INT_MIN}) {
            a->Holds("mp_status_str(" + std::to_string(v) + ") is not NULL",
                     mp_status_str(static_cast<mp_status>(v)) != nullptr);
        }
        a->Holds("mp_os_error() is 0 before any failure", mp_os_error() == 0);
        a->Holds("mp_page_size() is not 0", mp_page_size() != 0);
        a->Holds("mp_alloc_granularity() is not 0", mp_alloc_granularity() != 0);
        a->Status("mp_jit_probe(NULL)", mp_jit_probe(nullptr), MP_EINVAL);
    });
}

// ---- Page sets of every state ----

template <class S> class NeverPrintsStates : public ::testing::Test {};
TYPED_TEST_SUITE(NeverPrintsStates, mp_test::AllStates, mp_test::StateName);

TYPED_TEST(NeverPrintsStates, BadInputAndRefusedSizes) {
    using S = TypeParam;
    using H = typename S::Handle;
    const size_t page = mp_page_size();
    // A live page set of two pages, a stale copy of a freed one, and a
    // zeroed handle.
    H live;
    ASSERT_EQ(S::New(2 * page, &live), MP_OK);
    H freed;
    ASSERT_EQ(S::New(page, &freed), MP_OK);
    const H stale_copy = freed;
    ASSERT_EQ(S::Free(&freed), MP_OK);

    ExpectSilent(std::string("mp_pages_") + S::kName + " functions", 20, [&](Answers *a) {
        H out;
        a->Status("new(0)", S::New(0, &out), MP_EINVAL);
        a->Status("new(1, NULL)", S::New(1, nullptr), MP_EINVAL);
        a->Status("new(SIZE_MAX)", S::New(SIZE_MAX, &out), MP_EOVERFLOW);
#if SIZE_MAX > 0xFFFFFFFFu
        a->Status("new(2^62), which the OS refuses", S::New(size_t{1} << 62, &out), Refusal());
#else
        a->Status("new(SIZE_MAX - page + 1), which the OS refuses",
                  S::New(SIZE_MAX - page + 1, &out), Refusal());
#endif
        mp_pages_opts opts = {};
        a->Status("new_opts(0, NULL)", S::NewOpts(0, nullptr, &out), MP_EINVAL);
        opts.guard_pages_before = SIZE_MAX;
        a->Status("new_opts(guard_pages_before SIZE_MAX)", S::NewOpts(1, &opts, &out),
                  MP_EOVERFLOW);
        opts = {};
        opts.huge = static_cast<mp_huge>(100);
        a->Status("new_opts(huge 100)", S::NewOpts(1, &opts, &out), MP_EINVAL);

        a->Holds("len(NULL) is 0", S::Len(nullptr) == 0);
        a->Status("free(NULL)", S::Free(nullptr), MP_EINVAL);
        a->Status("advise(NULL)", S::Advise(nullptr, 0, 1, MP_ADVICE_NORMAL), MP_EINVAL);
        for (H h : {stale_copy, H{}}) {
            a->Holds("len(stale) is 0", S::Len(&h) == 0);
            a->Status("advise(stale)", S::Advise(&h, 0, page, MP_ADVICE_NORMAL), MP_ESTALE);
            if constexpr (S::kReadable) a->Holds("data(stale) is NULL", S::Data(&h) == nullptr);
            if constexpr (S::kWritable) {
                a->Holds("data_mut(stale) is NULL", S::DataMut(&h) == nullptr);
            }
            a->Status("free(stale)", S::Free(&h), MP_ESTALE);
        }
        if constexpr (S::kReadable) a->Holds("data(NULL) is NULL", S::Data(nullptr) == nullptr);
        if constexpr (S::kWritable) {
            a->Holds("data_mut(NULL) is NULL", S::DataMut(nullptr) == nullptr);
        }
        a->Status("advise(len, 1)", S::Advise(&live, 2 * page, 1, MP_ADVICE_NORMAL), MP_EINVAL);
        a->Status("advise(1, SIZE_MAX)", S::Advise(&live, 1, SIZE_MAX, MP_ADVICE_NORMAL),
                  MP_EINVAL);
        a->Status("advise(advice 1000)", S::Advise(&live, 0, 1, static_cast<mp_advice>(1000)),
                  MP_EINVAL);
        if constexpr (std::is_same_v<S, mp_test::RwState>) {
            a->Status("discard(NULL)", mp_pages_rw_discard(nullptr, 0, 1), MP_EINVAL);
            a->Status("discard(0, 0)", mp_pages_rw_discard(&live, 0, 0), MP_EINVAL);
            a->Status("discard(len, 1)", mp_pages_rw_discard(&live, 2 * page, 1), MP_EINVAL);
            H h = stale_copy;
            a->Status("discard(stale)", mp_pages_rw_discard(&h, 0, page), MP_ESTALE);
        }
        a->Holds("the live page set is intact", S::Len(&live) == 2 * page);
    });
    EXPECT_EQ(S::Free(&live), MP_OK);
}

template <class T> class NeverPrintsTransitions : public ::testing::Test {};
TYPED_TEST_SUITE(NeverPrintsTransitions, mp_test::AllTransitions, mp_test::TransitionName);

TYPED_TEST(NeverPrintsTransitions, NullAndStaleHandles) {
    using T = TypeParam;
    using From = typename T::FromState;
    using To = typename T::ToState;
    typename From::Handle live, freed;
    ASSERT_EQ(From::New(mp_page_size(), &live), MP_OK);
    ASSERT_EQ(From::New(mp_page_size(), &freed), MP_OK);
    const typename From::Handle stale_copy = freed;
    ASSERT_EQ(From::Free(&freed), MP_OK);

    ExpectSilent(std::string("mp_pages_") + From::kName + "_into_" + To::kName, 5, [&](Answers *a) {
        typename To::Handle to;
        typename From::Handle h = stale_copy;
        typename From::Handle zeroed{};
        a->Status("into(NULL, to)", T::Into(nullptr, &to), MP_EINVAL);
        a->Status("into(live, NULL)", T::Into(&live, nullptr), MP_EINVAL);
        a->Status("into(stale copy)", T::Into(&h, &to), MP_ESTALE);
        a->Status("into(zeroed)", T::Into(&zeroed, &to), MP_ESTALE);
        a->Holds("the live page set is intact", From::Len(&live) == mp_page_size());
    });
    EXPECT_EQ(From::Free(&live), MP_OK);
}

// ---- Vectors ----

#define NEVER_PRINTS_VEC(V, T)                                                                     \
    struct V##_ops {                                                                               \
        MP_TEST_VEC_FUNCTIONS(V, T)                                                                \
        static constexpr const char *kName = #V;                                                   \
    };

NEVER_PRINTS_VEC(rel_u64, uint64_t)
NEVER_PRINTS_VEC(rel_odd, odd_elem)

#undef NEVER_PRINTS_VEC

struct VecName {
    template <class O> static std::string GetName(int) {
        return O::kName;
    }
};

template <class O> class NeverPrintsVec : public ::testing::Test {};
using Vecs = ::testing::Types<rel_u64_ops, rel_odd_ops>;
TYPED_TEST_SUITE(NeverPrintsVec, Vecs, VecName);

TYPED_TEST(NeverPrintsVec, BadInputAndRefusedSizes) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Elem x;
    std::memset(static_cast<void *>(&x), 7, sizeof x);
    // A live vector of 10 elements and a frozen vector.
    typename O::Vec live;
    ASSERT_EQ(O::New(&live), MP_OK);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(O::Push(&live, x), MP_OK);
    typename O::Vec to_freeze;
    ASSERT_EQ(O::New(&to_freeze), MP_OK);
    ASSERT_EQ(O::Push(&to_freeze, x), MP_OK);
    typename O::Frozen frozen;
    ASSERT_EQ(O::Freeze(&to_freeze, &frozen), MP_OK);

    ExpectSilent(std::string(O::kName) + " functions", 50, [&](Answers *a) {
        typename O::Vec v;
        typename O::Frozen f;
        Elem out;
        mp_vec_opts opts = {};
        // NULL handles and out-parameters.
        a->Status("new(NULL)", O::New(nullptr), MP_EINVAL);
        a->Status("with_capacity(8, NULL)", O::WithCapacity(8, nullptr), MP_EINVAL);
        a->Status("new_opts(opts, NULL)", O::NewOpts(&opts, nullptr), MP_EINVAL);
        a->Holds("len(NULL) is 0", O::Len(nullptr) == 0);
        a->Holds("capacity(NULL) is 0", O::Capacity(nullptr) == 0);
        a->Holds("data(NULL) is NULL", O::Data(nullptr) == nullptr);
        a->Holds("data_mut(NULL) is NULL", O::DataMut(nullptr) == nullptr);
        a->Holds("at(NULL, 0) is NULL", O::At(nullptr, 0) == nullptr);
        a->Holds("at_mut(NULL, 0) is NULL", O::AtMut(nullptr, 0) == nullptr);
        a->Status("push(NULL)", O::Push(nullptr, x), MP_EINVAL);
        a->Status("pop(NULL)", O::Pop(nullptr, &out), MP_EINVAL);
        a->Status("insert(NULL)", O::Insert(nullptr, 0, x), MP_EINVAL);
        a->Status("remove(NULL)", O::Remove(nullptr, 0, &out), MP_EINVAL);
        a->Status("swap_remove(NULL)", O::SwapRemove(nullptr, 0, &out), MP_EINVAL);
        a->Status("extend(NULL)", O::Extend(nullptr, &x, 1), MP_EINVAL);
        a->Status("resize(NULL)", O::Resize(nullptr, 1, x), MP_EINVAL);
        a->Status("truncate(NULL)", O::Truncate(nullptr, 0), MP_EINVAL);
        a->Status("clear(NULL)", O::Clear(nullptr), MP_EINVAL);
        a->Status("reserve(NULL)", O::Reserve(nullptr, 1), MP_EINVAL);
        a->Status("shrink_to_fit(NULL)", O::ShrinkToFit(nullptr), MP_EINVAL);
        a->Status("freeze(NULL, f)", O::Freeze(nullptr, &f), MP_EINVAL);
        a->Status("freeze(v, NULL)", O::Freeze(&live, nullptr), MP_EINVAL);
        a->Status("free(NULL)", O::Free(nullptr), MP_EINVAL);
        a->Status("extend(v, NULL, 1)", O::Extend(&live, nullptr, 1), MP_EINVAL);
        a->Holds("frozen_len(NULL) is 0", O::FrozenLen(nullptr) == 0);
        a->Holds("frozen_data(NULL) is NULL", O::FrozenData(nullptr) == nullptr);
        a->Holds("frozen_at(NULL, 0) is NULL", O::FrozenAt(nullptr, 0) == nullptr);
        a->Status("frozen_free(NULL)", O::FrozenFree(nullptr), MP_EINVAL);
        a->Status("frozen_thaw(NULL, v)", O::Thaw(nullptr, &v), MP_EINVAL);
        a->Status("frozen_thaw(f, NULL)", O::Thaw(&frozen, nullptr), MP_EINVAL);
        // Indexes out of range and sizes that overflow.
        for (size_t i : {size_t{11}, size_t{1000}, SIZE_MAX}) {
            a->Status("insert(" + std::to_string(i) + ")", O::Insert(&live, i, x), MP_EINVAL);
            a->Status("remove(" + std::to_string(i) + ")", O::Remove(&live, i, &out), MP_EINVAL);
            a->Status("swap_remove(" + std::to_string(i) + ")", O::SwapRemove(&live, i, &out),
                      MP_EINVAL);
            a->Status("truncate(" + std::to_string(i) + ")", O::Truncate(&live, i), MP_EINVAL);
            a->Holds("at(" + std::to_string(i) + ") is NULL", O::At(&live, i) == nullptr);
            a->Holds("frozen_at(" + std::to_string(i) + ") is NULL",
                     O::FrozenAt(&frozen, i) == nullptr);
        }
        a->Status("with_capacity(SIZE_MAX)", O::WithCapacity(SIZE_MAX, &v), MP_EOVERFLOW);
        a->Status("reserve(SIZE_MAX)", O::Reserve(&live, SIZE_MAX), MP_EOVERFLOW);
        a->Status("resize(SIZE_MAX)", O::Resize(&live, SIZE_MAX, x), MP_EOVERFLOW);
        opts.huge = static_cast<mp_huge>(100);
        a->Status("new_opts(huge 100)", O::NewOpts(&opts, &v), MP_EINVAL);
#if SIZE_MAX > 0xFFFFFFFFu
        // 2^62 bytes: no overflow, but beyond any 64-bit address space.
        a->Status("with_capacity(2^62 bytes), which the OS refuses",
                  O::WithCapacity((size_t{1} << 62) / sizeof(Elem), &v), Refusal());
        a->Status("reserve(2^62 bytes), which the OS refuses",
                  O::Reserve(&live, (size_t{1} << 62) / sizeof(Elem)), Refusal());
#endif
        a->Holds("the live vector is intact", O::Len(&live) == 10);
    });
    EXPECT_EQ(O::Free(&live), MP_OK);
    EXPECT_EQ(O::FrozenFree(&frozen), MP_OK);
}

// Stale copies of a vector and of a frozen vector through every function.
// They run in a child process, which shares the capture: a stale copy that
// reaches its old pages (read-only or unmapped by now) kills only the
// child, and this test says so, while the other tests of this binary still
// run. The child sends its wrong answers back through a pipe of its own
// (not fd 1 or 2), one a line.
TYPED_TEST(NeverPrintsVec, StaleCopies) {
    using O = TypeParam;
    using Elem = typename O::Elem;
    Elem x;
    std::memset(static_cast<void *>(&x), 7, sizeof x);
    typename O::Vec to_freeze;
    ASSERT_EQ(O::New(&to_freeze), MP_OK);
    ASSERT_EQ(O::Push(&to_freeze, x), MP_OK);
    const typename O::Vec stale_copy = to_freeze;
    typename O::Frozen frozen;
    ASSERT_EQ(O::Freeze(&to_freeze, &frozen), MP_OK);
    typename O::Vec thawed;
    const typename O::Frozen frozen_copy = frozen;
    ASSERT_EQ(O::Thaw(&frozen, &thawed), MP_OK);

    int status = -1;
    int answers[2];
    ASSERT_EQ(pipe(answers), 0);
    std::string wrong;
    ExpectSilent(std::string(O::kName) + " functions on stale copies", 0, [&](Answers *) {
        const pid_t pid = fork();
        if (pid == 0) {
            Answers child;
            Answers *a = &child;
            typename O::Vec v;
            typename O::Frozen f;
            Elem out;
            // A stale copy of a vector that was frozen, through every function.
            typename O::Vec s = stale_copy;
            a->Holds("len(stale) is 0", O::Len(&s) == 0);
            a->Holds("capacity(stale) is 0", O::Capacity(&s) == 0);
            a->Holds("data(stale) is NULL", O::Data(&s) == nullptr);
            a->Holds("data_mut(stale) is NULL", O::DataMut(&s) == nullptr);
            a->Holds("at(stale, 0) is NULL", O::At(&s, 0) == nullptr);
            a->Holds("at_mut(stale, 0) is NULL", O::AtMut(&s, 0) == nullptr);
            a->Status("push(stale)", O::Push(&s, x), MP_ESTALE);
            a->Status("pop(stale)", O::Pop(&s, &out), MP_ESTALE);
            a->Status("insert(stale)", O::Insert(&s, 0, x), MP_ESTALE);
            a->Status("remove(stale)", O::Remove(&s, 0, &out), MP_ESTALE);
            a->Status("swap_remove(stale)", O::SwapRemove(&s, 0, &out), MP_ESTALE);
            a->Status("extend(stale)", O::Extend(&s, &x, 1), MP_ESTALE);
            a->Status("resize(stale)", O::Resize(&s, 1, x), MP_ESTALE);
            a->Status("truncate(stale)", O::Truncate(&s, 0), MP_ESTALE);
            a->Status("clear(stale)", O::Clear(&s), MP_ESTALE);
            a->Status("reserve(stale)", O::Reserve(&s, 1), MP_ESTALE);
            a->Status("shrink_to_fit(stale)", O::ShrinkToFit(&s), MP_ESTALE);
            a->Status("freeze(stale)", O::Freeze(&s, &f), MP_ESTALE);
            a->Status("free(stale)", O::Free(&s), MP_ESTALE);
            // A stale copy of a frozen vector that was thawed.
            typename O::Frozen g = frozen_copy;
            a->Holds("frozen_len(stale) is 0", O::FrozenLen(&g) == 0);
            a->Holds("frozen_data(stale) is NULL", O::FrozenData(&g) == nullptr);
            a->Holds("frozen_at(stale, 0) is NULL", O::FrozenAt(&g, 0) == nullptr);
            a->Status("frozen_thaw(stale)", O::Thaw(&g, &v), MP_ESTALE);
            a->Status("frozen_free(stale)", O::FrozenFree(&g), MP_ESTALE);
            for (const std::string &w : child.wrong()) {
                const std::string line = w + "\n";
                if (write(answers[1], line.data(), line.size()) < 0) _exit(2);
            }
            _exit(child.calls() >= 24 ? 0 : 1);
        }
        close(answers[1]);
        char buf[4096];
        ssize_t n;
        while ((n = read(answers[0], buf, sizeof buf)) > 0)
            wrong.append(buf, static_cast<size_t>(n));
        close(answers[0]);
        if (pid > 0) waitpid(pid, &status, 0);
    });
    ASSERT_TRUE(WIFEXITED(status)) << "the child calling functions on stale copies "
                                   << (WIFSIGNALED(status) ? "was killed by signal " : "ended ")
                                   << (WIFSIGNALED(status) ? WTERMSIG(status) : status);
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: too few calls were made; 2: no pipe to report on";
    EXPECT_EQ(wrong, "") << "wrong answers for stale copies";
    EXPECT_EQ(O::Free(&thawed), MP_OK);
}

// ---- Function references (builds with allow_exec) ----

#if MP_HAVE_RX

TEST(NeverPrints, FunctionReferences) {
    const size_t page = mp_page_size();
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rx_new(page, &rx), MP_OK);
    mp_pages_rx moved = rx;
    mp_pages_rw rw;
    ASSERT_EQ(mp_pages_rx_into_rw(&moved, &rw), MP_OK);
    ASSERT_EQ(mp_pages_rw_into_rx(&rw, &moved), MP_OK);
    // rx is now a stale copy; moved owns the pages. A reference made from
    // moved goes stale when they move on.
    rel_const_fn gone;
    ASSERT_EQ(rel_const_fn_from(&moved, 0, &gone), MP_OK);
    ASSERT_EQ(mp_pages_rx_into_rw(&moved, &rw), MP_OK);

    ExpectSilent("rel_const_fn functions", 12, [&](Answers *a) {
        rel_const_fn f;
        int32_t ret = 0;
        int32_t (*raw)(void) = nullptr;
        a->Status("from(NULL)", rel_const_fn_from(nullptr, 0, &f), MP_EINVAL);
        a->Status("from(stale pages)", rel_const_fn_from(&rx, 0, &f), MP_ESTALE);
        mp_pages_rx zeroed_pages{};
        a->Status("from(zeroed pages)", rel_const_fn_from(&zeroed_pages, 0, &f), MP_ESTALE);
        a->Holds("valid(NULL) is false", !rel_const_fn_valid(nullptr));
        a->Holds("valid(stale) is false", !rel_const_fn_valid(&gone));
        const rel_const_fn zeroed{};
        a->Status("call(NULL)", rel_const_fn_call(nullptr, &ret), MP_EINVAL);
        a->Status("call(zeroed)", rel_const_fn_call(&zeroed, &ret), MP_ESTALE);
        a->Status("call(stale)", rel_const_fn_call(&gone, &ret), MP_ESTALE);
        a->Status("raw(NULL)", rel_const_fn_raw(nullptr, &raw), MP_EINVAL);
        a->Status("raw(zeroed)", rel_const_fn_raw(&zeroed, &raw), MP_ESTALE);
        a->Status("raw(stale)", rel_const_fn_raw(&gone, &raw), MP_ESTALE);
        a->Holds("no raw pointer was handed out", raw == nullptr);
    });
    EXPECT_EQ(mp_pages_rw_free(&rw), MP_OK);
}

TEST(NeverPrints, FunctionReferencesOffsetsOutOfRange) {
    const size_t page = mp_page_size();
    mp_pages_rx rx;
    ASSERT_EQ(mp_pages_rx_new(page, &rx), MP_OK);
    ExpectSilent("rel_const_fn_from out of range", 3, [&](Answers *a) {
        rel_const_fn f;
        for (size_t offset : {page, page + 1, SIZE_MAX}) {
            a->Status("from(rx, " + std::to_string(offset) + ")",
                      rel_const_fn_from(&rx, offset, &f), MP_EINVAL);
        }
    });
    EXPECT_EQ(mp_pages_rx_free(&rx), MP_OK);
}
#endif

// ---- The OS refusing ordinary sizes ----

// Bytes of address space this process has mapped, from /proc/self/status
// (VmSize), or 0 where that is not known.
size_t MappedBytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        size_t kb = 0;
        if (std::sscanf(line.c_str(), "VmSize: %zu kB", &kb) == 1) return kb * 1024;
    }
    return 0;
}

// A cap on the address space cannot work beside the shadow memory of
// AddressSanitizer and ThreadSanitizer (as in oom_test.cc).
bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

// A child process caps its address space at what it has mapped plus 64 MiB
// and asks for 256 MiB in page sets of every state and in vectors: the OS
// refuses each, and nothing is printed. The child returns the number of
// answers that were not MP_ENOMEM; its output goes to the capture, which
// it shares with this process.
TEST(NeverPrints, WhenTheOsRefusesAnOrdinarySize) {
    if (UnderSanitizer()) {
        GTEST_SKIP() << "a memory limit cannot be set beside the sanitizer's shadow memory";
    }
    if (running_on_valgrind()) {
        GTEST_SKIP() << "valgrind emulates RLIMIT_AS and manages the address space itself";
    }
    const char *emulator = std::getenv("MP_TEST_EMULATOR");
    if (emulator != nullptr && std::strcmp(emulator, "qemu-user") == 0) {
        GTEST_SKIP() << "qemu-user does not apply RLIMIT_AS to the guest";
    }
    const size_t mapped = MappedBytes();
    ASSERT_GT(mapped, 0u) << "no VmSize in /proc/self/status";
    const size_t want = size_t{256} << 20;
    const rlim_t cap = static_cast<rlim_t>(mapped + (size_t{64} << 20));

    int exit_code = -1;
    ExpectSilent("calls the OS refused under RLIMIT_AS", 0, [&](Answers *) {
        const pid_t pid = fork();
        if (pid == 0) {
            // The child: no allocation of its own, nothing that prints.
            struct rlimit limit = {cap, cap};
            if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(100);
            int wrong = 0;
            mp_pages_none none;
            mp_pages_r r;
            mp_pages_rw rw;
            wrong += mp_pages_none_new(want, &none) != MP_ENOMEM;
            wrong += mp_pages_r_new(want, &r) != MP_ENOMEM;
            wrong += mp_pages_rw_new(want, &rw) != MP_ENOMEM;
#if MP_HAVE_RX
            mp_pages_rx rx;
            wrong += mp_pages_rx_new(want, &rx) != MP_ENOMEM;
#endif
#if MP_HAVE_RWX
            mp_pages_rwx rwx;
            wrong += mp_pages_rwx_new(want, &rwx) != MP_ENOMEM;
#endif
            rel_u64 v;
            wrong += rel_u64_with_capacity(want / sizeof(uint64_t), &v) != MP_ENOMEM;
            rel_u64 grow;
            wrong += rel_u64_new(&grow) != MP_OK;
            wrong += rel_u64_reserve(&grow, want / sizeof(uint64_t)) != MP_ENOMEM;
            rel_odd odd;
            wrong += rel_odd_with_capacity(want / sizeof(odd_elem), &odd) != MP_ENOMEM;
            _exit(wrong);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
            exit_code = WEXITSTATUS(status);
        }
    });
    EXPECT_EQ(exit_code, 0) << "answers in the child that were not MP_ENOMEM (100: setrlimit "
                               "failed; -1: no child or it did not exit)";
}

} // namespace
