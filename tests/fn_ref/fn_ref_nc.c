/*
 * Must-not-compile cases for function references (shared/API.md section 4;
 * the format is in tests/nc/nc.bzl): a reference is made only from pages in
 * an executable state, called only with its own signature, and exists only
 * in builds with allow_exec; no executable state, and no rwx or dual
 * reference, can be named in a build that does not have it.
 *
 * Compiled with no case selected, the file is the control: in builds with
 * allow_exec it does right what the cases get wrong; in the others it only
 * includes the state types.
 */
#include <stddef.h>
#include <stdint.h>

#include "memory_pages/memory_pages.h"

#if MP_HAVE_RX
#include "tests/fn_ref/test_fns.h"

/* The control: each call here is the correct form of a case below. */
void nc_control(const mp_pages_rx *rx, add_fn *f) {
    int64_t sum;
    (void)add_fn_from(rx, 0, f);
    (void)add_fn_call(f, 1, 2, &sum);
    (void)noarg_fn_call((const noarg_fn *)f);
#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    (void)mp_pages_rwx_new(1, &rwx);
    (void)add_fn_from_rwx(&rwx, 0, f);
#endif
#if MP_HAVE_DUAL
    mp_pages_dual dual;
    (void)mp_pages_dual_new(1, &dual);
    (void)add_fn_from_dual(&dual, 0, f);
#endif
}
#endif

/* The case comments stay unwrapped: nc_compile.py reads one line per field. */
/* clang-format off */

/* nc-case: from_given_rw
 * nc-when: MP_HAVE_RX
 * nc-expect: passing argument 1 of 'add_fn_from' from incompatible pointer type|incompatible pointer types passing 'mp_pages_rw \*'.* to parameter of type 'const mp_pages_rx \*'
 */
#ifdef NC_CASE_from_given_rw
void nc_case(mp_pages_rw *rw, add_fn *f) {
    (void)add_fn_from(rw, 0, f);
}
#endif

/* nc-case: from_given_r
 * nc-when: MP_HAVE_RX
 * nc-expect: passing argument 1 of 'add_fn_from' from incompatible pointer type|incompatible pointer types passing 'mp_pages_r \*'.* to parameter of type 'const mp_pages_rx \*'
 */
#ifdef NC_CASE_from_given_r
void nc_case(mp_pages_r *r, add_fn *f) {
    (void)add_fn_from(r, 0, f);
}
#endif

/* nc-case: from_given_rwx
 * nc-when: MP_HAVE_RWX
 * nc-expect: passing argument 1 of 'add_fn_from' from incompatible pointer type|incompatible pointer types passing 'mp_pages_rwx \*'.* to parameter of type 'const mp_pages_rx \*'
 */
#ifdef NC_CASE_from_given_rwx
void nc_case(mp_pages_rwx *rwx, add_fn *f) {
    (void)add_fn_from(rwx, 0, f);
}
#endif

/* nc-case: from_rwx_given_rx
 * nc-when: MP_HAVE_RWX
 * nc-expect: passing argument 1 of 'add_fn_from_rwx' from incompatible pointer type|incompatible pointer types passing 'mp_pages_rx \*'.* to parameter of type 'const mp_pages_rwx \*'
 */
#ifdef NC_CASE_from_rwx_given_rx
void nc_case(mp_pages_rx *rx, add_fn *f) {
    (void)add_fn_from_rwx(rx, 0, f);
}
#endif

/* nc-case: from_dual_without_allow_dual_map
 * nc-when: MP_HAVE_RX && !MP_HAVE_DUAL
 * nc-expect: implicit declaration of function 'add_fn_from_dual'
 */
#ifdef NC_CASE_from_dual_without_allow_dual_map
void nc_case(mp_pages_rx *rx, add_fn *f) {
    (void)add_fn_from_dual(rx, 0, f);
}
#endif

/* nc-case: from_dual_given_rx
 * nc-when: MP_HAVE_DUAL
 * nc-expect: passing argument 1 of 'add_fn_from_dual' from incompatible pointer type|incompatible pointer types passing 'mp_pages_rx \*'.* to parameter of type 'const mp_pages_dual \*'
 */
#ifdef NC_CASE_from_dual_given_rx
#if MP_HAVE_DUAL
void nc_case(mp_pages_rx *rx, add_fn *f) {
    (void)add_fn_from_dual(rx, 0, f);
}
#endif
#endif

/* nc-case: from_rwx_with_deny_xw
 * nc-when: MP_HAVE_RX && !MP_HAVE_RWX
 * nc-expect: implicit declaration of function 'add_fn_from_rwx'
 */
#ifdef NC_CASE_from_rwx_with_deny_xw
void nc_case(mp_pages_rx *rx, add_fn *f) {
    (void)add_fn_from_rwx(rx, 0, f);
}
#endif

/* nc-case: rwx_pages_with_deny_xw
 * nc-when: MP_HAVE_RX && !MP_HAVE_RWX
 * nc-expect: unknown type name 'mp_pages_rwx'|undeclared identifier 'mp_pages_rwx'
 */
#ifdef NC_CASE_rwx_pages_with_deny_xw
void nc_case(add_fn *f) {
    mp_pages_rwx rwx;
    (void)add_fn_from((const mp_pages_rx *)&rwx, 0, f);
}
#endif

/* nc-case: call_with_wrong_result_type
 * nc-when: MP_HAVE_RX
 * nc-expect: passing argument 4 of 'add_fn_call' from incompatible pointer type|incompatible pointer types passing 'int32_t \*'.* to parameter of type 'int64_t \*'
 */
#ifdef NC_CASE_call_with_wrong_result_type
void nc_case(const add_fn *f) {
    int32_t small;
    (void)add_fn_call(f, 1, 2, &small);
}
#endif

/* nc-case: call_without_result
 * nc-when: MP_HAVE_RX
 * nc-expect: too few arguments to function 'add_fn_call'|too few arguments to function call, expected 4, have 3[\s\S]*'add_fn_call' declared here
 */
#ifdef NC_CASE_call_without_result
void nc_case(const add_fn *f) {
    (void)add_fn_call(f, 1, 2);
}
#endif

/* nc-case: call_through_another_signature
 * nc-when: MP_HAVE_RX
 * nc-expect: passing argument 1 of 'const_fn_call' from incompatible pointer type|incompatible pointer types passing 'const add_fn \*'.* to parameter of type 'const const_fn \*'
 */
#ifdef NC_CASE_call_through_another_signature
void nc_case(const add_fn *f) {
    int32_t v;
    (void)const_fn_call(f, &v);
}
#endif

/* nc-case: header_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: function references need a build with executable pages: --@memory_pages//:allow_exec
 */
#ifdef NC_CASE_header_without_allow_exec
#include "tests/fn_ref/test_fns.h"
#endif

/* nc-case: rx_new_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_new'
 */
#ifdef NC_CASE_rx_new_without_allow_exec
void nc_case(void) {
    (void)mp_pages_rx_new(1, NULL);
}
#endif

/* nc-case: rx_pointer_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_free'
 */
#ifdef NC_CASE_rx_pointer_without_allow_exec
void nc_case(void *p) {
    (void)mp_pages_rx_free(p);
}
#endif

/* nc-case: rx_into_rw_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_into_rw'
 */
#ifdef NC_CASE_rx_into_rw_without_allow_exec
void nc_case(mp_pages_rw *rw) {
    (void)mp_pages_rx_into_rw(NULL, rw);
}
#endif

/* nc-case: rwx_new_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rwx_new'
 */
#ifdef NC_CASE_rwx_new_without_allow_exec
void nc_case(void) {
    (void)mp_pages_rwx_new(1, NULL);
}
#endif

/* nc-case: rwx_data_mut_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rwx_data_mut'
 */
#ifdef NC_CASE_rwx_data_mut_without_allow_exec
void nc_case(void *p) {
    (void)mp_pages_rwx_data_mut(p);
}
#endif

/* clang-format on */
