"""Language codes → metadata languages, from the data file ``data/lang_map.json``.

A *metadata language* names one entry list of a worldwide metadata folder (``{lang}.json``).
Three tables map codes onto them (see ``scripts/make_lang_map.py`` for the rules and
docs/worldwide.md for the table): labels of language identification models (``lid``),
Wikipedia language codes (``wikipedia``, with Meta CLIP 2's merges such as ``zh_yue`` →
``zh``) and Open Multilingual WordNet codes (``wordnet``, where ``als`` is Albanian → ``sq``).
Anything unknown goes to the fallback bucket :data:`FALLBACK` (``other``), never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FALLBACK = "other"
LANG_MAP_FORMAT = "metacurate.lang-map"


@dataclass(frozen=True)
class LangMap:
    """The three tables of ``lang_map.json``."""

    lid: dict[str, str]
    wikipedia: dict[str, str]
    wordnet: dict[str, str]
    languages: frozenset[str]
    fallback: str = FALLBACK

    def from_lid(self, label: str | None, available: Iterable[str] | None = None) -> str:
        """The metadata language of an LID label; ``other`` for unknown, empty or ``None``
        labels and for languages not in ``available`` (when given)."""
        lang = self.lid.get(label or "", self.fallback)
        if available is not None and lang not in set(available):
            return self.fallback
        return lang

    def from_column(self, value: str | None, available: Iterable[str] | None = None) -> str:
        """The metadata language of a value of a pool's language column.

        Tried in turn: the value itself, lower-cased, cut at the first ``-`` or ``_``
        (``zh-Hant`` → ``zh``), each first as a metadata language of ``available`` and then
        through the ``lid`` table; ``other`` when nothing fits.
        """
        if not value:
            return self.fallback
        avail = None if available is None else set(available)
        low = value.strip().lower()
        for cand in dict.fromkeys([value, low, low.replace("_", "-").split("-")[0]]):
            if cand and (cand in avail if avail is not None else cand in self.languages):
                return cand
            lang = self.lid.get(cand)
            if lang is not None and lang != self.fallback and (avail is None or lang in avail):
                return lang
        return self.fallback

    def from_wikipedia(self, code: str) -> str:
        """The metadata language a Wikipedia's statistics belong to (``other`` if none)."""
        return self.wikipedia.get(code.replace("-", "_"), self.fallback)

    def from_wordnet(self, code: str) -> str | None:
        """The metadata language of an Open Multilingual WordNet code, or ``None``."""
        return self.wordnet.get(code)


@cache
def lang_map() -> LangMap:
    """The built-in map (read once per process; immutable)."""
    text = resources.files("metacurate.metadata").joinpath("data/lang_map.json").read_text("utf-8")
    doc = json.loads(text)
    assert doc["format"] == LANG_MAP_FORMAT, "corrupt package data: lang_map.json"
    return LangMap(
        lid=dict(doc["lid"]),
        wikipedia=dict(doc["wikipedia"]),
        wordnet=dict(doc["wordnet"]),
        languages=frozenset(doc["languages"]),
        fallback=doc["fallback"],
    )


def map_labels(
    labels: pa.Array | pa.ChunkedArray,
    available: Iterable[str] | None = None,
    table: str = "lid",
    lmap: LangMap | None = None,
) -> pa.Array:
    """Map an Arrow array of codes to metadata languages: ``table="lid"`` for LID labels
    (:meth:`LangMap.from_lid`), ``"column"`` for a pool's language column
    (:meth:`LangMap.from_column`). Nulls and unknown codes go to ``other``.
    """
    lmap = lmap or lang_map()
    if isinstance(labels, pa.ChunkedArray):
        labels = labels.combine_chunks()
    labels = labels.cast(pa.string())
    enc = pc.dictionary_encode(labels.fill_null(""))
    names = enc.dictionary.to_pylist()
    avail = None if available is None else set(available)
    if table == "lid":
        mapped = [lmap.from_lid(x, avail) for x in names]
    elif table == "column":
        mapped = [lmap.from_column(x, avail) for x in names]
    else:
        raise ValueError(f"table must be 'lid' or 'column', not {table!r}")
    idx = enc.indices.to_numpy(zero_copy_only=False)
    return pa.array(np.asarray(mapped, dtype=object)[idx], type=pa.string())
