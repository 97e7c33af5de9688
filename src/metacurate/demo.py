"""The built-in sample for ``metacurate demo``: a synthetic pool, generated, not real alt-text.

Captions are 2-14 words drawn with Zipfian frequencies from the built-in metadata's own
entries (so head entries are very frequent and tail entries rare, the shape balancing acts
on), mixed with capitalised words, digits, punctuation and non-matching noise tokens, plus a
few null and empty captions. Deterministic for a given seed.
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
