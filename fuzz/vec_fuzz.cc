// libFuzzer target: drives a PagedVec with a sequence of operations decoded
// from the input and checks it against a model (std::vector) after every
// one. The input also picks OS calls to fail (through the fault-injection
// table of tests/internals), so the failure paths run inside random
// sequences too: a call that fails must leave the vector exactly as the
// model says it was.
//
// Stale copies (issue 11): the run keeps a copy of the vector from before
// every call that changed its memory (grew, gave pages back, moved, froze,
// thawed, freed it) and of the frozen vector from before a thaw or free, and
// after every later operation calls every function on them: the model says
// each returns MP_ESTALE, NULL or 0, leaves the copy and its out-parameters
// alone, and leaves the live vector as the model has it. A copy from before
// a call that did not change the memory stays live (its length is checked).
// After the final free a new vector is made, which may take the freed
// reservation from the cache, and the stale copies must not reach it either.
//
// Two element types: 3 bytes, which does not divide the page, and 4100
// bytes, larger than a page. Built and run by fuzz/run.sh.
#include <fuzzer/FuzzedDataProvider.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_vecs.h"
#include "tests/internals/fault_injection.h"
#include "tests/support/vec_ops.h"

namespace {

// Stops the run with a message; libFuzzer saves the input that did it.
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "vec_fuzz: check failed: %s: ", #cond);                           \
            std::fprintf(stderr, __VA_ARGS__);                                                     \
            std::fputc('\n', stderr);                                                              \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

// The generated functions of one vector type, under common names.
#define VEC_OPS(V, T, MAX_LEN)                                                                     \
    struct V##_ops {                                                                               \
        MP_TEST_VEC_FUNCTIONS(V, T)                                                                \
        static constexpr size_t kMaxLen = MAX_LEN;                                                 \
    };

VEC_OPS(fz_odd, odd3, 1 << 14)
VEC_OPS(fz_wide, wide4100, 48)

// Executions and injected faults of this process, printed at exit.
unsigned long executions, operations, faults_fired;
// Copies that went stale, and the checks of every function on one.
unsigned long stale_copies, stale_checks, stale_frozen_checks;

void PrintCounts() {
    std::printf("vec_fuzz: %lu inputs, %lu operations, %lu OS faults injected\n", executions,
                operations, faults_fired);
    std::printf("vec_fuzz: %lu stale copies kept, %lu checks of every function on a stale "
                "copy, %lu on a stale frozen copy\n",
                stale_copies, stale_checks, stale_frozen_checks);
}

template <class Elem> Elem MakeElem(uint8_t seed) {
    Elem e;
    std::memset(&e, seed, sizeof e);
    return e;
}

template <class Elem> bool Same(const Elem &a, const Elem &b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// One run: a vector, its model, and the input that drives them.
template <class Ops> class Run {
    using Vec = typename Ops::Vec;
    using Frozen = typename Ops::Frozen;
    using Elem = typename Ops::Elem;

    // How many stale copies of each kind a run keeps (the newest).
    static constexpr size_t kKeep = 4;

  public:
    explicit Run(FuzzedDataProvider *in) : in_(in) {}

    void Go() {
        MakeVector();
        while (in_->remaining_bytes() > 0 && live_) {
            Step();
            operations++;
        }
        if (live_) {
            const Vec before_free = v_;
            // A vector that owns nothing stays usable after free: a second
            // free returns MP_OK; one that owned memory is consumed.
            const bool owned = Ops::Data(&v_) != nullptr;
            CHECK(Ops::Free(&v_) == MP_OK, "free");
            CHECK(Ops::Free(&v_) == (owned ? MP_ESTALE : MP_OK), "second free");
            CHECK(Ops::Len(&v_) == 0, "len after free");
            if (Ops::Data(&before_free) != nullptr) KeepStale(before_free);
        }
        // A new vector, which may take the reservation just freed from the
        // cache: no stale copy may reach it.
        Vec next;
        CHECK(Ops::New(&next) == MP_OK, "the next vector");
        for (int i = 0; i < 3; i++)
            CHECK(Ops::Push(&next, MakeElem<Elem>(0xE0 + i)) == MP_OK, "push");
        std::vector<Elem> next_model(Ops::Data(&next), Ops::Data(&next) + 3);
        for (const Vec &stale : stale_)
            CheckStale(stale, &next, next_model);
        for (const Frozen &stale : stale_frozen_)
            CheckStaleFrozen(stale, &next, next_model);
        CHECK(Ops::Free(&next) == MP_OK, "free the next vector");
    }

  private:
    // Makes the vector in one of its four ways.
    void MakeVector() {
        const int how = in_->ConsumeIntegralInRange(0, 3);
        mp_status s;
        if (how == 0) {
            s = Ops::New(&v_);
        } else if (how == 1) {
            s = Ops::WithCapacity(in_->ConsumeIntegralInRange<size_t>(0, Ops::kMaxLen), &v_);
        } else {
            mp_vec_opts o = {};
            o.max_capacity = in_->ConsumeIntegralInRange<size_t>(0, Ops::kMaxLen);
            o.capacity = in_->ConsumeIntegralInRange<size_t>(0, o.max_capacity);
            o.guard = in_->ConsumeBool();
            max_capacity_ = o.max_capacity;
            s = Ops::NewOpts(&o, &v_);
        }
        CHECK(s == MP_OK, "making the vector: %s", mp_status_str(s));
        live_ = true;
        Expect("new");
    }

    // Checks the vector against the model.
    void Expect(const char *after) {
        ExpectVec(&v_, model_, after);
    }

    static void ExpectVec(const Vec *v, const std::vector<Elem> &model, const char *after) {
        CHECK(Ops::Len(v) == model.size(), "%s: len %zu, model %zu", after, Ops::Len(v),
              model.size());
        CHECK(Ops::Capacity(v) >= model.size(), "%s: capacity below len", after);
        if (!model.empty()) {
            CHECK(std::memcmp(Ops::Data(v), model.data(), model.size() * sizeof(Elem)) == 0,
                  "%s: elements differ from the model", after);
        }
        CHECK(Ops::At(v, model.size()) == nullptr, "%s: at(len) is not NULL", after);
    }

    // Keeps a copy that the model says is stale, in place of the oldest.
    void KeepStale(const Vec &copy) {
        stale_copies++;
        if (stale_.size() == kKeep) stale_.erase(stale_.begin());
        stale_.push_back(copy);
    }

    void KeepStaleFrozen(const Frozen &copy) {
        stale_copies++;
        if (stale_frozen_.size() == kKeep) stale_frozen_.erase(stale_frozen_.begin());
        stale_frozen_.push_back(copy);
    }

    // Calls every function of the vector on copies of the stale vector
    // `stale`: each returns MP_ESTALE, NULL or 0 and touches nothing, and the
    // live vector `live` (NULL if there is none) still matches `model`.
    static void CheckStale(const Vec &stale, const Vec *live, const std::vector<Elem> &model) {
        stale_checks++;
        const Elem x = MakeElem<Elem>(0x5A);
        const Elem sentinel = MakeElem<Elem>(0xA5);
        const size_t n = stale.raw_.len;
        Vec s = stale;
        Elem out = sentinel;
        Frozen f;
        std::memset(static_cast<void *>(&f), 0xA5, sizeof f);
        const Frozen f_sentinel = f;
        CHECK(Ops::Len(&s) == 0 && Ops::Capacity(&s) == 0, "stale copy: len or capacity");
        CHECK(Ops::Data(&s) == nullptr && Ops::DataMut(&s) == nullptr, "stale copy: data");
        CHECK(Ops::At(&s, 0) == nullptr && Ops::AtMut(&s, 0) == nullptr, "stale copy: at");
        CHECK(Ops::Push(&s, x) == MP_ESTALE, "stale copy: push");
        CHECK(Ops::Pop(&s, &out) == MP_ESTALE, "stale copy: pop");
        CHECK(Ops::Insert(&s, 0, x) == MP_ESTALE, "stale copy: insert");
        CHECK(Ops::Remove(&s, 0, &out) == MP_ESTALE, "stale copy: remove");
        CHECK(Ops::SwapRemove(&s, 0, &out) == MP_ESTALE, "stale copy: swap_remove");
        CHECK(Ops::Extend(&s, &x, 1) == MP_ESTALE, "stale copy: extend");
        CHECK(Ops::Resize(&s, n + 1, x) == MP_ESTALE, "stale copy: resize up");
        CHECK(Ops::Resize(&s, 0, x) == MP_ESTALE, "stale copy: resize down");
        CHECK(Ops::Truncate(&s, 0) == MP_ESTALE, "stale copy: truncate");
        CHECK(Ops::Clear(&s) == MP_ESTALE, "stale copy: clear");
        CHECK(Ops::Reserve(&s, 1) == MP_ESTALE, "stale copy: reserve");
        CHECK(Ops::ShrinkToFit(&s) == MP_ESTALE, "stale copy: shrink_to_fit");
        CHECK(Ops::Freeze(&s, &f) == MP_ESTALE, "stale copy: freeze");
        CHECK(Ops::Free(&s) == MP_ESTALE, "stale copy: free");
        CHECK(Ops::ReserveExact(&s, 1) == MP_ESTALE, "stale copy: reserve_exact");
        CHECK(Ops::PushWithinCapacity(&s, x) == MP_ESTALE, "stale copy: push_within_capacity");
        CHECK(Ops::InsertN(&s, 0, &x, 1) == MP_ESTALE, "stale copy: insert_n");
        CHECK(Ops::RemoveRange(&s, 0, n, &out) == MP_ESTALE, "stale copy: remove_range");
        CHECK(Ops::RemoveRange(&s, 0, n, nullptr) == MP_ESTALE, "stale copy: remove_range");
        Vec c;
        std::memset(static_cast<void *>(&c), 0xA5, sizeof c);
        const Vec c_sentinel = c;
        CHECK(Ops::Clone(&s, &c) == MP_ESTALE, "stale copy: clone");
        CHECK(std::memcmp(&c, &c_sentinel, sizeof c) == 0, "stale copy: clone wrote its out");
        CHECK(Same(out, sentinel), "stale copy: a removal gave an element out");
        CHECK(std::memcmp(&f, &f_sentinel, sizeof f) == 0, "stale copy: freeze wrote its out");
        CHECK(std::memcmp(&s, &stale, sizeof s) == 0, "stale copy: a call changed the copy");
        if (live != nullptr) ExpectVec(live, model, "calls on a stale copy");
    }

    // The same for every function of a stale frozen vector.
    static void CheckStaleFrozen(const Frozen &stale, const Vec *live,
                                 const std::vector<Elem> &model) {
        stale_frozen_checks++;
        Frozen s = stale;
        Vec out;
        std::memset(static_cast<void *>(&out), 0xA5, sizeof out);
        const Vec out_sentinel = out;
        CHECK(Ops::FrozenLen(&s) == 0, "stale frozen copy: frozen_len");
        CHECK(Ops::FrozenData(&s) == nullptr, "stale frozen copy: frozen_data");
        CHECK(Ops::FrozenAt(&s, 0) == nullptr, "stale frozen copy: frozen_at");
        CHECK(Ops::FrozenFree(&s) == MP_ESTALE, "stale frozen copy: frozen_free");
        CHECK(Ops::Thaw(&s, &out) == MP_ESTALE, "stale frozen copy: thaw");
        CHECK(std::memcmp(&out, &out_sentinel, sizeof out) == 0, "stale frozen copy: thaw's out");
        CHECK(std::memcmp(&s, &stale, sizeof s) == 0, "stale frozen copy: a call changed it");
        if (live != nullptr) ExpectVec(live, model, "calls on a stale frozen copy");
    }

    // After an operation: the copy from before it is stale if the call
    // changed the vector's memory, and live (with its old length) if not;
    // then every stale copy kept so far gets every call.
    void CheckCopies(const Vec &pre, size_t len_before, bool changed) {
        // A copy of a vector that owned nothing is an independent empty
        // vector, neither stale nor sharing anything.
        if (pre.raw_.data != nullptr) {
            if (changed) {
                KeepStale(pre);
            } else {
                Vec copy = pre;
                CHECK(Ops::Len(&copy) == len_before,
                      "a copy went stale though the vector's memory did not change");
            }
        }
        const Vec *live = live_ ? &v_ : nullptr;
        for (const Vec &stale : stale_)
            CheckStale(stale, live, model_);
        for (const Frozen &stale : stale_frozen_)
            CheckStaleFrozen(stale, live, model_);
    }

    // Whether growth to n elements must keep the elements in place.
    bool MustStay(size_t n) const {
        return max_capacity_ != 0 && n <= max_capacity_ && Ops::Data(&v_) != nullptr;
    }

    size_t Index(size_t bound) {
        // Mostly valid indexes, sometimes out of range.
        return in_->ConsumeIntegralInRange<size_t>(0, bound + 2);
    }

    size_t Count() {
        const size_t room = Ops::kMaxLen > model_.size() ? Ops::kMaxLen - model_.size() : 0;
        return in_->ConsumeIntegralInRange<size_t>(0, room);
    }

    void Step() {
        const int op = in_->ConsumeIntegralInRange(0, 20);
        // An OS call of this operation to fail, or none (also when the input
        // is used up).
        const unsigned nth = in_->ConsumeIntegralInRange(0, 7) == 7
                                 ? in_->ConsumeIntegralInRange<unsigned>(1, 6)
                                 : 0;
        const std::vector<Elem> before = model_;
        const Elem *data_before = Ops::Data(&v_);
        const size_t cap_before = Ops::Capacity(&v_);
        const Vec pre = v_; // a copy, stale if this call changes the memory
        const uint8_t seed = in_->ConsumeIntegral<uint8_t>();
        const Elem x = MakeElem<Elem>(seed);
        std::vector<Elem> after = model_;
        mp_status want = MP_OK; // for the calls that check their arguments
        bool stays = true;      // the elements must not move
        mp_status s;
        Elem out = MakeElem<Elem>(0);
        const Elem *want_out = nullptr; // the element a removal must give
        std::vector<Elem> range_out;    // what remove_range gave, and must have
        std::vector<Elem> want_range;
        Vec clone{}; // what clone made, checked and freed after the call
        bool cloned = false;

        if (nth != 0) fault_arm(nth, MP_ENOMEM, ENOMEM);
        switch (op) {
        case 0:
        case 1:
            if (model_.size() >= Ops::kMaxLen) return Disarm();
            stays = MustStay(model_.size() + 1);
            s = Ops::Push(&v_, x);
            after.push_back(x);
            break;
        case 2:
            s = Ops::Pop(&v_, &out);
            if (model_.empty()) {
                want = MP_EINVAL;
            } else {
                want_out = &before.back();
                after.pop_back();
            }
            break;
        case 3: {
            if (model_.size() >= Ops::kMaxLen) return Disarm();
            const size_t i = Index(model_.size());
            stays = MustStay(model_.size() + 1);
            s = Ops::Insert(&v_, i, x);
            if (i > model_.size())
                want = MP_EINVAL;
            else
                after.insert(after.begin() + static_cast<long>(i), x);
            break;
        }
        case 4: {
            const size_t i = Index(model_.size());
            s = Ops::Remove(&v_, i, &out);
            if (i >= model_.size()) {
                want = MP_EINVAL;
            } else {
                want_out = &before[i];
                after.erase(after.begin() + static_cast<long>(i));
            }
            break;
        }
        case 5: {
            const size_t i = Index(model_.size());
            s = Ops::SwapRemove(&v_, i, &out);
            if (i >= model_.size()) {
                want = MP_EINVAL;
            } else {
                want_out = &before[i];
                after[i] = after.back();
                after.pop_back();
            }
            break;
        }
        case 6: {
            // From a buffer, or from the vector's own elements.
            const size_t n = Count();
            std::vector<Elem> src(n, x);
            const bool own = in_->ConsumeBool() && n <= model_.size() && n > 0;
            if (own) src.assign(model_.begin(), model_.begin() + static_cast<long>(n));
            stays = MustStay(model_.size() + n);
            s = Ops::Extend(&v_, own ? Ops::Data(&v_) : src.data(), n);
            after.insert(after.end(), src.begin(), src.end());
            break;
        }
        case 7: {
            const size_t n = in_->ConsumeIntegralInRange<size_t>(0, Ops::kMaxLen);
            stays = n <= model_.size() || MustStay(n);
            s = Ops::Resize(&v_, n, x);
            after.resize(n, x);
            break;
        }
        case 8: {
            const size_t n = Index(model_.size());
            s = Ops::Truncate(&v_, n);
            if (n > model_.size())
                want = MP_EINVAL;
            else
                after.resize(n);
            break;
        }
        case 9:
            s = Ops::Clear(&v_);
            after.clear();
            break;
        case 10: {
            const size_t n = Count();
            stays = MustStay(model_.size() + n);
            s = Ops::Reserve(&v_, n);
            if (s == MP_OK) CHECK(Ops::Capacity(&v_) >= model_.size() + n, "reserve: capacity");
            break;
        }
        case 11:
            s = Ops::ShrinkToFit(&v_);
            break;
        case 12:
            stays = false; // thawing may put the elements elsewhere
            s = FreezeAndThaw();
            break;
        case 13:
            // Huge requests: refused cleanly, whatever the fault.
            s = Ops::Reserve(&v_, SIZE_MAX / sizeof(Elem));
            want = (s == MP_EOVERFLOW || s == MP_ENOMEM) ? s : MP_EOVERFLOW;
            break;
        case 14:
            s = Ops::Resize(&v_, SIZE_MAX / 2, x);
            want = (s == MP_EOVERFLOW || s == MP_ENOMEM) ? s : MP_EOVERFLOW;
            break;
        case 16: {
            const size_t n = Count();
            stays = MustStay(model_.size() + n);
            s = Ops::ReserveExact(&v_, n);
            if (s == MP_OK) {
                CHECK(Ops::Capacity(&v_) >= model_.size() + n, "reserve_exact: capacity");
            }
            break;
        }
        case 17:
            // Never grows and never calls the OS: full is MP_ENOMEM.
            s = Ops::PushWithinCapacity(&v_, x);
            if (model_.size() < cap_before) {
                after.push_back(x);
            } else {
                want = MP_ENOMEM;
            }
            break;
        case 18: {
            const size_t i = Index(model_.size());
            size_t n = Count();
            std::vector<Elem> src(n, x);
            // Sometimes from the vector itself, which insert_n refuses.
            const bool own = in_->ConsumeBool() && !model_.empty() && n > 0;
            if (own) n = std::min(n, model_.size());
            stays = MustStay(model_.size() + n);
            s = Ops::InsertN(&v_, i, own ? Ops::Data(&v_) : src.data(), n);
            if (i > model_.size() || own) {
                want = n == 0 && i <= model_.size() ? MP_OK : MP_EINVAL;
            } else {
                after.insert(after.begin() + static_cast<long>(i), src.begin(),
                             src.begin() + static_cast<long>(n));
            }
            break;
        }
        case 19: {
            const size_t from = Index(model_.size());
            const size_t to = from + in_->ConsumeIntegralInRange<size_t>(
                                         0, model_.size() - std::min(from, model_.size()) + 1);
            const bool to_out = in_->ConsumeBool();
            range_out.assign(to - from, MakeElem<Elem>(0xA5));
            s = Ops::RemoveRange(&v_, from, to, to_out ? range_out.data() : nullptr);
            if (to > model_.size()) {
                want = MP_EINVAL;
            } else {
                if (to_out)
                    want_range.assign(before.begin() + static_cast<long>(from),
                                      before.begin() + static_cast<long>(to));
                after.erase(after.begin() + static_cast<long>(from),
                            after.begin() + static_cast<long>(to));
            }
            break;
        }
        case 20:
            s = Ops::Clone(&v_, &clone);
            cloned = s == MP_OK;
            break;
        default:
            // Bad arguments, which need no OS call.
            s = Ops::Extend(&v_, nullptr, 1 + seed);
            want = MP_EINVAL;
            CHECK(Ops::Push(nullptr, x) == MP_EINVAL, "push(NULL)");
            CHECK(Ops::Len(nullptr) == 0, "len(NULL)");
            break;
        }
        const char *fired = fault_fired();
        Disarm();
        if (fired != nullptr) faults_fired++;
        if (cloned) {
            // A copy of the model, in memory of its own.
            CHECK(Ops::Len(&clone) == model_.size(), "clone: len");
            CHECK(model_.empty() || (Ops::Data(&clone) != Ops::Data(&v_) &&
                                     std::memcmp(Ops::Data(&clone), model_.data(),
                                                 model_.size() * sizeof(Elem)) == 0),
                  "clone: elements");
            CHECK(Ops::Free(&clone) == MP_OK, "clone: free");
        }
        if (!want_range.empty()) {
            CHECK(std::memcmp(range_out.data(), want_range.data(),
                              want_range.size() * sizeof(Elem)) == 0,
                  "remove_range: the elements given out");
        }

        if (want != MP_OK) {
            CHECK(s == want, "op %d: %s, expected %s", op, mp_status_str(s), mp_status_str(want));
            Expect("a refused call");
            CheckCopies(pre, before.size(), false);
            return;
        }
        if (s != MP_OK) {
            // Only an injected fault may fail a good call, and then nothing
            // changes.
            CHECK(fired != nullptr, "op %d failed with no fault: %s", op, mp_status_str(s));
            CHECK(s == MP_ENOMEM && mp_os_error() == ENOMEM, "op %d: %s after a fault in %s", op,
                  mp_status_str(s), fired);
            CHECK(Ops::Data(&v_) == data_before, "op %d: a failed call moved the elements", op);
            model_ = before;
            Expect("a failed call");
            CheckCopies(pre, before.size(), false);
            return;
        }
        // Freeze (with thaw or free) always consumes; any other call
        // renews the vector exactly when it changed its memory: moved it, or
        // committed more or less (capacity is committed bytes / size).
        const bool changed =
            op == 12 || Ops::Data(&v_) != data_before || Ops::Capacity(&v_) != cap_before;
        if (!live_) {
            CheckCopies(pre, before.size(), changed);
            return;
        }
        model_ = after;
        if (want_out != nullptr) CHECK(Same(out, *want_out), "op %d: the removed element", op);
        if (stays) {
            CHECK(Ops::Data(&v_) == data_before, "op %d: elements moved inside the reservation",
                  op);
        }
        Expect("a call");
        CheckCopies(pre, before.size(), changed);
    }

    // Freezes the vector, checks the frozen form and the stale copy, and
    // thaws it back (or frees it, which ends the run).
    mp_status FreezeAndThaw() {
        const Vec copy = v_;
        typename Ops::Frozen f;
        mp_status s = Ops::Freeze(&v_, &f);
        if (s != MP_OK) return s;
        CHECK(Ops::Len(&v_) == 0 && Ops::Push(&v_, MakeElem<Elem>(1)) == MP_ESTALE,
              "the frozen vector is not consumed");
        // A copy made before freezing is stale for every call, the inline
        // fast paths included (push on it once wrote to the read-only pages).
        if (copy.raw_.data != nullptr) CheckStale(copy, nullptr, model_);
        CHECK(Ops::FrozenLen(&f) == model_.size(), "frozen len");
        if (!model_.empty()) {
            CHECK(std::memcmp(Ops::FrozenData(&f), model_.data(), model_.size() * sizeof(Elem)) ==
                      0,
                  "frozen elements");
            CHECK(Same(*Ops::FrozenAt(&f, model_.size() - 1), model_.back()), "frozen at");
        }
        CHECK(Ops::FrozenAt(&f, model_.size()) == nullptr, "frozen at(len)");
        const typename Ops::Frozen frozen_copy = f;
        if (in_->ConsumeIntegralInRange(0, 15) == 0) {
            // The free may meet an injected fault; the frozen vector then
            // stays as it was.
            while ((s = Ops::FrozenFree(&f)) != MP_OK) {
                CHECK(fault_fired() != nullptr, "frozen free failed with no fault: %s",
                      mp_status_str(s));
                CHECK(Ops::FrozenLen(&f) == model_.size(), "a failed free changed the vector");
                Disarm();
            }
            CHECK(Ops::FrozenLen(&frozen_copy) == 0, "a copy of a freed frozen vector");
            KeepStaleFrozen(frozen_copy);
            live_ = false;
            return MP_OK;
        }
        // The thaw may meet an injected fault; the frozen vector then stays.
        for (;;) {
            s = Ops::Thaw(&f, &v_);
            if (s == MP_OK) break;
            CHECK(fault_fired() != nullptr, "thaw failed with no fault: %s", mp_status_str(s));
            CHECK(Ops::FrozenLen(&f) == model_.size(), "a failed thaw changed the frozen vector");
            Disarm();
        }
        CHECK(Ops::FrozenLen(&frozen_copy) == 0, "a copy of a thawed frozen vector is not stale");
        KeepStaleFrozen(frozen_copy);
        return MP_OK;
    }

    void Disarm() {
        fault_disarm();
    }

    FuzzedDataProvider *in_;
    Vec v_{};
    std::vector<Vec> stale_;
    std::vector<Frozen> stale_frozen_;
    std::vector<Elem> model_;
    size_t max_capacity_ = 0;
    bool live_ = false;
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    fault_install();
    std::atexit(PrintCounts);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider in(data, size);
    executions++;
    if (in.ConsumeBool()) {
        Run<fz_odd_ops>(&in).Go();
    } else {
        Run<fz_wide_ops>(&in).Go();
    }
    return 0;
}
