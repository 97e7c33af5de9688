/*
 * What both compiled kernels share (_native.c: metaclip1 matching, uid hashing, the keep
 * decision; _worldwide.c: the metaclip2 modes' unit-span matcher): one copy of each helper.
 * Included by both after <Python.h>; every function is static, so each extension module gets
 * its own copy and the two stay independent at run time. setup.py lists this file in each
 * extension's ``depends``, so a change here rebuilds both.
 */
#ifndef METACURATE_KERNEL_COMMON_H
#define METACURATE_KERNEL_COMMON_H

#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Flag bits of a table slot: the key is an entry / a prefix of an entry continues. */
#define FLAG_ENTRY 1u
#define FLAG_PREFIX 2u
#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* ---- hashing ------------------------------------------------------------------------------ */

/* MurmurHash3's 64-bit finalizer. */
static inline uint64_t fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* FNV-1a over p[0:n], from state h (FNV_BASIS to start). */
static inline uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* The seven marks spacing() wraps in spaces (marks.py). */
static inline int is_wrapped(uint8_t b) {
    return b == ',' || b == '.' || b == ';' || b == ':' || b == '?' || b == '!' || b == '`';
}

/* ---- buffers from Python ------------------------------------------------------------------ */

typedef struct {
    Py_buffer b;
    int held;
} Buf;

/* A contiguous buffer (or None: held = 0, len = 0). */
static int get_buf(PyObject *o, Buf *out, int writable) {
    out->held = 0;
    out->b.buf = NULL;
    out->b.len = 0;
    if (o == Py_None) return 0;
    if (PyObject_GetBuffer(o, &out->b, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) return -1;
    out->held = 1;
    return 0;
}

static void rel_buf(Buf *b) {
    if (b->held) PyBuffer_Release(&b->b);
    b->held = 0;
}

/* ---- growing id lists --------------------------------------------------------------------- */

typedef struct {
    int32_t *v;
    size_t n, cap;
} IdVec;

static int idvec_push(IdVec *v, int32_t x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        int32_t *p = realloc(v->v, cap * sizeof(int32_t));
        if (!p) return -1;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sort and deduplicate v[start:end], return the new end. */
static size_t sort_unique(int32_t *v, size_t start, size_t end) {
    size_t n = end - start;
    int32_t *a = v + start;
    if (n < 2) return end;
    if (n <= 32) {
        for (size_t i = 1; i < n; i++) {
            int32_t x = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    } else {
        qsort(a, n, sizeof(int32_t), cmp_i32);
    }
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[w - 1]) a[w++] = a[i];
    return start + w;
}

#endif
