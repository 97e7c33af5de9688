"""Per-language ``t`` (Meta CLIP 2): every language keeps the same tail share as English.

English uses ``t_en``. Its tail share ``p = sum_{count < t_en} count / sum count`` is computed on
English counts; every other language ``L`` gets the ``t >= 1`` whose tail share on ``L``'s counts
(same strict ``<``) is closest to ``p``, the smallest such on ties
(:func:`metacurate.balance.t_for_tail_share`). That is rule ``"metacurate"``, the default.

Rule ``"official"`` reproduces the official ``p_to_t`` of ``metaclip/curation/curate.py`` for
comparison: it takes the count *value* whose inclusive cumulative share over the sorted counts
(zeros included) is closest to ``p``. That is off by one count value against its own ``t_to_p``
(which uses ``<``), and returns 0 when the closest cumulative share is one of the leading zero
counts, which makes every ``p_e`` 0 (or NaN) and drops the whole language. Here its result is
clamped to ``>= 1`` and the raw value is kept so a report can show it.


"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.balance import decide, entry_probs, t_for_tail_share, tail_share
from metacurate.errors import MetacurateError

T_RULES = ("metacurate", "official")
REFERENCE_LANGUAGE = "en"


def official_p_to_t(entry_counts: np.ndarray, p: float) -> int:
    """The official ``p_to_t``, literally (may return 0; see module docstring)."""
    counts = np.sort(np.asarray(entry_counts))
    total = counts.sum()
    if total == 0:  # the official code divides by zero here (all NaN, argmin 0)
        return int(counts[0]) if len(counts) else 0
    portion = np.cumsum(counts) / total
    return int(counts[int(np.abs(portion - p).argmin())])


def official_t_to_p(entry_counts: np.ndarray, t: float) -> float:
    """The official ``t_to_p``: the tail share with strict ``<`` (same as ``tail_share``)."""
    c = np.asarray(entry_counts)
    return float(c[c < t].sum() / c.sum())


@dataclass(frozen=True)
class LanguageThresholds:
    """``t`` and the tail share at that ``t`` for every language, and how they were chosen."""

    t: dict[str, float]
    tail_share: dict[str, float]
    reference_share: float  # English tail share at t_en: the p every language aims at
    t_en: float
    rule: str
    reference: str = REFERENCE_LANGUAGE
    official_raw: dict[str, int] = field(default_factory=dict)  # rule "official": unclamped t

    def as_manifest(self) -> dict[str, object]:
        """The JSON-ready record for a run manifest (mappings keyed by language code)."""
        doc: dict[str, object] = {
            "rule": self.rule,
            "reference": self.reference,
            "t_en": self.t_en,
            "reference_tail_share": self.reference_share,
            "t": dict(sorted(self.t.items())),
            "tail_share": dict(sorted(self.tail_share.items())),
        }
        if self.rule == "official":
            doc["official_raw_t"] = dict(sorted(self.official_raw.items()))
        return doc


def t_per_language(
    counts: Mapping[str, np.ndarray],
    t_en: float | None,
    rule: str = "metacurate",
    reference: str = REFERENCE_LANGUAGE,
    share: float | None = None,
) -> LanguageThresholds:
    """``t`` for every language of ``counts`` (``{lang: count per entry}``), see module doc.

    With ``share`` instead of ``t_en`` every language, the reference included, aims at that
    tail share (``t_en`` is then the reference language's chosen ``t``, when it has counts).
    """
    if rule not in T_RULES:
        raise MetacurateError(f"unknown per-language t rule {rule!r}; one of {', '.join(T_RULES)}")
    if share is None:
        if t_en is None or not t_en > 0:
            raise MetacurateError(f"t for {reference} must be > 0, got {t_en}")
        if reference not in counts:
            raise MetacurateError(
                f"per-language t needs the counts of the reference language {reference!r}, "
                f"which the run does not have (languages: {', '.join(sorted(counts)) or 'none'});"
                f" add {reference}.json to the metadata folder"
            )
        p = tail_share(np.asarray(counts[reference]), t_en)
    else:
        p = float(share)
    ts: dict[str, float] = {}
    raw: dict[str, int] = {}
    for lang, c in counts.items():
        c = np.asarray(c)
        if lang == reference and share is None:
            ts[lang] = float(t_en)
        elif rule == "metacurate":
            ts[lang] = t_for_tail_share(c, p)
        else:
            raw[lang] = official_p_to_t(c, p)
            ts[lang] = float(max(1, raw[lang]))
    shares = {lang: tail_share(np.asarray(counts[lang]), t) for lang, t in ts.items()}
    if share is not None:
        t_en = ts.get(reference, 1.0)
    return LanguageThresholds(ts, shares, p, float(t_en), rule, reference, raw)


def language_probs(
    counts: Mapping[str, np.ndarray], ts: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """``p_e`` of every language's entries under its own ``t``."""
    return {lang: entry_probs(np.asarray(c), ts[lang]) for lang, c in counts.items()}


def decide_languages(
    langs: pa.Array,
    entry_ids: pa.ListArray,
    uid_hash: np.ndarray,
    probs: Mapping[str, np.ndarray],
    seed: int,
    epoch: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(keep_mask, keep_prob)`` per row, each row decided with its own language's ``p``.

    The rule is :func:`metacurate.balance.decide` applied to the rows of each language (entry
    ids are per language); a row of a language without ``p`` (``other`` with no list) is not
    kept. Each row's decision depends only on that row, so grouping changes nothing.
    """
    n = len(langs)
    uid_hash = np.asarray(uid_hash, dtype=np.uint64)
    if len(entry_ids) != n or len(uid_hash) != n:
        raise ValueError("langs, entry_ids and uid_hash differ in length")
    keep = np.zeros(n, dtype=bool)
    prob = np.zeros(n, dtype=np.float64)
    enc = pc.dictionary_encode(langs.cast(pa.string()))
    codes = enc.indices.to_numpy(zero_copy_only=False)
    for k, lang in enumerate(enc.dictionary.to_pylist()):
        p = probs.get(lang)
        if p is None:
            continue
        idx = np.flatnonzero(codes == k)
        sub = entry_ids if len(idx) == n else entry_ids.take(pa.array(idx))
        keep[idx], prob[idx] = decide(sub, uid_hash[idx], p, seed, epoch)
    return keep, prob
