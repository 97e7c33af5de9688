/*
 * Compiled form of metacurate.extract.scan.scan_html_python: a streaming pass over an HTML
 * page's bytes that follows the HTML tokenizer (comments, raw text, script escapes, CDATA in
 * foreign content, attributes) and the few tree-construction rules that decide which <img> and
 * <base> elements end up in the document. See scan.py for the rules; this file mirrors it
 * function by function and must give equal results (tests/extract/test_scan.py).
 *
 * scan(data: bytes) -> None | (images: int, found: list[tuple], base: bytes | None, non_ascii)
 * None: the page needs a tree builder (the caller parses it with the DOM).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 512

typedef const unsigned char uc;

enum { OK = 0, END = 1, BAIL = 2, ERR = 3 };

/* The first c in d[from:n], or NULL: memchr, with the short distances between tags and inside
 * attribute values searched inline (16 bytes at a time) instead of through a call. */
static inline uc *find_byte(uc *d, Py_ssize_t from, Py_ssize_t n, unsigned char c) {
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi8((char)c);
    for (int k = 0; k < 4 && from + 16 <= n; k++, from += 16) {
        int mask = _mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(d + from)), want));
        if (mask) return d + from + __builtin_ctz((unsigned)mask);
    }
#endif
    return from < n ? memchr(d + from, c, (size_t)(n - from)) : NULL;
}

typedef struct {
    uc *p;
    Py_ssize_t len; /* -1: absent */
} Val;

enum { A_SRC, A_ALT, A_TITLE, A_DIT, A_HREF, N_ATTR };

typedef struct {
    uc *name;
    Py_ssize_t name_len;
    int closed;
    Val a[N_ATTR];
} Tag;

typedef struct {
    uc *name;
    Py_ssize_t len;
    int ns;    /* 1 svg, 2 math */
    int integ; /* integration point */
} FNode;

typedef struct {
    uc *d;
    Py_ssize_t n;
    long images;
    PyObject *found;
    Val base;
    int has_base;
    FNode foreign[MAX_DEPTH];
    int nforeign;
    int template_depth;
    unsigned char tables[MAX_DEPTH];
    int ntables;
    int non_ascii; /* a found value or the base has a byte >= 0x80 */
} State;

/* character classes: bit 1 whitespace, 2 ends a tag name ('/', '>'), 4 ends an attribute name
 * ('/', '>', '='), 8 ends an unquoted value ('>') */
static unsigned char CLS[256];
#define C_WS 1
#define C_NAME 2
#define C_ATTR 4
#define C_UNQ 8

static void init_classes(void) {
    const char *ws = " \t\n\f\r";
    for (const char *c = ws; *c; c++) CLS[(unsigned char)*c] = C_WS | C_NAME | C_ATTR | C_UNQ;
    CLS['/'] |= C_NAME | C_ATTR;
    CLS['>'] |= C_NAME | C_ATTR | C_UNQ;
    CLS['='] |= C_ATTR;
}

static inline int is_ws(unsigned char c) { return CLS[c] & C_WS; }
static inline int is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* ASCII case-insensitive: p[0:len] == lit (lit lower case) */
static int eq_ci(uc *p, Py_ssize_t len, const char *lit) {
    size_t l = strlen(lit);
    if ((size_t)len != l) return 0;
    for (size_t i = 0; i < l; i++)
        if (lower(p[i]) != (unsigned char)lit[i]) return 0;
    return 1;
}

static int eq_names(uc *a, Py_ssize_t alen, uc *b, Py_ssize_t blen) {
    if (alen != blen) return 0;
    for (Py_ssize_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i])) return 0;
    return 1;
}

static int in_list(uc *p, Py_ssize_t len, const char *const *list) {
    for (; *list; list++)
        if (eq_ci(p, len, *list)) return 1;
    return 0;
}

static Py_ssize_t find(uc *d, Py_ssize_t n, Py_ssize_t from, const char *pat, size_t plen) {
    if (from < 0) from = 0;
    while (from + (Py_ssize_t)plen <= n) {
        uc *hit = memchr(d + from, pat[0], (size_t)(n - from - (Py_ssize_t)plen + 1));
        if (!hit) return -1;
        Py_ssize_t i = hit - d;
        if (memcmp(hit, pat, plen) == 0) return i;
        from = i + 1;
    }
    return -1;
}

static inline int is_tag_end_char(unsigned char c) { return CLS[c] & C_NAME; }

/* Parse the tag whose name starts at d[i]; *out = position after '>'. END on end of input. */
static int parse_tag(uc *d, Py_ssize_t n, Py_ssize_t i, Tag *t, Py_ssize_t *out) {
    Py_ssize_t j = i;
    while (j < n && !is_tag_end_char(d[j])) j++;
    t->name = d + i;
    t->name_len = j - i;
    t->closed = 0;
    for (int k = 0; k < N_ATTR; k++) t->a[k].len = -1;
    /* only <img>, <image> and <base> have attributes the scan reads */
    Py_ssize_t nl = j - i;
    int want = (nl == 3 && eq_ci(d + i, 3, "img")) || (nl == 5 && eq_ci(d + i, 5, "image")) ||
               (nl == 4 && eq_ci(d + i, 4, "base"));
    for (;;) {
        while (j < n && is_ws(d[j])) j++;
        if (j >= n) return END;
        unsigned char c = d[j];
        if (c == '/') {
            j++;
            if (j >= n) return END;
            if (d[j] == '>') {
                t->closed = 1;
                *out = j + 1;
                return OK;
            }
            continue;
        }
        if (c == '>') {
            *out = j + 1;
            return OK;
        }
        Py_ssize_t k = c == '=' ? j + 1 : j;
        while (k < n && !(CLS[d[k]] & C_ATTR)) k++;
        uc *aname = d + j;
        Py_ssize_t alen = k - j;
        j = k;
        while (j < n && is_ws(d[j])) j++;
        if (j >= n) return END;
        uc *val = d + j;
        Py_ssize_t vlen = 0;
        if (d[j] == '=') {
            j++;
            while (j < n && is_ws(d[j])) j++;
            if (j >= n) return END;
            unsigned char q = d[j];
            if (q == '"' || q == '\'') {
                uc *e = find_byte(d, j + 1, n, q);
                if (!e) return END;
                val = d + j + 1;
                vlen = e - val;
                j = (e - d) + 1;
            } else if (q != '>') {
                k = j;
                while (k < n && !(CLS[d[k]] & C_UNQ)) k++;
                if (k >= n) return END;
                val = d + j;
                vlen = k - j;
                j = k;
            }
        }
        int slot = -1;
        if (want) switch (alen) {
        case 3:
            if (eq_ci(aname, alen, "src")) slot = A_SRC;
            else if (eq_ci(aname, alen, "alt")) slot = A_ALT;
            break;
        case 4:
            if (eq_ci(aname, alen, "href")) slot = A_HREF;
            break;
        case 5:
            if (eq_ci(aname, alen, "title")) slot = A_TITLE;
            break;
        case 16:
            if (eq_ci(aname, alen, "data-image-title")) slot = A_DIT;
            break;
        }
        if (slot >= 0 && t->a[slot].len < 0) {
            t->a[slot].p = val;
            t->a[slot].len = vlen;
        }
    }
}

/* d[i:] starts with name (case-insensitive) followed by a tag delimiter */
static int delimited(uc *d, Py_ssize_t n, Py_ssize_t i, const char *name) {
    Py_ssize_t l = (Py_ssize_t)strlen(name);
    if (i + l >= n) return 0;
    return eq_ci(d + i, l, name) && is_tag_end_char(d[i + l]);
}

static int skip_raw(uc *d, Py_ssize_t n, Py_ssize_t pos, const char *name, Py_ssize_t *out) {
    Tag t;
    for (;;) {
        Py_ssize_t i = find(d, n, pos, "</", 2);
        if (i < 0) return END;
        if (delimited(d, n, i + 2, name)) return parse_tag(d, n, i + 2, &t, out);
        pos = i + 2;
    }
}

static Py_ssize_t alpha_run(uc *d, Py_ssize_t n, Py_ssize_t i) {
    while (i < n && is_alpha(d[i])) i++;
    return i;
}

enum { S_E, S_D, S_DD, S_DE, S_DDASH, S_DDD };

/* Script data escaped states from 'escaped dash dash' at i. *done = 1 when </script> ended it
 * (then *out is after it), else *out is where script data goes on. */
static int skip_escaped(uc *d, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *out, int *done) {
    int state = S_DD;
    Tag t;
    *done = 0;
    while (i < n) {
        unsigned char c = d[i];
        int dbl = state >= S_DE;
        if (c == '-') {
            if (state == S_E) state = S_D;
            else if (state == S_D || state == S_DD) state = S_DD;
            else if (state == S_DE) state = S_DDASH;
            else state = S_DDD;
            i++;
        } else if (c == '>' && (state == S_DD || state == S_DDD)) {
            *out = i + 1;
            return OK;
        } else if (c == '<') {
            i++;
            if (i >= n) break;
            if (!dbl) {
                if (d[i] == '/') {
                    if (delimited(d, n, i + 1, "script")) {
                        *done = 1;
                        return parse_tag(d, n, i + 1, &t, out);
                    }
                    i++;
                    state = S_E;
                } else {
                    Py_ssize_t end = alpha_run(d, n, i);
                    state = S_E;
                    if (end > i && end < n && is_tag_end_char(d[end])) {
                        if (eq_ci(d + i, end - i, "script")) state = S_DE;
                        end++;
                    }
                    i = end;
                }
            } else {
                state = S_DE;
                if (d[i] == '/') {
                    Py_ssize_t end = alpha_run(d, n, i + 1);
                    if (end < n && is_tag_end_char(d[end])) {
                        if (eq_ci(d + i + 1, end - i - 1, "script")) state = S_E;
                        end++;
                    }
                    i = end;
                }
            }
        } else {
            state = dbl ? S_DE : S_E;
            i++;
        }
    }
    return END;
}

static int skip_script(uc *d, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t *out) {
    Py_ssize_t i = pos;
    Tag t;
    for (;;) {
        uc *hit = i < n ? memchr(d + i, '<', (size_t)(n - i)) : NULL;
        if (!hit) return END;
        Py_ssize_t j = hit - d;
        if (j + 1 >= n) return END;
        unsigned char c = d[j + 1];
        if (c == '/') {
            if (delimited(d, n, j + 2, "script")) return parse_tag(d, n, j + 2, &t, out);
            i = j + 2;
        } else if (c == '!' && j + 3 < n && d[j + 2] == '-' && d[j + 3] == '-') {
            int done, r = skip_escaped(d, n, j + 4, &i, &done);
            if (r != OK) return r;
            if (done) {
                *out = i;
                return OK;
            }
        } else {
            i = j + 1;
        }
    }
}

static int skip_bogus(uc *d, Py_ssize_t n, Py_ssize_t p, Py_ssize_t *out) {
    uc *hit = p < n ? memchr(d + p, '>', (size_t)(n - p)) : NULL;
    if (!hit) return END;
    *out = (hit - d) + 1;
    return OK;
}

static int skip_markup(uc *d, Py_ssize_t n, Py_ssize_t p, int foreign, Py_ssize_t *out) {
    if (p + 1 < n && d[p] == '-' && d[p + 1] == '-') {
        Py_ssize_t q = p + 2;
        if (q < n && d[q] == '>') {
            *out = q + 1;
            return OK;
        }
        if (q + 1 < n && d[q] == '-' && d[q + 1] == '>') {
            *out = q + 2;
            return OK;
        }
        for (;;) {
            Py_ssize_t k = find(d, n, q, "--", 2);
            if (k < 0) return END;
            if (k + 2 < n && d[k + 2] == '>') {
                *out = k + 3;
                return OK;
            }
            if (k + 3 < n && d[k + 2] == '!' && d[k + 3] == '>') {
                *out = k + 4;
                return OK;
            }
            q = k + 1;
        }
    }
    if (foreign && p + 7 <= n && memcmp(d + p, "[CDATA[", 7) == 0) {
        Py_ssize_t k = find(d, n, p + 7, "]]>", 3);
        if (k < 0) return END;
        *out = k + 3;
        return OK;
    }
    return skip_bogus(d, n, p, out);
}

static const char *const BREAKOUT[] = {
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike",
    "sub", "sup", "table", "tt", "u", "ul", "var", "font", "base", NULL};
static const char *const INTEG_SVG[] = {"foreignobject", "desc", "title", NULL};
static const char *const INTEG_MATH[] = {"mi", "mo", "mn", "ms", "mtext", "annotation-xml", NULL};

enum {
    T_OTHER, T_IMG, T_BASE, T_SVG, T_MATH, T_TEMPLATE, T_RAW, T_SCRIPT, T_PLAINTEXT,
    T_FRAMESET, T_TABLE, T_CELL, T_ROW_PART, T_TR_SECTION
};

/* A lower-case name of 2 to 8 ASCII bytes packed little-end first into an integer. */
#define K2(a, b) ((uint64_t)(a) | (uint64_t)(b) << 8)
#define K3(a, b, c) (K2(a, b) | (uint64_t)(c) << 16)
#define K4(a, b, c, d) (K3(a, b, c) | (uint64_t)(d) << 24)
#define K5(a, b, c, d, e) (K4(a, b, c, d) | (uint64_t)(e) << 32)
#define K6(a, b, c, d, e, f) (K5(a, b, c, d, e) | (uint64_t)(f) << 40)
#define K7(a, b, c, d, e, f, g) (K6(a, b, c, d, e, f) | (uint64_t)(g) << 48)
#define K8(a, b, c, d, e, f, g, h) (K7(a, b, c, d, e, f, g) | (uint64_t)(h) << 56)

/* Tag name -> T_*: the lower-cased name packed into one integer, then one switch (names of
 * any length are told apart: the packed value of a shorter name has zero high bytes, and a
 * name byte is never zero, as the scan refuses pages with NUL bytes). */
static int classify(uc *p, Py_ssize_t len) {
    if (len > 9 || len < 2) return T_OTHER;
    if (len == 9) return eq_ci(p, 9, "plaintext") ? T_PLAINTEXT : T_OTHER;
    uint64_t key = 0;
    for (Py_ssize_t i = 0; i < len; i++) key |= (uint64_t)lower(p[i]) << (8 * i);
    switch (key) {
    case K2('t', 'd'):
    case K2('t', 'h'):
    case K7('c', 'a', 'p', 't', 'i', 'o', 'n'):
        return T_CELL;
    case K2('t', 'r'):
    case K5('t', 'b', 'o', 'd', 'y'):
    case K5('t', 'h', 'e', 'a', 'd'):
    case K5('t', 'f', 'o', 'o', 't'):
        return T_TR_SECTION;
    case K3('i', 'm', 'g'):
    case K5('i', 'm', 'a', 'g', 'e'):
        return T_IMG;
    case K3('s', 'v', 'g'):
        return T_SVG;
    case K3('x', 'm', 'p'):
    case K5('t', 'i', 't', 'l', 'e'):
    case K5('s', 't', 'y', 'l', 'e'):
    case K6('i', 'f', 'r', 'a', 'm', 'e'):
    case K7('n', 'o', 'e', 'm', 'b', 'e', 'd'):
    case K8('t', 'e', 'x', 't', 'a', 'r', 'e', 'a'):
    case K8('n', 'o', 'f', 'r', 'a', 'm', 'e', 's'):
        return T_RAW;
    case K3('c', 'o', 'l'):
    case K8('c', 'o', 'l', 'g', 'r', 'o', 'u', 'p'):
        return T_ROW_PART;
    case K4('b', 'a', 's', 'e'):
        return T_BASE;
    case K4('m', 'a', 't', 'h'):
        return T_MATH;
    case K5('t', 'a', 'b', 'l', 'e'):
        return T_TABLE;
    case K6('s', 'c', 'r', 'i', 'p', 't'):
        return T_SCRIPT;
    case K8('t', 'e', 'm', 'p', 'l', 'a', 't', 'e'):
        return T_TEMPLATE;
    case K8('f', 'r', 'a', 'm', 'e', 's', 'e', 't'):
        return T_FRAMESET;
    }
    return T_OTHER;
}

static int push_foreign(State *s, int ns, uc *name, Py_ssize_t len) {
    if (s->nforeign >= MAX_DEPTH) return BAIL;
    FNode *f = &s->foreign[s->nforeign++];
    f->name = name;
    f->len = len;
    f->ns = ns;
    f->integ = in_list(name, len, ns == 1 ? INTEG_SVG : INTEG_MATH);
    return OK;
}

static int has_high(const Val *v) {
    for (Py_ssize_t i = 0; i < v->len; i++)
        if (v->p[i] & 0x80) return 1;
    return 0;
}

static PyObject *val_obj(const Val *v) {
    if (v->len < 0) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)v->p, v->len);
}

static int start_tag(State *s, Tag *t, Py_ssize_t pos, Py_ssize_t *out) {
    uc *nm = t->name;
    Py_ssize_t nl = t->name_len;
    *out = pos;
    if (s->nforeign) {
        FNode *top = &s->foreign[s->nforeign - 1];
        if (top->integ || in_list(nm, nl, BREAKOUT)) return BAIL;
        if (!t->closed) return push_foreign(s, top->ns, nm, nl);
        return OK;
    }
    int kind = classify(nm, nl);
    switch (kind) {
    case T_IMG:
        if (s->template_depth) return OK;
        if (s->ntables && !s->tables[s->ntables - 1]) return BAIL;
        s->images++;
        if (t->a[A_ALT].len > 0 || t->a[A_TITLE].len > 0 || t->a[A_DIT].len > 0) {
            PyObject *tup = PyTuple_New(4);
            if (!tup) return ERR;
            const int order[4] = {A_SRC, A_ALT, A_TITLE, A_DIT};
            for (int k = 0; k < 4; k++) {
                if (!s->non_ascii && has_high(&t->a[order[k]])) s->non_ascii = 1;
                PyObject *o = val_obj(&t->a[order[k]]);
                if (!o) {
                    Py_DECREF(tup);
                    return ERR;
                }
                PyTuple_SET_ITEM(tup, k, o);
            }
            int r = PyList_Append(s->found, tup);
            Py_DECREF(tup);
            if (r < 0) return ERR;
        }
        return OK;
    case T_BASE:
        if (s->template_depth) return OK;
        if (s->ntables && !s->tables[s->ntables - 1]) return BAIL;
        if (!s->has_base && t->a[A_HREF].len >= 0) {
            s->base = t->a[A_HREF];
            s->has_base = 1;
            if (has_high(&s->base)) s->non_ascii = 1;
        }
        return OK;
    case T_SVG:
    case T_MATH:
        if (!t->closed) return push_foreign(s, kind == T_SVG ? 1 : 2, nm, nl);
        return OK;
    case T_TEMPLATE:
        s->template_depth++;
        return OK;
    case T_RAW: {
        char name[16];
        for (Py_ssize_t k = 0; k < nl; k++) name[k] = (char)lower(nm[k]);
        name[nl] = 0;
        return skip_raw(s->d, s->n, pos, name, out);
    }
    case T_SCRIPT:
        return skip_script(s->d, s->n, pos, out);
    case T_PLAINTEXT:
        return END;
    case T_FRAMESET:
        return BAIL;
    }
    if (s->template_depth) return OK;
    if (kind == T_TABLE) {
        if (s->ntables && !s->tables[s->ntables - 1]) s->ntables--;
        if (s->ntables >= MAX_DEPTH) return BAIL;
        s->tables[s->ntables++] = 0;
    } else if (s->ntables && kind == T_CELL) {
        s->tables[s->ntables - 1] = 1;
    } else if (s->ntables && (kind == T_ROW_PART || kind == T_TR_SECTION)) {
        s->tables[s->ntables - 1] = 0;
    }
    return OK;
}

static int end_tag(State *s, Tag *t) {
    uc *nm = t->name;
    Py_ssize_t nl = t->name_len;
    if (s->nforeign) {
        for (int k = s->nforeign - 1; k >= 0; k--) {
            if (eq_names(s->foreign[k].name, s->foreign[k].len, nm, nl)) {
                s->nforeign = k;
                return OK;
            }
        }
        return BAIL;
    }
    int kind = classify(nm, nl);
    if (kind == T_TEMPLATE) {
        if (s->template_depth) s->template_depth--;
        return OK;
    }
    if (s->template_depth || !s->ntables) return OK;
    if (kind == T_TABLE) s->ntables--;
    else if (kind == T_CELL || kind == T_TR_SECTION) s->tables[s->ntables - 1] = 0;
    return OK;
}

static int run(State *s) {
    uc *d = s->d;
    Py_ssize_t n = s->n, pos = 0;
    Tag t;
    for (;;) {
        uc *hit = find_byte(d, pos, n, '<');
        if (!hit) return OK;
        Py_ssize_t p = (hit - d) + 1;
        if (p >= n) return OK;
        unsigned char c = d[p];
        int r = OK;
        if (c == '!') {
            r = skip_markup(d, n, p + 1, s->nforeign > 0, &pos);
        } else if (c == '/') {
            if (p + 1 >= n) return OK;
            unsigned char c2 = d[p + 1];
            if (is_alpha(c2)) {
                r = parse_tag(d, n, p + 1, &t, &pos);
                if (r == OK) r = end_tag(s, &t);
            } else if (c2 == '>') {
                pos = p + 2;
            } else {
                r = skip_bogus(d, n, p + 1, &pos);
            }
        } else if (c == '?') {
            r = skip_bogus(d, n, p, &pos);
        } else if (is_alpha(c)) {
            r = parse_tag(d, n, p, &t, &pos);
            if (r == OK) r = start_tag(s, &t, pos, &pos);
        } else {
            pos = p;
        }
        if (r == END) return OK;
        if (r != OK) return r;
    }
}

static int has_refused(uc *d, Py_ssize_t n);

static PyObject *scan(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "scan() needs bytes");
        return NULL;
    }
    uc *d = (uc *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (has_refused(d, n) ||
        (n >= 2 && ((d[0] == 0xfe && d[1] == 0xff) || (d[0] == 0xff && d[1] == 0xfe))))
        Py_RETURN_NONE;
    /* the stacks (~13 KB) are read only below their counters: only the scalars are zeroed */
    State *s = PyMem_Malloc(sizeof(State));
    if (!s) return PyErr_NoMemory();
    memset(s, 0, offsetof(State, foreign));
    s->nforeign = s->template_depth = s->ntables = s->non_ascii = 0;
    s->d = d;
    s->n = n;
    s->found = PyList_New(0);
    PyObject *result = NULL;
    if (!s->found) goto done;
    int r = run(s);
    if (r == ERR) goto done;
    if (r == BAIL) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    PyObject *base = s->has_base ? val_obj(&s->base) : (Py_INCREF(Py_None), Py_None);
    if (!base) goto done;
    result = Py_BuildValue("(lONO)", s->images, s->found, base, s->non_ascii ? Py_True : Py_False);
done:
    Py_XDECREF(s->found);
    PyMem_Free(s);
    return result;
}

/* facts(data) -> flags: 1 "charset" occurs (ASCII case-insensitive) in the first
 * CHARSET_WINDOW bytes (the reference reads a <meta> charset from the first 1024 only), 2 one of
 * windows-1252's unassigned bytes (81 8D 8F 90 9D) occurs. memchr passes only. */
#define CHARSET_WINDOW (1024 + 7)
/* Whether one of windows-1252's unassigned bytes (81 8D 8F 90 9D) occurs in d[0:n]: one pass,
 * 16 bytes at a time, the five compared only in blocks with a byte >= 0x80. */
static int has_hole(uc *d, Py_ssize_t n) {
    static const unsigned char HOLES[5] = {0x81, 0x8D, 0x8F, 0x90, 0x9D};
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    const __m128i h0 = _mm_set1_epi8((char)0x81), h1 = _mm_set1_epi8((char)0x8D);
    const __m128i h2 = _mm_set1_epi8((char)0x8F), h3 = _mm_set1_epi8((char)0x90);
    const __m128i h4 = _mm_set1_epi8((char)0x9D);
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + i));
        if (!_mm_movemask_epi8(x)) continue;
        __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, h0), _mm_cmpeq_epi8(x, h1));
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(x, h2), _mm_cmpeq_epi8(x, h3)));
        if (_mm_movemask_epi8(_mm_or_si128(hit, _mm_cmpeq_epi8(x, h4)))) return 1;
    }
#endif
    for (; i < n; i++)
        if (d[i] & 0x80)
            for (int k = 0; k < 5; k++)
                if (d[i] == HOLES[k]) return 1;
    return 0;
}

/* Whether d[0:n] holds a NUL byte, an ESC byte or "~{" (the scan leaves such pages to the
 * DOM): one pass, 16 bytes at a time. */
static int has_refused(uc *d, Py_ssize_t n) {
    Py_ssize_t i = 0;
#if defined(__SSE2__)
    const __m128i nul = _mm_setzero_si128(), esc = _mm_set1_epi8(0x1b);
    const __m128i tilde = _mm_set1_epi8('~');
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + i));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, nul), _mm_cmpeq_epi8(x, esc))))
            return 1;
        unsigned t = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, tilde));
        while (t) {
            Py_ssize_t k = i + __builtin_ctz(t);
            if (k + 1 < n && d[k + 1] == '{') return 1;
            t &= t - 1;
        }
    }
#endif
    for (; i < n; i++)
        if (d[i] == 0 || d[i] == 0x1b || (d[i] == '~' && i + 1 < n && d[i + 1] == '{')) return 1;
    return 0;
}

static PyObject *facts(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "facts() needs bytes");
        return NULL;
    }
    uc *d = (uc *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    Py_ssize_t w = n < CHARSET_WINDOW ? n : CHARSET_WINDOW;
    int charset = 0, holes = 0;
    for (int pass = 0; pass < 2 && !charset; pass++) {
        Py_ssize_t j = 0;
        while (j + 7 <= w) {
            uc *hit = memchr(d + j, pass ? 'C' : 'c', (size_t)(w - j - 6));
            if (!hit) break;
            j = hit - d;
            if ((d[j + 1] | 32) == 'h' && (d[j + 2] | 32) == 'a' && (d[j + 3] | 32) == 'r' &&
                (d[j + 4] | 32) == 's' && (d[j + 5] | 32) == 'e' && (d[j + 6] | 32) == 't') {
                charset = 1;
                break;
            }
            j++;
        }
    }
    holes = has_hole(d, n);
    return PyLong_FromLong(charset | (holes ? 2 : 0));
}

/* The length of the strict UTF-8 sequence (as CPython decodes it: no surrogates, <= U+10FFFF)
 * that starts with the byte d[0] >= 0x80, 0 if none; n: the bytes left. Also used by
 * _watscan.c. */
Py_ssize_t mc_utf8_char(uc *d, Py_ssize_t n) {
    unsigned char c = d[0];
    Py_ssize_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    }
    if (!len || len > n || d[1] < lo || d[1] > hi) return 0;
    for (Py_ssize_t k = 2; k < len; k++)
        if (d[k] < 0x80 || d[k] > 0xBF) return 0;
    return len;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <tmmintrin.h>
#define UTF8_SIMD 1
/* Whether d[0:n] is strict UTF-8, 16 bytes at a time with SSSE3 table lookups (the algorithm
 * of Keiser and Lemire, "Validating UTF-8 in less than one instruction per byte", 2021: each
 * byte's error classes from its predecessor's high and low nibble and its own high nibble,
 * plus the check that the second and third byte after a 3- or 4-byte lead are continuations).
 * Pure ASCII blocks take one test. */
__attribute__((target("ssse3"))) static int utf8_ok_ssse3(uc *d, Py_ssize_t n) {
    enum {
        TOO_SHORT = 1 << 0, TOO_LONG = 1 << 1, OVERLONG_3 = 1 << 2, TOO_LARGE = 1 << 3,
        SURROGATE = 1 << 4, OVERLONG_2 = 1 << 5, TOO_LARGE_1000 = 1 << 6, OVERLONG_4 = 1 << 6,
        TWO_CONTS = 1 << 7, CARRY = TOO_SHORT | TOO_LONG | TWO_CONTS
    };
    const __m128i byte_1_high_table = _mm_setr_epi8(
        TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
        TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS, TOO_SHORT | OVERLONG_2, TOO_SHORT,
        TOO_SHORT | OVERLONG_3 | SURROGATE, TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4);
    const __m128i byte_1_low_table = _mm_setr_epi8(
        CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, CARRY | OVERLONG_2, CARRY, CARRY,
        CARRY | TOO_LARGE, CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE, CARRY | TOO_LARGE | TOO_LARGE_1000,
        CARRY | TOO_LARGE | TOO_LARGE_1000);
    const __m128i byte_2_high_table = _mm_setr_epi8(
        TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
        TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE, TOO_SHORT, TOO_SHORT,
        TOO_SHORT, TOO_SHORT);
    const __m128i nibble = _mm_set1_epi8(0x0F), high = _mm_set1_epi8((char)0x80);
    /* the last block's bytes that would need more bytes after the input */
    const __m128i incomplete_max = _mm_setr_epi8(
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xF0 - 1), (char)(0xE0 - 1),
        (char)(0xC0 - 1));
    __m128i prev = _mm_setzero_si128(), error = _mm_setzero_si128();
    __m128i prev_incomplete = _mm_setzero_si128();
    Py_ssize_t i = 0;
    unsigned char last[16];
    for (; i < n; i += 16) {
        __m128i x;
        if (i + 16 <= n) {
            x = _mm_loadu_si128((const __m128i *)(d + i));
        } else { /* the tail, padded with ASCII NULs (valid, ending any sequence) */
            memset(last, 0, 16);
            memcpy(last, d + i, (size_t)(n - i));
            x = _mm_loadu_si128((const __m128i *)last);
        }
        if (!_mm_movemask_epi8(x)) { /* ASCII: only an unfinished sequence before it is wrong */
            error = _mm_or_si128(error, prev_incomplete);
            prev = x;
            prev_incomplete = _mm_setzero_si128();
            continue;
        }
        __m128i prev1 = _mm_alignr_epi8(x, prev, 15);
        __m128i b1h = _mm_shuffle_epi8(byte_1_high_table, _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble));
        __m128i b1l = _mm_shuffle_epi8(byte_1_low_table, _mm_and_si128(prev1, nibble));
        __m128i b2h = _mm_shuffle_epi8(byte_2_high_table, _mm_and_si128(_mm_srli_epi16(x, 4), nibble));
        __m128i special = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
        __m128i prev2 = _mm_alignr_epi8(x, prev, 14), prev3 = _mm_alignr_epi8(x, prev, 13);
        __m128i third = _mm_subs_epu8(prev2, _mm_set1_epi8((char)(0xE0 - 0x80)));
        __m128i fourth = _mm_subs_epu8(prev3, _mm_set1_epi8((char)(0xF0 - 0x80)));
        __m128i must23 = _mm_and_si128(_mm_or_si128(third, fourth), high);
        error = _mm_or_si128(error, _mm_xor_si128(must23, special));
        prev_incomplete = _mm_subs_epu8(x, incomplete_max);
        prev = x;
    }
    error = _mm_or_si128(error, prev_incomplete);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(error, _mm_setzero_si128())) == 0xFFFF;
}
#endif

/* Whether d[0:n] is strict UTF-8. */
static int utf8_ok(uc *d, Py_ssize_t n) {
#if defined(UTF8_SIMD)
    static int ssse3 = -1;
    if (ssse3 < 0) ssse3 = __builtin_cpu_supports("ssse3") ? 1 : 0;
    if (ssse3 && n >= 64) return utf8_ok_ssse3(d, n);
#endif
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, d + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        if (d[i] < 0x80) {
            i++;
            continue;
        }
        Py_ssize_t len = mc_utf8_char(d + i, n - i);
        if (!len) return 0;
        i += len;
    }
    return 1;
}

/* utf8_valid(data) -> bool: whether the bytes are strict UTF-8. */
static PyObject *utf8_valid(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "utf8_valid() needs bytes");
        return NULL;
    }
    return PyBool_FromLong(utf8_ok((uc *)PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg)));
}

/* dbcs_valid(data, table) -> bool: whether data decodes strictly in a double-byte charset
 * whose table (256 + 65536 bytes, built by attrs.py from Python's codec) marks the valid single
 * bytes (table[b]) and the valid lead/trail pairs (table[256 + lead * 256 + trail]). */
static PyObject *dbcs_valid(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, table;
    if (!PyArg_ParseTuple(args, "y*y*", &data, &table)) return NULL;
    int ok = 1;
    if (table.len != 256 + 65536) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&table);
        PyErr_SetString(PyExc_ValueError, "dbcs_valid: the table must have 65792 bytes");
        return NULL;
    }
    uc *d = data.buf, *t = table.buf;
    Py_ssize_t n = data.len, i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, d + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = d[i];
        if (t[c]) {
            i++;
        } else if (i + 1 < n && t[256 + c * 256 + d[i + 1]]) {
            i += 2;
        } else {
            ok = 0;
            break;
        }
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&table);
    return PyBool_FromLong(ok);
}

PyObject *mc_wat_scan(PyObject *self, PyObject *arg); /* _watscan.c */
PyObject *mc_wat_set_pair_type(PyObject *self, PyObject *cls);
PyObject *mc_pair_uids(PyObject *self, PyObject *args); /* _pairuid.c */

/* header_values(names, headers) -> tuple: for each name (lower case), the value of the first
 * (key, value) in headers whose key has the name's length and whose key.lower() is the name,
 * else None: extract's lookup in fastwarc's HeaderMap.astuples() (extract.headers.header) for several
 * names in one pass. ASCII keys are lowered here, any other key by str.lower(). */
static PyObject *header_values(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *headers, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &names, &PyTuple_Type, &headers))
        return NULL;
    Py_ssize_t nn = PyTuple_GET_SIZE(names);
    if (nn > 8) {
        PyErr_SetString(PyExc_ValueError, "header_values: at most 8 names");
        return NULL;
    }
    PyObject *out = PyTuple_New(nn);
    if (!out) return NULL;
    Py_ssize_t left = nn;
    for (Py_ssize_t k = 0; k < nn; k++) {
        PyObject *name = PyTuple_GET_ITEM(names, k);
        if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "header_values: names must be ASCII str");
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(headers) && left; i++) {
        PyObject *pair = PyTuple_GET_ITEM(headers, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "header_values: headers must be (str, value) pairs");
            return NULL;
        }
        PyObject *key = PyTuple_GET_ITEM(pair, 0);
        Py_ssize_t klen = PyUnicode_GET_LENGTH(key);
        PyObject *lowered = NULL; /* str.lower() of a non-ASCII key, made once */
        for (Py_ssize_t k = 0; k < nn; k++) {
            PyObject *name = PyTuple_GET_ITEM(names, k);
            if (PyTuple_GET_ITEM(out, k) || PyUnicode_GET_LENGTH(name) != klen) continue;
            const unsigned char *nm = PyUnicode_1BYTE_DATA(name);
            int match;
            if (PyUnicode_IS_ASCII(key)) {
                const unsigned char *kp = PyUnicode_1BYTE_DATA(key);
                match = 1;
                for (Py_ssize_t j = 0; j < klen && match; j++) {
                    unsigned char c = kp[j];
                    if (c >= 'A' && c <= 'Z') c += 32;
                    match = c == nm[j];
                }
            } else {
                if (!lowered && !(lowered = PyObject_CallMethod(key, "lower", NULL))) {
                    Py_DECREF(out);
                    return NULL;
                }
                match = PyUnicode_Compare(lowered, name) == 0;
            }
            if (match) {
                PyObject *v = PyTuple_GET_ITEM(pair, 1);
                Py_INCREF(v);
                PyTuple_SET_ITEM(out, k, v);
                left--;
            }
        }
        Py_XDECREF(lowered);
    }
    for (Py_ssize_t k = 0; k < nn; k++)
        if (!PyTuple_GET_ITEM(out, k)) {
            Py_INCREF(Py_None);
            PyTuple_SET_ITEM(out, k, Py_None);
        }
    return out;
}

static PyMethodDef methods[] = {
    {"dbcs_valid", dbcs_valid, METH_VARARGS, "Whether bytes decode in a double-byte charset."},
    {"facts", facts, METH_O, "Byte facts the charset rules need (see attrs.py)."},
    {"header_values", header_values, METH_VARARGS, "Several header lookups in one pass."},
    {"utf8_valid", utf8_valid, METH_O, "Whether the bytes are strict UTF-8."},
    {"scan", scan, METH_O, "Stream-scan an HTML page for <img> and <base href> (see scan.py)."},
    {"wat_scan", mc_wat_scan, METH_O, "The fields extract reads of a WAT JSON record."},
    {"set_pair_type", mc_wat_set_pair_type, METH_O, "The class wat_scan makes pairs with."},
    {"pair_uids", mc_pair_uids, METH_VARARGS, "extract's uids of (url, text) pairs."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_htmlscan",
                                    "Streaming <img> scan of HTML bytes.", -1, methods};

PyMODINIT_FUNC PyInit__htmlscan(void) {
    init_classes();
    return PyModule_Create(&module);
}
