"""The samples for ``metacurate demo``: real LAION alt-text shipped with the package, and
synthetic pools generated from metadata (tests, ``--worldwide``).

``metacurate demo`` curates :data:`LAION_SAMPLE`: the 10,000 LAION-400M rows (``URL``,
``TEXT``) that img2dataset ships as a test fixture (``data/NOTICE.txt``), matched against
:func:`demo_metadata`, the head of the built-in list scaled to the sample's size, at
:data:`DEMO_T`, the ``t`` that gives this sample MetaCLIP's ~6% tail share.
:func:`demo_effect` reads back, from the run's own count files, what happened to the largest
entries and to the tail.

Synthetic captions are 2-14 words drawn with Zipfian frequencies from the built-in metadata's own
entries (so head entries are very frequent and tail entries rare, the shape balancing acts
on), mixed with capitalised words, digits, punctuation and non-matching noise tokens, plus a
few null and empty captions. ``--worldwide``: 2-11 words per caption, each row in one of seven
languages (``WORLDWIDE_MIX``) with words from that language's list of the built-in worldwide
metadata, Chinese and Japanese without spaces, and a ``lang`` column. Deterministic for a
given seed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.metadata import Metadata

SAMPLE_ROWS = 20_000

#: The real sample the demo curates (in ``metacurate/data``; licence in its NOTICE.txt).
LAION_SAMPLE = "laion_sample_10k.parquet"
#: The demo's metadata: the digits and the first DEMO_WORDFREQ_ENTRIES entries the built-in
#: list took from wordfreq (its most frequent English words not already WordNet names, each
#: lower-case and capitalised: about 500 words).
DEMO_WORDFREQ_ENTRIES = 1_000
#: The demo's default t: on the sample with the demo metadata, a tail share of ~6% (MetaCLIP's
#: at t = 20,000 on its 1.6B pool); the largest entry keeps under half of its rows.
DEMO_T = 6.0


def copy_laion_sample(path: str | Path) -> Path:
    """Write the shipped LAION sample (columns ``URL``, ``TEXT``) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(resources.files("metacurate").joinpath("data", LAION_SAMPLE).read_bytes())
    return path


def demo_metadata(builtin: Metadata, sources: object) -> Metadata:
    """The built-in list's digits and its first :data:`DEMO_WORDFREQ_ENTRIES` wordfreq
    entries (``sources``: the list's ``SourcesInfo``, which says where each entry came from).

    A 10,000-caption sample is ~160,000 times smaller than MetaCLIP's pool: against all
    405,817 entries nearly every caption holds some entry seen once or twice, so nearly every
    row is kept through the tail and the head is barely cut. The head of the list, scaled to
    the sample, gives it the shape balancing acts on."""
    names = sources.source_names
    first = [names[(m & -m).bit_length() - 1] if m else "" for m in sources.masks]
    digits = [i for i, s in enumerate(first) if s == "digits"]
    words = [i for i, s in enumerate(first) if s == "wordfreq_unigram"][:DEMO_WORDFREQ_ENTRIES]
    entries = [builtin.entries[i] for i in digits + words]
    return Metadata.from_list(entries, name=f"{builtin.name}-head-{len(entries)}")


def demo_effect(out: str | Path, largest: int = 5) -> dict:
    """What balancing did, read from ``out``'s ``curated_entry_counts.parquet`` and
    ``manifest.json``: the ``largest`` entries (pool and curated rows) and the tail (entries
    with ``0 < count < t``: how many, their rows before and after, whether all were kept)."""
    import json

    out = Path(out)
    t = float(json.loads((out / "manifest.json").read_text())["t"])
    tab = pq.read_table(
        out / "curated_entry_counts.parquet", columns=["entry", "count", "count_curated"]
    )
    entries = tab.column("entry").to_pylist()
    count = tab.column("count").to_numpy()
    kept = tab.column("count_curated").to_numpy()
    order = np.lexsort((np.arange(len(count)), -count))[:largest]
    top = [
        {
            "entry": entries[i],
            "pool_rows": int(count[i]),
            "curated_rows": int(kept[i]),
            "kept_share": float(kept[i] / count[i]) if count[i] else 0.0,
        }
        for i in order
        if count[i] > 0
    ]
    tail = (count > 0) & (count < t)
    head = count >= t
    return {
        "t": t,
        "largest": top,
        "head": {
            "entries": int(head.sum()),
            "pool_matches": int(count[head].sum()),
            "curated_matches": int(kept[head].sum()),
        },
        "tail": {
            "entries": int(tail.sum()),
            "pool_matches": int(count[tail].sum()),
            "curated_matches": int(kept[tail].sum()),
            "entries_cut": int((kept[tail] < count[tail]).sum()),
        },
    }


def effect_lines(effect: dict) -> list[str]:
    """:func:`demo_effect` in a few lines."""
    t = effect["t"]
    tops = ", ".join(
        f"{e['entry']!r} {e['pool_rows']:,} -> {e['curated_rows']:,} ({e['kept_share']:.0%})"
        for e in effect["largest"]
    )
    head, tail = effect["head"], effect["tail"]
    cut = "all kept whole" if tail["entries_cut"] == 0 else f"{tail['entries_cut']:,} CUT"
    return [
        f"largest entries, rows in the pool -> in the curated set: {tops}",
        f"head ({head['entries']:,} entries with count >= t = {t:g}): "
        f"{head['pool_matches']:,} -> {head['curated_matches']:,} matches, flattened towards t",
        f"tail ({tail['entries']:,} entries with count < t): {tail['pool_matches']:,} -> "
        f"{tail['curated_matches']:,} matches, {cut}",
    ]


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
