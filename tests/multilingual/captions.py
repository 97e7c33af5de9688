"""Real multilingual captions from the shared data, grouped by language, and per-language
metadata built from their own words, word pairs, character n-grams and raw substrings."""

from __future__ import annotations

import random
from collections import Counter

from tests.conftest import shared_dir


def multilingual_captions() -> dict[str, list[str]]:
    """``{lang: captions}`` from the multilingual folder (zh, de, fr, cs); {} when absent."""
    d = shared_dir()
    out: dict[str, list[str]] = {}
    if d is None:
        return out
    base = d / "data" / "captions" / "multilingual"
    coco_cn = base / "coco-cn_sample_1000.tsv"
    if coco_cn.exists():
        lines = coco_cn.read_text(encoding="utf-8").splitlines()
        out["zh"] = [line.split("\t", 1)[1] for line in lines if "\t" in line]
    for lang in ("de", "fr", "cs"):
        p = base / f"multi30k_val.{lang}.txt"
        if p.exists():
            out[lang] = p.read_text(encoding="utf-8").splitlines()
    return out


def laion_captions() -> list[str | None]:
    d = shared_dir()
    if d is None:
        return []
    p = d / "data" / "captions" / "laion_sample_10k.parquet"
    if not p.exists():
        return []
    import pyarrow.parquet as pq

    return pq.read_table(p, columns=["TEXT"]).column(0).to_pylist()


def own_metadata(captions: list[str | None], size: int, seed: int = 0) -> list[str]:
    """The digits 0–99 (as every Meta CLIP 2 list has), words, word pairs, frequent character
    1–4-grams and random raw substrings of the captions (so entries of every padding kind
    occur), shuffled, with a few duplicates."""
    rng = random.Random(seed)
    texts = [c for c in captions if c]
    seen: dict[str, None] = dict.fromkeys(str(i) for i in range(100))
    grams: Counter[str] = Counter()
    for c in texts:
        words = c.split()
        for w in words:
            seen[w] = None
            seen[w.strip(",.;:?!`()'\"，。、")] = None
        for a, b in zip(words, words[1:], strict=False):
            seen[f"{a} {b}"] = None
        for n in (1, 2, 3, 4):
            for i in range(len(c) - n + 1):
                grams[c[i : i + n]] += 1
    for g, _ in grams.most_common(size // 2):
        seen[g] = None
    entries = list(seen)
    while len(entries) < size and texts:
        c = rng.choice(texts)
        i = rng.randrange(len(c))
        entries.append(c[i : i + rng.randint(1, 8)])
    rng.shuffle(entries)
    entries = entries[:size]
    return entries + entries[:20] + ["", " "]
