"""The match stage in a metaclip2 mode: per-language lists laid end to end, one matcher each.

A run over worldwide metadata keeps the stage machinery of metaclip1 by numbering entries
*globally*: the languages' lists, in code order, are laid end to end (``metadata.json`` of the
work folder holds that concatenation), so a row of language ``L`` whose entry has id ``i`` in
``L``'s list gets the run-wide id ``offset[L] + i``. Counts, ``p_e`` and the keep decision then
work unchanged; :class:`Layout` (written to ``stats.json``) turns any run-wide id back into
``(lang, id in lang)`` and splits counts into one array per language. Each row is matched only
against its own language's list (``match/languages.py``).

Side-cars gain ``lang`` (the metadata language the row was matched in), ``lid_label`` and
``lid_score`` (null when the language came from ``--lang-column``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.config import ConfigError, MatchConfig
from metacurate.errors import MetacurateError
from metacurate.match.languages import LanguageMatchers, assign_languages
from metacurate.match.lid import LanguageIdentifier
from metacurate.match.matcher import STATUS_NAMES, BatchMatches
from metacurate.metadata.default import as_metadata
from metacurate.metadata.languages import FALLBACK
from metacurate.metadata.layout import Layout
from metacurate.metadata.load import Metadata
from metacurate.metadata.worldwide import (
    WorldwideMetadata,
    is_worldwide_spec,
    load_worldwide,
)
from metacurate.scripts import METACLIP2_MODES

LANG_FIELDS = [("lang", pa.string()), ("lid_label", pa.string()), ("lid_score", pa.float32())]


def is_worldwide_mode(mode: str) -> bool:
    return mode in METACLIP2_MODES


def resolve_worldwide(spec: object, cache: Path | None = None) -> WorldwideMetadata:
    """Worldwide metadata from a ``--metadata`` value: a folder, ``worldwide-default``, or
    ``None`` (the built-in worldwide default); ``cache``: where a folder's lists loaded
    before are remembered."""
    if spec is None:
        spec = "worldwide-default"
    if isinstance(spec, WorldwideMetadata):
        return spec
    if not is_worldwide_spec(spec):
        raise MetacurateError(
            f"--metadata {spec}: the metaclip2 modes need per-language metadata, a folder with "
            "one {lang}.json per language, or 'worldwide-default' for the built-in one"
        )
    return load_worldwide(spec, cache)


def run_metadata(
    match: MatchConfig, cache: Path, given: Metadata | WorldwideMetadata | None = None
) -> Metadata | WorldwideMetadata:
    """The one place a run's metadata is resolved from its config: per-language lists in the
    metaclip2 modes (a folder or ``worldwide-default``), else one list (what loading its file
    found remembered in ``cache``); ``given``: an object the API was handed instead."""
    if is_worldwide_mode(match.mode):
        return (
            given
            if isinstance(given, WorldwideMetadata)
            else resolve_worldwide(match.metadata, cache)
        )
    if isinstance(given, WorldwideMetadata):
        raise ConfigError(
            "metadata",
            "per-language (worldwide) metadata needs mode='metaclip2' or 'metaclip2-kana'",
        )
    return given if given is not None else as_metadata(match.metadata, cache)


def combine(ww: WorldwideMetadata) -> tuple[Metadata, Layout]:
    """The run-wide list (languages end to end, code order) and its layout."""
    parts = [ww.get(lang) for lang in ww.languages]
    sizes = [len(md) for md in parts]
    offsets = [int(o) for o in np.concatenate(([0], np.cumsum(sizes[:-1], dtype=np.int64)))][
        : len(parts)
    ]
    hashes = [md.hash for md in parts]
    layout = Layout(tuple(ww.languages), tuple(offsets), tuple(sizes), tuple(hashes), ww.name)
    return Metadata.concatenated(parts, ww.name), layout


def split_metadata(metadata: Metadata, layout: Layout) -> WorldwideMetadata:
    """The per-language lists of a run-wide list (for workers and the count files)."""

    def loader(lang: str) -> Metadata:
        k = layout.languages.index(lang)
        o, n = layout.offsets[k], layout.sizes[k]
        return Metadata(
            metadata.entries[o : o + n], name=f"{layout.name}/{lang}", hash=layout.hashes[k]
        )

    return WorldwideMetadata(layout.name, list(layout.languages), loader)


def build_indexes(
    ww: WorldwideMetadata, index_root: Path, mode: str, languages: Sequence[str] | None = None
) -> LanguageMatchers:
    """Build (or map) the index of every language of ``languages`` (default: all) once,
    before workers start; a language met later is built by the first worker that needs it
    (into the same cache: the first to finish wins, the others' identical copy is dropped)."""
    lm = LanguageMatchers(ww, mode=mode, cache_dir=index_root / "languages")
    for lang in ww.languages if languages is None else languages:
        if lang in ww.languages:
            lm.matcher(lang)
    return lm


def pool_languages(
    sources: Sequence, read: object, lang_column: str, available: Sequence[str]
) -> list[str] | None:
    """The metadata languages of a pool's language column (one read of that column), or
    None when a file cannot be read here (the workers then build what they meet)."""
    from metacurate.metadata.languages import map_labels
    from metacurate.pool.readers import read_batches

    values: set[str] = set()
    try:
        for src in sources:
            for batch in read_batches(src, read, columns=[lang_column]):
                col = batch.column(0)
                if pa.types.is_dictionary(col.type):
                    col = col.dictionary
                values.update(x for x in pc.unique(col.cast(pa.string())).to_pylist() if x)
    except (MetacurateError, OSError, pa.ArrowException, KeyError):
        return None
    mapped = map_labels(pa.array(sorted(values), pa.string()), available, table="column")
    return sorted(set(mapped.to_pylist()) - {None})


def to_global(entry_ids: pa.ListArray, langs: pa.Array, layout: Layout) -> pa.ListArray:
    """Per-language ids → run-wide ids (``offset[lang] + id``), row by row."""
    enc = pc.dictionary_encode(langs.cast(pa.string()))
    names = enc.dictionary.to_pylist()
    offs = np.array([layout.offset(x) if x in layout.languages else 0 for x in names], np.int64)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    o = entry_ids.offsets.to_numpy()
    values = entry_ids.values.to_numpy()[o[0] : o[-1]].astype(np.int64)
    values += np.repeat(offs[codes], np.diff(o))
    if len(values) and values.max() > np.iinfo(np.int32).max:
        raise MetacurateError("more than 2**31 entries in all languages together")
    return pa.ListArray.from_arrays(pa.array(o - o[0], pa.int32()), pa.array(values, pa.int32()))


#: Per process: the language matchers of a layout (their indexes mapped and checked once),
#: reused by every task the process runs (a cache of what the files hold, nothing else).
_MATCHERS: dict[tuple[str, str, str], LanguageMatchers] = {}


@cache
def _identifier(model: str) -> LanguageIdentifier:
    """The LID model, loaded once per process."""
    return LanguageIdentifier(model)


class WorldwideTaskMatcher:
    """What one match task uses in a metaclip2 mode: languages (column or LID), the
    per-language matchers (their indexes memory-mapped), and per-language row statistics."""

    def __init__(
        self,
        layout: Layout,
        ww: WorldwideMetadata,
        mode: str,
        index_root: Path,
        lang_column: str | None,
        lid_model: str,
        lid_min_score: float = 0.0,
    ) -> None:
        self.layout = layout
        self.lid_min_score = lid_min_score
        self.n_entries = sum(layout.sizes)
        self.lang_column = lang_column
        self._identifier = None if lang_column else _identifier(lid_model)
        key = (layout.hash, mode, str(index_root))
        self._matchers = _MATCHERS.get(key)  # mapped once per process, reused by its tasks
        if self._matchers is None:
            self._matchers = _MATCHERS[key] = LanguageMatchers(
                ww,
                mode=mode,
                cache_dir=index_root / "languages",
                hashes=dict(zip(layout.languages, layout.hashes, strict=True)),
            )
        self.lang_stats: dict[str, dict[str, int]] = {}
        self.lid_hist: dict[str, list[int]] = {}  # LID label: rows per score bin

    def match(
        self, texts: pa.Array, lang_column: pa.Array | None
    ) -> tuple[BatchMatches, list[pa.Array]]:
        """Run-wide ids and status per row, and the side-car's ``lang`` columns."""
        a = assign_languages(
            texts, self.layout.languages, lang_column, self._identifier, self.lid_min_score
        )
        res = self._matchers.match_arrow(texts, a.lang)
        ids = to_global(res.entry_ids, a.lang, self.layout)
        self._add_stats(a.lang, res)
        if self._identifier is not None:
            add_lid_hist(self.lid_hist, a.lid_label, a.lid_score, self.lid_min_score)
        return BatchMatches(ids, res.status), [a.lang, a.lid_label, a.lid_score]

    def _add_stats(self, langs: pa.Array, res: BatchMatches) -> None:
        lengths = np.diff(res.entry_ids.offsets.to_numpy())
        enc = pc.dictionary_encode(langs)
        codes = enc.indices.to_numpy(zero_copy_only=False)
        for k, lang in enumerate(enc.dictionary.to_pylist()):
            sel = codes == k
            s = self.lang_stats.setdefault(lang, {"rows": 0, "rows_matched": 0, "rows_text": 0})
            s["rows"] += int(sel.sum())
            s["rows_matched"] += int(np.count_nonzero(lengths[sel]))
            s["rows_text"] += int(np.count_nonzero(res.status[sel] == 0))


#: LID score histograms: this many equal bins over [0, 1].
LID_BINS = 20


def add_lid_hist(
    hist: dict[str, list[int]], labels: pa.Array, scores: pa.Array, min_score: float
) -> None:
    """Add one batch's rows to ``{label: rows per score bin + [rows below min_score]}``
    (empty texts: label "")."""
    enc = pc.dictionary_encode(labels.cast(pa.string()).fill_null(""))
    codes = enc.indices.to_numpy(zero_copy_only=False)
    s = pc.fill_null(scores.cast(pa.float32()), 0.0).to_numpy(zero_copy_only=False)
    bins = np.minimum((s * LID_BINS).astype(np.int64), LID_BINS - 1)
    low = s < np.float32(min_score)
    for k, label in enumerate(enc.dictionary.to_pylist()):
        sel = codes == k
        got = [*np.bincount(bins[sel], minlength=LID_BINS), np.count_nonzero(low & sel)]
        old = hist.setdefault(label, [0] * (LID_BINS + 1))
        hist[label] = [int(a + b) for a, b in zip(old, got, strict=True)]


def lid_scores(records: Sequence[Mapping], min_score: float, top: int = 15) -> dict | None:
    """The run's LID score distribution per label (largest first, ``top`` of them, the rest
    summed as ``...``): rows, rows below ``min_score`` (sent to ``other``), score histogram."""
    total: dict[str, np.ndarray] = {}
    for rec in records:
        for label, h in (rec.get("lid_hist") or {}).items():
            total[label] = total.get(label, np.zeros(LID_BINS + 1, np.int64)) + np.asarray(h)
    if not total:
        return None
    order = sorted(total, key=lambda x: (-int(total[x][:LID_BINS].sum()), x))
    rest = sum((total[x] for x in order[top:]), np.zeros(LID_BINS + 1, np.int64))

    def row(label: str, h: np.ndarray) -> dict:
        return {
            "label": label,
            "rows": int(h[:LID_BINS].sum()),
            "rows_below_min": int(h[LID_BINS]),
            "hist": [int(x) for x in h[:LID_BINS]],
        }

    rows = [row(x, total[x]) for x in order[:top]]
    if rest.sum():
        rows.append(row("...", rest))
    return {"bins": LID_BINS, "min_score": min_score, "labels": rows}


def merge_lang_stats(records: Sequence[Mapping]) -> dict[str, dict[str, int]]:
    """Per-language row statistics of all tasks, added up (``other`` included)."""
    out: dict[str, dict[str, int]] = {}
    for rec in records:
        for lang, s in (rec.get("lang_stats") or {}).items():
            t = out.setdefault(lang, dict.fromkeys(s, 0))
            for k, v in s.items():
                t[k] = t.get(k, 0) + v
    return dict(sorted(out.items()))


__all__ = [
    "FALLBACK",
    "LANG_FIELDS",
    "STATUS_NAMES",
    "Layout",
    "WorldwideTaskMatcher",
    "build_indexes",
    "combine",
    "is_worldwide_mode",
    "add_lid_hist",
    "lid_scores",
    "merge_lang_stats",
    "pool_languages",
    "resolve_worldwide",
    "split_metadata",
    "to_global",
]
