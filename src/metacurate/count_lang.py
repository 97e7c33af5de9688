"""Counting per language (Meta CLIP 2): ``count[lang][e]`` = rows of language ``lang`` whose match
set contains ``e`` (entry ids are per language).

Partial counts are tables ``(lang, entry_id, count)`` that merge by addition in any order; the
run's totals are one file per language of the pool, ``{lang}.parquet`` with ``entry_id, entry,
count`` for every entry of that language's list (hit or not), so a language's counts can be read
alone and two runs' files add up. A language of the metadata without rows in the pool has no
file: its counts are all zeros (:func:`read_language_counts` with ``metadata`` fills them in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metacurate.errors import MetacurateError
from metacurate.files import write_parquet
from metacurate.metadata.worldwide import WorldwideMetadata, check_language_code

LANG_COUNTS_SCHEMA = pa.schema(
    [("lang", pa.string()), ("entry_id", pa.int32()), ("count", pa.int64())]
)


def count_by_language(
    langs: pa.Array, entry_ids: pa.ListArray, sizes: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """Per-language entry counts of one batch (``sizes``: entries of each language's list)."""
    enc = pc.dictionary_encode(langs.cast(pa.string()))
    codes = enc.indices.to_numpy(zero_copy_only=False)
    offsets = entry_ids.offsets.to_numpy()
    values = entry_ids.values.to_numpy()
    lengths = np.diff(offsets)
    out: dict[str, np.ndarray] = {}
    row_of_value = np.repeat(codes, lengths)
    flat = values[offsets[0] : offsets[-1]]
    for k, lang in enumerate(enc.dictionary.to_pylist()):
        ids = flat[row_of_value == k]
        n = sizes.get(lang, 0)
        if len(ids) and int(ids.max()) >= n:
            raise MetacurateError(f"entry id {int(ids.max())} outside language {lang!r} ({n})")
        if n:
            out[lang] = np.bincount(ids, minlength=n).astype(np.int64)
    return out


def add_counts(total: dict[str, np.ndarray], part: Mapping[str, np.ndarray]) -> None:
    """``total += part``, language by language (in place)."""
    for lang, c in part.items():
        if lang in total:
            total[lang] += c
        else:
            total[lang] = np.array(c, dtype=np.int64)


def sparse_lang_counts_table(counts: Mapping[str, np.ndarray]) -> pa.Table:
    """The non-zero counts as ``(lang, entry_id, count)`` rows, languages sorted."""
    langs, ids, vals = [], [], []
    for lang in sorted(counts):
        nz = np.flatnonzero(counts[lang])
        langs.append(np.full(len(nz), lang, dtype=object))
        ids.append(nz.astype(np.int32))
        vals.append(counts[lang][nz])
    if not langs:
        return LANG_COUNTS_SCHEMA.empty_table()
    return pa.table(
        [pa.array(np.concatenate(langs), pa.string()), np.concatenate(ids), np.concatenate(vals)],
        schema=LANG_COUNTS_SCHEMA,
    )


def add_sparse_lang(
    total: dict[str, np.ndarray], tables: Iterable[pa.Table], sizes: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """Add partial ``(lang, entry_id, count)`` tables into ``total`` (created per language)."""
    for t in tables:
        enc = pc.dictionary_encode(t.column("lang").combine_chunks())
        codes = enc.indices.to_numpy(zero_copy_only=False)
        ids = t.column("entry_id").to_numpy()
        vals = t.column("count").to_numpy()
        for k, lang in enumerate(enc.dictionary.to_pylist()):
            sel = codes == k
            arr = total.setdefault(lang, np.zeros(sizes[lang], dtype=np.int64))
            np.add.at(arr, ids[sel], vals[sel])
    return total


def write_language_counts(
    out_dir: str | Path,
    metadata: WorldwideMetadata,
    counts: Mapping[str, np.ndarray],
    kv: dict[bytes, bytes] | None = None,
    languages: Iterable[str] | None = None,
) -> list[Path]:
    """``{lang}.parquet`` (entry_id, entry, count) per language of ``metadata`` (only those
    of ``languages`` when given: the pool's, so a run does not write 40 files of zeros); a
    language without matches gets zeros. Returns the files written."""
    d = Path(out_dir) if isinstance(out_dir, str) else out_dir
    d.mkdir(parents=True, exist_ok=True)
    written = []
    wanted = None if languages is None else set(languages)
    for lang in metadata.languages:
        if wanted is not None and lang not in wanted:
            continue
        md = metadata.get(lang)
        c = counts.get(lang, np.zeros(len(md), dtype=np.int64))
        table = pa.table(
            {
                "entry_id": pa.array(np.arange(len(md), dtype=np.int32)),
                "entry": pa.array(md.entries, type=pa.string()),
                "count": pa.array(np.asarray(c, dtype=np.int64)),
            }
        )
        path = d / f"{lang}.parquet"
        meta = {**(kv or {}), b"metadata_hash": md.hash.encode(), b"lang": lang.encode()}
        write_parquet(path, table, meta)
        written.append(path)
    if wanted is not None:  # an earlier run's file of a language this pool lacks: not ours
        for lang in metadata.languages:
            if lang not in wanted:
                (d / f"{lang}.parquet").unlink(missing_ok=True)
    return written


def read_language_counts(
    counts_dir: str | Path, metadata: WorldwideMetadata | None = None
) -> dict[str, np.ndarray]:
    """The per-language count files of a folder, ``{lang: count per entry}``; with
    ``metadata``, every language of it, a language without a file (no rows in the pool)
    all zeros."""
    d = Path(counts_dir)
    out: dict[str, np.ndarray] = {}
    for p in sorted(d.glob("*.parquet")):
        lang = check_language_code(p.stem, str(p))
        out[lang] = pq.read_table(p, columns=["count"]).column(0).to_numpy().astype(np.int64)
    if metadata is not None:
        for lang in metadata.languages:
            if lang not in out:
                out[lang] = np.zeros(len(metadata.get(lang)), dtype=np.int64)
        return dict(sorted(out.items()))
    if not out:
        raise MetacurateError(f"{d}: no {{lang}}.parquet count files")
    return out
