/*
 * metacurate's compiled kernel. Eight entry points, no state kept between calls:
 *
 *   build(blob, offsets)                       entries -> span table (slots, tags, ids, mask)
 *   validate(slots, tags, blob, ids, mask, n_entries)   check a span table read from a cache
 *   validate_keys(..., lo, hi), validate_ids(...)       its two halves (threads share the first)
 *   match(slots, tags, blob, ids, mask, n_entries, offsets, offsets_64, data, validity,
 *         arr_offset, n)                       Arrow string rows -> ascending entry ids, status
 *   fnv1a(offsets, offsets_64, data, validity, arr_offset, n, state)   uid hashing (pool/uid.py)
 *   keep_mask(offsets, values, uid_hash, p, key)        the keep decision (balance, HASH_VERSION 1)
 *   row_sums(offsets, values, table)           per-row sums of table[values] (balance.keep_prob)
 *
 * Trust. Every argument comes from Python and may be wrong: a damaged cache file, a malformed
 * Arrow array, a fuzzer. Every buffer is a contiguous byte buffer (PyBUF_SIMPLE) whose length is
 * checked against the element size and the counts it must hold; Arrow offsets are checked row by
 * row (0 <= start <= end <= data length, which is "monotonic and in range"); entry ids are checked
 * against their table; every size is computed in 64 bits and bounded before use. A violation is a
 * ValueError (the Python wrappers turn it into MetacurateError); no input makes this file read or
 * write outside a buffer, loop forever, or allocate more than the bounds below. Typed arrays are
 * read with memcpy (no alignment needed) except the slot and tag tables, which must be aligned
 * (numpy and np.load give aligned arrays; a misaligned one is refused).
 *
 * The matcher (metaclip1, semantics.md section 1). An entry e matches a caption when " e " is a
 * substring of spacing(caption) = " " + X + " ". Such an occurrence starts right after a space and
 * ends right before one, so e is a run of consecutive tokens of X.split(" ") joined by single
 * spaces (empty tokens from repeated spaces included), and every such run is an occurrence. So:
 * split X into tokens, and for every start token look up the growing span in a hash table holding
 * every entry and every token-prefix of an entry ("prefix continues" flag); stop extending a span
 * as soon as it is neither. X is never built: tokens point into the caption's UTF-8 bytes, each of
 * the seven wrapped marks is a one-byte token and tab/CR/LF act as spaces.
 *
 * Memory. match streams a caption's tokens through a window (WINDOW_TOKENS tokens, 36 bytes
 * each, grown only while one span is longer: a span is at most as long as the longest key, so the
 * window never exceeds max(WINDOW_TOKENS, the longest entry's token count + 2)). A row's ids
 * are deduplicated whenever they reach 2 * (distinct so far) + COMPACT_IDS, so a row holds at
 * most 4 * (2 * distinct + COMPACT_IDS + k) bytes of ids however often its entries repeat (k:
 * the most equal entries in the metadata). Nothing depends on the caption's length; the batch's
 * output (4 bytes per distinct match, 5 per row) is the only part that grows, and it is copied
 * once into the returned bytes. build and validate use no per-token scratch (they scan entry
 * bytes in place); build holds 8 bytes per entry besides the table. docs/kernel.md has the
 * per-batch bound.
 *
 * The Python side (match/matcher.py) owns the table arrays: built here once, saved as .npy files
 * with their sha256 in index.json, checked by validate() when loaded, memory-mapped by workers
 * and passed in with every batch.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_common.h" /* helpers shared with the other kernel */

#define SPAN_SEED 0x9e3779b97f4a7c15ULL
#define MAX_KEY_LEN ((1u << 30) - 1) /* a key's byte length lives in 30 bits of len_flags */
#define MAX_BLOB ((uint64_t)UINT32_MAX) /* slot offsets are 32-bit */
#ifndef WINDOW_TOKENS /* the sanitizer and fuzz builds make both tiny, to reach every branch */
#define WINDOW_TOKENS 1024
#endif
#ifndef COMPACT_IDS
#define COMPACT_IDS 4096
#endif
#define KERNEL_VERSION 4

/* One slot of the span table: 32 bytes, the layout of the cached slots.npy. */
typedef struct {
    uint64_t hash;      /* span hash (never the only test: bytes are compared) */
    uint64_t head;      /* the key's first 8 bytes, zero padded: most keys are shorter, and
                           comparing here saves a cache miss on the blob */
    uint32_t off;       /* key bytes = blob[off : off + len] */
    uint32_t len_flags; /* len << 2 | flags; 0 = empty slot */
    uint32_t nids;      /* number of entry ids with exactly these bytes (0: a prefix only) */
    int32_t id;         /* the id when nids == 1, else the start of its run in `ids` */
} Slot;

/* ---- small helpers ------------------------------------------------------------------------ */

static inline uint64_t head_of(const uint8_t *p, size_t n) {
    uint64_t h = 0;
    if (n > 8) n = 8;
    if (n) memcpy(&h, p, n);
    return h;
}

static inline uint64_t span_step(uint64_t h, uint64_t token_hash) {
    return fmix64(h ^ token_hash) + SPAN_SEED;
}

static inline int is_space(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }

/* Unaligned loads and stores of typed arrays (plain moves on x86-64). */
static inline int64_t ld_i64(const void *p, size_t i) {
    int64_t v;
    memcpy(&v, (const uint8_t *)p + 8 * i, 8);
    return v;
}
static inline int32_t ld_i32(const void *p, size_t i) {
    int32_t v;
    memcpy(&v, (const uint8_t *)p + 4 * i, 4);
    return v;
}
static inline uint64_t ld_u64(const void *p, size_t i) {
    uint64_t v;
    memcpy(&v, (const uint8_t *)p + 8 * i, 8);
    return v;
}
static inline double ld_f64(const void *p, size_t i) {
    double v;
    memcpy(&v, (const uint8_t *)p + 8 * i, 8);
    return v;
}
static inline void st_u64(void *p, size_t i, uint64_t v) { memcpy((uint8_t *)p + 8 * i, &v, 8); }

/* Compare n bytes; tokens are short, so an inline loop beats a libc memcmp call. */
static inline int bytes_equal(const uint8_t *a, const uint8_t *b, uint64_t n) {
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

/* A slot's 16-bit tag (never 0, which marks an empty slot): probing reads the small tag array
 * (2 bytes a slot, cache friendly) and touches the 32-byte slot only when the tag agrees. */
static inline uint16_t tag_of(uint64_t h) { return (uint16_t)((h >> 48) | 1u); }

/* ---- buffers from Python ------------------------------------------------------------------ */

static uint64_t blen(const Buf *b) { return b->held ? (uint64_t)b->b.len : 0; }

static PyObject *value_error(const char *msg) {
    PyErr_SetString(PyExc_ValueError, msg);
    return NULL;
}

/* Rows [arr_offset, arr_offset + n) of an Arrow (large_)string/binary array: check the counts
 * against the offsets and validity buffers (the per-row offsets are checked where read). */
static int check_arrow(const Buf *bo, int offs64, const Buf *bv, Py_ssize_t arr_offset,
                       Py_ssize_t n) {
    uint64_t isz = offs64 ? 8 : 4;
    if (!bo->held || blen(bo) % isz) {
        PyErr_Format(PyExc_ValueError, "offsets must be a buffer of int%d", offs64 ? 64 : 32);
        return -1;
    }
    if (arr_offset < 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "negative array offset or row count");
        return -1;
    }
    uint64_t noffs = blen(bo) / isz;
    if ((uint64_t)arr_offset + (uint64_t)n + 1 > noffs) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short for the rows");
        return -1;
    }
    if (bv->held && blen(bv) < ((uint64_t)arr_offset + (uint64_t)n + 7) / 8) {
        PyErr_SetString(PyExc_ValueError, "validity bitmap too short for the rows");
        return -1;
    }
    return 0;
}

static inline int64_t arrow_off(const void *offs, int offs64, size_t a) {
    return offs64 ? ld_i64(offs, a) : (int64_t)ld_i32(offs, a);
}

static inline int is_valid_row(const uint8_t *validity, size_t a) {
    return !validity || ((validity[a >> 3] >> (a & 7)) & 1);
}

/* ---- the span table ----------------------------------------------------------------------- */

typedef struct {
    Slot *slots;
    const uint16_t *tags;
    uint64_t mask;
    const uint8_t *blob;
    uint64_t blob_len;
    const uint8_t *ids; /* int32[n_multi], read with ld_i32 */
    uint64_t n_multi;
    int64_t n_entries;
} Table;

/* Shape checks of a span table, O(1): run before every use. */
static int table_from(Table *t, const Buf *bs, const Buf *bt, const Buf *bb, const Buf *bi,
                      unsigned long long mask, Py_ssize_t n_entries) {
    const char *err = NULL;
    if (mask >= ((uint64_t)1 << 58) || (mask & (mask + 1)) != 0)
        err = "index mask must be 2**k - 1 (a damaged mask.npy)";
    else if (blen(bs) != (mask + 1) * sizeof(Slot))
        err = "slots table size does not match the mask";
    else if (blen(bt) != (mask + 1) * sizeof(uint16_t))
        err = "tags table size does not match the mask";
    else if (((uintptr_t)bs->b.buf % 8) || ((uintptr_t)bt->b.buf % 2))
        err = "slots or tags buffer is not aligned";
    else if (blen(bb) > MAX_BLOB)
        err = "entry bytes table too large (>= 4 GiB)";
    else if (blen(bi) % 4)
        err = "ids table must be int32";
    else if (n_entries < 0 || n_entries > INT32_MAX)
        err = "entry count out of range";
    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        return -1;
    }
    t->slots = bs->b.buf;
    t->tags = bt->b.buf;
    t->mask = mask;
    t->blob = bb->held ? bb->b.buf : (const uint8_t *)"";
    t->blob_len = blen(bb);
    t->ids = bi->held ? bi->b.buf : NULL;
    t->n_multi = blen(bi) / 4;
    t->n_entries = n_entries;
    return 0;
}

/* The slot whose key is the contiguous bytes key[0:len] (hash h), or NULL. At most one full
 * turn of probing, so even a table without an empty slot ends. A slot pointing outside the blob
 * sets *bad. */
static Slot *find_key(const Table *t, uint64_t h, const uint8_t *key, uint64_t len, int *bad) {
    uint64_t i = h & t->mask;
    uint16_t want = tag_of(h);
    uint64_t head = head_of(key, len);
    for (uint64_t probes = 0; probes <= t->mask; probes++) {
        uint16_t tg = t->tags[i];
        if (tg == 0) return NULL;
        if (tg == want) {
            Slot *s = &t->slots[i];
            if (s->hash == h && (s->len_flags >> 2) == len && s->head == head) {
                if ((uint64_t)s->off + len > t->blob_len) {
                    *bad = 1;
                    return NULL;
                }
                if (len <= 8 || bytes_equal(t->blob + s->off + 8, key + 8, len - 8)) return s;
            }
        }
        i = (i + 1) & t->mask;
    }
    return NULL;
}

/* ---- build -------------------------------------------------------------------------------- */

/* Add key = s[0:len] (hash h) with flag; new keys point at blob offset `off`. The table has
 * room (load <= 0.5), so an empty slot is always found. */
static Slot *insert_key(Table *t, uint16_t *tags, uint64_t h, const uint8_t *s, uint64_t len,
                        uint32_t off, uint32_t flag) {
    int bad = 0;
    Slot *slot = find_key(t, h, s, len, &bad);
    if (!slot) {
        uint64_t i = h & t->mask;
        while (tags[i] != 0) i = (i + 1) & t->mask;
        tags[i] = tag_of(h);
        slot = &t->slots[i];
        slot->hash = h;
        slot->head = head_of(s, len);
        slot->off = off;
        slot->len_flags = (uint32_t)len << 2;
    }
    slot->len_flags |= flag;
    return slot;
}

/* Check build's inputs: int64 offsets, monotonic, inside the blob, each entry < 1 GiB. */
static int check_entries(const Buf *blob, const Buf *offs, Py_ssize_t *n_out) {
    if (blen(blob) > MAX_BLOB) {
        PyErr_SetString(PyExc_ValueError, "metadata too large for the native matcher (>= 4 GiB)");
        return -1;
    }
    if (!offs->held || blen(offs) % 8 || blen(offs) < 8) {
        PyErr_SetString(PyExc_ValueError, "entry offsets must be int64[n + 1]");
        return -1;
    }
    uint64_t n = blen(offs) / 8 - 1;
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more than 2**31 - 1 entries");
        return -1;
    }
    const void *off = offs->b.buf;
    if (ld_i64(off, 0) < 0 || (uint64_t)ld_i64(off, 0) > blen(blob)) {
        PyErr_SetString(PyExc_ValueError, "entry offsets must start inside the entry bytes");
        return -1;
    }
    for (uint64_t e = 0; e < n; e++) {
        int64_t a = ld_i64(off, e), b = ld_i64(off, e + 1);
        if (b < a || (uint64_t)b > blen(blob)) {
            PyErr_Format(PyExc_ValueError,
                         "entry offsets not monotonic or past the entry bytes at entry %llu",
                         (unsigned long long)e);
            return -1;
        }
        if ((uint64_t)(b - a) > MAX_KEY_LEN) {
            PyErr_Format(PyExc_ValueError, "entry %llu is longer than 2**30 - 1 bytes",
                         (unsigned long long)e);
            return -1;
        }
    }
    *n_out = (Py_ssize_t)n;
    return 0;
}

/* Pass 1 of build: insert each entry and its proper token prefixes; count ids per key and
 * remember each entry's slot. */
static void build_keys(Table *t, uint16_t *tags, const uint8_t *data, const void *off,
                       Py_ssize_t n, uint64_t *entry_slot) {
    for (Py_ssize_t e = 0; e < n; e++) {
        uint64_t a = (uint64_t)ld_i64(off, e), len = (uint64_t)ld_i64(off, e + 1) - a;
        const uint8_t *s = data + a;
        uint64_t h = 0, tok = 0;
        for (uint64_t i = 0; i <= len; i++) {
            if (i < len && s[i] != ' ') continue;
            h = span_step(h, fnv1a(FNV_BASIS, s + tok, i - tok));
            Slot *slot = insert_key(t, tags, h, s, i, (uint32_t)a, i == len ? FLAG_ENTRY : FLAG_PREFIX);
            if (i == len) {
                if (slot->nids == 0) slot->id = (int32_t)e;
                slot->nids++;
                entry_slot[e] = (uint64_t)(slot - t->slots);
            }
            tok = i + 1;
        }
    }
}

/* build(blob uint8[], offsets int64[n+1]) -> (slots bytes, tags bytes, ids bytes, mask int)
 * Entry e is blob[offsets[e]:offsets[e+1]] (UTF-8). Keys shared by several entries
 * (duplicates) list their ids, ascending, in `ids`. */
static PyObject *build(PyObject *self, PyObject *args) {
    PyObject *blob_o, *offs_o;
    if (!PyArg_ParseTuple(args, "OO", &blob_o, &offs_o)) return NULL;
    Buf blob, offs;
    offs.held = 0;
    if (get_buf(blob_o, &blob, 0) < 0 || get_buf(offs_o, &offs, 0) < 0) {
        rel_buf(&blob);
        return NULL;
    }
    PyObject *result = NULL;
    Slot *slots = NULL;
    uint16_t *tags = NULL;
    int32_t *ids = NULL;
    uint32_t *fill = NULL;
    uint64_t *entry_slot = NULL;
    Py_ssize_t n = 0;
    if (check_entries(&blob, &offs, &n) < 0) goto done;
    const uint8_t *data = blob.held ? blob.b.buf : (const uint8_t *)"";
    const void *off = offs.b.buf;
    /* Upper bound on keys: one per token of every entry (< 2**33). Load factor <= 0.5. */
    uint64_t max_keys = 1 + (uint64_t)n;
    for (uint64_t i = (uint64_t)ld_i64(off, 0); i < (uint64_t)ld_i64(off, n); i++)
        max_keys += data[i] == ' ';
    uint64_t size = 16;
    while (size < 2 * max_keys) size *= 2;
    slots = calloc(size, sizeof(Slot));
    tags = calloc(size, sizeof(uint16_t));
    entry_slot = malloc(((size_t)n + 1) * sizeof(uint64_t));
    if (!slots || !tags || !entry_slot) {
        PyErr_NoMemory();
        goto done;
    }
    Table t = {slots, tags, size - 1, data, blen(&blob), NULL, 0, n};
    build_keys(&t, tags, data, off, n, entry_slot);
    /* Pass 2: keys with several ids get a run in `ids` (in slot order), filled ascending. */
    uint64_t nmulti = 0;
    for (uint64_t i = 0; i < size; i++)
        if (slots[i].nids > 1) {
            slots[i].id = (int32_t)nmulti;
            nmulti += slots[i].nids;
        }
    ids = malloc((nmulti ? nmulti : 1) * sizeof(int32_t));
    fill = calloc(nmulti ? size : 1, sizeof(uint32_t));
    if (!ids || !fill) {
        PyErr_NoMemory();
        goto done;
    }
    if (nmulti)
        for (Py_ssize_t e = 0; e < n; e++) {
            Slot *slot = &slots[entry_slot[e]];
            if (slot->nids > 1) ids[slot->id + fill[entry_slot[e]]++] = (int32_t)e;
        }
    result = Py_BuildValue("y#y#y#K", (const char *)slots, (Py_ssize_t)(size * sizeof(Slot)),
                           (const char *)tags, (Py_ssize_t)(size * sizeof(uint16_t)),
                           (const char *)ids, (Py_ssize_t)(nmulti * sizeof(int32_t)),
                           (unsigned long long)(size - 1));
done:
    free(slots);
    free(tags);
    free(ids);
    free(fill);
    free(entry_slot);
    rel_buf(&blob);
    rel_buf(&offs);
    return result;
}

/* ---- validate ----------------------------------------------------------------------------- */

/* Check the key of one occupied slot i: flags, tag, bounds, head, hash, reachable once, its
 * prefix stored as a prefix, id count plausible. Independent of every other slot's check. */
static const char *check_key(const Table *t, uint64_t i, uint64_t *max_len,
                             uint64_t *max_tokens) {
    const Slot *s = &t->slots[i];
    uint32_t flags = s->len_flags & 3u;
    uint64_t len = s->len_flags >> 2;
    if (flags == 0) return "an occupied slot has no flags";
    if (t->tags[i] != tag_of(s->hash)) return "a tag does not match its slot";
    if ((uint64_t)s->off + len > t->blob_len) return "a slot points past the entry bytes";
    const uint8_t *key = t->blob + s->off;
    if (s->head != head_of(key, len)) return "a slot's head does not match its key";
    /* The key's span hash, and that of its key minus the last token (its parent prefix). */
    uint64_t h = 0, parent_h = 0, parent_len = 0, tokens = 0, tok = 0;
    for (uint64_t k = 0; k <= len; k++) {
        if (k < len && key[k] != ' ') continue;
        parent_h = h;
        parent_len = tok ? tok - 1 : 0;
        h = span_step(h, fnv1a(FNV_BASIS, key + tok, k - tok));
        tokens++;
        tok = k + 1;
    }
    if (h != s->hash) return "a slot's hash does not match its key";
    int bad = 0;
    if (find_key(t, h, key, len, &bad) != s) return "a key is unreachable or stored twice";
    if (tokens > 1) {
        const Slot *p = find_key(t, parent_h, key, parent_len, &bad);
        if (!p || !(p->len_flags & FLAG_PREFIX)) return "a key's prefix is missing";
    }
    if (!(flags & FLAG_ENTRY) != !s->nids) return "entry flag and id count disagree";
    if (s->nids > (uint64_t)t->n_entries) return "a key has more ids than there are entries";
    if (len > *max_len) *max_len = len;
    if (tokens > *max_tokens) *max_tokens = tokens;
    return NULL;
}

/* Check the ids of occupied slot i (slots in order): id runs tile `ids`, ids ascending, in
 * range and each seen once. */
static const char *check_ids(const Table *t, uint64_t i, uint8_t *seen, uint64_t *multi_next) {
    const Slot *s = &t->slots[i];
    if (s->nids > (uint64_t)t->n_entries) return "a key has more ids than there are entries";
    uint64_t first = 0;
    if (s->nids > 1) {
        if (s->id < 0 || (uint64_t)s->id != *multi_next) return "id runs are not contiguous";
        if ((uint64_t)s->id + s->nids > t->n_multi) return "an id run is past the ids table";
        *multi_next += s->nids;
        first = (uint64_t)s->id;
    }
    int32_t prev = -1;
    for (uint32_t m = 0; m < s->nids; m++) {
        int32_t e = s->nids == 1 ? s->id : ld_i32(t->ids, first + m);
        if (e < 0 || e >= t->n_entries) return "an entry id is out of range";
        if (e <= prev) return "an id run is not ascending";
        if (seen[e >> 3] & (1u << (e & 7))) return "an entry id appears twice";
        seen[e >> 3] |= (uint8_t)(1u << (e & 7));
        prev = e;
    }
    return NULL;
}

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif
/* How many slots ahead check_keys asks for the memory it will read (a key's bytes lie anywhere
 * in the blob, its prefix's slot anywhere in the table: two cache misses per key otherwise). */
#define AHEAD 64

/* Ask for the home slot of slot j's prefix (its key's bytes were asked for AHEAD slots ago). */
static inline void prefetch_prefix(const Table *t, uint64_t j) {
    if (j > t->mask || t->tags[j] == 0) return;
    const Slot *s = &t->slots[j];
    uint64_t len = s->len_flags >> 2;
    if ((uint64_t)s->off + len > t->blob_len) return;
    const uint8_t *key = t->blob + s->off;
    uint64_t h = 0, parent_h = 0, tok = 0;
    for (uint64_t k = 0; k <= len; k++) {
        if (k < len && key[k] != ' ') continue;
        parent_h = h;
        h = span_step(h, fnv1a(FNV_BASIS, key + tok, k - tok));
        tok = k + 1;
    }
    PREFETCH(&t->tags[parent_h & t->mask]);
    PREFETCH(&t->slots[parent_h & t->mask]);
}

/* The keys of slots [lo, hi): empty slots zeroed, check_key for the others. */
static const char *check_keys(const Table *t, uint64_t lo, uint64_t hi, uint64_t *keys,
                              uint64_t *max_len, uint64_t *max_tokens) {
    static const Slot zero;
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t far = i + 2 * AHEAD;
        if (far <= t->mask && t->tags[far] && t->slots[far].off < t->blob_len)
            PREFETCH(t->blob + t->slots[far].off);
        prefetch_prefix(t, i + AHEAD);
        if (t->tags[i] == 0) {
            if (memcmp(&t->slots[i], &zero, sizeof(Slot))) return "an empty slot is not zeroed";
            continue;
        }
        ++*keys;
        const char *err = check_key(t, i, max_len, max_tokens);
        if (err) return err;
    }
    return NULL;
}

/* The ids of every occupied slot in order, then: some slot is empty, every id of `ids` is
 * used, every entry has a key. */
static const char *check_all_ids(const Table *t, uint8_t *seen) {
    uint64_t multi_next = 0, empty = 0;
    for (uint64_t i = 0; i <= t->mask; i++) {
        if (t->tags[i] == 0) {
            empty++;
            continue;
        }
        const char *err = check_ids(t, i, seen, &multi_next);
        if (err) return err;
    }
    if (empty == 0) return "the table has no empty slot";
    if (multi_next != t->n_multi) return "the ids table has ids no key uses";
    for (int64_t e = 0; e < t->n_entries; e++)
        if (!(seen[e >> 3] & (1u << (e & 7)))) return "an entry has no key";
    return NULL;
}

static int parse_table(PyObject *args, Buf *bs, Buf *bt, Buf *bb, Buf *bi, Table *t,
                       unsigned long long *lo, unsigned long long *hi) {
    PyObject *slots_o, *tags_o, *blob_o, *ids_o;
    unsigned long long mask;
    Py_ssize_t n_entries;
    *lo = 0;
    *hi = ~0ULL;
    if (!PyArg_ParseTuple(args, "OOOOKn|KK", &slots_o, &tags_o, &blob_o, &ids_o, &mask,
                          &n_entries, lo, hi))
        return -1;
    if (get_buf(slots_o, bs, 0) < 0 || get_buf(tags_o, bt, 0) < 0 ||
        get_buf(blob_o, bb, 0) < 0 || get_buf(ids_o, bi, 0) < 0)
        return -1;
    if (table_from(t, bs, bt, bb, bi, mask, n_entries) < 0) return -1;
    if (*hi > t->mask + 1) *hi = t->mask + 1;
    if (*lo > *hi) *lo = *hi;
    return 0;
}

/* validate(slots, tags, blob, ids, mask, n_entries) -> (keys, max_key_len, max_key_tokens)
 * Full check of a span table: every slot's key, hash, head and tag agree; every key is found by
 * probing from its home slot and only once; every key's prefix is stored as a prefix; id runs
 * tile `ids`; each of the n_entries ids appears exactly once. Raises ValueError naming the
 * problem. O(table size); run once per load. validate_keys(..., lo, hi) and validate_ids(...)
 * are its two halves (the first for slots [lo, hi), so threads can share it); together they
 * check exactly what validate checks. */
static PyObject *validate_parts(PyObject *args, int do_keys, int do_ids) {
    Buf bs, bt, bb, bi;
    bs.held = bt.held = bb.held = bi.held = 0;
    PyObject *result = NULL;
    uint8_t *seen = NULL;
    Table t;
    unsigned long long lo, hi;
    if (parse_table(args, &bs, &bt, &bb, &bi, &t, &lo, &hi) < 0) goto done;
    if (do_ids) {
        seen = calloc((size_t)t.n_entries / 8 + 1, 1);
        if (!seen) {
            PyErr_NoMemory();
            goto done;
        }
    }
    const char *err = NULL;
    uint64_t keys = 0, max_len = 0, max_tokens = 0;
    Py_BEGIN_ALLOW_THREADS;
    if (do_keys) err = check_keys(&t, lo, hi, &keys, &max_len, &max_tokens);
    if (!err && do_ids) err = check_all_ids(&t, seen);
    Py_END_ALLOW_THREADS;
    if (err) {
        PyErr_Format(PyExc_ValueError, "invalid span table: %s", err);
        goto done;
    }
    result = Py_BuildValue("KKK", (unsigned long long)keys, (unsigned long long)max_len,
                           (unsigned long long)max_tokens);
done:
    free(seen);
    rel_buf(&bs);
    rel_buf(&bt);
    rel_buf(&bb);
    rel_buf(&bi);
    return result;
}

static PyObject *validate(PyObject *self, PyObject *args) { return validate_parts(args, 1, 1); }

static PyObject *validate_keys(PyObject *self, PyObject *args) {
    return validate_parts(args, 1, 0);
}

static PyObject *validate_ids(PyObject *self, PyObject *args) {
    return validate_parts(args, 0, 1);
}

/* ---- match: the token window -------------------------------------------------------------- */

/* Tokens [base, base + cnt) of one caption (absolute indices), and the tokenizer's place. */
typedef struct {
    const uint8_t **ptr;
    uint32_t *len;   /* byte length, saturated at UINT32_MAX (such a token matches nothing) */
    uint64_t *hash;  /* FNV-1a of the token's bytes */
    uint64_t *first; /* span hash of the one-token span starting here (prefetched) */
    uint64_t *head;  /* the token's first 8 bytes, zero padded */
    size_t cap, base, cnt;
    const uint8_t *s; /* the caption */
    size_t n, pos, start;
    int done; /* every token of the caption has been produced */
} Window;

static int win_grow(Window *w, size_t cap) {
    if (cap <= w->cap) return 0;
    if (cap > ((size_t)1 << 40)) return -1;
#define GROW(F)                                                                                \
    do {                                                                                       \
        void *p = realloc(w->F, cap * sizeof(*w->F));                                          \
        if (!p) return -1;                                                                     \
        w->F = p;                                                                              \
    } while (0)
    GROW(ptr);
    GROW(len);
    GROW(hash);
    GROW(first);
    GROW(head);
#undef GROW
    w->cap = cap;
    return 0;
}

static void win_free(Window *w) {
    free(w->ptr);
    free(w->len);
    free(w->hash);
    free(w->first);
    free(w->head);
}

static void win_start(Window *w, const uint8_t *s, size_t n) {
    w->s = s;
    w->n = n;
    w->pos = w->start = w->base = w->cnt = 0;
    w->done = 0;
}

static inline void win_push(Window *w, const uint8_t *p, size_t l) {
    size_t i = w->cnt++;
    w->ptr[i] = p;
    w->len[i] = l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
    w->hash[i] = fnv1a(FNV_BASIS, p, l);
    w->head[i] = head_of(p, l);
}

/* Produce more tokens of X = spacing(caption)[1:-1] (X.split(" ")), dropping those before the
 * absolute index `keep`. Only called while !done. 0 on success, -1 on no memory. */
static int win_more(Window *w, size_t keep, const Table *t) {
    size_t drop = keep - w->base;
    if (drop) {
        size_t rest = w->cnt - drop;
        memmove(w->ptr, w->ptr + drop, rest * sizeof(*w->ptr));
        memmove(w->len, w->len + drop, rest * sizeof(*w->len));
        memmove(w->hash, w->hash + drop, rest * sizeof(*w->hash));
        memmove(w->first, w->first + drop, rest * sizeof(*w->first));
        memmove(w->head, w->head + drop, rest * sizeof(*w->head));
        w->base = keep;
        w->cnt = rest;
    }
    if (w->cnt + 2 > w->cap) { /* one span fills the window: double it */
        size_t cap = w->cap ? 2 * w->cap : WINDOW_TOKENS;
        if (cap < w->cnt + 2) cap = w->cnt + 2;
        if (win_grow(w, cap) < 0) return -1;
    }
    size_t fresh = w->cnt, i = w->pos, start = w->start;
    const uint8_t *s = w->s;
    while (i < w->n) {
        uint8_t b = s[i++];
        if (b > '`') continue; /* fast path: no separator or mark above backtick (0x60) */
        if (is_space(b)) {
            win_push(w, s + start, i - 1 - start);
        } else if (is_wrapped(b)) {
            win_push(w, s + start, i - 1 - start);
            win_push(w, s + i - 1, 1);
        } else {
            continue;
        }
        start = i;
        if (w->cnt + 2 > w->cap) break;
    }
    w->pos = i;
    w->start = start;
    if (i == w->n && w->cnt < w->cap) {
        win_push(w, s + start, w->n - start);
        w->done = 1;
    }
    /* Memory latency dominates: start loading every new token's first slot now. */
    for (size_t k = fresh; k < w->cnt; k++) {
        uint64_t h1 = span_step(0, w->hash[k]);
        w->first[k] = h1;
        __builtin_prefetch(&t->tags[h1 & t->mask]);
        __builtin_prefetch(&t->slots[h1 & t->mask]);
        if (k > 0) __builtin_prefetch(&t->tags[span_step(w->first[k - 1], w->hash[k]) & t->mask]);
    }
    return 0;
}

/* The slot of the span of window tokens [j, k] (hash h, byte length span_len), or NULL.
 * For k > j, `pre` (pre_len bytes, inside the blob) is the key already found equal to the
 * span [j, k - 1]: a candidate's key must start with those bytes (the same blob offset when the
 * two keys come from one entry, as they nearly always do; else one memcmp), then a space and
 * token k. So each extension costs O(token k), not O(span): a caption of n tokens against a key
 * of L tokens costs O(n * L), never O(n * L^2) (a 350-space entry and 20,000 spaces took 4.7 s
 * with a token-by-token comparison of the whole span). */
static inline Slot *find_span(const Table *t, const Window *w, size_t j, size_t k, uint64_t h,
                              uint64_t span_len, const uint8_t *pre, uint64_t pre_len, int *bad) {
    uint64_t i = h & t->mask;
    uint16_t want = tag_of(h);
    for (uint64_t probes = 0; probes <= t->mask; probes++) {
        uint16_t tg = t->tags[i];
        if (tg == 0) return NULL;
        if (tg == want) {
            Slot *s = &t->slots[i];
            if (s->hash == h && (s->len_flags >> 2) == span_len) {
                if ((uint64_t)s->off + span_len > t->blob_len) {
                    *bad = 1;
                    return NULL;
                }
                const uint8_t *key = t->blob + s->off;
                if (j == k) { /* one token: its head, then the bytes past 8 */
                    if (s->head == w->head[j] &&
                        (span_len <= 8 || bytes_equal(key + 8, w->ptr[j] + 8, span_len - 8)))
                        return s;
                } else if ((key == pre || bytes_equal(key, pre, pre_len)) && key[pre_len] == ' ' &&
                           bytes_equal(key + pre_len + 1, w->ptr[k], w->len[k])) {
                    return s; /* span_len == pre_len + 1 + len[k]: the whole key is compared */
                }
            }
        }
        i = (i + 1) & t->mask;
    }
    return NULL;
}

/* ---- match: output ids -------------------------------------------------------------------- */

enum { ST_TEXT = 0, ST_NULL = 1, ST_EMPTY = 2, ST_INVALID_UTF8 = 3 };
enum { OK = 0, ERR_NOMEM, ERR_TOO_MANY, ERR_ROW, ERR_TABLE };

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

/* Append the ids of a found slot, checked against the tables. */
static inline int push_slot_ids(const Table *t, const Slot *slot, IdVec *out) {
    if (slot->nids == 1) {
        if (slot->id < 0 || slot->id >= t->n_entries) return ERR_TABLE;
        return idvec_push(out, slot->id) < 0 ? ERR_NOMEM : OK;
    }
    if (slot->nids == 0) return OK;
    if (slot->id < 0 || (uint64_t)slot->id + slot->nids > t->n_multi) return ERR_TABLE;
    for (uint32_t m = 0; m < slot->nids; m++) {
        int32_t e = ld_i32(t->ids, (uint64_t)slot->id + m);
        if (e < 0 || e >= t->n_entries) return ERR_TABLE;
        if (idvec_push(out, e) < 0) return ERR_NOMEM;
    }
    return OK;
}

/* Append the ids matched by one caption s[0:n] to out (unsorted, maybe repeated, compacted
 * from row_start on when they grow). Returns OK or an ERR_ code. */
static int match_caption(const Table *t, Window *w, const uint8_t *s, size_t n, IdVec *out,
                         size_t row_start) {
    size_t compact_at = COMPACT_IDS;
    win_start(w, s, n);
    for (size_t j = 0;; j++) { /* j, k: absolute token indices */
        if (j >= w->base + w->cnt) {
            if (w->done) return OK;
            if (win_more(w, j, t) < 0) return ERR_NOMEM;
        }
        size_t k = j;
        size_t lj = j - w->base;
        uint64_t h = w->first[lj], span_len = w->len[lj], pre_len = 0;
        const uint8_t *pre = NULL; /* the key found for the span so far */
        for (;;) {
            int bad = 0;
            Slot *slot = find_span(t, w, lj, k - w->base, h, span_len, pre, pre_len, &bad);
            if (bad) return ERR_TABLE;
            if (!slot) break;
            pre = t->blob + slot->off;
            pre_len = span_len;
            int rc = push_slot_ids(t, slot, out);
            if (rc != OK) return rc;
            if (out->n - row_start >= compact_at) {
                out->n = sort_unique(out->v, row_start, out->n);
                compact_at = 2 * (out->n - row_start) + COMPACT_IDS;
            }
            if (!(slot->len_flags & FLAG_PREFIX)) break;
            k++;
            if (k >= w->base + w->cnt) {
                if (w->done) break;
                if (win_more(w, j, t) < 0) return ERR_NOMEM;
                lj = j - w->base;
                if (k >= w->base + w->cnt) break;
            }
            size_t lk = k - w->base;
            h = span_step(h, w->hash[lk]);
            span_len += 1 + (uint64_t)w->len[lk];
            if (span_len > MAX_KEY_LEN) break;
        }
    }
}

/* One batch of rows: fills out_off[0..n], status[0..n). Returns OK or an ERR_ code; *err_row
 * is the row of an ERR_ROW. Runs without the GIL. */
static int match_rows(const Table *t, const Buf *bo, int offs64, const uint8_t *data,
                      uint64_t data_len, const uint8_t *validity, Py_ssize_t arr_offset,
                      Py_ssize_t n, int32_t *out_off, uint8_t *status, IdVec *out,
                      Py_ssize_t *err_row) {
    Window w = {0};
    int rc = OK;
    out_off[0] = 0;
    for (Py_ssize_t r = 0; r < n && rc == OK; r++) {
        size_t a = (size_t)(arr_offset + r), row_start = out->n;
        int64_t b0 = arrow_off(bo->b.buf, offs64, a), b1 = arrow_off(bo->b.buf, offs64, a + 1);
        if (b0 < 0 || b1 < b0 || (uint64_t)b1 > data_len) {
            *err_row = r;
            rc = ERR_ROW;
            break;
        }
        const uint8_t *s = data + b0;
        size_t len = (size_t)(b1 - b0);
        if (!is_valid_row(validity, a)) {
            status[r] = ST_NULL;
        } else if (utf8_invalid(s, len)) {
            status[r] = ST_INVALID_UTF8;
        } else {
            status[r] = len ? ST_TEXT : ST_EMPTY;
            rc = match_caption(t, &w, s, len, out, row_start);
            out->n = sort_unique(out->v, row_start, out->n);
        }
        if (out->n > INT32_MAX) rc = ERR_TOO_MANY;
        out_off[r + 1] = (int32_t)out->n;
    }
    win_free(&w);
    return rc;
}

/*
 * match(slots, tags, blob, ids, mask, n_entries, offsets, offsets_64, data, validity,
 *       arr_offset, n) -> (out_offsets: bytes of int32[n+1], out_ids: bytes of int32[],
 *                         status: bytes of uint8[n])
 * The first six are a span table (ids may be None when empty); offsets/data/validity are the
 * buffers of an Arrow (large_)string or (large_)binary array (data and validity may be None),
 * whose rows [arr_offset, arr_offset + n) are matched. Row r's ids are
 * out_ids[out_offsets[r]:out_offsets[r+1]], ascending, each once; status is ST_*.
 */
static PyObject *match(PyObject *self, PyObject *args) {
    PyObject *slots_o, *tags_o, *blob_o, *ids_o, *offs_o, *data_o, *valid_o;
    unsigned long long mask;
    int offs64;
    Py_ssize_t n_entries, arr_offset, n;
    if (!PyArg_ParseTuple(args, "OOOOKnOpOOnn", &slots_o, &tags_o, &blob_o, &ids_o, &mask,
                          &n_entries, &offs_o, &offs64, &data_o, &valid_o, &arr_offset, &n))
        return NULL;
    Buf bs, bt, bb, bi, bo, bd, bv;
    bs.held = bt.held = bb.held = bi.held = bo.held = bd.held = bv.held = 0;
    PyObject *result = NULL;
    int32_t *out_off = NULL;
    uint8_t *status = NULL;
    IdVec out = {0};
    Table t;
    if (get_buf(slots_o, &bs, 0) < 0 || get_buf(tags_o, &bt, 0) < 0 ||
        get_buf(blob_o, &bb, 0) < 0 || get_buf(ids_o, &bi, 0) < 0 ||
        get_buf(offs_o, &bo, 0) < 0 || get_buf(data_o, &bd, 0) < 0 ||
        get_buf(valid_o, &bv, 0) < 0)
        goto done;
    if (table_from(&t, &bs, &bt, &bb, &bi, mask, n_entries) < 0) goto done;
    if (check_arrow(&bo, offs64, &bv, arr_offset, n) < 0) goto done;
    out_off = malloc(((size_t)n + 1) * sizeof(int32_t));
    status = malloc((size_t)n + 1);
    if (!out_off || !status) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *data = bd.held ? bd.b.buf : (const uint8_t *)"";
    const uint8_t *validity = bv.held ? bv.b.buf : NULL;
    Py_ssize_t err_row = 0;
    int rc;
    Py_BEGIN_ALLOW_THREADS;
    rc = match_rows(&t, &bo, offs64, data, blen(&bd), validity, arr_offset, n, out_off, status,
                    &out, &err_row);
    Py_END_ALLOW_THREADS;
    if (rc == ERR_NOMEM) {
        PyErr_NoMemory();
    } else if (rc == ERR_TOO_MANY) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**31 - 1 matches in one batch");
    } else if (rc == ERR_ROW) {
        PyErr_Format(PyExc_ValueError,
                     "row %zd: Arrow offsets are not monotonic or point past the data buffer",
                     err_row);
    } else if (rc == ERR_TABLE) {
        PyErr_SetString(PyExc_ValueError,
                        "invalid span table: a slot points outside the entry bytes or ids");
    } else {
        result = Py_BuildValue("y#y#y#", (const char *)out_off, (Py_ssize_t)((n + 1) * 4),
                               (const char *)(out.v ? out.v : (int32_t *)""),
                               (Py_ssize_t)(out.n * 4), (const char *)status, n);
    }
done:
    free(out_off);
    free(status);
    free(out.v);
    rel_buf(&bs);
    rel_buf(&bt);
    rel_buf(&bb);
    rel_buf(&bi);
    rel_buf(&bo);
    rel_buf(&bd);
    rel_buf(&bv);
    return result;
}

/* ---- uid hashing -------------------------------------------------------------------------- */

/*
 * fnv1a(offsets, offsets_64, data, validity, arr_offset, n, state) -> None
 * Continues the FNV-1a 64 state (a writable buffer of uint64[>= n]) over the bytes of rows
 * [arr_offset, arr_offset + n) of an Arrow (large_)binary array; null rows leave the state as it
 * is. Nothing is written unless every row's offsets are valid.
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
    if (check_arrow(&bo, offs64, &bv, arr_offset, n) < 0) goto done;
    if (blen(&bst) / 8 < (uint64_t)n) {
        value_error("state buffer shorter than n uint64 values");
        goto done;
    }
    const uint8_t *data = bd.held ? bd.b.buf : (const uint8_t *)"";
    const uint8_t *validity = bv.held ? bv.b.buf : NULL;
    for (Py_ssize_t r = 0; r < n; r++) {
        size_t a = (size_t)(arr_offset + r);
        int64_t b0 = arrow_off(bo.b.buf, offs64, a), b1 = arrow_off(bo.b.buf, offs64, a + 1);
        if (b0 < 0 || b1 < b0 || (uint64_t)b1 > blen(&bd)) {
            PyErr_Format(PyExc_ValueError,
                         "row %zd: Arrow offsets are not monotonic or point past the data buffer",
                         r);
            goto done;
        }
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        size_t a = (size_t)(arr_offset + r);
        if (!is_valid_row(validity, a)) continue;
        int64_t b0 = arrow_off(bo.b.buf, offs64, a), b1 = arrow_off(bo.b.buf, offs64, a + 1);
        st_u64(bst.b.buf, r, fnv1a(ld_u64(bst.b.buf, r), data + b0, (size_t)(b1 - b0)));
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

/* ---- balancing: the keep decision (balance.py, HASH_VERSION 1) ---------------------------- */

static inline uint64_t mix13(uint64_t x) { /* splitmix64's finalizer, as balance._mix64 */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

/* Flat match sets: int64 offsets[n+1] into int32 values; checks sizes, not contents. */
static int check_flat(const Buf *bo, const Buf *bv, uint64_t n) {
    if (blen(bo) % 8 || blen(bo) / 8 != n + 1 || blen(bv) % 4) {
        PyErr_SetString(PyExc_ValueError, "offsets must be int64[n + 1] and values int32[]");
        return -1;
    }
    return 0;
}

/* Row r's range [*lo, *hi) of values, checked: 0 <= lo <= hi <= nvals. */
static inline int row_range(const void *off, size_t r, uint64_t nvals, int64_t *lo, int64_t *hi) {
    *lo = ld_i64(off, r);
    *hi = ld_i64(off, r + 1);
    return *lo >= 0 && *hi >= *lo && (uint64_t)*hi <= nvals;
}

/*
 * keep_mask(offsets int64[n+1], values int32[], uid_hash uint64[n], p float64[], key) -> bytes
 * of uint8[n]. Row r is kept (1) iff some e in values[offsets[r]:offsets[r+1]] has
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
    if (blen(&bu) % 8 || blen(&bp) % 8) {
        value_error("uid_hash must be uint64[n] and p float64[]");
        goto done;
    }
    uint64_t n = blen(&bu) / 8, nvals = blen(&bv) / 4, np_ = blen(&bp) / 8;
    if (check_flat(&bo, &bv, n) < 0) goto done;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!result) goto done;
    uint8_t *keep = (uint8_t *)PyBytes_AS_STRING(result);
    const void *off = bo.b.buf, *val = bv.b.buf, *uid = bu.b.buf, *p = bp.b.buf;
    const char *err = NULL;
    Py_BEGIN_ALLOW_THREADS;
    for (uint64_t r = 0; r < n && !err; r++) {
        int64_t lo, hi;
        if (!row_range(off, r, nvals, &lo, &hi)) {
            err = "offsets are not monotonic or point past the values";
            break;
        }
        uint64_t row = mix13((uint64_t)key ^ ld_u64(uid, r));
        uint8_t k = 0;
        for (int64_t i = lo; i < hi; i++) {
            int32_t e = ld_i32(val, i);
            if (e < 0 || (uint64_t)e >= np_) {
                err = "entry id out of range of p";
                break;
            }
            uint64_t x = mix13(row + ((uint64_t)e + 1) * 0x9E3779B97F4A7C15ULL);
            if ((double)(x >> 11) * 0x1.0p-53 < ld_f64(p, e)) {
                k = 1;
                break;
            }
        }
        keep[r] = k;
    }
    Py_END_ALLOW_THREADS;
    if (err) {
        Py_CLEAR(result);
        value_error(err);
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
 * The sum of table[e] over each row's values, added left to right (balance.keep_prob's order).
 */
static PyObject *row_sums(PyObject *self, PyObject *args) {
    PyObject *offs_o, *vals_o, *tab_o;
    if (!PyArg_ParseTuple(args, "OOO", &offs_o, &vals_o, &tab_o)) return NULL;
    Buf bo, bv, bt;
    bo.held = bv.held = bt.held = 0;
    PyObject *result = NULL;
    if (get_buf(offs_o, &bo, 0) < 0 || get_buf(vals_o, &bv, 0) < 0 || get_buf(tab_o, &bt, 0) < 0)
        goto done;
    if (blen(&bo) < 8 || blen(&bt) % 8) {
        value_error("offsets must be int64[n + 1] and table float64[]");
        goto done;
    }
    uint64_t n = blen(&bo) / 8 - 1, nvals = blen(&bv) / 4, ntab = blen(&bt) / 8;
    if (check_flat(&bo, &bv, n) < 0) goto done;
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * 8));
    if (!result) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const void *off = bo.b.buf, *val = bv.b.buf, *tab = bt.b.buf;
    const char *err = NULL;
    Py_BEGIN_ALLOW_THREADS;
    for (uint64_t r = 0; r < n && !err; r++) {
        int64_t lo, hi;
        if (!row_range(off, r, nvals, &lo, &hi)) {
            err = "offsets are not monotonic or point past the values";
            break;
        }
        double acc = 0.0;
        for (int64_t i = lo; i < hi; i++) {
            int32_t e = ld_i32(val, i);
            if (e < 0 || (uint64_t)e >= ntab) {
                err = "entry id out of range of the table";
                break;
            }
            acc += ld_f64(tab, e);
        }
        memcpy(out + 8 * r, &acc, 8);
    }
    Py_END_ALLOW_THREADS;
    if (err) {
        Py_CLEAR(result);
        value_error(err);
    }
done:
    rel_buf(&bo);
    rel_buf(&bv);
    rel_buf(&bt);
    return result;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS, "Build the span table: (slots, tags, ids, mask)."},
    {"validate", validate, METH_VARARGS,
     "Check a span table; (keys, max_key_len, max_key_tokens) or ValueError."},
    {"validate_keys", validate_keys, METH_VARARGS,
     "validate's key checks for slots [lo, hi); (keys, max_key_len, max_key_tokens)."},
    {"validate_ids", validate_ids, METH_VARARGS, "validate's id checks; (0, 0, 0)."},
    {"match", match, METH_VARARGS,
     "Match a batch of Arrow string buffers: (out_offsets, out_ids, status)."},
    {"fnv1a", fnv1a_rows, METH_VARARGS, "Continue FNV-1a 64 states over Arrow string rows."},
    {"keep_mask", keep_mask, METH_VARARGS, "The balancing keep decision per row."},
    {"row_sums", row_sums, METH_VARARGS, "Per-row left-to-right sums of table[values]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native",
                                    "metacurate's compiled kernel (see _native.c).", -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "SLOT_SIZE", (long)sizeof(Slot)) < 0 ||
              PyModule_AddIntConstant(m, "KERNEL_VERSION", KERNEL_VERSION) < 0 ||
              PyModule_AddIntConstant(m, "WINDOW_TOKENS", WINDOW_TOKENS) < 0 ||
              PyModule_AddIntConstant(m, "COMPACT_IDS", COMPACT_IDS) < 0 ||
              PyModule_AddIntConstant(m, "MAX_KEY_LEN", MAX_KEY_LEN) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
