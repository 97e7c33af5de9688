"""The one place ``t`` is chosen: offline ``balance``, online balancing and ``plan`` call
:func:`choose`.

metaclip1: one ``t``, given, or from a tail share, or from a target curated size (exact).

metaclip2 modes (``layout`` given): one ``t`` per language, from an explicit *reference*:

- ``t`` is English's ``t``; every other language keeps English's tail share at ``t``. That
  share is a reference only when English has rows enough to define it: below
  :data:`MIN_REFERENCE_ROWS` matched English rows the choice is refused (docs/worldwide.md says
  how the number was chosen from the sample captions);
- ``tail_share`` ``P``: every language (English included) gets the ``t >= 1`` whose tail share is
  the closest achievable to ``P``;
- ``t_lang`` (``{lang: t}``) overrides single languages, with either of the above;
- a target size is refused (see :data:`TARGET_SIZE_REFUSAL`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metacurate.balance.rule import entry_probs
from metacurate.balance.threshold import t_for_tail_share, t_for_target_size
from metacurate.balance.worldwide import REFERENCE_LANGUAGE, t_per_language
from metacurate.config import ConfigError
from metacurate.errors import MetacurateError

#: Matched English rows below which English's tail share is no reference for ``--t``: from
#: 1,000 rows the 95% bootstrap interval of the share is within about +-0.02 on the sample
#: captions (scripts/measure_reference_rows.py, docs/worldwide.md).
MIN_REFERENCE_ROWS = 1000

TARGET_SIZE_REFUSAL = (
    "a target size is not available in metaclip2 modes: the curated size is a step function "
    "of English's t that jumps wherever English's tail share crosses a step of any language, "
    "so a size asked for is in general not reachable by one reference; run 'metacurate plan "
    "WORKDIR --tail-share P' (or --t T) to see each language's t and expected size, then "
    "balance with --tail-share P or --t T"
)


@dataclass(frozen=True)
class Choice:
    """``t`` (metaclip1; English's ``t`` in metaclip2 modes), how it was chosen (the
    manifest's record) and ``p_e`` of every (run-wide) entry."""

    t: float
    how: dict
    p: np.ndarray


def choose(
    counts: np.ndarray,
    *,
    t: float | None = None,
    tail_share: float | None = None,
    target_size: int | None = None,
    thresholds: Callable[[], Sequence[np.ndarray]] | None = None,
    allow_t_below_1: bool = False,
    layout: Mapping | None = None,
    lang_rows: Mapping[str, Mapping] | None = None,
    t_lang: Mapping[str, float] | None = None,
    t_rule: str = "metacurate",
) -> Choice:
    """``t`` and ``p_e`` from exactly one of ``t``, ``tail_share``, ``target_size``.

    ``layout`` (``stats.json``'s ``worldwide``) makes it per language; ``lang_rows`` are the
    match stage's per-language row statistics (``stats.json``'s ``languages``).
    ``thresholds`` returns the per-row thresholds of the pool, for a target size.
    """
    counts = np.asarray(counts)
    if layout is not None:
        return _choose_worldwide(
            counts, t, tail_share, target_size, layout, lang_rows, t_lang, t_rule
        )
    if t_lang:
        raise ConfigError("t_lang", "per-language t needs a metaclip2 run (--mode metaclip2)")
    if t is not None:
        return Choice(float(t), {"t_from": "t"}, entry_probs(counts, t))
    if tail_share is not None:
        t = t_for_tail_share(counts, tail_share)
        return Choice(t, {"t_from": "tail_share"}, entry_probs(counts, t))
    if target_size is None or thresholds is None:
        raise MetacurateError("choosing t needs one of t, tail_share, target_size")
    taus = list(thresholds())
    t, size = t_for_target_size(taus, target_size)
    if t < 1 and not allow_t_below_1:
        at_one = sum(int(np.count_nonzero(tau <= 1.0)) for tau in taus)
        raise ConfigError(
            "target_size",
            f"{target_size:,} rows needs t = {t:.3g} < 1, which sub-samples even entries "
            f"seen once (the tail); t = 1 keeps {at_one:,} rows. Ask for at least {at_one:,}, "
            "or allow it explicitly (allow_t_below_1, --allow-t-below-1)",
        )
    how = {"t_from": "target_size", "target_size": target_size, "target_realised": size}
    return Choice(t, how, entry_probs(counts, t))


def _choose_worldwide(
    counts: np.ndarray,
    t: float | None,
    tail_share: float | None,
    target_size: int | None,
    layout: Mapping,
    lang_rows: Mapping[str, Mapping] | None,
    t_lang: Mapping[str, float] | None,
    t_rule: str,
) -> Choice:
    from metacurate.metadata.layout import Layout

    if target_size is not None:
        raise ConfigError("target_size", TARGET_SIZE_REFUSAL)
    lay = Layout.from_dict(layout)
    by_lang = lay.split(counts)
    overrides = {str(k): float(v) for k, v in (t_lang or {}).items()}
    unknown = sorted(set(overrides) - set(lay.languages))
    if unknown:
        raise ConfigError(
            "t_lang",
            f"no such language in this run's metadata: {', '.join(unknown)} "
            f"(languages: {', '.join(lay.languages)})",
        )
    bad = {k: v for k, v in overrides.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise ConfigError("t_lang", f"each t must be a finite number > 0, got {bad}")
    rows = {
        lang: int((lang_rows or {}).get(lang, {}).get("rows_matched", 0)) for lang in lay.languages
    }
    ref = REFERENCE_LANGUAGE
    if t is not None:
        followers = [x for x in lay.languages if x != ref and x not in overrides and rows[x] > 0]
        if followers and rows.get(ref, 0) < MIN_REFERENCE_ROWS:
            raise ConfigError("t", reference_refusal(rows.get(ref, 0), t, followers))
        th = t_per_language(by_lang, float(t), rule=t_rule, reference=ref)
        why = (
            f"--t {t:g} is English's t; English's tail share {th.reference_share:.4f} over "
            f"{rows.get(ref, 0):,} matched English rows (minimum {MIN_REFERENCE_ROWS:,}) is "
            "every other language's target"
        )
        reference = {"kind": "t_en", "t_en": float(t), "share": th.reference_share}
    elif tail_share is not None:
        th = t_per_language(by_lang, None, rule=t_rule, share=float(tail_share))
        why = (
            f"--tail-share {tail_share:g}: every language gets the t >= 1 whose tail share is "
            "the closest achievable to it"
        )
        reference = {"kind": "tail_share", "share": float(tail_share)}
    else:
        raise MetacurateError("choosing t needs one of t, tail_share")
    ts = dict(th.t)
    shares = dict(th.tail_share)
    if overrides:
        from metacurate.balance.threshold import tail_share as share_of

        ts.update(overrides)
        shares.update({k: share_of(by_lang[k], v) for k, v in overrides.items()})
        why += "; set by --t-lang: " + ", ".join(f"{k}={v:g}" for k, v in sorted(overrides.items()))
    reference.update(
        why=why,
        english_rows_matched=rows.get(ref, 0),
        min_reference_rows=MIN_REFERENCE_ROWS,
        t_lang=dict(sorted(overrides.items())),
    )
    record = th.as_manifest()
    record["t"] = dict(sorted(ts.items()))
    record["tail_share"] = dict(sorted(shares.items()))
    record["reference"] = reference
    parts = [entry_probs(by_lang[lang], ts[lang]) for lang in lay.languages]
    p = np.concatenate(parts) if parts else np.zeros(0)
    t_main = float(t) if t is not None else float(ts.get(ref, max(ts.values(), default=1.0)))
    how = {"t_from": "t_en" if t is not None else "tail_share", "worldwide_t": record}
    return Choice(t_main, how, p)


def reference_refusal(english_rows: int, t: float, followers: Sequence[str]) -> str:
    """The one-line refusal of ``--t`` when English has too few matched rows."""
    shown = ",".join(f"{x}=T" for x in list(followers)[:3])
    return (
        f"{t:g} is English's t, but this pool has {english_rows:,} matched English rows "
        f"(at least {MIN_REFERENCE_ROWS:,} are needed for English's tail share to be a "
        f"reference for {', '.join(followers[:6])}{' ...' if len(followers) > 6 else ''}); "
        f"give --tail-share P (every language the same tail share), or each language's t "
        f"with --t-lang {shown}, or add English rows"
    )
