"""Deterministic synthetic pools and metadata for benchmarks (no data files needed).

Captions draw words from a Zipf-distributed vocabulary (web alt-text is Zipfian), 3-20 words,
some capitalised, some with the seven wrapped marks; the metadata mixes the paper's sources in
its proportions: WordNet-like names, unigrams, bigrams seen in text, title-like n-grams, digits.
"""

from __future__ import annotations

import numpy as np

_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def vocabulary(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct pseudo-words, 2-11 letters."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < n:
        lengths = rng.integers(2, 12, size=n)
        letters = rng.choice(_LETTERS, size=(n, 11))
        for row, k in zip(letters, lengths, strict=True):
            words["".join(row[:k])] = None
            if len(words) == n:
                break
    return list(words)


def captions(n: int, vocab: list[str], seed: int = 1) -> list[str]:
    """``n`` web-style captions (mean ~9 words)."""
    rng = np.random.default_rng(seed)
    v = len(vocab)
    lengths = rng.integers(3, 16, size=n)
    ranks = np.minimum(rng.zipf(1.15, size=int(lengths.sum())) - 1, v - 1)
    caps = rng.random(len(ranks)) < 0.1
    marks = rng.choice(np.array(["", "", "", "", "", "", ",", ".", ":", "!", "?"]), len(ranks))
    out = []
    pos = 0
    for k in lengths:
        words = []
        for i in range(pos, pos + k):
            w = vocab[ranks[i]]
            if caps[i]:
                w = w.capitalize()
            words.append(w + marks[i])
        pos += k
        out.append(" ".join(words))
    return out


def metadata(size: int, vocab: list[str], texts: list[str], seed: int = 2) -> list[str]:
    """A ~``size``-entry metadata in the paper's proportions, without duplicates."""
    rng = np.random.default_rng(seed)
    entries: dict[str, None] = {str(d): None for d in range(100)}
    n_uni = int(size * 0.50)
    n_wn = int(size * 0.17)
    n_bi = int(size * 0.20)
    for w in vocab[:n_uni]:
        entries[w] = None
    # WordNet-like: some single words, some compounds of two to three words
    for _ in range(n_wn):
        k = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        idx = np.minimum(rng.zipf(1.3, size=k) - 1, len(vocab) - 1)
        entries[" ".join(vocab[i] for i in idx)] = None
    # bigrams that occur in the text
    sample = rng.choice(len(texts), size=min(len(texts), n_bi * 2), replace=False)
    for i in sample:
        words = texts[i].split()
        if len(words) > 1:
            j = int(rng.integers(0, len(words) - 1))
            entries[f"{words[j]} {words[j + 1]}"] = None
        if len(entries) >= 100 + n_uni + n_wn + n_bi:
            break
    # title-like n-grams, capitalised
    while len(entries) < size:
        k = int(rng.integers(1, 5))
        idx = np.minimum(rng.zipf(1.2, size=k) - 1, len(vocab) - 1)
        entries[" ".join(vocab[i].capitalize() for i in idx)] = None
    return list(entries)[:size]
