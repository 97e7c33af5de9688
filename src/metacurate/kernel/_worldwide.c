/*
 * Compiled kernel of the metaclip2 matching modes, for the entries that are padded with a space
 * on at most one side (fully padded entries are matched by the metaclip1 kernel in _native.c).
 *
 * Why this is exact (semantics.md section 4, match/scripts.py): call a character a separator
 * when it is a space or a no-space ("CJK or similar") character of the mode, and cut a string
 * into units: each separator is a unit of its own, every maximal run of other characters is one
 * unit. A pattern p = pad(e) that is not fully padded begins and ends with a separator (a side of
 * e is left unpadded only when its edge character is no-space; a padded side adds a space).
 * Whether a unit boundary lies between two adjacent characters depends only on those two
 * characters, so wherever p occurs in the spaced text S its first and last characters sit on unit
 * boundaries of S and its inner boundaries are S's: p is a run of whole units of S that starts at
 * a separator unit, and every run of units equal to p is an occurrence. So: cut S into units and,
 * from every separator unit, look up the growing run in a table holding every pattern and every
 * unit-prefix of a pattern ("prefix continues" flag); stop as soon as the run is neither.
 *
 * The separator class is data (a BMP bitmap and the ranges above U+FFFF, from scripts.py), so
 * this file knows no script. Texts arrive as Arrow buffers, already validated by the metaclip1
 * kernel, whose per-row status and matches are merged into the output here. No state is kept.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_common.h" /* helpers shared with the other kernel */

#define WW_KERNEL_VERSION 1

typedef struct {
    uint32_t tag;       /* high half of the key hash, never 0 (0 marks an empty slot) */
    uint32_t off;       /* key bytes = blob[off : off + len] */
    uint32_t len_flags; /* len << 2 | FLAG_* */
    int32_t id;         /* entry id, or -(start + 1): multi[start] ids follow at start + 1 */
} WSlot;

typedef struct {
    const uint8_t *bmp;     /* 8192 bytes: bit (c & 7) of byte c >> 3 set for a separator c */
    const uint32_t *astral; /* separator ranges above U+FFFF, [lo, hi, ...] */
    size_t n_astral;        /* number of ranges */
} Classes;

static inline int is_sep(const Classes *c, uint32_t cp) {
    if (cp < 0x10000) return (c->bmp[cp >> 3] >> (cp & 7)) & 1;
    for (size_t i = 0; i < c->n_astral; i++)
        if (cp >= c->astral[2 * i] && cp <= c->astral[2 * i + 1]) return 1;
    return 0;
}

/* One code point at s[0:n] (n >= 1); *adv = bytes used. Input is valid UTF-8; bounds-safe. */
static inline uint32_t decode(const uint8_t *s, size_t n, size_t *adv) {
    uint8_t b = s[0];
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (len > n) len = n;
    uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (size_t i = 1; i < len; i++) cp = (cp << 6) | (s[i] & 0x3Fu);
    *adv = len;
    return cp;
}

static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32) | 1u; }

/* ---- units ---------------------------------------------------------------------------- */

typedef struct {
    size_t *bound; /* unit u is s[bound[u] : bound[u + 1]] */
    uint8_t *sep;  /* 1 when unit u is a separator */
    size_t cap;
} Units;

static int units_reserve(Units *u, size_t n) {
    if (n + 1 <= u->cap) return 0;
    size_t cap = u->cap ? u->cap : 64;
    while (cap < n + 1) cap *= 2;
    size_t *b = realloc(u->bound, cap * sizeof(size_t));
    if (!b) return -1;
    u->bound = b;
    uint8_t *s = realloc(u->sep, cap);
    if (!s) return -1;
    u->sep = s;
    u->cap = cap;
    return 0;
}

static void units_free(Units *u) {
    free(u->bound);
    free(u->sep);
    u->bound = NULL;
    u->sep = NULL;
    u->cap = 0;
}

/* Cut s[0:n] into units; returns their number, or -1 when out of memory. */
static Py_ssize_t units_of(Units *u, const uint8_t *s, size_t n, const Classes *c) {
    if (units_reserve(u, n) < 0) return -1; /* at most one unit per byte */
    size_t i = 0, nu = 0, adv;
    while (i < n) {
        uint32_t cp = decode(s + i, n - i, &adv);
        u->bound[nu] = i;
        if (is_sep(c, cp)) {
            u->sep[nu++] = 1;
            i += adv;
            continue;
        }
        u->sep[nu++] = 0;
        i += adv;
        while (i < n) {
            cp = decode(s + i, n - i, &adv);
            if (is_sep(c, cp)) break;
            i += adv;
        }
    }
    u->bound[nu] = n;
    return (Py_ssize_t)nu;
}

/* ---- table ---------------------------------------------------------------------------- */

static inline WSlot *find(WSlot *slots, uint64_t mask, const uint8_t *blob, uint64_t h,
                          const uint8_t *key, size_t len) {
    uint64_t i = h & mask;
    uint32_t want = tag_of(h);
    for (;;) {
        WSlot *s = &slots[i];
        if (s->tag == 0) return NULL;
        if (s->tag == want && (s->len_flags >> 2) == len && memcmp(blob + s->off, key, len) == 0)
            return s;
        i = (i + 1) & mask;
    }
}

/* The slot for key blob[off : off + len], created empty of flags when absent. */
static WSlot *insert(WSlot *slots, uint64_t mask, const uint8_t *blob, uint64_t h, uint32_t off,
                     size_t len) {
    uint64_t i = h & mask;
    uint32_t want = tag_of(h);
    for (;;) {
        WSlot *s = &slots[i];
        if (s->tag == 0) {
            s->tag = want;
            s->off = off;
            s->len_flags = (uint32_t)len << 2;
            s->id = 0;
            return s;
        }
        if (s->tag == want && (s->len_flags >> 2) == len &&
            memcmp(blob + s->off, blob + off, len) == 0)
            return s;
        i = (i + 1) & mask;
    }
}

/* ---- buffers from Python ------------------------------------------------------------- */

static int classes_from(Classes *c, Buf *bmp, Buf *astral) {
    if (!bmp->held || bmp->b.len != 8192) {
        PyErr_SetString(PyExc_ValueError, "separator bitmap must be 8192 bytes");
        return -1;
    }
    c->bmp = bmp->b.buf;
    c->astral = astral->held ? astral->b.buf : NULL;
    c->n_astral = astral->held ? (size_t)astral->b.len / (2 * sizeof(uint32_t)) : 0;
    return 0;
}

/* ---- build ---------------------------------------------------------------------------- */

/*
 * build(blob, offsets int64[n+1], ids int32[n], bmp, astral) -> (slots: bytes, mask: int)
 * blob[offsets[p] : offsets[p + 1]] is pattern p (distinct patterns), ids[p] its slot id.
 */
static PyObject *build(PyObject *self, PyObject *args) {
    PyObject *blob_o, *offs_o, *ids_o, *bmp_o, *astral_o;
    if (!PyArg_ParseTuple(args, "OOOOO", &blob_o, &offs_o, &ids_o, &bmp_o, &astral_o)) return NULL;
    Buf bb, bo, bi, bm, ba;
    bb.held = bo.held = bi.held = bm.held = ba.held = 0;
    PyObject *result = NULL;
    WSlot *slots = NULL;
    Units un = {0};
    Classes cls;
    if (get_buf(blob_o, &bb, 0) < 0 || get_buf(offs_o, &bo, 0) < 0 ||
        get_buf(ids_o, &bi, 0) < 0 || get_buf(bmp_o, &bm, 0) < 0 ||
        get_buf(astral_o, &ba, 0) < 0 || classes_from(&cls, &bm, &ba) < 0)
        goto done;
    const uint8_t *blob = bb.held ? bb.b.buf : (const uint8_t *)"";
    const int64_t *offs = bo.b.buf;
    const int32_t *ids = bi.held ? bi.b.buf : NULL;
    Py_ssize_t n = bo.b.len / 8 - 1;
    if (n < 0 || (bi.held ? bi.b.len / 4 : 0) != n) {
        PyErr_SetString(PyExc_ValueError, "offsets and ids disagree");
        goto done;
    }
    if (offs[n] > (int64_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "patterns over 4 GiB");
        goto done;
    }
    size_t keys = 0; /* upper bound: one key per unit of every pattern */
    for (Py_ssize_t p = 0; p < n; p++) {
        Py_ssize_t nu = units_of(&un, blob + offs[p], (size_t)(offs[p + 1] - offs[p]), &cls);
        if (nu < 0) {
            PyErr_NoMemory();
            goto done;
        }
        keys += (size_t)nu;
    }
    uint64_t size = 8;
    while (size < 2 * keys) size *= 2;
    uint64_t mask = size - 1;
    slots = calloc(size, sizeof(WSlot));
    if (!slots) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t p = 0; p < n; p++) {
        const uint8_t *s = blob + offs[p];
        size_t len = (size_t)(offs[p + 1] - offs[p]);
        Py_ssize_t nu = units_of(&un, s, len, &cls);
        uint64_t h = FNV_BASIS;
        for (Py_ssize_t k = 0; k < nu; k++) {
            size_t a = un.bound[k], b = un.bound[k + 1];
            h = fnv1a(h, s + a, b - a);
            WSlot *sl = insert(slots, mask, blob, fmix64(h), (uint32_t)offs[p], b);
            if (k + 1 < nu) {
                sl->len_flags |= FLAG_PREFIX;
            } else {
                if (sl->len_flags & FLAG_ENTRY) {
                    PyErr_SetString(PyExc_ValueError, "patterns must be distinct");
                    goto done;
                }
                sl->len_flags |= FLAG_ENTRY;
                sl->id = ids[p];
            }
        }
    }
    result = Py_BuildValue("y#K", (const char *)slots, (Py_ssize_t)(size * sizeof(WSlot)),
                           (unsigned long long)mask);
done:
    free(slots);
    units_free(&un);
    rel_buf(&bb);
    rel_buf(&bo);
    rel_buf(&bi);
    rel_buf(&bm);
    rel_buf(&ba);
    return result;
}

/* ---- match ---------------------------------------------------------------------------- */

/* spacing(text) of s[0:n] into out (room for 3n + 2 bytes); returns its length. */
static size_t spaced(uint8_t *out, const uint8_t *s, size_t n) {
    size_t w = 0;
    out[w++] = ' ';
    for (size_t i = 0; i < n; i++) {
        uint8_t b = s[i];
        if (is_wrapped(b)) {
            out[w++] = ' ';
            out[w++] = b;
            out[w++] = ' ';
        } else {
            out[w++] = (b == '\t' || b == '\n' || b == '\r') ? ' ' : b;
        }
    }
    out[w++] = ' ';
    return w;
}

/* Ids of the table's patterns in S[0:n], appended to out; -1 when out of memory. */
static int walk(IdVec *out, Units *un, const uint8_t *S, size_t n, WSlot *slots, uint64_t mask,
                const uint8_t *blob, const int32_t *multi, const Classes *cls) {
    Py_ssize_t nu = units_of(un, S, n, cls);
    if (nu < 0) return -1;
    for (Py_ssize_t u = 0; u < nu; u++) {
        if (!un->sep[u]) continue;
        size_t start = un->bound[u];
        uint64_t h = FNV_BASIS;
        for (Py_ssize_t k = u; k < nu; k++) {
            size_t a = un->bound[k], b = un->bound[k + 1];
            h = fnv1a(h, S + a, b - a);
            WSlot *sl = find(slots, mask, blob, fmix64(h), S + start, b - start);
            if (!sl) break;
            if (sl->len_flags & FLAG_ENTRY) {
                if (sl->id >= 0) {
                    if (idvec_push(out, sl->id) < 0) return -1;
                } else {
                    const int32_t *m = multi + (-(int64_t)sl->id - 1);
                    for (int32_t j = 1; j <= m[0]; j++)
                        if (idvec_push(out, m[j]) < 0) return -1;
                }
            }
            if (!(sl->len_flags & FLAG_PREFIX)) break;
        }
    }
    return 0;
}

enum { ST_TEXT = 0, ST_NULL = 1, ST_EMPTY = 2, ST_INVALID_UTF8 = 3 };

/*
 * match(slots, blob, multi, mask, bmp, astral, offsets, offsets_64, data, arr_offset, n,
 *       status, in_offsets, in_ids, remap) -> (out_offsets: bytes of int32[n+1], out_ids: bytes)
 * offsets/data are the buffers of an Arrow (large_)string or (large_)binary array; status,
 * in_offsets and in_ids are the metaclip1 kernel's result on the same rows, its ids being
 * positions in remap (int32), which gives the entry ids. Rows with status text or empty are
 * walked; every row's output is the sorted union of both.
 */
static PyObject *match(PyObject *self, PyObject *args) {
    PyObject *slots_o, *blob_o, *multi_o, *bmp_o, *astral_o, *offs_o, *data_o, *st_o, *io_o,
        *ii_o, *remap_o;
    unsigned long long mask;
    int offs64;
    Py_ssize_t arr_offset, n;
    if (!PyArg_ParseTuple(args, "OOOKOOOpOnnOOOO", &slots_o, &blob_o, &multi_o, &mask, &bmp_o,
                          &astral_o, &offs_o, &offs64, &data_o, &arr_offset, &n, &st_o, &io_o,
                          &ii_o, &remap_o))
        return NULL;
    Buf bs, bb, bmu, bm, ba, bo, bd, bst, bio, bii, brm;
    bs.held = bb.held = bmu.held = bm.held = ba.held = bo.held = bd.held = 0;
    bst.held = bio.held = bii.held = brm.held = 0;
    PyObject *result = NULL;
    int32_t *out_off = NULL;
    uint8_t *S = NULL;
    size_t S_cap = 0;
    IdVec out = {0};
    Units un = {0};
    Classes cls;
    if (get_buf(slots_o, &bs, 0) < 0 || get_buf(blob_o, &bb, 0) < 0 ||
        get_buf(multi_o, &bmu, 0) < 0 || get_buf(bmp_o, &bm, 0) < 0 ||
        get_buf(astral_o, &ba, 0) < 0 || get_buf(offs_o, &bo, 0) < 0 ||
        get_buf(data_o, &bd, 0) < 0 || get_buf(st_o, &bst, 0) < 0 ||
        get_buf(io_o, &bio, 0) < 0 || get_buf(ii_o, &bii, 0) < 0 ||
        get_buf(remap_o, &brm, 0) < 0 || classes_from(&cls, &bm, &ba) < 0)
        goto done;
    if (!bs.held || bs.b.len != (Py_ssize_t)((mask + 1) * sizeof(WSlot))) {
        PyErr_SetString(PyExc_ValueError, "index table does not match the mask");
        goto done;
    }
    WSlot *slots = bs.b.buf;
    const uint8_t *blob = bb.held ? bb.b.buf : (const uint8_t *)"";
    const int32_t *multi = bmu.held ? bmu.b.buf : NULL;
    const uint8_t *data = bd.held ? bd.b.buf : (const uint8_t *)"";
    Py_ssize_t noffs = bo.b.len / (offs64 ? 8 : 4);
    if (arr_offset < 0 || n < 0 || arr_offset + n + 1 > noffs || bst.b.len < n ||
        bio.b.len < (n + 1) * 4) {
        PyErr_SetString(PyExc_ValueError, "buffers too short for n rows");
        goto done;
    }
    const uint8_t *status = bst.b.buf;
    const int32_t *in_off = bio.b.buf;
    const int32_t *in_ids = bii.held ? bii.b.buf : NULL;
    const int32_t *remap = brm.held ? brm.b.buf : NULL;
    Py_ssize_t n_in = bii.held ? bii.b.len / 4 : 0, n_remap = brm.held ? brm.b.len / 4 : 0;
    if (in_off[n] > n_in) {
        PyErr_SetString(PyExc_ValueError, "metaclip1 ids buffer too short");
        goto done;
    }
    for (Py_ssize_t j = 0; j < in_off[n]; j++)
        if (in_ids[j] < 0 || in_ids[j] >= n_remap) {
            PyErr_SetString(PyExc_ValueError, "metaclip1 id outside remap");
            goto done;
        }
    out_off = malloc((size_t)(n + 1) * sizeof(int32_t));
    if (!out_off) {
        PyErr_NoMemory();
        goto done;
    }
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS;
    out_off[0] = 0;
    for (Py_ssize_t r = 0; r < n && !oom; r++) {
        size_t row_start = out.n;
        if (status[r] == ST_TEXT || status[r] == ST_EMPTY) {
            Py_ssize_t a = arr_offset + r;
            int64_t b0 = offs64 ? ((const int64_t *)bo.b.buf)[a] : ((const int32_t *)bo.b.buf)[a];
            int64_t b1 =
                offs64 ? ((const int64_t *)bo.b.buf)[a + 1] : ((const int32_t *)bo.b.buf)[a + 1];
            size_t len = (size_t)(b1 - b0);
            if (3 * len + 2 > S_cap) {
                size_t cap = S_cap ? S_cap : 256;
                while (cap < 3 * len + 2) cap *= 2;
                uint8_t *p = realloc(S, cap);
                if (!p) {
                    oom = 1;
                    break;
                }
                S = p;
                S_cap = cap;
            }
            size_t sn = spaced(S, data + b0, len);
            if (walk(&out, &un, S, sn, slots, mask, blob, multi, &cls) < 0) oom = 1;
            for (int32_t j = in_off[r]; j < in_off[r + 1] && !oom; j++)
                if (idvec_push(&out, remap[in_ids[j]]) < 0) oom = 1;
            out.n = sort_unique(out.v, row_start, out.n);
        }
        if (out.n > INT32_MAX) oom = 2;
        out_off[r + 1] = (int32_t)out.n;
    }
    Py_END_ALLOW_THREADS;
    if (oom == 2) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**31 matches in one batch");
        goto done;
    }
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_BuildValue("y#y#", (const char *)out_off, (Py_ssize_t)((n + 1) * 4),
                           (const char *)(out.v ? out.v : (int32_t *)""), (Py_ssize_t)(out.n * 4));
done:
    free(out_off);
    free(S);
    free(out.v);
    units_free(&un);
    rel_buf(&bs);
    rel_buf(&bb);
    rel_buf(&bmu);
    rel_buf(&bm);
    rel_buf(&ba);
    rel_buf(&bo);
    rel_buf(&bd);
    rel_buf(&bst);
    rel_buf(&bio);
    rel_buf(&bii);
    rel_buf(&brm);
    return result;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "Build the unit-span table of metaclip2 patterns."},
    {"match", match, METH_VARARGS, "Match Arrow text buffers against the unit-span table."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_worldwide",
                                    "metaclip2 unit-span matching kernel", -1, methods};

PyMODINIT_FUNC PyInit__worldwide(void) {
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "KERNEL_VERSION", WW_KERNEL_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "SLOT_SIZE", (long)sizeof(WSlot)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
