/*
 * Must-not-compile cases for PagedVec (shared/API.md section 5): a frozen
 * vector gives no way to write its elements, a sealed one (section 8) none
 * to write, free or thaw it, and a vector, its frozen and sealed forms and
 * vectors of other element types do not convert into one another, and a
 * vector whose elements have a drop function but no clone function has no
 * _clone and no _resize (shared/API.md section 5). See
 * tests/nc/nc.bzl for the format.
 *
 * Compiled with no case selected, the file is the control: it does, with
 * the right types and functions, what each case gets wrong.
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/vec/nc_vecs.h"

/* The control: each statement here is the correct form of a case below. */
void nc_control(int_vec *v, int_vec_frozen *f, u8_vec *bytes, res_move_vec *r) {
    int x = *int_vec_frozen_at(f, 0);
    *int_vec_at_mut(v, 0) = x;
    (void)int_vec_frozen_data(f)[0];
    (void)int_vec_push(v, 1);
    (void)int_vec_frozen_len(f);
    (void)int_vec_freeze(v, f);
    (void)int_vec_frozen_thaw(f, v);
    (void)u8_vec_push(bytes, 1);
    int_vec_sealed sealed;
    (void)int_vec_frozen_seal(f, &sealed);
    (void)*int_vec_sealed_at(&sealed, 0);
    (void)int_vec_sealed_data(&sealed)[0];
    (void)int_vec_sealed_len(&sealed);
    int_vec copy;
    (void)int_vec_clone(v, &copy);
    (void)int_vec_resize(v, 2, 0);
    (void)res_move_vec_truncate(r, 0);
}

/* The case comments stay unwrapped: nc_compile.py reads one line per field. */
/* clang-format off */

/* nc-case: write_through_frozen_at
 * nc-expect: assignment of read-only location '\*int_vec_frozen_at\(|read-only variable is not assignable\n *\*int_vec_frozen_at\(
 */
#ifdef NC_CASE_write_through_frozen_at
void nc_case(int_vec_frozen *f) {
    *int_vec_frozen_at(f, 0) = 1;
}
#endif

/* nc-case: write_through_frozen_data
 * nc-expect: assignment of read-only location '\*int_vec_frozen_data\(|read-only variable is not assignable\n *int_vec_frozen_data\(
 */
#ifdef NC_CASE_write_through_frozen_data
void nc_case(int_vec_frozen *f) {
    int_vec_frozen_data(f)[0] = 1;
}
#endif

/* nc-case: write_through_at
 * nc-expect: assignment of read-only location '\*int_vec_at\(|read-only variable is not assignable\n *\*int_vec_at\(
 */
#ifdef NC_CASE_write_through_at
void nc_case(int_vec *v) {
    *int_vec_at(v, 0) = 1;
}
#endif

/* nc-case: frozen_has_no_data_mut
 * nc-expect: implicit declaration of function 'int_vec_frozen_data_mut'
 */
#ifdef NC_CASE_frozen_has_no_data_mut
void nc_case(int_vec_frozen *f) {
    (void)int_vec_frozen_data_mut(f);
}
#endif

/* nc-case: frozen_has_no_push
 * nc-expect: implicit declaration of function 'int_vec_frozen_push'
 */
#ifdef NC_CASE_frozen_has_no_push
void nc_case(int_vec_frozen *f) {
    (void)int_vec_frozen_push(f, 1);
}
#endif

/* nc-case: frozen_where_vec_expected
 * nc-expect: passing argument 1 of 'int_vec_push' from incompatible pointer type|incompatible pointer types passing 'int_vec_frozen \*'.* to parameter of type 'int_vec \*'
 */
#ifdef NC_CASE_frozen_where_vec_expected
void nc_case(int_vec_frozen *f) {
    (void)int_vec_push(f, 1);
}
#endif

/* nc-case: vec_where_frozen_expected
 * nc-expect: passing argument 1 of 'int_vec_frozen_len' from incompatible pointer type|incompatible pointer types passing 'int_vec \*'.* to parameter of type 'const int_vec_frozen \*'
 */
#ifdef NC_CASE_vec_where_frozen_expected
void nc_case(int_vec *v) {
    (void)int_vec_frozen_len(v);
}
#endif

/* nc-case: vector_of_another_type
 * nc-expect: passing argument 1 of 'u8_vec_push' from incompatible pointer type|incompatible pointer types passing 'int_vec \*'.* to parameter of type 'u8_vec \*'
 */
#ifdef NC_CASE_vector_of_another_type
void nc_case(int_vec *v) {
    (void)u8_vec_push(v, 1);
}
#endif

/* nc-case: element_of_another_type
 * nc-expect: incompatible type for argument 2 of 'int_vec_push'|passing 'struct not_an_int' to parameter of incompatible type 'int'
 */
#ifdef NC_CASE_element_of_another_type
struct not_an_int {
    int x;
};
void nc_case(int_vec *v) {
    struct not_an_int e = {1};
    (void)int_vec_push(v, e);
}
#endif

/* nc-case: sealed_has_no_free
 * nc-expect: implicit declaration of function 'int_vec_sealed_free'
 */
#ifdef NC_CASE_sealed_has_no_free
void nc_case(int_vec_sealed *s) {
    (void)int_vec_sealed_free(s);
}
#endif

/* nc-case: sealed_has_no_thaw
 * nc-expect: implicit declaration of function 'int_vec_sealed_thaw'
 */
#ifdef NC_CASE_sealed_has_no_thaw
void nc_case(int_vec_sealed *s, int_vec *v) {
    (void)int_vec_sealed_thaw(s, v);
}
#endif

/* nc-case: write_through_sealed_at
 * nc-expect: assignment of read-only location '\*int_vec_sealed_at\(|read-only variable is not assignable\n *\*int_vec_sealed_at\(
 */
#ifdef NC_CASE_write_through_sealed_at
void nc_case(int_vec_sealed *s) {
    *int_vec_sealed_at(s, 0) = 1;
}
#endif

/* nc-case: sealed_where_frozen_expected
 * nc-expect: passing argument 1 of 'int_vec_frozen_free' from incompatible pointer type|incompatible pointer types passing 'int_vec_sealed \*'.* to parameter of type 'int_vec_frozen \*'
 */
#ifdef NC_CASE_sealed_where_frozen_expected
void nc_case(int_vec_sealed *s) {
    (void)int_vec_frozen_free(s);
}
#endif

/* nc-case: vector_sealed_without_freezing
 * nc-expect: implicit declaration of function 'int_vec_seal'
 */
#ifdef NC_CASE_vector_sealed_without_freezing
void nc_case(int_vec *v, int_vec_sealed *out) {
    (void)int_vec_seal(v, out);
}
#endif

/* nc-case: drop_without_clone_has_no_clone
 * nc-expect: implicit declaration of function 'res_move_vec_clone'
 */
#ifdef NC_CASE_drop_without_clone_has_no_clone
void nc_case(res_move_vec *r) {
    res_move_vec copy;
    (void)res_move_vec_clone(r, &copy);
}
#endif

/* nc-case: drop_without_clone_has_no_resize
 * nc-expect: implicit declaration of function 'res_move_vec_resize'
 */
#ifdef NC_CASE_drop_without_clone_has_no_resize
void nc_case(res_move_vec *r) {
    res fill = {0, {0, 0}};
    (void)res_move_vec_resize(r, 2, fill);
}
#endif

/* clang-format on */
