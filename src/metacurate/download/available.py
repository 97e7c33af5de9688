"""Which pool rows img2dataset actually fetched, and the entry counts over those rows only.

img2dataset writes, per shard, ``NNNNN.parquet`` with one row per URL it tried and a
``status`` column (``success``, ``failed_to_download``, ``failed_to_resize``), plus every
``save_additional_columns`` column; with ``output_format="webdataset"`` also ``NNNNN.tar`` whose
``.json`` members are the successes. A successful row is mapped back to the pool by ``uid``
when img2dataset carried it (``save_additional_columns=["uid", ...]``), else by ``url``: then
every pool row with that URL is available (several texts of one image).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metacurate.count import count_entries
from metacurate.errors import MetacurateError
from metacurate.files import is_temporary, read_json
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.workdir import Workdir


@dataclass
class Downloaded:
    """What one img2dataset output folder says: the successful uids or urls (``key``), and how
    many rows were tried, by status (``attempted`` is None when only tars were found)."""

    folder: str
    key: str
    values: pa.Array
    attempted: int | None
    succeeded: int
    status: dict[str, int] = field(default_factory=dict)


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.glob("*.parquet") if not is_temporary(p) and not p.name.startswith("_")
    )


def _unreadable(path: Path, exc: BaseException) -> MetacurateError:
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return MetacurateError(
        f"{path}: cannot read this img2dataset output ({what}); if img2dataset is still "
        "writing, wait for it to finish, else re-download that shard or move it away"
    )


def _read(path: Path, columns: list[str] | None = None) -> pa.Table | pa.Schema:
    """One img2dataset Parquet file (its schema when ``columns`` is None); a damaged or
    half-written file is one line naming it."""
    try:
        return pq.read_schema(path) if columns is None else pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise _unreadable(path, exc) from None


def _from_parquet(folder: Path, files: list[Path]) -> Downloaded:
    schemas = [_read(p) for p in files]
    if not all("status" in s.names for s in schemas):
        bad = next(p for p, s in zip(files, schemas, strict=True) if "status" not in s.names)
        raise MetacurateError(
            f"{bad}: no 'status' column; is {folder} an img2dataset output folder?"
        )
    key = "uid" if all("uid" in s.names for s in schemas) else "url"
    if not all(key in s.names for s in schemas):
        raise MetacurateError(
            f"{folder}: img2dataset output has neither 'uid' nor 'url'; download with "
            "save_additional_columns=['uid', ...] (metacurate.download.img2dataset_options)"
        )
    # every file's columns as text: an int url or status column reads like the others
    parts = [_read(p, columns=["status", key]) for p in files]
    table = pa.concat_tables(
        pa.table({c: _text(t.column(c), p, c) for c in ("status", key)})
        for t, p in zip(parts, files, strict=True)
    )
    status = Counter(table.column("status").to_pylist())
    ok = table.filter(pc.equal(table.column("status"), "success")).column(key)
    values = pc.unique(ok.combine_chunks().cast(pa.string()))
    return Downloaded(str(folder), key, values, table.num_rows, int(len(ok)), dict(status))


def _text(column: pa.ChunkedArray, path: Path, name: str) -> pa.ChunkedArray:
    try:
        return column.cast(pa.string())
    except pa.ArrowException:
        raise MetacurateError(
            f"{path}: column {name!r} has type {column.type}, which has no text form; is this "
            "an img2dataset output file?"
        ) from None


def _from_tars(folder: Path, tars: list[Path]) -> Downloaded:
    found: dict[str, list[str]] = {"uid": [], "url": []}
    n = 0
    for path in tars:
        try:
            with tarfile.open(path) as tar:
                for member in tar:
                    if not member.isfile() or not member.name.endswith(".json"):
                        continue
                    meta = json.loads(tar.extractfile(member).read())
                    n += 1
                    for k in found:
                        if meta.get(k) is not None:
                            found[k].append(str(meta[k]))
        except (OSError, EOFError, tarfile.TarError, ValueError, AttributeError) as exc:
            raise _unreadable(path, exc) from None
    key = "uid" if len(found["uid"]) == n else "url"
    if len(found[key]) != n:
        raise MetacurateError(f"{folder}: some .json members have neither 'uid' nor 'url'")
    values = pc.unique(pa.array(found[key], pa.string()))
    return Downloaded(str(folder), key, values, None, n, {"success": n})


def read_img2dataset(folder: str | Path) -> Downloaded:
    """The successful downloads of an img2dataset output folder (its Parquet files, else the
    ``.json`` members of its tars)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetacurateError(f"{folder}: not a folder; pass img2dataset's output_folder")
    files = _parquet_files(folder)
    if files:
        return _from_parquet(folder, files)
    tars = sorted(folder.glob("*.tar"))
    if tars:
        return _from_tars(folder, tars)
    raise MetacurateError(
        f"{folder}: no img2dataset output (*.parquet with 'status', or *.tar); pass the "
        "output_folder of img2dataset"
    )


@dataclass
class Availability:
    """Per input file of the match run (stats.json order): which rows were downloaded; the
    entry counts over those rows; a summary for the manifest."""

    masks: list[np.ndarray]
    counts: np.ndarray
    info: dict

    def counts_table(self, entry_counts: pa.Table) -> pa.Table:
        """``entry_counts.parquet``'s table with the counts over the available rows."""
        i = entry_counts.schema.get_field_index("count")
        return entry_counts.set_column(i, "count", pa.array(self.counts))

    def digest(self) -> str:
        """Identity of the masks (a finished balance task is reused only with equal ones)."""
        h = hashlib.sha256()
        for m in self.masks:
            h.update(np.packbits(m).tobytes() + len(m).to_bytes(8, "little"))
        return h.hexdigest()[:16]


def _keys_of(wd: Workdir, inp: dict, key: str, read: ReadOptions) -> pa.Array:
    """The uid (side-car) or url (source file) of every row of one input."""
    if key == "uid":
        return pq.read_table(wd.sidecar(inp["task_id"]), columns=["uid"]).column(0)
    columns = read_json(wd.done(inp["task_id"])).get("columns") or {}
    if columns and not columns.get("url"):
        raise MetacurateError(
            f"{inp['path']}: the pool has no url column to map downloads back by; download "
            "with save_additional_columns=['uid', ...]"
        )
    if not columns:  # an empty file
        return pa.array([], pa.string())
    batches = list(read_batches(Source.from_dict(inp), read, columns=[columns["url"]]))
    return pa.chunked_array([b.column(0).cast(pa.string()) for b in batches], pa.string())


def availability(
    wd: Workdir,
    inputs: list[dict],
    folder: str | Path,
    read: ReadOptions,
    n_entries: int,
    unique: Callable[[dict], np.ndarray] | None = None,
) -> Availability:
    """Map img2dataset's successes in ``folder`` to the rows of the match run ``wd`` and
    re-count entries over the available rows only (``unique``: of those, the rows a dedup
    run kept)."""
    got = read_img2dataset(folder)
    masks, counts = [], np.zeros(n_entries, np.int64)
    for inp in inputs:
        keys = _keys_of(wd, inp, got.key, read)
        mask = pc.is_in(keys, value_set=got.values).to_numpy(zero_copy_only=False).astype(bool)
        if unique is not None:
            mask &= unique(inp)
        ids = pq.read_table(wd.sidecar(inp["task_id"]), columns=["entry_ids"]).column(0)
        if len(mask) != len(ids):
            raise MetacurateError(f"{inp['path']}: changed since it was matched; rerun match")
        counts += count_entries(ids.combine_chunks().filter(pa.array(mask)), n_entries)
        masks.append(mask)
    rows = sum(int(m.sum()) for m in masks)
    info = {
        "folder": got.folder,
        "mapped_by": got.key,
        "attempted": got.attempted,
        "succeeded": got.succeeded,
        "status": got.status,
        "success_rate": got.succeeded / got.attempted if got.attempted else None,
        "pool_rows_available": rows,
    }
    if rows == 0:
        raise MetacurateError(
            f"{folder}: none of its {got.succeeded} downloads is a row of {wd.root} (mapped by "
            f"{got.key}); download the curated set of this work directory"
        )
    return Availability(masks, counts, info)
