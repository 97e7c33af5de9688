/*
 * Native kernel of the metaclip1 matcher: a hash table of space-bounded token spans.
 *
 * Why this is exact (semantics.md section 1): an entry e matches a caption when " e " is a
 * substring of spacing(caption) = " " + X + " ". Such an occurrence starts right after a space
 * and ends right before one, so e is a run of consecutive tokens of X.split(" ") joined by single
 * spaces (empty tokens from repeated spaces included), and every such run is an occurrence.
 * So: split X into tokens, and for every start token look up the growing span in a table holding
 * every entry and every token-prefix of an entry ("prefix continues" flag); stop extending a span
 * as soon as it is neither. X is never built: tokens point into the caption's UTF-8 bytes, with
 * each of the seven wrapped marks a one-byte token and tab/CR/LF acting as spaces.
 *
 * The Python side (matcher.py) owns the table arrays (built here once, cached as .npy files and
 * memory-mapped by workers) and passes them in with every batch; this file keeps no state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_ENTRY 1u
#define FLAG_PREFIX 2u
#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define SPAN_SEED 0x9e3779b97f4a7c15ULL

typedef struct {
    uint64_t hash;      /* span hash (never used as the only test: bytes are compared) */
    uint64_t head;      /* the key's first 8 bytes, zero padded: most keys are shorter, and
                           comparing here saves a cache miss on the blob */
    uint32_t off;       /* key bytes = blob[off : off + len] */
    uint32_t len_flags; /* len << 2 | flags; 0 = empty slot */
    uint32_t nids;      /* number of entry ids with exactly these bytes */
    int32_t id;         /* the id when nids == 1, else start in the ids array */
} Slot;

static inline uint64_t head_of(const uint8_t *p, size_t n) {
    uint64_t h = 0;
    if (n > 8) n = 8;
    memcpy(&h, p, n);
    return h;
}

static inline uint64_t fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static inline uint64_t span_step(uint64_t h, uint64_t token_hash) {
    return fmix64(h ^ token_hash) + SPAN_SEED;
}

static inline int is_wrapped(uint8_t b) {
    return b == ',' || b == '.' || b == ';' || b == ':' || b == '?' || b == '!' || b == '`';
}

static inline int is_space(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }

/* ---- token scratch -------------------------------------------------------------------- */

typedef struct {
    const uint8_t **ptr;
    uint32_t *len;
    uint64_t *hash;  /* hash of the token's bytes */
    uint64_t *first; /* span hash of the one-token span starting here (prefetched) */
    uint64_t *head;  /* the token's first 8 bytes, zero padded */
    size_t cap;
} Tokens;

static int tokens_reserve(Tokens *t, size_t n) {
    if (n <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < n) cap *= 2;
    const uint8_t **p = realloc(t->ptr, cap * sizeof(*p));
    if (!p) return -1;
    t->ptr = p;
    uint32_t *l = realloc(t->len, cap * sizeof(*l));
    if (!l) return -1;
    t->len = l;
    uint64_t *h = realloc(t->hash, cap * sizeof(*h));
    if (!h) return -1;
    t->hash = h;
    uint64_t *f = realloc(t->first, cap * sizeof(*f));
    if (!f) return -1;
    t->first = f;
    uint64_t *hd = realloc(t->head, cap * sizeof(*hd));
    if (!hd) return -1;
    t->head = hd;
    t->cap = cap;
    return 0;
}

static void tokens_free(Tokens *t) {
    free(t->ptr);
    free(t->len);
    free(t->hash);
    free(t->first);
    free(t->head);
}

#define PUSH_TOKEN(P, L)                                                                       \
    do {                                                                                       \
        tk->ptr[nt] = (P);                                                                     \
        tk->len[nt] = (uint32_t)(L);                                                           \
        tk->hash[nt] = fnv1a(FNV_BASIS, (P), (L));                                             \
        tk->head[nt] = head_of((P), (L));                                                      \
        nt++;                                                                                  \
    } while (0)

/* Tokens of X = spacing(text)[1:-1], i.e. X.split(" "). Returns the count, -1 on no memory. */
static Py_ssize_t caption_tokens(Tokens *tk, const uint8_t *s, size_t n) {
    if (tokens_reserve(tk, 2 * n + 1) < 0) return -1;
    Py_ssize_t nt = 0;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = s[i];
        if (b > '`') continue; /* fast path: no separator or mark above backtick (0x60) */
        if (is_space(b)) {
            PUSH_TOKEN(s + start, i - start);
            start = i + 1;
        } else if (is_wrapped(b)) {
            PUSH_TOKEN(s + start, i - start);
            PUSH_TOKEN(s + i, 1);
            start = i + 1;
        }
    }
    PUSH_TOKEN(s + start, n - start);
    return nt;
}

/* Tokens of an entry: plain split on " " (an entry is compared byte for byte). */
static Py_ssize_t entry_tokens(Tokens *tk, const uint8_t *s, size_t n) {
    if (tokens_reserve(tk, n + 1) < 0) return -1;
    Py_ssize_t nt = 0;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            PUSH_TOKEN(s + start, i - start);
            start = i + 1;
        }
    }
    PUSH_TOKEN(s + start, n - start);
    return nt;
}

/* Do tokens [j, k] joined by single spaces equal key? */
static inline int bytes_equal(const uint8_t *a, const uint8_t *b, uint32_t n) {
    /* tokens are short: an inline loop beats a libc memcmp call */
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n--)
        if (*a++ != *b++) return 0;
    return 1;
}

static inline int span_equals(const Tokens *tk, Py_ssize_t j, Py_ssize_t k, const uint8_t *key) {
    for (Py_ssize_t m = j; m <= k; m++) {
        if (!bytes_equal(key, tk->ptr[m], tk->len[m])) return 0;
        key += tk->len[m];
        if (m < k) {
            if (*key != ' ') return 0;
            key++;
        }
    }
    return 1;
}

/* A slot's 16-bit tag (never 0, which marks an empty slot): probing reads the small tag array
 * (2 bytes a slot, cache friendly) and touches the 24-byte slot only when the tag agrees. */
static inline uint16_t tag_of(uint64_t h) { return (uint16_t)((h >> 48) | 1u); }

static inline Slot *find_slot(Slot *slots, const uint16_t *tags, uint64_t mask,
                              const uint8_t *blob, const Tokens *tk, Py_ssize_t j, Py_ssize_t k,
                              uint64_t h, uint32_t span_len) {
    uint64_t i = h & mask;
    uint16_t want = tag_of(h);
    for (;;) {
        uint16_t t = tags[i];
        if (t == 0) return NULL;
        if (t == want) {
            Slot *s = &slots[i];
            if (s->hash == h && (s->len_flags >> 2) == span_len) {
                if (j == k) { /* one token: its head, then the bytes past 8 */
                    if (s->head == tk->head[j] &&
                        (span_len <= 8 ||
                         bytes_equal(blob + s->off + 8, tk->ptr[j] + 8, span_len - 8)))
                        return s;
                } else if (span_equals(tk, j, k, blob + s->off)) {
                    return s;
                }
            }
        }
        i = (i + 1) & mask;
    }
}

/* ---- buffers from Python ------------------------------------------------------------- */

typedef struct {
    Py_buffer b;
    int held;
} Buf;

static int get_buf(PyObject *o, Buf *out, int writable) {
    out->held = 0;
    if (o == Py_None) return 0;
    if (PyObject_GetBuffer(o, &out->b, writable ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) return -1;
    out->held = 1;
    return 0;
}

static void rel_buf(Buf *b) {
    if (b->held) PyBuffer_Release(&b->b);
    b->held = 0;
}

/* ---- build ---------------------------------------------------------------------------- */

/* build(blob, offsets int64[n+1]) -> (slots, tags, ids, mask) */
static PyObject *build(PyObject *self, PyObject *args) {
    PyObject *blob_o, *offs_o;
    if (!PyArg_ParseTuple(args, "OO", &blob_o, &offs_o)) return NULL;
    Buf blob, offs;
    if (get_buf(blob_o, &blob, 0) < 0) return NULL;
    if (get_buf(offs_o, &offs, 0) < 0) {
        rel_buf(&blob);
        return NULL;
    }
    const uint8_t *data = blob.b.buf;
    const int64_t *off = offs.b.buf;
    Py_ssize_t n = offs.b.len / (Py_ssize_t)sizeof(int64_t) - 1;
    PyObject *result = NULL;
    Slot *slots = NULL;
    uint16_t *tags = NULL;
    int32_t *ids = NULL;
    uint32_t *fill = NULL;
    Tokens tk = {0};

    if (n < 0 || blob.b.len >= ((Py_ssize_t)1 << 32)) {
        PyErr_SetString(PyExc_ValueError, "metadata too large for the native matcher (>= 4 GiB)");
        goto done;
    }
    /* Upper bound on keys: one per token of every entry. Load factor <= 0.5. */
    uint64_t max_keys = 1;
    for (Py_ssize_t e = 0; e < n; e++) {
        max_keys++;
        for (int64_t i = off[e]; i < off[e + 1]; i++) max_keys += data[i] == ' ';
    }
    uint64_t size = 16;
    while (size < 2 * max_keys) size *= 2;
    uint64_t mask = size - 1;
    slots = calloc(size, sizeof(Slot));
    tags = calloc(size, sizeof(uint16_t));
    if (!slots || !tags) {
        PyErr_NoMemory();
        goto done;
    }
    /* Pass 1: insert entries and their proper token prefixes; count ids per key. */
    for (Py_ssize_t e = 0; e < n; e++) {
        const uint8_t *s = data + off[e];
        size_t len = (size_t)(off[e + 1] - off[e]);
        Py_ssize_t nt = entry_tokens(&tk, s, len);
        if (nt < 0) {
            PyErr_NoMemory();
            goto done;
        }
        uint64_t h = 0;
        uint32_t span_len = 0;
        for (Py_ssize_t k = 0; k < nt; k++) {
            h = span_step(h, tk.hash[k]);
            span_len += tk.len[k] + (k > 0);
            uint32_t flag = (k == nt - 1) ? FLAG_ENTRY : FLAG_PREFIX;
            Slot *slot = find_slot(slots, tags, mask, data, &tk, 0, k, h, span_len);
            if (!slot) {
                uint64_t i = h & mask;
                while (tags[i] != 0) i = (i + 1) & mask;
                tags[i] = tag_of(h);
                slot = &slots[i];
                slot->hash = h;
                slot->head = head_of(s, span_len);
                slot->off = (uint32_t)off[e];
                slot->len_flags = span_len << 2;
            }
            slot->len_flags |= flag;
            if (flag == FLAG_ENTRY) {
                if (slot->nids == 0) slot->id = (int32_t)e;
                slot->nids++;
            }
        }
    }
    /* Pass 2: keys shared by several entries (duplicates) get a list in `ids`, ascending. */
    uint64_t nmulti = 0;
    for (uint64_t i = 0; i < size; i++)
        if (slots[i].nids > 1) {
            slots[i].id = (int32_t)nmulti;
            nmulti += slots[i].nids;
        }
    ids = malloc((nmulti ? nmulti : 1) * sizeof(int32_t));
    fill = calloc(size, sizeof(uint32_t));
    if (!ids || !fill) {
        PyErr_NoMemory();
        goto done;
    }
    if (nmulti)
        for (Py_ssize_t e = 0; e < n; e++) {
            const uint8_t *s = data + off[e];
            Py_ssize_t nt = entry_tokens(&tk, s, (size_t)(off[e + 1] - off[e]));
            if (nt < 0) {
                PyErr_NoMemory();
                goto done;
            }
            uint64_t h = 0;
            uint32_t span_len = 0;
            for (Py_ssize_t k = 0; k < nt; k++) {
                h = span_step(h, tk.hash[k]);
                span_len += tk.len[k] + (k > 0);
            }
            Slot *slot = find_slot(slots, tags, mask, data, &tk, 0, nt - 1, h, span_len);
            if (slot->nids > 1) ids[slot->id + fill[slot - slots]++] = (int32_t)e;
        }
    result = Py_BuildValue("y#y#y#K", (const char *)slots, (Py_ssize_t)(size * sizeof(Slot)),
                           (const char *)tags, (Py_ssize_t)(size * sizeof(uint16_t)),
                           (const char *)ids, (Py_ssize_t)(nmulti * sizeof(int32_t)),
                           (unsigned long long)mask);
done:
    free(slots);
    free(tags);
    free(ids);
    free(fill);
    tokens_free(&tk);
    rel_buf(&blob);
    rel_buf(&offs);
    return result;
}

/* ---- match ---------------------------------------------------------------------------- */

/* 0 = valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), else invalid. */
static int utf8_invalid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else
            return 1;
        if (i + need >= n) return 1; /* truncated sequence */
        for (size_t m = 1; m <= need; m++) {
            uint8_t cc = s[i + m];
            if ((cc & 0xC0) != 0x80) return 1;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 1;
        i += need + 1;
    }
    return 0;
}

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

/* Sort and deduplicate v[start:], return the new length of v. */
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

enum { ST_TEXT = 0, ST_NULL = 1, ST_EMPTY = 2, ST_INVALID_UTF8 = 3 };

/*
 * match(slots, blob, ids, mask, offsets, offsets_64, data, validity, arr_offset, n)
 *   -> (out_offsets: bytes of int32[n+1], out_ids: bytes of int32[], status: bytes of uint8[n])
 * offsets/data/validity are the buffers of an Arrow (large_)string or (large_)binary array.
 */
static PyObject *match(PyObject *self, PyObject *args) {
    PyObject *slots_o, *tags_o, *blob_o, *ids_o, *offs_o, *data_o, *valid_o;
    unsigned long long mask;
    int offs64;
    Py_ssize_t arr_offset, n;
    if (!PyArg_ParseTuple(args, "OOOOKOpOOnn", &slots_o, &tags_o, &blob_o, &ids_o, &mask, &offs_o,
                          &offs64, &data_o, &valid_o, &arr_offset, &n))
        return NULL;
    Buf bs, bt, bb, bi, bo, bd, bv;
    bs.held = bt.held = bb.held = bi.held = bo.held = bd.held = bv.held = 0;
    PyObject *result = NULL;
    int32_t *out_off = NULL;
    uint8_t *status = NULL;
    IdVec out = {0};
    Tokens tk = {0};
    if (get_buf(slots_o, &bs, 0) < 0 || get_buf(tags_o, &bt, 0) < 0 ||
        get_buf(blob_o, &bb, 0) < 0 ||
        get_buf(ids_o, &bi, 0) < 0 || get_buf(offs_o, &bo, 0) < 0 ||
        get_buf(data_o, &bd, 0) < 0 || get_buf(valid_o, &bv, 0) < 0)
        goto done;
    Slot *slots = bs.b.buf;
    const uint16_t *tags = bt.b.buf;
    const uint8_t *blob = bb.b.buf;
    if (bs.b.len != (Py_ssize_t)((mask + 1) * sizeof(Slot)) ||
        bt.b.len != (Py_ssize_t)((mask + 1) * sizeof(uint16_t))) {
        PyErr_SetString(PyExc_ValueError, "index tables do not match the mask");
        goto done;
    }
    const int32_t *multi = bi.held ? bi.b.buf : NULL;
    const uint8_t *data = bd.held ? bd.b.buf : (const uint8_t *)"";
    const uint8_t *validity = bv.held ? bv.b.buf : NULL;
    Py_ssize_t noffs = bo.b.len / (offs64 ? 8 : 4);
    if (arr_offset < 0 || n < 0 || arr_offset + n + 1 > noffs) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short");
        goto done;
    }
    out_off = malloc((size_t)(n + 1) * sizeof(int32_t));
    status = malloc((size_t)(n ? n : 1));
    if (!out_off || !status) {
        PyErr_NoMemory();
        goto done;
    }
    int oom = 0;
    Py_BEGIN_ALLOW_THREADS;
    out_off[0] = 0;
    for (Py_ssize_t r = 0; r < n && !oom; r++) {
        Py_ssize_t a = arr_offset + r;
        size_t row_start = out.n;
        int64_t b0 = offs64 ? ((const int64_t *)bo.b.buf)[a] : ((const int32_t *)bo.b.buf)[a];
        int64_t b1 =
            offs64 ? ((const int64_t *)bo.b.buf)[a + 1] : ((const int32_t *)bo.b.buf)[a + 1];
        const uint8_t *s = data + b0;
        size_t len = (size_t)(b1 - b0);
        if (validity && !((validity[a >> 3] >> (a & 7)) & 1)) {
            status[r] = ST_NULL;
        } else if (utf8_invalid(s, len)) {
            status[r] = ST_INVALID_UTF8;
        } else {
            status[r] = len ? ST_TEXT : ST_EMPTY;
            Py_ssize_t nt = caption_tokens(&tk, s, len);
            if (nt < 0) {
                oom = 1;
                break;
            }
            /* Memory latency dominates: start loading every token's first slot now. */
            for (Py_ssize_t j = 0; j < nt; j++) {
                uint64_t h1 = span_step(0, tk.hash[j]);
                tk.first[j] = h1;
                __builtin_prefetch(&tags[h1 & mask]);
                __builtin_prefetch(&slots[h1 & mask]);
                if (j > 0) __builtin_prefetch(&tags[span_step(tk.first[j - 1], tk.hash[j]) & mask]);
            }
            for (Py_ssize_t j = 0; j < nt && !oom; j++) {
                uint64_t h = 0;
                uint32_t span_len = 0;
                for (Py_ssize_t k = j; k < nt; k++) {
                    h = k == j ? tk.first[j] : span_step(h, tk.hash[k]);
                    span_len += tk.len[k] + (k > j);
                    Slot *slot = find_slot(slots, tags, mask, blob, &tk, j, k, h, span_len);
                    if (!slot) break;
                    if (slot->nids == 1) {
                        if (idvec_push(&out, slot->id) < 0) oom = 1;
                    } else {
                        for (uint32_t m = 0; m < slot->nids; m++)
                            if (idvec_push(&out, multi[slot->id + m]) < 0) oom = 1;
                    }
                    if (!(slot->len_flags & FLAG_PREFIX)) break;
                }
            }
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
    result = Py_BuildValue("y#y#y#", (const char *)out_off, (Py_ssize_t)((n + 1) * 4),
                           (const char *)(out.v ? out.v : (int32_t *)""),
                           (Py_ssize_t)(out.n * 4), (const char *)status, n);
done:
    free(out_off);
    free(status);
    free(out.v);
    tokens_free(&tk);
    rel_buf(&bs);
    rel_buf(&bt);
    rel_buf(&bb);
    rel_buf(&bi);
    rel_buf(&bo);
    rel_buf(&bd);
    rel_buf(&bv);
    return result;
}

/* ---- uid hashing ---------------------------------------------------------------------- */

/*
 * fnv1a(offsets, offsets_64, data, validity, arr_offset, n, state) -> None
 * Continues the FNV-1a 64 state (a writable uint64[n] buffer) over each row's bytes;
 * null rows leave the state as it is.
 */
static PyObject *fnv1a_rows(PyObject *self, PyObject *args) {
    PyObject *offs_o, *data_o, *valid_o, *state_o;
    int offs64;
    Py_ssize_t arr_offset, n;
    if (!PyArg_ParseTuple(args, "OpOOnnO", &offs_o, &offs64, &data_o, &valid_o, &arr_offset, &n,
                          &state_o))
        return NULL;
    Buf bo, bd, bv, bst;
    bo.held = bd.held = bv.held = bst.held = 0;
    PyObject *result = NULL;
    if (get_buf(offs_o, &bo, 0) < 0 || get_buf(data_o, &bd, 0) < 0 ||
        get_buf(valid_o, &bv, 0) < 0 || get_buf(state_o, &bst, 1) < 0)
        goto done;
    if (arr_offset + n + 1 > bo.b.len / (offs64 ? 8 : 4) || bst.b.len < n * 8) {
        PyErr_SetString(PyExc_ValueError, "buffer too short");
        goto done;
    }
    uint64_t *state = bst.b.buf;
    const uint8_t *data = bd.held ? bd.b.buf : (const uint8_t *)"";
    const uint8_t *validity = bv.held ? bv.b.buf : NULL;
    for (Py_ssize_t r = 0; r < n; r++) {
        Py_ssize_t a = arr_offset + r;
        if (validity && !((validity[a >> 3] >> (a & 7)) & 1)) continue;
        int64_t b0 = offs64 ? ((const int64_t *)bo.b.buf)[a] : ((const int32_t *)bo.b.buf)[a];
        int64_t b1 =
            offs64 ? ((const int64_t *)bo.b.buf)[a + 1] : ((const int32_t *)bo.b.buf)[a + 1];
        state[r] = fnv1a(state[r], data + b0, (size_t)(b1 - b0));
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    rel_buf(&bo);
    rel_buf(&bd);
    rel_buf(&bv);
    rel_buf(&bst);
    return result;
}

/* ---- balancing: the keep decision (balance.py, HASH_VERSION 1) ------------------------ */

static inline uint64_t mix13(uint64_t x) { /* splitmix64's finalizer, as balance._mix64 */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

/*
 * keep_mask(offsets int64[n+1], values int32[], uid_hash uint64[n], p float64[], key) -> bytes
 * Row r is kept iff some e in values[offsets[r]:offsets[r+1]] has
 * u = (mix13(mix13(key ^ uid_hash[r]) + (e + 1) * G) >> 11) * 2^-53 < p[e].
 * The same numbers as balance.keep_mask's numpy path (tested), without temporaries.
 */
static PyObject *keep_mask(PyObject *self, PyObject *args) {
    PyObject *offs_o, *vals_o, *uid_o, *p_o;
    unsigned long long key;
    if (!PyArg_ParseTuple(args, "OOOOK", &offs_o, &vals_o, &uid_o, &p_o, &key)) return NULL;
    Buf bo, bv, bu, bp;
    bo.held = bv.held = bu.held = bp.held = 0;
    PyObject *result = NULL;
    if (get_buf(offs_o, &bo, 0) < 0 || get_buf(vals_o, &bv, 0) < 0 ||
        get_buf(uid_o, &bu, 0) < 0 || get_buf(p_o, &bp, 0) < 0)
        goto done;
    Py_ssize_t n = bu.b.len / 8;
    const int64_t *off = bo.b.buf;
    const int32_t *val = bv.b.buf;
    const uint64_t *uid = bu.b.buf;
    const double *p = bp.b.buf;
    Py_ssize_t nvals = bv.b.len / 4, np_ = bp.b.len / 8;
    if (bo.b.len / 8 != n + 1 || (n && (off[0] < 0 || off[n] > nvals))) {
        PyErr_SetString(PyExc_ValueError, "offsets do not fit values / uid_hash");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, n);
    if (!result) goto done;
    uint8_t *keep = (uint8_t *)PyBytes_AS_STRING(result);
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t r = 0; r < n; r++) {
        uint64_t row = mix13((uint64_t)key ^ uid[r]);
        uint8_t k = 0;
        for (int64_t i = off[r]; i < off[r + 1]; i++) {
            int32_t e = val[i];
            if (e < 0 || e >= np_) {
                bad = 1;
                break;
            }
            uint64_t x = mix13(row + ((uint64_t)e + 1) * 0x9E3779B97F4A7C15ULL);
            if ((double)(x >> 11) * 0x1.0p-53 < p[e]) {
                k = 1;
                break;
            }
        }
        keep[r] = k;
    }
    Py_END_ALLOW_THREADS;
    if (bad) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "entry id out of range of p");
    }
done:
    rel_buf(&bo);
    rel_buf(&bv);
    rel_buf(&bu);
    rel_buf(&bp);
    return result;
}

/*
 * row_sums(offsets int64[n+1], values int32[], table float64[]) -> bytes of float64[n]
 * sum of table[e] over each row's values, added left to right (balance.keep_prob's order).
 */
static PyObject *row_sums(PyObject *self, PyObject *args) {
    PyObject *offs_o, *vals_o, *tab_o;
    if (!PyArg_ParseTuple(args, "OOO", &offs_o, &vals_o, &tab_o)) return NULL;
    Buf bo, bv, bt;
    bo.held = bv.held = bt.held = 0;
    PyObject *result = NULL;
    if (get_buf(offs_o, &bo, 0) < 0 || get_buf(vals_o, &bv, 0) < 0 || get_buf(tab_o, &bt, 0) < 0)
        goto done;
    Py_ssize_t n = bo.b.len / 8 - 1;
    const int64_t *off = bo.b.buf;
    const int32_t *val = bv.b.buf;
    const double *tab = bt.b.buf;
    Py_ssize_t nvals = bv.b.len / 4, ntab = bt.b.len / 8;
    if (n < 0 || (n && (off[0] < 0 || off[n] > nvals))) {
        PyErr_SetString(PyExc_ValueError, "offsets do not fit values");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, n * 8);
    if (!result) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t r = 0; r < n && !bad; r++) {
        double acc = 0.0;
        for (int64_t i = off[r]; i < off[r + 1]; i++) {
            if (val[i] < 0 || val[i] >= ntab) {
                bad = 1;
                break;
            }
            acc += tab[val[i]];
        }
        out[r] = acc;
    }
    Py_END_ALLOW_THREADS;
    if (bad) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "entry id out of range of the table");
    }
done:
    rel_buf(&bo);
    rel_buf(&bv);
    rel_buf(&bt);
    return result;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "Build the span table: (slots, ids, mask)."},
    {"match", match, METH_VARARGS, "Match a batch of Arrow string buffers."},
    {"fnv1a", fnv1a_rows, METH_VARARGS, "Continue FNV-1a 64 states over Arrow string rows."},
    {"keep_mask", keep_mask, METH_VARARGS, "The balancing keep decision per row."},
    {"row_sums", row_sums, METH_VARARGS, "Per-row left-to-right sums of table[values]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native",
                                    "Native metaclip1 matching kernel.", -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m = PyModule_Create(&module);
    if (m) {
        PyModule_AddIntConstant(m, "SLOT_SIZE", (long)sizeof(Slot));
        PyModule_AddIntConstant(m, "KERNEL_VERSION", 3);
    }
    return m;
}
