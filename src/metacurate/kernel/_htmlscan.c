/*
 * Compiled form of metacurate.extract.scan.scan_html_python: a streaming pass over an HTML
 * page's bytes that follows the HTML tokenizer (comments, raw text, script escapes, CDATA in
 * foreign content, attributes) and the few tree-construction rules that decide which <img> and
 * <base> elements end up in the document. See scan.py for the rules; this file mirrors it
 * function by function and must give equal results (tests/extract/test_scan.py).
 *
 * scan(data: bytes) -> None | (images: int, found: list[tuple], base: bytes | None)
 * None: the page needs a tree builder (the caller parses it with the DOM).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_DEPTH 512

typedef const unsigned char uc;

enum { OK = 0, END = 1, BAIL = 2, ERR = 3 };

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
} State;

static inline int is_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
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

static inline int is_tag_end_char(unsigned char c) { return is_ws(c) || c == '/' || c == '>'; }

/* Parse the tag whose name starts at d[i]; *out = position after '>'. END on end of input. */
static int parse_tag(uc *d, Py_ssize_t n, Py_ssize_t i, Tag *t, Py_ssize_t *out) {
    Py_ssize_t j = i;
    while (j < n && !is_tag_end_char(d[j])) j++;
    t->name = d + i;
    t->name_len = j - i;
    t->closed = 0;
    for (int k = 0; k < N_ATTR; k++) t->a[k].len = -1;
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
        while (k < n && !is_ws(d[k]) && d[k] != '/' && d[k] != '>' && d[k] != '=') k++;
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
                uc *e = memchr(d + j + 1, q, (size_t)(n - j - 1));
                if (!e) return END;
                val = d + j + 1;
                vlen = e - val;
                j = (e - d) + 1;
            } else if (q != '>') {
                k = j;
                while (k < n && !is_ws(d[k]) && d[k] != '>') k++;
                if (k >= n) return END;
                val = d + j;
                vlen = k - j;
                j = k;
            }
        }
        int slot = -1;
        switch (alen) {
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
static const char *const RAW[] = {"title", "textarea", "style", "xmp", "iframe", "noembed", "noframes", NULL};
static const char *const CELL[] = {"td", "th", "caption", NULL};
static const char *const ROW_PARTS[] = {"tr", "tbody", "thead", "tfoot", "col", "colgroup", NULL};
static const char *const END_ROW_PARTS[] = {"td", "th", "caption", "tr", "tbody", "thead", "tfoot", NULL};

static int push_foreign(State *s, int ns, uc *name, Py_ssize_t len) {
    if (s->nforeign >= MAX_DEPTH) return BAIL;
    FNode *f = &s->foreign[s->nforeign++];
    f->name = name;
    f->len = len;
    f->ns = ns;
    f->integ = in_list(name, len, ns == 1 ? INTEG_SVG : INTEG_MATH);
    return OK;
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
    if (eq_ci(nm, nl, "img") || eq_ci(nm, nl, "image")) {
        if (s->template_depth) return OK;
        if (s->ntables && !s->tables[s->ntables - 1]) return BAIL;
        s->images++;
        if (t->a[A_ALT].len > 0 || t->a[A_TITLE].len > 0 || t->a[A_DIT].len > 0) {
            PyObject *tup = PyTuple_New(4);
            if (!tup) return ERR;
            const int order[4] = {A_SRC, A_ALT, A_TITLE, A_DIT};
            for (int k = 0; k < 4; k++) {
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
    } else if (eq_ci(nm, nl, "base")) {
        if (s->template_depth) return OK;
        if (s->ntables && !s->tables[s->ntables - 1]) return BAIL;
        if (!s->has_base && t->a[A_HREF].len >= 0) {
            s->base = t->a[A_HREF];
            s->has_base = 1;
        }
    } else if (eq_ci(nm, nl, "svg") || eq_ci(nm, nl, "math")) {
        if (!t->closed) return push_foreign(s, eq_ci(nm, nl, "svg") ? 1 : 2, nm, nl);
    } else if (eq_ci(nm, nl, "template")) {
        s->template_depth++;
    } else if (in_list(nm, nl, RAW)) {
        char name[16];
        for (Py_ssize_t k = 0; k < nl; k++) name[k] = (char)lower(nm[k]);
        name[nl] = 0;
        return skip_raw(s->d, s->n, pos, name, out);
    } else if (eq_ci(nm, nl, "script")) {
        return skip_script(s->d, s->n, pos, out);
    } else if (eq_ci(nm, nl, "plaintext")) {
        return END;
    } else if (eq_ci(nm, nl, "frameset")) {
        return BAIL;
    } else if (s->template_depth == 0) {
        if (eq_ci(nm, nl, "table")) {
            if (s->ntables && !s->tables[s->ntables - 1]) s->ntables--;
            if (s->ntables >= MAX_DEPTH) return BAIL;
            s->tables[s->ntables++] = 0;
        } else if (s->ntables && in_list(nm, nl, CELL)) {
            s->tables[s->ntables - 1] = 1;
        } else if (s->ntables && in_list(nm, nl, ROW_PARTS)) {
            s->tables[s->ntables - 1] = 0;
        }
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
    if (eq_ci(nm, nl, "template")) {
        if (s->template_depth) s->template_depth--;
        return OK;
    }
    if (s->template_depth || !s->ntables) return OK;
    if (eq_ci(nm, nl, "table")) s->ntables--;
    else if (in_list(nm, nl, END_ROW_PARTS)) s->tables[s->ntables - 1] = 0;
    return OK;
}

static int run(State *s) {
    uc *d = s->d;
    Py_ssize_t n = s->n, pos = 0;
    Tag t;
    for (;;) {
        uc *hit = pos < n ? memchr(d + pos, '<', (size_t)(n - pos)) : NULL;
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

static PyObject *scan(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "scan() needs bytes");
        return NULL;
    }
    uc *d = (uc *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (memchr(d, 0, (size_t)n) || memchr(d, 0x1b, (size_t)n) || find(d, n, 0, "~{", 2) >= 0 ||
        (n >= 2 && ((d[0] == 0xfe && d[1] == 0xff) || (d[0] == 0xff && d[1] == 0xfe))))
        Py_RETURN_NONE;
    State *s = PyMem_Calloc(1, sizeof(State));
    if (!s) return PyErr_NoMemory();
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
    result = Py_BuildValue("(lON)", s->images, s->found, base);
done:
    Py_XDECREF(s->found);
    PyMem_Free(s);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_O, "Stream-scan an HTML page for <img> and <base href> (see scan.py)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_htmlscan",
                                    "Streaming <img> scan of HTML bytes.", -1, methods};

PyMODINIT_FUNC PyInit__htmlscan(void) { return PyModule_Create(&module); }
