/*
 * The WAT record scan of extract (part of the _htmlscan module): one pass over a Common Crawl
 * WAT JSON record that checks the whole document's syntax and keeps only the fields
 * metacurate.extract.wat reads, as its general path (orjson / json.loads of the whole record)
 * would read them. Anything this scan does not read exactly is left to that general path by
 * returning None: a JSON text outside strict RFC 8259 (NaN, a leading BOM, trailing data,
 * control characters in strings ...), bytes that are not strict UTF-8 (checked in strings:
 * elsewhere a byte >= 0x80 is not JSON), one of the fields
 * below that is present with another type than the one named (a number for `Status`, a string
 * for `Links` ...), a key of one of those objects written with an escape or given twice (the
 * last would count), an escaped lone surrogate in a field read, nesting deeper than MAX_NEST.
 *
 * wat_scan(data: bytes) -> None | (status, uri, html, base, images, bare, ready)
 *   status  Envelope.Payload-Metadata.HTTP-Response-Metadata.Response-Message.Status (str|None)
 *   uri     Envelope.WARC-Header-Metadata.WARC-Target-URI (str | None)
 *   html    whether ...HTTP-Response-Metadata.HTML-Metadata (an object) is there
 *   base    ...HTML-Metadata.Head.Base (str | None)
 *   images  [(url, alt, title)] (str | None each) of the Links objects whose path is
 *           "IMG@/src" and whose alt or title is a non-empty string, in order
 *   bare    the number of the other "IMG@/src" links (no alt and no title, or empty ones)
 *   ready   0, or (when set_pair_type was called and every image is simple: its url an
 *           http(s) URL and its texts kept as they are by the pair rules) the number of
 *           images, and `images` holds their pairs instead: ImagePair(url, text, "alt" or
 *           "title") in order, what `pairs.add_images` makes of them
 * Every object on those paths must be an object, Links an array (non-object elements are
 * skipped, as the general path skips them), the captured values strings or null.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef const unsigned char uc;

Py_ssize_t mc_utf8_char(uc *d, Py_ssize_t n); /* _htmlscan.c */

#define MAX_NEST 256
enum { J_OK = 0, J_BAIL = 1, J_ERR = 2 };

/* roles of a value, by the key path that leads to it */
enum {
    R_NONE, R_ROOT, R_ENV, R_WHM, R_PM, R_HRM, R_RM, R_HTML, R_HEAD, R_LINKS, R_LINK,
    V_URI, V_STATUS, V_BASE, V_PATH, V_URL, V_ALT, V_TITLE, N_ROLES
};

typedef struct {
    uc *p;
    Py_ssize_t len;
    int esc;  /* holds a backslash escape */
    int kind; /* 0 absent or null, 1 string */
} Str;

typedef struct {
    uc *d;
    Py_ssize_t n, i;
    Str uri, status, base;
    int html, env;
    PyObject *images;
    long bare;
    int complex; /* an image that is not `simple` (see below) */
} W;

/* The ImagePair class (metacurate.extract.pairs), set once by set_pair_type(): when every
 * image of a page is simple, the scan returns the page's pairs themselves. */
static PyTypeObject *pair_type = NULL;
static PyObject *alt_name = NULL, *title_name = NULL;

typedef struct {
    int parent;
    const char *key;
    Py_ssize_t len;
    int child;
} Edge;

static const Edge EDGES[] = {
    {R_ROOT, "Envelope", 8, R_ENV},
    {R_ENV, "WARC-Header-Metadata", 20, R_WHM},
    {R_ENV, "Payload-Metadata", 16, R_PM},
    {R_WHM, "WARC-Target-URI", 15, V_URI},
    {R_PM, "HTTP-Response-Metadata", 22, R_HRM},
    {R_HRM, "Response-Message", 16, R_RM},
    {R_HRM, "HTML-Metadata", 13, R_HTML},
    {R_RM, "Status", 6, V_STATUS},
    {R_HTML, "Head", 4, R_HEAD},
    {R_HTML, "Links", 5, R_LINKS},
    {R_HEAD, "Base", 4, V_BASE},
    {R_LINK, "path", 4, V_PATH},
    {R_LINK, "url", 3, V_URL},
    {R_LINK, "alt", 3, V_ALT},
    {R_LINK, "title", 5, V_TITLE},
    {-1, NULL, 0, 0}};
/* the first edge of each object role (EDGES is ordered by parent; an index past a role's
 * edges holds another parent, which ends the loop) */
static const int EDGE_START[N_ROLES] = {
    [R_NONE] = 15, [R_ROOT] = 0, [R_ENV] = 1, [R_WHM] = 3, [R_PM] = 4, [R_HRM] = 5,
    [R_RM] = 7, [R_HTML] = 8, [R_HEAD] = 10, [R_LINK] = 11};

static inline void ws(W *w) {
    while (w->i < w->n) {
        unsigned char c = w->d[w->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
        w->i++;
    }
}

static inline int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* a byte of v is zero (false positives only next to a true one) */
#define HAS_ZERO(v) (((v) - ONES) & ~(v) & HIGHS)

/* The string whose opening quote is at d[i]: its span; w->i after the closing quote. */
static inline int string(W *w, Str *s) {
    uc *d = w->d;
    Py_ssize_t n = w->n, i = w->i + 1;
    s->p = d + i;
    s->esc = 0;
    s->kind = 1;
    for (;;) {
#if defined(__SSE2__)
        /* 16 bytes at a time up to the first '"', '\\' or byte below 0x20 */
        const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
        const __m128i ctl = _mm_set1_epi8(0x1f);
        while (i + 16 <= n) {
            __m128i x = _mm_loadu_si128((const __m128i *)(d + i));
            __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash));
            hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
            int mask = _mm_movemask_epi8(hit) | _mm_movemask_epi8(x); /* | bytes >= 0x80 */
            if (mask) {
                i += __builtin_ctz((unsigned)mask);
                break;
            }
            i += 16;
        }
#else
        while (i + 8 <= n) { /* 8 bytes at a time while none is '"', '\\', < 0x20 or >= 0x80 */
            uint64_t v;
            memcpy(&v, d + i, 8);
            uint64_t low = (v - 0x2020202020202020ULL) & ~v & HIGHS;
            if (HAS_ZERO(v ^ (0x22 * ONES)) | HAS_ZERO(v ^ (0x5C * ONES)) | low | (v & HIGHS)) break;
            i += 8;
        }
#endif
        if (i >= n) return J_BAIL;
        unsigned char c = d[i];
        if (c == '"') break;
        if (c < 0x20) return J_BAIL;
        if (c >= 0x80) { /* one strict UTF-8 sequence (outside strings, such bytes bail) */
            Py_ssize_t len = mc_utf8_char(d + i, n - i);
            if (!len) return J_BAIL;
            i += len;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) return J_BAIL;
            unsigned char e = d[i + 1];
            s->esc = 1;
            if (e == 'u') {
                if (i + 6 > n) return J_BAIL;
                for (int k = 2; k < 6; k++)
                    if (hexval(d[i + k]) < 0) return J_BAIL;
                i += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                i += 2;
            } else {
                return J_BAIL;
            }
            continue;
        }
        i++;
    }
    s->len = (d + i) - s->p;
    w->i = i + 1;
    return J_OK;
}

static unsigned cp4(uc *p) {
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/* The decoded UTF-8 of an escaped string into out (room for s->len bytes): its length, or -1
 * for an escaped lone surrogate (left to the general path). */
static Py_ssize_t unescape(const Str *s, unsigned char *out) {
    uc *p = s->p, *end = s->p + s->len;
    unsigned char *o = out;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        unsigned char e = p[1];
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            *o++ = (unsigned char)to[strchr(from, e) - from];
            p += 2;
            continue;
        }
        unsigned cp = cp4(p + 2);
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
            unsigned lo = cp4(p + 2);
            if (lo < 0xDC00 || lo > 0xDFFF) return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return -1;
        }
        if (cp < 0x80) {
            *o++ = (unsigned char)cp;
        } else if (cp < 0x800) {
            *o++ = (unsigned char)(0xC0 | cp >> 6);
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *o++ = (unsigned char)(0xE0 | cp >> 12);
            *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (unsigned char)(0xF0 | cp >> 18);
            *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    return o - out;
}

/* A captured value as a Python object (None when absent or null); NULL with *bail set for a
 * lone surrogate, NULL without it on a Python error. */
static PyObject *str_obj(const Str *s, int *bail) {
    if (!s->kind) Py_RETURN_NONE;
    if (!s->esc) return PyUnicode_DecodeUTF8((const char *)s->p, s->len, NULL);
    unsigned char small[256], *buf = s->len <= 256 ? small : PyMem_Malloc((size_t)s->len);
    if (!buf) return PyErr_NoMemory();
    Py_ssize_t len = unescape(s, buf);
    PyObject *o = NULL;
    if (len < 0) *bail = 1;
    else o = PyUnicode_DecodeUTF8((const char *)buf, len, NULL);
    if (buf != small) PyMem_Free(buf);
    return o;
}

/* Whether the string s reads "IMG@/src". */
static int is_img_src(const Str *s) {
    static const char want[] = "IMG@/src";
    if (s->kind != 1) return 0;
    if (!s->esc) return s->len == 8 && memcmp(s->p, want, 8) == 0;
    unsigned char buf[64];
    if (s->len > 64) return 0; /* eight characters, each at most a 6-byte escape */
    return unescape(s, buf) == 8 && memcmp(buf, want, 8) == 0;
}

static int value(W *w, int role, Str *cap, int depth);

/* p[0:len] == key[0:len] (short keys: a loop is faster than a call to memcmp) */
static inline int same(uc *p, const char *key, Py_ssize_t len) {
    for (Py_ssize_t k = 0; k < len; k++)
        if (p[k] != (unsigned char)key[k]) return 0;
    return 1;
}

static int literal(W *w, const char *lit) {
    size_t l = strlen(lit);
    if (w->i + (Py_ssize_t)l > w->n || memcmp(w->d + w->i, lit, l) != 0) return J_BAIL;
    w->i += (Py_ssize_t)l;
    return J_OK;
}

static int number(W *w) {
    uc *d = w->d;
    Py_ssize_t n = w->n, i = w->i;
    if (i < n && d[i] == '-') i++;
    if (i >= n) return J_BAIL;
    if (d[i] == '0') i++;
    else if (d[i] >= '1' && d[i] <= '9')
        while (i < n && d[i] >= '0' && d[i] <= '9') i++;
    else return J_BAIL;
    if (i < n && d[i] == '.') {
        i++;
        if (i >= n || d[i] < '0' || d[i] > '9') return J_BAIL;
        while (i < n && d[i] >= '0' && d[i] <= '9') i++;
    }
    if (i < n && (d[i] == 'e' || d[i] == 'E')) {
        i++;
        if (i < n && (d[i] == '+' || d[i] == '-')) i++;
        if (i >= n || d[i] < '0' || d[i] > '9') return J_BAIL;
        while (i < n && d[i] >= '0' && d[i] <= '9') i++;
    }
    w->i = i;
    return J_OK;
}

/* Whether the url is one the pair rules keep as it is: ASCII from '!' to '~' (nothing that
 * strip() or the tab/CR/LF removal changes), starting with http:// or https://, no '[' or ']'
 * (`pairs.add_images` takes such a source as it is, without url_scheme). */
static int simple_url(PyObject *u) {
    if (u == Py_None || !PyUnicode_IS_ASCII(u)) return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(u);
    const unsigned char *p = PyUnicode_1BYTE_DATA(u);
    if (!(n >= 7 && memcmp(p, "http://", 7) == 0) && !(n >= 8 && memcmp(p, "https://", 8) == 0))
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~' || p[i] == '[' || p[i] == ']') return 0;
    return 1;
}

/* Whether a text reads the same after `pairs.normalize_text` (no tab, CR or LF; no white
 * space, as str.strip() sees it, at either end), or is None or empty (no text). */
static int simple_text(PyObject *t) {
    if (t == Py_None) return 1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(t);
    if (n == 0) return 1;
    int kind = PyUnicode_KIND(t);
    const void *data = PyUnicode_DATA(t);
    if (Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, 0)) ||
        Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, n - 1)))
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '\t' || c == '\n' || c == '\r') return 0;
    }
    return 1;
}

/* (url, alt, title): the pair rules keep its url and texts as they are. */
static int simple_image(PyObject *tup) {
    return simple_url(PyTuple_GET_ITEM(tup, 0)) && simple_text(PyTuple_GET_ITEM(tup, 1)) &&
           simple_text(PyTuple_GET_ITEM(tup, 2));
}

/* The pairs of simple images, in order: ImagePair(url, text, name) for each non-empty text.
 * *with_text: the images with at least one. */
static PyObject *ready_pairs(PyObject *images, long *with_text) {
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    *with_text = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(images); i++) {
        PyObject *img = PyList_GET_ITEM(images, i);
        PyObject *url = PyTuple_GET_ITEM(img, 0);
        int any = 0;
        for (int k = 1; k < 3; k++) {
            PyObject *t = PyTuple_GET_ITEM(img, k);
            if (t == Py_None || PyUnicode_GET_LENGTH(t) == 0) continue;
            PyObject *pair = pair_type->tp_alloc(pair_type, 3);
            if (!pair) {
                Py_DECREF(out);
                return NULL;
            }
            PyObject *name = k == 1 ? alt_name : title_name;
            Py_INCREF(url);
            Py_INCREF(t);
            Py_INCREF(name);
            PyTuple_SET_ITEM(pair, 0, url);
            PyTuple_SET_ITEM(pair, 1, t);
            PyTuple_SET_ITEM(pair, 2, name);
            int r = PyList_Append(out, pair);
            Py_DECREF(pair);
            if (r < 0) {
                Py_DECREF(out);
                return NULL;
            }
            any = 1;
        }
        *with_text += any;
    }
    return out;
}

static int link_done(W *w, Str *f) {
    /* f: path, url, alt, title */
    if (!is_img_src(&f[0])) return J_OK;
    if ((!f[2].kind || f[2].len == 0) && (!f[3].kind || f[3].len == 0)) {
        w->bare++;
        return J_OK;
    }
    int bail = 0;
    PyObject *tup = PyTuple_New(3);
    if (!tup) return J_ERR;
    for (int k = 0; k < 3; k++) {
        PyObject *o = str_obj(&f[k + 1], &bail);
        if (!o) {
            Py_DECREF(tup);
            return bail ? J_BAIL : J_ERR;
        }
        PyTuple_SET_ITEM(tup, k, o);
    }
    if (!w->complex && !simple_image(tup)) w->complex = 1;
    int r = PyList_Append(w->images, tup);
    Py_DECREF(tup);
    return r < 0 ? J_ERR : J_OK;
}

static int object(W *w, int role, int depth) {
    Str fields[4]; /* R_LINK: path, url, alt, title */
    unsigned seen = 0;
    for (int k = 0; k < 4; k++) fields[k].kind = 0; /* (a memset is slower here) */
    w->i++; /* '{' */
    ws(w);
    if (w->i < w->n && w->d[w->i] == '}') {
        w->i++;
        return role == R_LINK ? link_done(w, fields) : J_OK;
    }
    for (;;) {
        if (w->i >= w->n || w->d[w->i] != '"') return J_BAIL;
        Str key;
        int r = string(w, &key);
        if (r) return r;
        int child = R_NONE;
        if (role != R_NONE) {
            if (key.esc) return J_BAIL; /* could spell a key read here */
            for (int e = EDGE_START[role]; EDGES[e].parent == role; e++) {
                if (key.len == EDGES[e].len && same(key.p, EDGES[e].key, key.len)) {
                    if (seen & (1u << e)) return J_BAIL; /* a duplicate: the last counts */
                    seen |= 1u << e;
                    child = EDGES[e].child;
                    break;
                }
            }
        }
        ws(w);
        if (w->i >= w->n || w->d[w->i] != ':') return J_BAIL;
        w->i++;
        ws(w);
        Str *cap = NULL;
        switch (child) {
        case V_URI: cap = &w->uri; break;
        case V_STATUS: cap = &w->status; break;
        case V_BASE: cap = &w->base; break;
        case V_PATH: cap = &fields[0]; break;
        case V_URL: cap = &fields[1]; break;
        case V_ALT: cap = &fields[2]; break;
        case V_TITLE: cap = &fields[3]; break;
        }
        r = value(w, child, cap, depth + 1);
        if (r) return r;
        ws(w);
        if (w->i >= w->n) return J_BAIL;
        unsigned char c = w->d[w->i++];
        if (c == '}') break;
        if (c != ',') return J_BAIL;
        ws(w);
    }
    return role == R_LINK ? link_done(w, fields) : J_OK;
}

/* A `Links` element that is an object (the role R_LINK, the most frequent object): its keys
 * matched directly, a string value read in place; else as object(). */
static int link_object(W *w, int depth) {
    Str f[4]; /* path, url, alt, title */
    unsigned seen = 0;
    f[0].kind = f[1].kind = f[2].kind = f[3].kind = 0;
    uc *d = w->d;
    w->i++; /* '{' */
    ws(w);
    if (w->i < w->n && d[w->i] == '}') {
        w->i++;
        return link_done(w, f);
    }
    for (;;) {
        if (w->i >= w->n || d[w->i] != '"') return J_BAIL;
        Str key;
        int r = string(w, &key);
        if (r) return r;
        if (key.esc) return J_BAIL; /* could spell a key read here */
        int slot = -1;
        uc *k = key.p;
        switch (key.len) {
        case 4:
            if (k[0] == 'p' && k[1] == 'a' && k[2] == 't' && k[3] == 'h') slot = 0;
            break;
        case 3:
            if (k[0] == 'u' && k[1] == 'r' && k[2] == 'l') slot = 1;
            else if (k[0] == 'a' && k[1] == 'l' && k[2] == 't') slot = 2;
            break;
        case 5:
            if (same(k, "title", 5)) slot = 3;
            break;
        }
        ws(w);
        if (w->i >= w->n || d[w->i] != ':') return J_BAIL;
        w->i++;
        ws(w);
        if (slot >= 0) {
            if (seen & (1u << slot)) return J_BAIL; /* a duplicate: the last counts */
            seen |= 1u << slot;
            if (w->i < w->n && d[w->i] == '"') r = string(w, &f[slot]);
            else r = value(w, V_PATH, &f[slot], depth + 1); /* null, else bail */
        } else {
            r = value(w, R_NONE, NULL, depth + 1);
        }
        if (r) return r;
        ws(w);
        if (w->i >= w->n) return J_BAIL;
        unsigned char c = d[w->i++];
        if (c == '}') break;
        if (c != ',') return J_BAIL;
        ws(w);
    }
    return link_done(w, f);
}

static int array(W *w, int role, int depth) {
    w->i++; /* '[' */
    ws(w);
    if (w->i < w->n && w->d[w->i] == ']') {
        w->i++;
        return J_OK;
    }
    for (;;) {
        int r;
        if (role == R_LINKS && w->i < w->n && w->d[w->i] == '{')
            r = depth + 1 > MAX_NEST ? J_BAIL : link_object(w, depth + 1);
        else
            r = value(w, R_NONE, NULL, depth + 1);
        if (r) return r;
        ws(w);
        if (w->i >= w->n) return J_BAIL;
        unsigned char c = w->d[w->i++];
        if (c == ']') return J_OK;
        if (c != ',') return J_BAIL;
        ws(w);
    }
}

static int value(W *w, int role, Str *cap, int depth) {
    if (depth > MAX_NEST || w->i >= w->n) return J_BAIL;
    unsigned char c = w->d[w->i];
    int want_object = role != R_NONE && role < R_LINKS;
    if (role == R_LINK) want_object = 1;
    if (c == '{') {
        if (cap || role == R_LINKS) return J_BAIL;
        if (role == R_ENV) w->env = 1;
        if (role == R_HTML) w->html = 1;
        return object(w, role, depth);
    }
    if (want_object) return J_BAIL;
    if (c == '[') {
        if (cap) return J_BAIL;
        return array(w, role, depth);
    }
    if (role == R_LINKS) return J_BAIL;
    if (c == '"') {
        Str s;
        return string(w, cap ? cap : &s);
    }
    if (c == 'n') {
        int r = literal(w, "null");
        if (r == J_OK && cap) cap->kind = 0;
        return r;
    }
    if (cap) return J_BAIL; /* a number or boolean where a string is read */
    if (c == 't') return literal(w, "true");
    if (c == 'f') return literal(w, "false");
    return number(w);
}

PyObject *mc_wat_scan(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "wat_scan() needs bytes");
        return NULL;
    }
    W w;
    memset(&w, 0, sizeof w);
    w.d = (uc *)PyBytes_AS_STRING(arg);
    w.n = PyBytes_GET_SIZE(arg);
    w.images = PyList_New(0);
    if (!w.images) return NULL;
    PyObject *result = NULL, *status = NULL, *uri = NULL, *base = NULL;
    ws(&w);
    int r = w.i < w.n && w.d[w.i] == '{' ? value(&w, R_ROOT, NULL, 0) : J_BAIL;
    if (r == J_OK) {
        ws(&w);
        if (w.i != w.n || !w.env) r = J_BAIL;
    }
    if (r == J_OK) {
        int bail = 0;
        status = str_obj(&w.status, &bail);
        uri = status ? str_obj(&w.uri, &bail) : NULL;
        base = uri ? str_obj(&w.base, &bail) : NULL;
        if (!base) r = bail ? J_BAIL : J_ERR;
    }
    long ready = 0; /* images with a text, when the pairs are returned instead of them */
    if (r == J_OK && pair_type && !w.complex && PyList_GET_SIZE(w.images)) {
        PyObject *pairs = ready_pairs(w.images, &ready);
        if (!pairs) r = J_ERR;
        else Py_SETREF(w.images, pairs);
    }
    if (r == J_OK)
        result = Py_BuildValue("(OOOOOll)", status, uri, w.html ? Py_True : Py_False, base,
                               w.images, w.bare, ready);
    else if (r == J_BAIL)
        result = (PyErr_Clear(), Py_INCREF(Py_None), Py_None);
    Py_XDECREF(status);
    Py_XDECREF(uri);
    Py_XDECREF(base);
    Py_DECREF(w.images);
    return result;
}

/* set_pair_type(cls): the ImagePair class wat_scan makes a page's pairs with (see above). */
PyObject *mc_wat_set_pair_type(PyObject *self, PyObject *cls) {
    (void)self;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "set_pair_type() needs a tuple subclass");
        return NULL;
    }
    if (!alt_name) alt_name = PyUnicode_InternFromString("alt");
    if (!title_name) title_name = PyUnicode_InternFromString("title");
    if (!alt_name || !title_name) return NULL;
    Py_INCREF(cls);
    Py_XSETREF(pair_type, (PyTypeObject *)cls);
    Py_RETURN_NONE;
}
