"""Meta CLIP 2 matching speed: metacurate vs the official approach, same run, one core.

    python benchmarks/bench_worldwide.py [--rows 60000] [--entries 250000] [--repeat 5]

Pool: real captions from the shared data (``METACURATE_SHARED``), cycled to ``--rows`` with
``--cjk`` of the rows Chinese (COCO-CN) or Japanese (the LAION sample's), the rest English
(CC3M, LAION), German, French and Czech (Multi30k). Every row's language is known from its
source (LAION rows by fastText LID). Metadata per language: the top ``--entries`` words of
wordfreq's list for that language plus the digits 0-99 (the size of Meta CLIP 2's unigram cap),
and the built-in English default for English.

Official approach (metaclip/curation/substr_matching.py): one pyahocorasick automaton per
language over the official ``get_spaced_metadata`` padding, and per text
``{entry_id for _, (entry_id, _) in automaton.iter(spacing(text))}``. Ours:
``LanguageMatchers.match_arrow`` on Arrow batches. Timed passes alternate; the ratio printed is
the median of the per-pass ratios. Every row's id set must be identical (exit 1 otherwise).
LID throughput (fastText lid.176) is measured separately.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import string
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

SHARED = Path(os.environ.get("METACURATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CAPS = SHARED / "data" / "captions"

ADDITIONAL_PUNCTUATION = set("，。、；：？！“”‘’（）【】《》〈〉「」『』～—")


# -- the official code, as written in metaclip/curation/substr_matching.py ------------------


def official_is_cjk_or_similar(char: str) -> bool:
    cp = ord(char)
    if (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0x2CEB0 <= cp <= 0x2EBEF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2E80 <= cp <= 0x2EFF
        or 0x2F00 <= cp <= 0x2FDF
        or 0x2FF0 <= cp <= 0x2FFF
    ):
        return True
    if (
        0x0E00 <= cp <= 0x0E7F
        or 0x0E80 <= cp <= 0x0EFF
        or 0x1000 <= cp <= 0x109F
        or 0x1780 <= cp <= 0x17FF
        or 0x0F00 <= cp <= 0x0FFF
    ):
        return True
    return char in string.punctuation or char in ADDITIONAL_PUNCTUATION


def official_spaced_metadata(metadata: list[str]) -> list[tuple[int, str]]:
    out = []
    for idx, entry in enumerate(metadata):
        spaced = entry
        if not official_is_cjk_or_similar(spaced[0]):
            spaced = f" {spaced}"
        if not official_is_cjk_or_similar(spaced[-1]):
            spaced = f"{spaced} "
        out.append((idx, spaced))
    return out


def official_spacing(text: str) -> str:
    puncts_to_wrap = [",", ".", ";", ":", "?", "!", "`"]
    chars_to_space = ["\t", "\n", "\r"]
    spaced_text = f" {text} "
    for punct_to_wrap in puncts_to_wrap:
        spaced_text = spaced_text.replace(punct_to_wrap, f" {punct_to_wrap} ")
    for char_to_space in chars_to_space:
        spaced_text = spaced_text.replace(char_to_space, " ")
    return spaced_text


def official_build(metadata: list[str]):
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for idx, key in official_spaced_metadata(metadata):
        automaton.add_word(key, (idx, key))
    automaton.make_automaton()
    return automaton


def official_match(automatons: dict, texts: list[str | None], langs: list[str]) -> list[list[int]]:
    out = []
    for txt, lang in zip(texts, langs, strict=True):
        automaton = automatons.get(lang)
        if txt is None or automaton is None:
            out.append([])
            continue
        ids = {entry_id for _, (entry_id, _) in automaton.iter(official_spacing(txt))}
        out.append(sorted(ids))
    return out


# -- the pool --------------------------------------------------------------------------------


def load_pool(rows: int, cjk: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """``rows`` real captions cycled, ``cjk`` of them Chinese/Japanese; and their languages."""
    import pyarrow.parquet as pq

    from metacurate.match.lid import lid_batch
    from metacurate.metadata.languages import map_labels

    by_lang: dict[str, list[str]] = {}
    lines = (CAPS / "multilingual" / "coco-cn_sample_1000.tsv").read_text("utf-8").splitlines()
    by_lang["zh"] = [x.split("\t", 1)[1] for x in lines if "\t" in x]
    for lang in ("de", "fr", "cs"):
        p = CAPS / "multilingual" / f"multi30k_val.{lang}.txt"
        by_lang[lang] = p.read_text("utf-8").splitlines()
    with open(CAPS / "cc3m_validation.tsv", encoding="utf-8", newline="") as f:
        by_lang["en"] = [r[0] for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    laion = [t for t in pq.read_table(CAPS / "laion_sample_10k.parquet").column("TEXT").to_pylist()]
    laion = [t for t in laion if t]
    for t, lang in zip(laion, map_labels(lid_batch(laion).label).to_pylist(), strict=True):
        by_lang.setdefault(lang, []).append(t)
    rng = np.random.default_rng(seed)
    n_cjk = int(rows * cjk)
    n_ja = min(n_cjk // 10, 20 * len(by_lang.get("ja", [])))
    plan = {"zh": n_cjk - n_ja, "ja": n_ja}
    rest = rows - n_cjk
    plan.update({"en": rest // 2, "de": rest // 6, "fr": rest // 6})
    plan["cs"] = rows - sum(plan.values())
    texts: list[str] = []
    langs: list[str] = []
    for lang, k in plan.items():
        src = by_lang[lang]
        texts += [src[i % len(src)] for i in range(k)]
        langs += [lang] * k
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [langs[i] for i in order]


def load_metadata(langs: set[str], entries: int) -> dict[str, list[str]]:
    import wordfreq

    from metacurate.metadata import load_default_metadata

    lists: dict[str, list[str]] = {}
    for lang in sorted(langs):
        if lang == "en":
            lists[lang] = list(load_default_metadata().entries)
            continue
        words = wordfreq.top_n_list(lang, entries, wordlist="best")
        seen = dict.fromkeys([str(i) for i in range(100)] + words)
        lists[lang] = [w for w in seen if w.strip()]
    return lists


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--cjk", type=float, default=0.35, help="share of Chinese/Japanese rows")
    ap.add_argument("--entries", type=int, default=250_000, help="entries per language")
    ap.add_argument("--mode", default="metaclip2", choices=["metaclip2", "metaclip2-kana"])
    ap.add_argument("--repeat", type=int, default=5, help="timed passes of each, alternating")
    args = ap.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    from metacurate.match.languages import LanguageMatchers
    from metacurate.match.lid import LanguageIdentifier
    from metacurate.metadata.worldwide import WorldwideMetadata

    t0 = time.perf_counter()
    texts, langs = load_pool(args.rows, args.cjk)
    lists = load_metadata(set(langs), args.entries)
    share = {lang: langs.count(lang) / len(langs) for lang in sorted(set(langs))}
    print(
        f"pool {len(texts):,} rows, languages {', '.join(f'{k} {v:.0%}' for k, v in share.items())}"
    )
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in lists.items())
    print(f"metadata {sizes} ({time.perf_counter() - t0:.0f}s)")

    t0 = time.perf_counter()
    automatons = {lang: official_build(md) for lang, md in lists.items()}
    off_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    lm = LanguageMatchers(WorldwideMetadata.from_lists(lists), mode=args.mode)
    for lang in lists:
        lm.matcher(lang)
    our_build = time.perf_counter() - t0
    native = all(m.native for m in lm._matchers.values())
    arr = pa.array(texts, pa.string())
    lang_arr = pa.array(langs, pa.string())

    def ours() -> pa.ListArray:
        parts = []
        for off in range(0, len(arr), 32_768):
            parts.append(
                lm.match_arrow(arr.slice(off, 32_768), lang_arr.slice(off, 32_768)).entry_ids
            )
        return pa.concat_arrays(parts)

    if args.mode != "metaclip2":
        print("note: the official code has no kana mode; comparing ids is skipped")
    t_off, t_ours, ratios = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref = official_match(automatons, texts, langs)
        t_off.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = ours()
        t_ours.append(time.perf_counter() - t0)
        ratios.append(t_off[-1] / t_ours[-1])
    n = len(texts)
    diffs = (
        0
        if args.mode != "metaclip2"
        else sum(a != b for a, b in zip(got.to_pylist(), ref, strict=True))
    )
    per_row = sum(len(r) for r in ref) / n
    print(
        f"matches per row: {per_row:.2f}; rows with >=1 match: {sum(1 for r in ref if r) / n:.1%}"
    )
    speed_off, speed_ours = n / statistics.median(t_off), n / statistics.median(t_ours)
    impl = "native" if native else "python"
    print(
        f"official (pyahocorasick per language): build {off_build:5.1f}s {speed_off:>10,.0f} rows/s"
    )
    print(f"metacurate ({impl}):{' ' * 19}build {our_build:5.1f}s {speed_ours:>10,.0f} rows/s")
    all_r = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"ratio (median of {args.repeat} alternating passes): "
        f"{statistics.median(ratios):.2f}x ({all_r})"
    )
    print(f"differing rows: {diffs}")

    ident = LanguageIdentifier()
    sample = texts[: min(n, 20_000)]
    t0 = time.perf_counter()
    ident.identify(sample)
    dt = time.perf_counter() - t0
    print(f"LID (fastText lid.176, one core): {len(sample) / dt:,.0f} rows/s")
    if diffs:
        sys.exit(1)


if __name__ == "__main__":
    main()
