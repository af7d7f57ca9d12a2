/*
 * Must-not-compile cases for the permission-state types (shared/API.md
 * section 3) and the dual pair (section 8): a state the build does not
 * allow has no type and no functions, a state has only the accessors its
 * access allows, the state types do not convert into one another, and a
 * sealed state (section 8) has nothing that frees or changes its pages. See
 * nc.bzl for the format.
 *
 * Compiled with no case selected, the file is the control: it does, with
 * the right types and functions, what each case gets wrong.
 */
#include <stddef.h>
#include <stdint.h>

#include "memory_pages/memory_pages.h"

/* The control: each call here is the correct form of a case below. */
void nc_control(mp_pages_none *none, mp_pages_r *r, mp_pages_rw *rw) {
    mp_pages_r to_r;
    (void)mp_pages_rw_into_r(rw, &to_r);
    (void)mp_pages_r_data(r);
    (void)mp_pages_rw_data_mut(rw);
    (void)mp_pages_none_len(none);
    (void)mp_pages_rw_free(rw);
    mp_pages_rw_data_mut(rw)[0] = 1;
    mp_pages_r_sealed r_sealed;
    (void)mp_pages_r_seal(r, &r_sealed);
    (void)mp_pages_r_sealed_data(&r_sealed)[0];
    (void)mp_pages_r_sealed_len(&r_sealed);
#if MP_HAVE_RX
    mp_pages_rx rx;
    (void)mp_pages_rw_into_rx(rw, &rx);
    (void)mp_pages_rx_data(&rx);
    mp_pages_rx_sealed rx_sealed;
    (void)mp_pages_rx_seal(&rx, &rx_sealed);
    (void)mp_pages_rx_sealed_data(&rx_sealed);
#endif
#if MP_HAVE_RWX
    mp_pages_rwx rwx;
    (void)mp_pages_rw_into_rwx(rw, &rwx);
    (void)mp_pages_rwx_data_mut(&rwx);
#endif
#if MP_HAVE_DUAL
    mp_pages_dual dual;
    (void)mp_pages_dual_new(1, &dual);
    mp_pages_dual_data_mut(&dual)[0] = 1;
    (void)mp_pages_dual_code(&dual)[0];
    (void)mp_pages_dual_into_rx(&dual, &rx);
    (void)mp_pages_rx_free(&rx);
#endif
}

/* The nc-expect regexes must each stay on one line. */
/* clang-format off */

/* nc-case: rwx_type_without_rwx
 * nc-when: !MP_HAVE_RWX
 * nc-expect: unknown type name 'mp_pages_rwx'|undeclared identifier 'mp_pages_rwx'
 */
#ifdef NC_CASE_rwx_type_without_rwx
void nc_case(void) {
    mp_pages_rwx p;
    (void)p;
}
#endif

/* nc-case: into_rwx_without_rwx
 * nc-when: !MP_HAVE_RWX
 * nc-expect: implicit declaration of function 'mp_pages_rw_into_rwx'
 */
#ifdef NC_CASE_into_rwx_without_rwx
void nc_case(mp_pages_rw *rw) {
    (void)mp_pages_rw_into_rwx(rw, NULL);
}
#endif

/* nc-case: rx_type_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: unknown type name 'mp_pages_rx'|undeclared identifier 'mp_pages_rx'
 */
#ifdef NC_CASE_rx_type_without_allow_exec
void nc_case(void) {
    mp_pages_rx p;
    (void)p;
}
#endif

/* nc-case: into_rx_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rw_into_rx'
 */
#ifdef NC_CASE_into_rx_without_allow_exec
void nc_case(mp_pages_rw *rw) {
    (void)mp_pages_rw_into_rx(rw, NULL);
}
#endif

/* nc-case: data_mut_on_r
 * nc-expect: implicit declaration of function 'mp_pages_r_data_mut'
 */
#ifdef NC_CASE_data_mut_on_r
void nc_case(mp_pages_r *r) {
    (void)mp_pages_r_data_mut(r);
}
#endif

/* nc-case: write_through_data_of_r
 * nc-expect: assignment of read-only location '\*mp_pages_r_data\(|read-only variable is not assignable\n *mp_pages_r_data\(
 */
#ifdef NC_CASE_write_through_data_of_r
void nc_case(mp_pages_r *r) {
    mp_pages_r_data(r)[0] = 1;
}
#endif

/* nc-case: data_mut_on_rx
 * nc-when: MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_data_mut'
 */
#ifdef NC_CASE_data_mut_on_rx
#if MP_HAVE_RX
void nc_case(mp_pages_rx *rx) {
    (void)mp_pages_rx_data_mut(rx);
}
#endif
#endif

/* nc-case: data_on_none
 * nc-expect: implicit declaration of function 'mp_pages_none_data'
 */
#ifdef NC_CASE_data_on_none
void nc_case(mp_pages_none *none) {
    (void)mp_pages_none_data(none);
}
#endif

/* nc-case: data_mut_on_none
 * nc-expect: implicit declaration of function 'mp_pages_none_data_mut'
 */
#ifdef NC_CASE_data_mut_on_none
void nc_case(mp_pages_none *none) {
    (void)mp_pages_none_data_mut(none);
}
#endif

/* nc-case: r_passed_as_rw
 * nc-expect: passing argument 1 of 'mp_pages_rw_free' from incompatible pointer type|incompatible pointer types passing 'mp_pages_r \*'.* to parameter of type 'mp_pages_rw \*'
 */
#ifdef NC_CASE_r_passed_as_rw
void nc_case(mp_pages_r *r) {
    (void)mp_pages_rw_free(r);
}
#endif

/* nc-case: wrong_target_state_of_into
 * nc-expect: passing argument 2 of 'mp_pages_rw_into_r' from incompatible pointer type|incompatible pointer types passing 'mp_pages_none \*'.* to parameter of type 'mp_pages_r \*'
 */
#ifdef NC_CASE_wrong_target_state_of_into
void nc_case(mp_pages_rw *rw, mp_pages_none *none) {
    (void)mp_pages_rw_into_r(rw, none);
}
#endif

/* nc-case: state_assigned_to_another
 * nc-expect: incompatible types when assigning to type 'mp_pages_rw'|assigning to 'mp_pages_rw' .*from incompatible type 'mp_pages_r'
 */
#ifdef NC_CASE_state_assigned_to_another
void nc_case(mp_pages_r *r) {
    mp_pages_rw rw;
    rw = *r;
    (void)rw;
}
#endif

/* nc-case: free_on_r_sealed
 * nc-expect: implicit declaration of function 'mp_pages_r_sealed_free'
 */
#ifdef NC_CASE_free_on_r_sealed
void nc_case(mp_pages_r_sealed *p) {
    (void)mp_pages_r_sealed_free(p);
}
#endif

/* nc-case: into_on_r_sealed
 * nc-expect: implicit declaration of function 'mp_pages_r_sealed_into_rw'
 */
#ifdef NC_CASE_into_on_r_sealed
void nc_case(mp_pages_r_sealed *p, mp_pages_rw *rw) {
    (void)mp_pages_r_sealed_into_rw(p, rw);
}
#endif

/* nc-case: write_through_r_sealed_data
 * nc-expect: assignment of read-only location '\*mp_pages_r_sealed_data\(|read-only variable is not assignable\n *mp_pages_r_sealed_data\(
 */
#ifdef NC_CASE_write_through_r_sealed_data
void nc_case(mp_pages_r_sealed *p) {
    mp_pages_r_sealed_data(p)[0] = 1;
}
#endif

/* nc-case: r_sealed_passed_as_r
 * nc-expect: passing argument 1 of 'mp_pages_r_free' from incompatible pointer type|incompatible pointer types passing 'mp_pages_r_sealed \*'.* to parameter of type 'mp_pages_r \*'
 */
#ifdef NC_CASE_r_sealed_passed_as_r
void nc_case(mp_pages_r_sealed *p) {
    (void)mp_pages_r_free(p);
}
#endif

/* nc-case: seal_of_rw
 * nc-expect: implicit declaration of function 'mp_pages_rw_seal'
 */
#ifdef NC_CASE_seal_of_rw
void nc_case(mp_pages_rw *rw, mp_pages_r_sealed *out) {
    (void)mp_pages_rw_seal(rw, out);
}
#endif

/* nc-case: free_on_rx_sealed
 * nc-when: MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_sealed_free'
 */
#ifdef NC_CASE_free_on_rx_sealed
#if MP_HAVE_RX
void nc_case(mp_pages_rx_sealed *p) {
    (void)mp_pages_rx_sealed_free(p);
}
#endif
#endif

/* nc-case: into_on_rx_sealed
 * nc-when: MP_HAVE_RX
 * nc-expect: implicit declaration of function 'mp_pages_rx_sealed_into_rw'
 */
#ifdef NC_CASE_into_on_rx_sealed
#if MP_HAVE_RX
void nc_case(mp_pages_rx_sealed *p, mp_pages_rw *rw) {
    (void)mp_pages_rx_sealed_into_rw(p, rw);
}
#endif
#endif

/* nc-case: rx_sealed_without_allow_exec
 * nc-when: !MP_HAVE_RX
 * nc-expect: unknown type name 'mp_pages_rx_sealed'|undeclared identifier 'mp_pages_rx_sealed'
 */
#ifdef NC_CASE_rx_sealed_without_allow_exec
void nc_case(void) {
    mp_pages_rx_sealed p;
    (void)p;
}
#endif

/* nc-case: dual_type_without_allow_dual_map
 * nc-when: !MP_HAVE_DUAL
 * nc-expect: unknown type name 'mp_pages_dual'|undeclared identifier 'mp_pages_dual'
 */
#ifdef NC_CASE_dual_type_without_allow_dual_map
void nc_case(void) {
    mp_pages_dual p;
    (void)p;
}
#endif

/* nc-case: dual_new_without_allow_dual_map
 * nc-when: !MP_HAVE_DUAL
 * nc-expect: implicit declaration of function 'mp_pages_dual_new'
 */
#ifdef NC_CASE_dual_new_without_allow_dual_map
void nc_case(void) {
    (void)mp_pages_dual_new(1, NULL);
}
#endif

/* nc-case: write_through_dual_code
 * nc-when: MP_HAVE_DUAL
 * nc-expect: assignment of read-only location '\*mp_pages_dual_code\(|read-only variable is not assignable\n *mp_pages_dual_code\(
 */
#ifdef NC_CASE_write_through_dual_code
#if MP_HAVE_DUAL
void nc_case(mp_pages_dual *p) {
    mp_pages_dual_code(p)[0] = 1;
}
#endif
#endif

/* nc-case: dual_into_rw
 * nc-when: MP_HAVE_DUAL
 * nc-expect: implicit declaration of function 'mp_pages_dual_into_rw'
 */
#ifdef NC_CASE_dual_into_rw
#if MP_HAVE_DUAL
void nc_case(mp_pages_dual *p, mp_pages_rw *rw) {
    (void)mp_pages_dual_into_rw(p, rw);
}
#endif
#endif

/* nc-case: dual_passed_as_rx
 * nc-when: MP_HAVE_DUAL
 * nc-expect: passing argument 1 of 'mp_pages_rx_free' from incompatible pointer type|incompatible pointer types passing 'mp_pages_dual \*'.* to parameter of type 'mp_pages_rx \*'
 */
#ifdef NC_CASE_dual_passed_as_rx
#if MP_HAVE_DUAL
void nc_case(mp_pages_dual *p) {
    (void)mp_pages_rx_free(p);
}
#endif
#endif

/* clang-format on */
