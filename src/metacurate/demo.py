"""The built-in samples for ``metacurate demo``: synthetic pools, generated, not real alt-text.

Captions are 2-14 words drawn with Zipfian frequencies from the built-in metadata's own
entries (so head entries are very frequent and tail entries rare, the shape balancing acts
on), mixed with capitalised words, digits, punctuation and non-matching noise tokens, plus a
few null and empty captions. ``--worldwide``: 2-11 words per caption, each row in one of seven
languages (``WORLDWIDE_MIX``) with words from that language's list of the built-in worldwide
metadata, Chinese and Japanese without spaces, and a ``lang`` column. Deterministic for a
given seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.metadata import Metadata

SAMPLE_ROWS = 20_000


def make_sample(
    path: str | Path, metadata: Metadata, rows: int = SAMPLE_ROWS, seed: int = 0
) -> Path:
    """Write the synthetic pool (columns ``uid``, ``url``, ``text``) to ``path``."""
    rng = np.random.default_rng(seed)
    words = [e for e in metadata.entries[:200_000] if e and " " not in e]
    vocab = np.array(words, dtype=object)
    lengths = rng.integers(2, 15, size=rows)
    ranks = np.minimum(rng.zipf(1.2, size=int(lengths.sum())) - 1, len(vocab) - 1)
    # shuffle ranks over the vocabulary so the head is not simply the list's first entries
    order = rng.permutation(len(vocab))
    tokens = vocab[order[ranks]]
    styles = rng.random(len(tokens))
    marks = np.array(["", "", "", ",", ".", "!", ":"])[rng.integers(0, 7, size=len(tokens))]
    texts: list[str | None] = []
    pos = 0
    for k in lengths:
        parts = []
        for i in range(pos, pos + k):
            w = tokens[i]
            if styles[i] < 0.08:
                w = w.capitalize()
            elif styles[i] < 0.12:
                w = f"IMG_{int(styles[i] * 1e6)}"
            parts.append(w + marks[i])
        texts.append(" ".join(parts))
        pos += k
    for i in rng.choice(rows, size=rows // 200, replace=False):
        texts[i] = None if i % 2 else ""
    halves = rng.integers(0, 2**64, size=(rows, 2), dtype=np.uint64)
    uids = [f"{int(a):016x}{int(b):016x}" for a, b in halves]
    table = pa.table(
        {
            "uid": pa.array(uids),
            "url": pa.array([f"https://example.com/img/{i}.jpg" for i in range(rows)]),
            "text": pa.array(texts, type=pa.string()),
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


# language -> share of the worldwide sample's rows; zh and ja are written without spaces
WORLDWIDE_MIX = {"en": 0.4, "zh": 0.2, "ja": 0.1, "de": 0.1, "fr": 0.1, "cs": 0.05, "ko": 0.05}
UNSPACED = frozenset({"zh", "ja"})


def _zipf_caption_tokens(rng: np.random.Generator, vocab: np.ndarray, n: int) -> list[list[str]]:
    """``n`` token lists of 2-11 tokens, Zipf-distributed over a shuffled ``vocab``."""
    lengths = rng.integers(2, 12, size=n)
    ranks = np.minimum(rng.zipf(1.2, size=int(lengths.sum())) - 1, len(vocab) - 1)
    tokens = vocab[rng.permutation(len(vocab))[ranks]]
    out, pos = [], 0
    for k in lengths:
        out.append(list(tokens[pos : pos + k]))
        pos += k
    return out


def make_worldwide_sample(
    path: str | Path, metadata: object, rows: int = SAMPLE_ROWS, seed: int = 0
) -> Path:
    """The synthetic multilingual pool (``uid``, ``url``, ``text``, ``lang``) for ``metacurate
    demo --worldwide``: each row in one language of ``WORLDWIDE_MIX``, its words drawn from that
    language's list of the worldwide ``metadata`` (``WorldwideMetadata``); Chinese and
    Japanese captions are written without spaces, as real ones are."""
    rng = np.random.default_rng(seed)
    langs = [lang for lang in WORLDWIDE_MIX if lang in metadata.languages]
    share = np.array([WORLDWIDE_MIX[lang] for lang in langs])
    row_lang = rng.choice(len(langs), size=rows, p=share / share.sum())
    texts: list[str | None] = [None] * rows
    for k, lang in enumerate(langs):
        words = [e for e in metadata.get(lang).entries if e and " " not in e and not e.isdigit()]
        idx = np.flatnonzero(row_lang == k)
        sep = "" if lang in UNSPACED else " "
        captions = _zipf_caption_tokens(rng, np.array(words, dtype=object), len(idx))
        for i, toks in zip(idx, captions, strict=True):
            texts[i] = sep.join(toks)
    halves = rng.integers(0, 2**64, size=(rows, 2), dtype=np.uint64)
    table = pa.table(
        {
            "uid": pa.array([f"{int(a):016x}{int(b):016x}" for a, b in halves]),
            "url": pa.array([f"https://example.com/img/{i}.jpg" for i in range(rows)]),
            "text": pa.array(texts, type=pa.string()),
            "lang": pa.array([langs[k] for k in row_lang]),
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path
