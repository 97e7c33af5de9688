/*
 * extract's row ids, a batch at once (part of the _htmlscan module): the uid of a pair is the
 * first 32 hex digits of the SHA-256 of the URL's UTF-8, a NUL byte and the text's UTF-8
 * (metacurate.extract.task.uid_for). SHA-256 (FIPS 180-4) with the x86 SHA extensions where the
 * CPU has them, else in portable C; checked against hashlib in tests/extract/test_pairs.py.
 *
 * pair_uids(urls: list[str], texts: list[str], portable: bool) -> list[str] | None
 *   None when a string is not strict UTF-8 (a lone surrogate): the caller hashes that batch
 *   in Python with "surrogatepass", as uid_for does. portable: the portable C even where the
 *   SHA extensions are there (to test both).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};
static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

typedef void (*compress_fn)(uint32_t state[8], const unsigned char *block);

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[t] +
                      w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SHA_NI 1
/* One block with the SHA extensions: the state kept as ABEF / CDGH, four rounds a step, the
 * message schedule by sha256msg1 / sha256msg2 (Intel's SHA extensions reference). */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t h[8],
                                                                      const unsigned char *p) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);       /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);         /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8); /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);      /* CDGH */
    __m128i abef = s0, cdgh = s1;
    __m128i w[16];
    for (int i = 0; i < 16; i++) {
        if (i < 4) {
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
        } else {
            __m128i x = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
            x = _mm_add_epi32(x, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
            w[i] = _mm_sha256msg2_epu32(x, w[i - 1]);
        }
        __m128i msg = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&K[4 * i]));
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
        msg = _mm_shuffle_epi32(msg, 0x0E);
        s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
    tmp = _mm_shuffle_epi32(s0, 0x1B);    /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);     /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);  /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);     /* ABEF */
    _mm_storeu_si128((__m128i *)&h[0], s0);
    _mm_storeu_si128((__m128i *)&h[4], s1);
}
#endif

typedef struct {
    uint32_t h[8];
    unsigned char buf[64];
    size_t fill;
    uint64_t total;
    compress_fn compress;
} Sha;

static void sha_init(Sha *s, compress_fn compress) {
    memcpy(s->h, H0, sizeof H0);
    s->fill = 0;
    s->total = 0;
    s->compress = compress;
}

static void sha_update(Sha *s, const unsigned char *p, size_t n) {
    s->total += n;
    if (s->fill) {
        size_t take = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
        if (s->fill < 64) return;
        s->compress(s->h, s->buf);
        s->fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64) s->compress(s->h, p);
    memcpy(s->buf, p, n);
    s->fill = n;
}

/* The first 16 bytes of the digest as 32 lower-case hex digits into out. */
static void sha_hex32(Sha *s, char *out) {
    uint64_t bits = s->total * 8;
    unsigned char pad[72];
    size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (int k = 0; k < 8; k++) pad[padlen + k] = (unsigned char)(bits >> (56 - 8 * k));
    uint64_t total = s->total;
    sha_update(s, pad, padlen + 8);
    s->total = total;
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++) {
            unsigned char byte = (unsigned char)(s->h[k] >> (24 - 8 * j));
            out[8 * k + 2 * j] = hex[byte >> 4];
            out[8 * k + 2 * j + 1] = hex[byte & 15];
        }
}

PyObject *mc_pair_uids(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *urls, *texts;
    int portable = 0;
    if (!PyArg_ParseTuple(args, "O!O!|p", &PyList_Type, &urls, &PyList_Type, &texts, &portable))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(urls);
    if (PyList_GET_SIZE(texts) != n) {
        PyErr_SetString(PyExc_ValueError, "pair_uids: urls and texts differ in length");
        return NULL;
    }
    compress_fn compress = compress_portable;
#if defined(SHA_NI)
    static int shani = -1;
    if (shani < 0)
        shani = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") ? 1 : 0;
    if (shani && !portable) compress = compress_shani;
#endif
    PyObject *out = PyList_New(n);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *u = PyList_GET_ITEM(urls, i), *t = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(u) || !PyUnicode_Check(t)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "pair_uids: urls and texts must be str");
            return NULL;
        }
        Py_ssize_t ul, tl;
        const char *up = PyUnicode_AsUTF8AndSize(u, &ul);
        const char *tp = up ? PyUnicode_AsUTF8AndSize(t, &tl) : NULL;
        if (!tp) { /* a lone surrogate: the caller hashes the batch with surrogatepass */
            Py_DECREF(out);
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        Sha s;
        sha_init(&s, compress);
        sha_update(&s, (const unsigned char *)up, (size_t)ul);
        sha_update(&s, (const unsigned char *)"", 1);
        sha_update(&s, (const unsigned char *)tp, (size_t)tl);
        PyObject *uid = PyUnicode_New(32, 127);
        if (!uid) {
            Py_DECREF(out);
            return NULL;
        }
        sha_hex32(&s, (char *)PyUnicode_1BYTE_DATA(uid));
        PyList_SET_ITEM(out, i, uid);
    }
    return out;
}
