"""Matching each text against its own language's metadata (Meta CLIP 2).

Two steps, both pure functions of a batch:

1. :func:`assign_languages`: the metadata language of every row, from a language column of the
   pool (``--lang-column``) or from language identification (label and score kept for the
   side-car); rows whose language is unknown or has no metadata get ``other``.
2. :class:`LanguageMatchers`: one matcher per language, built (or memory-mapped from a cache
   folder) the first time a batch holds that language; ``match_arrow(texts, langs)`` returns
   each row's entry ids *in its language's list*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.errors import MetacurateError
from metacurate.kernel import native_available
from metacurate.match.index_cache import index_dir, load_or_build
from metacurate.match.lid import LanguageIdentifier
from metacurate.match.matcher import BatchMatches, Matcher, as_arrow_text
from metacurate.match.metaclip2 import worldwide_kernel_available
from metacurate.metadata.languages import FALLBACK, map_labels
from metacurate.metadata.worldwide import WorldwideMetadata


@dataclass(frozen=True)
class LanguageAssignment:
    """Per row: the metadata language, and the LID label and score (null without LID)."""

    lang: pa.Array
    lid_label: pa.Array
    lid_score: pa.Array


def assign_languages(
    texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    available: Sequence[str],
    lang_column: pa.Array | pa.ChunkedArray | None = None,
    identifier: LanguageIdentifier | None = None,
    min_score: float = 0.0,
) -> LanguageAssignment:
    """The metadata language of each row (see module docstring); exactly one source is used:
    ``lang_column`` when given, else ``identifier``, whose rows scoring below ``min_score`` go
    to ``other`` (their label and score are kept)."""
    arr = as_arrow_text(texts)
    n = len(arr)
    if lang_column is not None:
        if len(lang_column) != n:
            raise ValueError("language column and texts differ in length")
        lang = map_labels(lang_column, available, table="column")
        return LanguageAssignment(lang, pa.nulls(n, pa.string()), pa.nulls(n, pa.float32()))
    if identifier is None:
        raise ValueError("give a language column or a LanguageIdentifier")
    res = identifier.identify(arr)
    lang = map_labels(res.label, available, table="lid")
    if min_score > 0:
        low = pc.fill_null(pc.less(res.score, pa.scalar(min_score, pa.float32())), True)
        lang = pc.if_else(low, pa.scalar(FALLBACK, pa.string()), lang)
    return LanguageAssignment(lang, res.label, res.score)


class LanguageMatchers:
    """One :class:`Matcher` per metadata language, made lazily.

    ``cache_dir`` keeps each language's native index as ``.npy`` files (memory-mapped by every
    worker that opens the same folder); languages without metadata (the ``other`` bucket when
    the folder has no ``other.json``) match nothing.
    """

    def __init__(
        self,
        metadata: WorldwideMetadata,
        mode: str = "metaclip2",
        cache_dir: str | Path | None = None,
        native: bool | None = None,
        hashes: Mapping[str, str] | None = None,
    ) -> None:
        self.metadata = metadata
        self.mode = mode
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.native = native
        self.hashes = dict(hashes or {})  # known hashes: a saved index maps without the list
        self._matchers: dict[str, Matcher] = {}

    def matcher(self, lang: str) -> Matcher:
        """The matcher of ``lang`` (built, or mapped from the cache, on first use)."""
        m = self._matchers.get(lang)
        if m is None:
            cached = self.native is None and self.cache_dir is not None and _cacheable(self.mode)
            if lang not in self.metadata:
                m = Matcher([], mode=self.mode, native=self.native)
            elif cached and lang in self.hashes:
                m = self._mapped(lang)
            elif cached:
                m = load_or_build(self.metadata.get(lang), self.cache_dir / lang, mode=self.mode)
            else:
                m = Matcher(self.metadata.get(lang), mode=self.mode, native=self.native)
            self._matchers[lang] = m
        return m

    def _mapped(self, lang: str) -> Matcher:
        assert self.cache_dir is not None
        d = index_dir(self.cache_dir / lang, self.hashes[lang], self.mode)
        if (d / "index.json").exists():
            try:
                return Matcher.load(d, self.hashes[lang], mode=self.mode)
            except MetacurateError:  # another kernel version: rebuilt below
                pass
        return load_or_build(self.metadata.get(lang), self.cache_dir / lang, mode=self.mode)

    def match_arrow(
        self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None], langs: pa.Array
    ) -> BatchMatches:
        """Each row matched against ``langs[row]``'s list: ids and status per row."""
        arr = as_arrow_text(texts)
        n = len(arr)
        if len(langs) != n:
            raise ValueError("languages and texts differ in length")
        enc = pc.dictionary_encode(langs.cast(pa.string()).fill_null(FALLBACK))
        codes = enc.indices.to_numpy(zero_copy_only=False)
        parts: list[pa.ListArray] = []
        rows: list[np.ndarray] = []
        status = np.zeros(n, dtype=np.uint8)
        for k, lang in enumerate(enc.dictionary.to_pylist()):
            idx = np.flatnonzero(codes == k)
            if len(idx) == 0:
                continue
            sub = arr if len(idx) == n else arr.take(pa.array(idx))
            got = self.matcher(lang).match_arrow(sub)
            parts.append(got.entry_ids)
            rows.append(idx)
            status[idx] = got.status
        if not parts:
            return BatchMatches(pa.array([], pa.list_(pa.int32())), status)
        if len(parts) == 1:
            return BatchMatches(parts[0], status)
        where = np.empty(n, dtype=np.int64)
        where[np.concatenate(rows)] = np.arange(n)
        merged = pa.concat_arrays(parts).take(pa.array(where))
        return BatchMatches(merged, status)


def _cacheable(mode: str) -> bool:
    """True when ``mode``'s native index can be saved and mapped here."""
    return worldwide_kernel_available() if mode != "metaclip1" else native_available()
