/*
 * An element type with drop and clone functions, for the drop-hook tests
 * (tests/vec/vec_drop_test.cc defines them, counting every call) and the
 * must-not-compile cases of a type without clone (tests/vec/vec_nc.c).
 */
#ifndef MEMORY_PAGES_TESTS_VEC_DROP_ELEM_H
#define MEMORY_PAGES_TESTS_VEC_DROP_ELEM_H

#include <stdint.h>

#include "memory_pages/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 24 bytes, which do not divide the page; id says which element it is. */
typedef struct res {
    uint64_t id;
    uint64_t pad[2];
} res;

void res_drop(res *r);
mp_status res_clone(res *dst, const res *src);

#ifdef __cplusplus
}
#endif

#endif /* MEMORY_PAGES_TESTS_VEC_DROP_ELEM_H */
