"""``metadata build --worldwide``: Meta CLIP 2's per-language recipe, deterministic.

Inputs (the intermediate files of the official scripts, which a user can make or have):

* n-gram counts per Wikipedia language: ``NGRAMS/{wiki}.json`` or any number of partial files
  ``NGRAMS/{wiki}/**/*.json``, each ``{"unigram": {tok: count}, "bigram": {"a b": count}}`` (the
  output of the official ``build_ngram.py``). Partial files are **merged by addition** and the
  **PMI** of each bigram is computed here (the official scripts do neither: ``build_metadata.py``
  reads a merged file with a ``"pmi"`` list that no script writes). PMI is NLTK's
  ``log2(c(a b) * N) - log2(c(a) * c(b))``, ``N`` the sum of the language's unigram counts.
* title views per Wikipedia language: ``TITLES/{wiki}.json`` = ``{title: views}`` (the output of
  the official ``build_title.py``).
* optionally multilingual WordNet lemmas: one JSON ``{omw_code: [lemma, ...]}`` (the official
  ``wordnet_per_lang.json``), mapped through ``lang_map.json`` (``als`` = Albanian → ``sq``).

Per Wikipedia language, in this order, an entry keeping the id of its first appearance:
the digits ``0``-``99``; WordNet lemmas (``+`` removed for zh/ja/fr); unigrams by count (ties
by string), the first ``min(251,465, int(10% of unigram types))`` new ones; bigrams with
PMI > 30 by PMI (ties by string), joined without the space for no-space languages, the first
``min(100,646, bigram types)`` new ones; titles by views (ties by string), the first
``min(61,235, int(76% of titles))`` new ones. Entries are stripped; empty, punctuation-only and
over-256-character ones are skipped. Wikipedia languages then merge into metadata languages
(``zh_yue`` → ``zh`` ...), the main code first, the others in code order. English is not built
from Wikipedia (as in the paper): it is the MetaCLIP 1 list given as ``english``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata import wiki
from metacurate.metadata.build import digit_entries, is_droppable
from metacurate.metadata.languages import FALLBACK, LangMap, lang_map
from metacurate.metadata.worldwide import check_language_code, write_worldwide

UNIGRAM_SHARE, UNIGRAM_CAP = 0.10, 251_465
BIGRAM_MIN_PMI, BIGRAM_CAP = 30.0, 100_646
TITLE_SHARE, TITLE_CAP = 0.76, 61_235
MAX_LEN = 256
NO_SPACE_WIKIS = frozenset(
    {"bo", "dz", "ja", "km", "lo", "my", "ryu", "th", "zh"} | {"zh_classical", "zh_yue"}
)
PLUS_STRIP_WIKIS = frozenset({"zh", "ja", "fr"})
BUILD_FILE = "_build.json"


@dataclass
class WorldwideBuildConfig:
    """Everything that decides a built worldwide metadata (recorded in ``_build.json``)."""

    ngrams_dir: str | None = None
    titles_dir: str | None = None
    wordnet_json: str | None = None
    english: str | None = None  # metadata file for en; None: the built-in English default
    languages: list[str] = field(default_factory=list)  # Wikipedia codes; empty: all found
    min_pmi: float = BIGRAM_MIN_PMI


def merge_ngram_files(paths: Iterable[Path]) -> tuple[dict[str, int], dict[str, int]]:
    """Unigram and bigram counts of partial n-gram JSON files, added up."""
    uni: dict[str, int] = {}
    bi: dict[str, int] = {}
    for p in paths:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MetacurateError(f"{p}: cannot read n-gram counts ({exc})") from None
        if not isinstance(doc, dict):
            raise MetacurateError(f'{p}: expected {{"unigram": {{...}}, "bigram": {{...}}}}')
        for key, into in (("unigram", uni), ("bigram", bi)):
            for k, c in (doc.get(key) or {}).items():
                if not isinstance(c, int) or c < 0:
                    raise MetacurateError(f"{p}: {key} {k!r} has count {c!r}; counts are >= 0")
                into[k] = into.get(k, 0) + c
    return uni, bi


def _ranked(scores: dict[str, float] | dict[str, int]) -> list[str]:
    return [k for k, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def _take_new(items: Iterable[str], present: dict[str, None], cap: int, join: bool = False) -> int:
    """Add up to ``cap`` new cleaned items to ``present`` (ordered); return how many."""
    added = 0
    if cap <= 0:
        return 0
    for m in items:
        if join:
            m = "".join(m.split(" "))
        m = m.strip()
        if not m or len(m) > MAX_LEN or is_droppable(m) or m in present:
            continue
        present[m] = None
        added += 1
        if added >= cap:
            break
    return added


def build_wiki_language(
    wiki_code: str,
    unigrams: dict[str, int],
    bigrams: dict[str, int],
    titles: dict[str, int],
    wordnet: Sequence[str] = (),
    min_pmi: float = BIGRAM_MIN_PMI,
) -> tuple[list[str], dict[str, int]]:
    """One Wikipedia language's list (module docstring) and what each source added."""
    present: dict[str, None] = dict.fromkeys(digit_entries())
    stats = {"digits": len(present)}
    strip_plus = wiki_code in PLUS_STRIP_WIKIS
    wn = (m.replace("+", "") if strip_plus else m for m in wordnet)
    stats["wordnet"] = _take_new(wn, present, len(wordnet))
    stats["unigram_types"] = len(unigrams)
    cap = min(UNIGRAM_CAP, int(len(unigrams) * UNIGRAM_SHARE))
    stats["unigram"] = _take_new(_ranked(unigrams), present, cap)
    word_fd = {w: c for w, c in unigrams.items() if c > 0}
    n = sum(word_fd.values())
    pmi: dict[str, float] = {}
    for key, c12 in bigrams.items():
        w1, _, w2 = key.partition(" ")
        if c12 > 0 and w1 in word_fd and w2 in word_fd:
            score = wiki.bigram_pmi(c12, word_fd[w1], word_fd[w2], n)
            if score > min_pmi and not math.isnan(score):
                pmi[key] = score
    stats["bigram_types"] = len(bigrams)
    stats["bigram_above_pmi"] = len(pmi)
    join = wiki_code in NO_SPACE_WIKIS
    stats["bigram"] = _take_new(_ranked(pmi), present, min(BIGRAM_CAP, len(bigrams)), join)
    stats["titles_seen"] = len(titles)
    cap = min(TITLE_CAP, int(len(titles) * TITLE_SHARE))
    stats["title"] = _take_new(_ranked(titles), present, cap)
    return list(present), stats


def _read_json_map(p: Path, what: str) -> dict:
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetacurateError(f"{p}: cannot read {what} ({exc})") from None
    if not isinstance(doc, dict):
        raise MetacurateError(f"{p}: {what} must be a JSON object")
    return doc


def _wiki_inputs(config: WorldwideBuildConfig) -> dict[str, dict[str, object]]:
    """``{wiki_code: {"ngrams": [paths], "titles": path}}`` found in the input folders."""
    found: dict[str, dict[str, object]] = {}
    if config.ngrams_dir:
        d = Path(config.ngrams_dir)
        if not d.is_dir():
            raise MetacurateError(f"--wiki-ngrams {d}: not a folder")
        for p in sorted(d.iterdir()):
            code = p.name[: -len(".json")] if p.name.endswith(".json") else p.name
            if p.is_dir():
                files = sorted(p.rglob("*.json"))
            elif p.name.endswith(".json"):
                files = [p]
            else:
                continue
            found.setdefault(code, {}).setdefault("ngrams", []).extend(files)
    if config.titles_dir:
        d = Path(config.titles_dir)
        if not d.is_dir():
            raise MetacurateError(f"--wiki-titles {d}: not a folder")
        for p in sorted(d.glob("*.json")):
            found.setdefault(p.stem.replace("-", "_"), {})["titles"] = p
    if config.languages:
        found = {k: v for k, v in found.items() if k in set(config.languages)}
    found.pop("en", None)  # English is MetaCLIP 1's list (the paper skips it)
    return found


def build_worldwide(
    config: WorldwideBuildConfig, lmap: LangMap | None = None
) -> tuple[dict[str, list[str]], dict[str, object]]:
    """Build every language found in the inputs; returns ``{lang: entries}`` and stats."""
    from metacurate.metadata.default import resolve_metadata

    lmap = lmap or lang_map()
    inputs = _wiki_inputs(config)
    wordnet: dict[str, list[str]] = {}
    if config.wordnet_json:
        for code, lemmas in _read_json_map(Path(config.wordnet_json), "WordNet lemmas").items():
            lang = lmap.from_wordnet(code)
            if lang is not None:
                wordnet.setdefault(lang, []).extend(str(x) for x in lemmas)
    per_wiki: dict[str, list[str]] = {}
    stats: dict[str, object] = {}
    for code, inp in sorted(inputs.items()):
        check_language_code(code, "wiki input")
        uni, bi = merge_ngram_files(inp.get("ngrams", []))  # type: ignore[arg-type]
        titles_path = inp.get("titles")
        titles = _read_json_map(titles_path, "title views") if titles_path else {}  # type: ignore[arg-type]
        wn = wordnet.get(code, []) if lmap.from_wikipedia(code) == code else []
        per_wiki[code], stats[code] = build_wiki_language(code, uni, bi, titles, wn, config.min_pmi)
    lists: dict[str, list[str]] = {}
    for code in sorted(
        per_wiki, key=lambda c: (lmap.from_wikipedia(c), c != lmap.from_wikipedia(c), c)
    ):
        lang = lmap.from_wikipedia(code)
        merged = lists.setdefault(lang, [])
        have = set(merged)
        merged += [e for e in per_wiki[code] if e not in have]
    lists["en"] = list(resolve_metadata(config.english).entries)
    stats["merged_into"] = {c: lmap.from_wikipedia(c) for c in sorted(per_wiki)}
    if FALLBACK in lists:
        stats["fallback_note"] = f"Wikipedias without an LID language were merged into {FALLBACK}"
    return lists, stats


def write_worldwide_build(
    out: str | Path, lists: dict[str, list[str]], config: WorldwideBuildConfig, stats: dict
) -> Path:
    """Write the folder (one ``{lang}.json`` each) and ``_build.json`` (params, stats, hashes)."""
    from dataclasses import asdict

    from metacurate.metadata.build import package_version, write_atomic
    from metacurate.metadata.load import metadata_hash
    from metacurate.metadata.worldwide import worldwide_hash

    d = write_worldwide(out, lists)
    hashes = {lang: metadata_hash(e) for lang, e in sorted(lists.items())}
    doc = {
        "format": "metacurate.worldwide-build",
        "package_version": package_version(),
        "hash": worldwide_hash(hashes),
        "hashes": hashes,
        "entries": {lang: len(e) for lang, e in sorted(lists.items())},
        "params": asdict(config),
        "stats": stats,
    }
    write_atomic(d / BUILD_FILE, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode())
    return d
