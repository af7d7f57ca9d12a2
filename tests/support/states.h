/*
 * The permission states of this build as C++ types, for typed tests.
 *
 * Each state struct (NoneState, RState, RwState, and RxState / RwxState
 * where the build has them) forwards to the generated functions of its
 * mp_pages_S type and says what access the state grants:
 *
 *     S::Handle, S::kName, S::kReadable, S::kWritable, S::kExecutable,
 *     S::New, S::NewOpts, S::Len, S::Free, S::Advise,
 *     S::Address (the first byte, or NULL if stale),
 *     S::Data (readable states), S::DataMut (writable states).
 *
 * Transition<From, To>::Into calls mp_pages_From_into_To. AllStates,
 * ReadableStates, WritableStates and AllTransitions list the states and the
 * ordered pairs of distinct states that exist in this build, for
 * TYPED_TEST_SUITE; StateName and TransitionName name them in test output.
 */
#ifndef MEMORY_PAGES_TESTS_SUPPORT_STATES_H
#define MEMORY_PAGES_TESTS_SUPPORT_STATES_H

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <gtest/gtest.h>

#include "memory_pages/memory_pages.h"

namespace mp_test {

/* The members every state has, forwarding to mp_pages_<s>_*. */
#define MP_TEST_STATE_BASICS(s, readable, writable, executable)                                    \
    using Handle = mp_pages_##s;                                                                   \
    static constexpr const char *kName = #s;                                                       \
    static constexpr bool kReadable = readable;                                                    \
    static constexpr bool kWritable = writable;                                                    \
    static constexpr bool kExecutable = executable;                                                \
    static mp_status New(size_t len, Handle *out) {                                                \
        return mp_pages_##s##_new(len, out);                                                       \
    }                                                                                              \
    static mp_status NewOpts(size_t len, const mp_pages_opts *opts, Handle *out) {                 \
        return mp_pages_##s##_new_opts(len, opts, out);                                            \
    }                                                                                              \
    static size_t Len(const Handle *p) {                                                           \
        return mp_pages_##s##_len(p);                                                              \
    }                                                                                              \
    static mp_status Free(Handle *p) {                                                             \
        return mp_pages_##s##_free(p);                                                             \
    }                                                                                              \
    static mp_status Advise(Handle *p, size_t offset, size_t len, mp_advice advice) {              \
        return mp_pages_##s##_advise(p, offset, len, advice);                                      \
    }

/* The read accessor of a readable state, and its address. */
#define MP_TEST_STATE_DATA(s)                                                                      \
    static const uint8_t *Data(const Handle *p) {                                                  \
        return mp_pages_##s##_data(p);                                                             \
    }                                                                                              \
    static const void *Address(const Handle *p) {                                                  \
        return Data(p);                                                                            \
    }

/* The write accessor of a writable state. */
#define MP_TEST_STATE_DATA_MUT(s)                                                                  \
    static uint8_t *DataMut(Handle *p) {                                                           \
        return mp_pages_##s##_data_mut(p);                                                         \
    }

struct NoneState {
    MP_TEST_STATE_BASICS(none, false, false, false)
    /* mp_pages_none has no public accessor, so tests that need to find its
     * pages in the address space ask the runtime's internal one. */
    static const void *Address(const Handle *p) {
        return mp__pages_data(reinterpret_cast<const mp__ref *>(p), MP__PROT_NONE);
    }
};

struct RState {
    MP_TEST_STATE_BASICS(r, true, false, false)
    MP_TEST_STATE_DATA(r)
};

struct RwState {
    MP_TEST_STATE_BASICS(rw, true, true, false)
    MP_TEST_STATE_DATA(rw)
    MP_TEST_STATE_DATA_MUT(rw)
};

#if MP_HAVE_RX
struct RxState {
    MP_TEST_STATE_BASICS(rx, true, false, true)
    MP_TEST_STATE_DATA(rx)
};
#endif

#if MP_HAVE_RWX
struct RwxState {
    MP_TEST_STATE_BASICS(rwx, true, true, true)
    MP_TEST_STATE_DATA(rwx)
    MP_TEST_STATE_DATA_MUT(rwx)
};
#endif

/* Transition<From, To>::Into(from, to) calls mp_pages_<from>_into_<to>. */
template <class From, class To> struct Transition;

#define MP_TEST_TRANSITION(From, from, To, to)                                                     \
    template <> struct Transition<From, To> {                                                      \
        using FromState = From;                                                                    \
        using ToState = To;                                                                        \
        static mp_status Into(mp_pages_##from *f, mp_pages_##to *t) {                              \
            return mp_pages_##from##_into_##to(f, t);                                              \
        }                                                                                          \
    };

MP_TEST_TRANSITION(NoneState, none, RState, r)
MP_TEST_TRANSITION(NoneState, none, RwState, rw)
MP_TEST_TRANSITION(RState, r, NoneState, none)
MP_TEST_TRANSITION(RState, r, RwState, rw)
MP_TEST_TRANSITION(RwState, rw, NoneState, none)
MP_TEST_TRANSITION(RwState, rw, RState, r)
#if MP_HAVE_RX
MP_TEST_TRANSITION(NoneState, none, RxState, rx)
MP_TEST_TRANSITION(RState, r, RxState, rx)
MP_TEST_TRANSITION(RwState, rw, RxState, rx)
MP_TEST_TRANSITION(RxState, rx, NoneState, none)
MP_TEST_TRANSITION(RxState, rx, RState, r)
MP_TEST_TRANSITION(RxState, rx, RwState, rw)
#endif
#if MP_HAVE_RWX
MP_TEST_TRANSITION(NoneState, none, RwxState, rwx)
MP_TEST_TRANSITION(RState, r, RwxState, rwx)
MP_TEST_TRANSITION(RwState, rw, RwxState, rwx)
MP_TEST_TRANSITION(RxState, rx, RwxState, rwx)
MP_TEST_TRANSITION(RwxState, rwx, NoneState, none)
MP_TEST_TRANSITION(RwxState, rwx, RState, r)
MP_TEST_TRANSITION(RwxState, rwx, RwState, rw)
MP_TEST_TRANSITION(RwxState, rwx, RxState, rx)
#endif

#undef MP_TEST_TRANSITION

/* The states of this build, as a std::tuple type. */
#if MP_HAVE_RWX
using StateTuple = std::tuple<NoneState, RState, RwState, RxState, RwxState>;
#elif MP_HAVE_RX
using StateTuple = std::tuple<NoneState, RState, RwState, RxState>;
#else
using StateTuple = std::tuple<NoneState, RState, RwState>;
#endif

/* Type-list plumbing: the states of a tuple that satisfy a condition, every
 * transition between distinct states of a tuple, and a tuple as the type
 * list of TYPED_TEST_SUITE. */
template <bool Keep, class T> using KeepIf = std::conditional_t<Keep, std::tuple<T>, std::tuple<>>;

template <class Tuple> struct Readable;
template <class... Ss> struct Readable<std::tuple<Ss...>> {
    using type = decltype(std::tuple_cat(std::declval<KeepIf<Ss::kReadable, Ss>>()...));
};

template <class Tuple> struct Writable;
template <class... Ss> struct Writable<std::tuple<Ss...>> {
    using type = decltype(std::tuple_cat(std::declval<KeepIf<Ss::kWritable, Ss>>()...));
};

template <class From, class... Ss>
using TransitionsFrom = decltype(std::tuple_cat(
    std::declval<KeepIf<!std::is_same_v<From, Ss>, Transition<From, Ss>>>()...));

template <class Tuple> struct Transitions;
template <class... Ss> struct Transitions<std::tuple<Ss...>> {
    using type = decltype(std::tuple_cat(std::declval<TransitionsFrom<Ss, Ss...>>()...));
};

template <class Tuple> struct GtestTypes;
template <class... Ts> struct GtestTypes<std::tuple<Ts...>> {
    using type = ::testing::Types<Ts...>;
};

/* Type lists for TYPED_TEST_SUITE: every state of the build, the readable
 * ones, the writable ones, and every transition between two of them. */
using AllStates = GtestTypes<StateTuple>::type;
using ReadableStates = GtestTypes<Readable<StateTuple>::type>::type;
using WritableStates = GtestTypes<Writable<StateTuple>::type>::type;
using AllTransitions = GtestTypes<Transitions<StateTuple>::type>::type;

/* Names a typed test by its state: "none", "rw", ... */
struct StateName {
    template <class S> static std::string GetName(int) {
        return S::kName;
    }
};

/* Names a typed test by its transition: "none_into_rw", ... */
struct TransitionName {
    template <class T> static std::string GetName(int) {
        return std::string(T::FromState::kName) + "_into_" + T::ToState::kName;
    }
};

/* Moves the pages of rw to state S, so that *out owns them. For S = RwState
 * the handle is only copied. */
template <class S> mp_status FromRw(mp_pages_rw *rw, typename S::Handle *out) {
    if constexpr (std::is_same_v<S, RwState>) {
        *out = *rw;
        return MP_OK;
    } else {
        return Transition<RwState, S>::Into(rw, out);
    }
}

/* Moves the pages of p, in state S, to rw. For S = RwState the handle is
 * only copied. */
template <class S> mp_status ToRw(typename S::Handle *p, mp_pages_rw *out) {
    if constexpr (std::is_same_v<S, RwState>) {
        *out = *p;
        return MP_OK;
    } else {
        return Transition<S, RwState>::Into(p, out);
    }
}

} // namespace mp_test

#endif /* MEMORY_PAGES_TESTS_SUPPORT_STATES_H */
