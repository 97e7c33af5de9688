"""Fast generated pools with real-caption-like lengths, for bench_scale.py.

Caption lengths (words per caption) are drawn from the empirical distribution of the real
captions in ``$METACURATE_SHARED/data/captions`` (the LAION sample and CC3M validation, split on
whitespace). Without them, a fixed distribution stands in: 1-40 words, weights from a
log-normal with median 9 words (close to those samples). Words come from a Zipf(1.15)
distribution over ranks (ranks past the vocabulary fold back); word lengths (marks stripped)
follow the real token-length distribution (fallback: 2-11 letters uniform), frequent ranks
short (``vocabulary``); 10% of words are capitalised and a share as in the real captions
(fallback 10%) carry one of the marks ``, . : ! ?``. Everything is vectorised (numpy +
pyarrow): a caption is a gather of bytes from a table of "word " surface forms.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

FILE_ROWS = 1_000_000
CHUNK_ROWS = 250_000
ZIPF = 1.15
MARKS = ["", ",", ".", ":", "!", "?"]
_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def real_captions() -> list[str] | None:
    """The shared sample captions (LAION 10k + CC3M validation), or None when absent."""
    root = os.environ.get("METACURATE_SHARED")
    if not root:
        return None
    d = Path(root) / "data" / "captions"
    laion, cc3m = d / "laion_sample_10k.parquet", d / "cc3m_validation.tsv"
    if not (laion.exists() and cc3m.exists()):
        return None
    texts = [t for t in pq.read_table(laion, columns=["TEXT"]).column(0).to_pylist() if t]
    opts = pcsv.ParseOptions(delimiter="\t", quote_char=False)
    ro = pcsv.ReadOptions(column_names=["caption", "url"])
    cc = pcsv.read_csv(cc3m, read_options=ro, parse_options=opts).column("caption")
    return texts + [t for t in cc.to_pylist() if t]


def length_model(texts: list[str] | None) -> dict:
    """Word-count and word-length distributions (values, probabilities) and their source."""
    if texts is None:
        words = np.arange(1, 41)
        w = np.exp(-((np.log(words) - np.log(9)) ** 2) / (2 * 0.55**2)) / words
        lengths = np.arange(2, 12)
        return {
            "source": "fixed fallback (log-normal, median 9 words; words 2-11 letters)",
            "words": (words, w / w.sum()),
            "letters": (lengths, np.full(len(lengths), 1 / len(lengths))),
            "marked": 0.1,
        }
    counts = np.array([len(t.split()) for t in texts])
    words = [w for t in texts for w in t.split()]
    marked = np.mean([w[-1] in ",.:!?" for w in words])
    toks = np.array([len(w[:-1] if w[-1] in ",.:!?" else w) for w in words])
    toks = np.clip(toks, 1, 30)
    wv, wc = np.unique(counts[counts > 0], return_counts=True)
    lv, lc = np.unique(toks, return_counts=True)
    return {
        "source": f"empirical, {len(texts):,} real captions (LAION sample + CC3M)",
        "words": (wv, wc / wc.sum()),
        "letters": (lv, lc / lc.sum()),
        "marked": float(marked),
    }


def vocabulary(n: int, model: dict, seed: int = 0) -> list[str]:
    """``n`` distinct lower-case pseudo-words, frequent ranks short (Zipf's law of
    abbreviation): rank ``r`` gets the real token-length quantile at the Zipf(1.15) mass
    before it, so the token-weighted length distribution follows the model's."""
    rng = np.random.default_rng(seed)
    lv, lp = model["letters"]
    mass = np.arange(1, n + 1, dtype=np.float64) ** -ZIPF
    mass += (n + 0.5) ** (1 - ZIPF) / (ZIPF - 1) / n  # ranks past n fold back (mod n)
    before = (np.cumsum(mass) - mass / 2) / mass.sum()
    lens = lv[np.minimum(np.searchsorted(np.cumsum(lp), before), len(lv) - 1)]
    letters = rng.choice(_LETTERS, size=(n, 64)).tobytes()
    words: dict[str, None] = {}
    for i, k in enumerate(lens.tolist()):
        tries = 0
        while True:  # a short length runs out of distinct words: then take the next one
            j = (i * 64 + tries * 7) % (n * 64 - 40)
            w = letters[j : j + k].decode()
            if w not in words:
                break
            tries += 1
            k += tries % 64 == 0
        words[w] = None
    return list(words)


class Surfaces:
    """Every surface form ``word + mark + " "`` (plain and capitalised) in one byte buffer."""

    def __init__(self, vocab: list[str]) -> None:
        forms = [
            (w.capitalize() if cap else w) + m + " " for w in vocab for cap in (0, 1) for m in MARKS
        ]
        arr = pa.array(forms, pa.string())
        self.data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
        off = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(forms) + 1]
        self.start = off[:-1].astype(np.int64)
        self.length = np.diff(off).astype(np.int64)
        self.vocab_size = len(vocab)


def _texts(rng: np.random.Generator, n: int, model: dict, s: Surfaces) -> pa.Array:
    """``n`` captions as one Arrow string array (vectorised byte gather)."""
    wv, wp = model["words"]
    k = rng.choice(wv, size=n, p=wp).astype(np.int64)
    ntok = int(k.sum())
    rank = (rng.zipf(ZIPF, size=ntok) - 1) % s.vocab_size
    cap = rng.random(ntok) < 0.1
    p = [1 - model["marked"]] + [model["marked"] / (len(MARKS) - 1)] * (len(MARKS) - 1)
    mark = rng.choice(len(MARKS), size=ntok, p=p)
    form = rank * (2 * len(MARKS)) + cap * len(MARKS) + mark
    tlen = s.length[form].copy()
    last = np.cumsum(k) - 1
    tlen[last] -= 1  # no space after a caption's last word
    tok_out = np.zeros(ntok + 1, dtype=np.int64)
    np.cumsum(tlen, out=tok_out[1:])
    total = int(tok_out[-1])
    # byte j of the output comes from data[start[form[t]] + j - tok_out[t]] for its token t
    src = np.repeat(s.start[form] - tok_out[:-1], tlen) + np.arange(total, dtype=np.int64)
    data = s.data[src]
    first = np.concatenate([[0], last[:-1] + 1])
    offsets = np.append(tok_out[first], total).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def file_table(index: int, model: dict, s: Surfaces, seed: int = 100) -> pa.Table:
    """The ``index``-th pool file: ``FILE_ROWS`` rows of url and text."""
    rng = np.random.default_rng(seed + index)
    texts = [_texts(rng, CHUNK_ROWS, model, s) for _ in range(FILE_ROWS // CHUNK_ROWS)]
    ids = pc.cast(pa.array(np.arange(FILE_ROWS) + index * FILE_ROWS), pa.string())
    url = pc.binary_join_element_wise("https://img.example/", ids, ".jpg", "")
    return pa.table({"url": url, "text": pa.chunked_array(texts)})


def make_pool(
    root: Path, rows: int, model: dict, vocab: list[str], tag: str, processes: int = 2
) -> list[str]:
    """Files ``pool-0000.parquet``... for ``rows`` rows; files already there from the same
    generator settings (``tag``) are reused; ``processes`` write files in parallel."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = root / "pool.json"
    if not stamp.exists() or json.loads(stamp.read_text()).get("tag") != tag:
        for p in root.glob("pool-*.parquet"):
            p.unlink()
        stamp.write_text(json.dumps({"tag": tag}))
    paths = [str(root / f"pool-{i:04d}.parquet") for i in range(-(-rows // FILE_ROWS))]
    todo = [(i, p) for i, p in enumerate(paths) if not Path(p).exists()]
    if todo:
        jobs = [(todo[k::processes], model, vocab) for k in range(processes)]
        with ProcessPoolExecutor(processes) as ex:
            list(ex.map(_write_files, [j for j in jobs if j[0]]))
    return paths


def length_summary(texts: list[str]) -> str:
    """Mean and median words and characters per caption."""
    w = np.array([len(t.split()) for t in texts])
    c = np.array([len(t) for t in texts])
    return (
        f"words mean {w.mean():.1f} median {np.median(w):.0f}, "
        f"chars mean {c.mean():.1f} median {np.median(c):.0f}"
    )


def _write_files(job: tuple[list[tuple[int, str]], dict, list[str]]) -> int:
    """Write the files ``(index, path)`` of one process (one ``Surfaces`` built per process)."""
    files, model, vocab = job
    s = Surfaces(vocab)
    for i, path in files:
        p = Path(path)
        tmp = p.with_suffix(".tmp")
        pq.write_table(file_table(i, model, s), tmp, row_group_size=128_000)
        tmp.rename(p)
    return len(files)
