"""A memory-mapped table from ``uid`` to match set, built once from the side-cars.

``metacurate match`` writes, per input file, a side-car with one row per pool row (``uid``,
``uid_hash``, ``entry_ids``). The online balancer gets a WebDataset sample's uid and needs its
match set; a Python dict of millions of rows would not fit in every loader worker, so the
side-cars are turned once into flat ``.npy`` arrays sorted by ``uid_hash``:

- ``uid_hash.npy``   uint64, sorted (one per distinct (uid, match set));
- ``offsets.npy``    int64, ``len + 1``: row ``i`` has ``entry_ids[offsets[i]:offsets[i + 1]]``;
- ``entry_ids.npy``  int32, the flat match sets;
- ``uid_offsets.npy`` int64 and ``uid_data.npy`` uint8: the uid strings, to check every hit
  (two uids with the same 64-bit hash are told apart, never confused);
- ``ambiguous.npy``  bool: the uid has rows with different match sets (a lookup of it is an
  error: the uid alone does not say which row a sample is);
- ``row_to_index.npy`` int64: the index row of every side-car row (all files, in the order of
  ``stats.json``), and ``file_rows.npy``: rows per side-car file. Pool-wide quantities that
  count every row (``t`` for a target size, the expected size, several texts per image) are
  computed from these without reading the side-cars again.

Every worker memory-maps the same files (shared through the page cache). A lookup is a
``searchsorted`` and a gather, vectorised over a batch of samples.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metacurate.errors import MetacurateError
from metacurate.files import atomic_path, read_json
from metacurate.kernel import native_available
from metacurate.kernel.calls import fnv1a_bytes
from metacurate.pool.uid import FNV_BASIS, FNV_PRIME, uid_hash
from metacurate.workdir import Workdir

_M64 = (1 << 64) - 1

INDEX_FORMAT = "metacurate-uid-index"
INDEX_VERSION = 1
_ARRAYS = (
    "uid_hash",
    "offsets",
    "entry_ids",
    "uid_offsets",
    "uid_data",
    "ambiguous",
    "row_to_index",
    "file_rows",
)


def sidecar_paths(workdir: str | Path) -> list[Path]:
    """The side-cars of a matched work directory, in the order of ``stats.json`` inputs."""
    wd = Workdir(workdir)
    if not wd.stats.exists():
        raise MetacurateError(
            f"{wd.root}: no stats.json; run 'metacurate match POOL --out {wd.root}' first, or "
            "use matches='caption' (match captions in the loader)"
        )
    stats = read_json(wd.stats)
    return [wd.sidecar(i["task_id"]) for i in stats["inputs"] if i["error"] is None]


def index_identity(workdir: str | Path) -> str:
    """What the index depends on: the match run's inputs and metadata (16 hex digits)."""
    stats = read_json(Workdir(workdir).stats)
    ident = {
        "format": INDEX_FORMAT,
        "version": INDEX_VERSION,
        "metadata_hash": stats["metadata"]["hash"],
        "inputs": [
            [i["task_id"], i["fingerprint"], i["rows"], i["error"]] for i in stats["inputs"]
        ],
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def default_index_dir(workdir: str | Path) -> Path:
    """``WORKDIR/online/uid-index-<identity>``: a new match run gets a new index."""
    return Workdir(workdir).root / "online" / f"uid-index-{index_identity(workdir)}"


def _read_sidecars(paths: list[Path]) -> tuple[np.ndarray, pa.Array, pa.ListArray]:
    """uid_hash, uid and entry_ids of every side-car row, concatenated."""
    empty = pa.table(
        {
            "uid": pa.array([], pa.string()),
            "uid_hash": pa.array([], pa.uint64()),
            "entry_ids": pa.array([], pa.list_(pa.int32())),
        }
    )
    tables = [pq.read_table(p, columns=["uid", "uid_hash", "entry_ids"]) for p in paths]
    table = pa.concat_tables([empty, *tables])
    return (
        table.column("uid_hash").to_numpy(),
        table.column("uid").combine_chunks(),
        table.column("entry_ids").combine_chunks(),
    )


def gather_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)


def _flat(ids: pa.ListArray) -> tuple[np.ndarray, np.ndarray]:
    """int64 offsets from 0 and the flat int32 ids of a list array (nulls as empty lists)."""
    if ids.null_count:
        ids = pc.fill_null(ids, pa.scalar([], type=ids.type))
    offsets = ids.offsets.to_numpy().astype(np.int64)
    values = ids.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    return offsets - offsets[0], values.to_numpy(zero_copy_only=False).astype(np.int32)


def _set_bytes(offsets: np.ndarray, values: np.ndarray, row: int) -> bytes:
    return values[offsets[row] : offsets[row + 1]].astype("<i4").tobytes()


def _resolve_runs(
    order: np.ndarray, hashes: np.ndarray, uids: pa.Array, offsets: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Within each run of equal ``uid_hash`` (rare: duplicate rows, or two uids whose hashes
    collide): group by uid, drop exact duplicates (same uid and match set), and flag a uid whose
    rows have different match sets as ambiguous. Returns the new order, the flags and, for
    every dropped row, the row it duplicates."""
    h = hashes[order]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    ends = np.r_[starts[1:], len(order)]
    runs = np.flatnonzero(ends - starts > 1)
    keep = np.ones(len(order), bool)
    ambiguous = np.zeros(len(order), bool)
    same_as: dict[int, int] = {}  # a dropped duplicate row -> the row kept for it
    for r in runs:
        lo, hi = int(starts[r]), int(ends[r])
        rows = [int(x) for x in order[lo:hi]]
        rows.sort(key=lambda x: uids[x].as_py())  # stable: input order within one uid
        by_uid: dict[str, list[int]] = {}
        for x in rows:
            by_uid.setdefault(uids[x].as_py(), []).append(x)
        new, flags = [], []
        for group in by_uid.values():
            first: dict[bytes, int] = {}
            for x in group:
                key = _set_bytes(offsets, values, x)
                if key in first:
                    same_as[x] = first[key]
                else:
                    first[key] = x
            new.extend(first.values())
            flags.extend([len(first) > 1] * len(first))
        order[lo : lo + len(new)] = new
        keep[lo + len(new) : hi] = False
        ambiguous[lo : lo + len(new)] = flags
    return order[keep], ambiguous[keep], same_as


def build_uid_index(workdir: str | Path, dest: str | Path | None = None) -> Path:
    """Build the index of a work directory's side-cars (atomically) and return its folder.

    Memory while building: the side-cars' uid, uid_hash and entry_ids columns plus their sort
    order (tens of bytes per pool row); the index is written once and only memory-mapped
    afterwards.
    """
    dest = Path(dest) if dest is not None else default_index_dir(workdir)
    if (dest / "index.json").exists():
        return dest
    paths = sidecar_paths(workdir)
    hashes, uids, ids = _read_sidecars(paths)
    offsets, values = _flat(ids)
    order = np.argsort(hashes, kind="stable")
    order, ambiguous, same_as = _resolve_runs(order, hashes, uids, offsets, values)
    row_to_index = np.empty(len(hashes), np.int64)  # side-car row (all files, in order) -> row
    row_to_index[order] = np.arange(len(order))
    for dropped, kept in same_as.items():
        row_to_index[dropped] = row_to_index[kept]
    h = hashes[order]
    lengths = np.diff(offsets)[order]
    new_offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    flat = values[gather_index(offsets[:-1][order], lengths)].astype(np.int32)
    uid_sorted = uids.take(pa.array(order)).cast(pa.large_binary())
    arrays = {
        "uid_hash": h,
        "offsets": new_offsets,
        "entry_ids": flat,
        "uid_offsets": _buffer_offsets(uid_sorted),
        "uid_data": _buffer_data(uid_sorted),
        "ambiguous": ambiguous,
        "row_to_index": row_to_index,
        "file_rows": np.array([pq.read_metadata(p).num_rows for p in paths], np.int64),
    }
    _save(dest, arrays, {"rows": len(hashes), "distinct": len(order)})
    return dest


def _buffer_offsets(arr: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
    return (offsets - offsets[0]).astype(np.int64)


def _buffer_data(arr: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return raw[offsets[0] : offsets[-1]].copy()


def _save(dest: Path, arrays: dict[str, np.ndarray], info: dict) -> None:
    """Write the index folder under a temporary name and rename it into place."""
    if (dest / "index.json").exists():  # another process finished first: same content
        return
    shutil.rmtree(dest, ignore_errors=True)  # a half-written folder (no index.json)
    try:
        with atomic_path(dest) as tmp:
            tmp.mkdir()
            for name, arr in arrays.items():
                np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
            meta = {"format": INDEX_FORMAT, "version": INDEX_VERSION, **info}
            (tmp / "index.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    except OSError:
        if not (dest / "index.json").exists():
            raise  # not a race lost to another process that wrote the same index


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def uid_hash_one(uid: str, scratch: np.ndarray | None = None, native: bool | None = None) -> int:
    """``uid_hash`` of one uid as a Python int (:func:`metacurate.pool.uid.uid_hash` for a
    single string, without building Arrow arrays; the tests hold both equal). FNV-1a runs in
    the native kernel when it is built (``scratch``: a reusable 1-element uint64 array;
    ``native``: whether to use the kernel, decided once by the caller, default: ask)."""
    data = uid.encode("utf-8")
    if native_available() if native is None else native:
        state = scratch if scratch is not None else np.empty(1, np.uint64)
        state[0] = FNV_BASIS
        fnv1a_bytes(data, state)
        return _fmix64(int(state[0]))
    h = FNV_BASIS
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & _M64
    return _fmix64(h)


class UidIndex:
    """The memory-mapped index of :func:`build_uid_index`: uid → row of the index, and the
    row's match set."""

    def __init__(self, directory: str | Path) -> None:
        d = Path(directory)
        info_path = d / "index.json"
        if not info_path.exists():
            raise MetacurateError(f"{d}: no uid index here; build it with build_uid_index()")
        info = json.loads(info_path.read_text())
        if info.get("format") != INDEX_FORMAT or info.get("version") != INDEX_VERSION:
            raise MetacurateError(
                f"{d}: uid index format {info.get('format')} v{info.get('version')}, expected "
                f"{INDEX_FORMAT} v{INDEX_VERSION}; delete the folder to rebuild it"
            )
        self.directory = d
        self.rows = int(info["rows"])
        a = {  # plain ndarray views of the maps: indexing a np.memmap is several times slower
            n: np.asarray(np.load(d / f"{n}.npy", mmap_mode="r", allow_pickle=False))
            for n in _ARRAYS
        }
        self.uid_hash, self._offsets, self._ids = a["uid_hash"], a["offsets"], a["entry_ids"]
        self._uid_offsets, self._uid_data = a["uid_offsets"], a["uid_data"]
        self._ambiguous = a["ambiguous"]
        self.row_to_index = a["row_to_index"]  # every side-car row, in stats.json order
        self.file_rows = a["file_rows"]  # rows per side-car file
        # memoryviews for the one-sample path: indexing them yields Python ints, no numpy
        # scalars (a few times faster than ndarray indexing for a single lookup)
        self._mv_hash = memoryview(self.uid_hash) if len(self.uid_hash) else memoryview(b"")
        self._mv_uid_off = memoryview(self._uid_offsets)
        self._mv_uid_data = memoryview(self._uid_data) if len(self._uid_data) else memoryview(b"")
        self._scratch = np.empty(1, np.uint64)  # for the native hash of one uid
        self._native = native_available()  # asked once: it reads the environment
        self._mv_ambiguous = memoryview(self._ambiguous) if len(self._ambiguous) else None

    def __len__(self) -> int:
        return len(self.uid_hash)

    def set_sizes(self) -> np.ndarray:
        """Number of matched entries of every index row."""
        return np.diff(self._offsets)

    def _uid_bytes(self, i: int) -> bytes:
        return self._mv_uid_data[self._mv_uid_off[i] : self._mv_uid_off[i + 1]].tobytes()

    def _ambiguity(self, uid: str) -> MetacurateError:
        return MetacurateError(
            f"uid {uid!r} is several pool rows with different captions (match sets); the uid "
            "alone cannot say which one a sample is: give the pool a unique uid column, or use "
            "matches='caption'"
        )

    def position(self, uid: str) -> int:
        """The index row of one uid, -1 when it is not a pool row."""
        want = uid.encode("utf-8")
        h = uid_hash_one(uid, self._scratch, self._native)
        table = self._mv_hash
        j, n = bisect.bisect_left(table, h), len(table)
        while j < n and table[j] == h:  # one step, or a few on a hash collision
            if self._uid_bytes(j) == want:
                if self._mv_ambiguous[j]:
                    raise self._ambiguity(uid)
                return j
            j += 1
        return -1

    def positions(self, uids: list[str]) -> np.ndarray:
        """Index row of every uid, -1 when it is not a pool row. Every hash hit is confirmed by
        comparing the uid strings (vectorised), so a 64-bit collision never confuses two uids."""
        n = len(self.uid_hash)
        out = np.full(len(uids), -1, np.int64)
        if n == 0 or not uids:
            return out
        want = pa.array(uids, pa.large_binary())
        hashes = uid_hash(want)
        pos = np.minimum(np.searchsorted(self.uid_hash, hashes), n - 1)
        hit = self.uid_hash[pos] == hashes
        lo, hi = self._uid_offsets[pos], self._uid_offsets[pos + 1]
        same = hit & (hi - lo == pc.binary_length(want).to_numpy(zero_copy_only=False))
        idx = np.flatnonzero(same)
        if idx.size:
            lengths = (hi - lo)[idx]
            got = self._uid_data[gather_index(lo[idx], lengths)]
            bad = np.flatnonzero(got != _buffer_data(want.take(pa.array(idx))))
            if bad.size:
                same[idx[np.searchsorted(np.cumsum(lengths), bad, side="right")]] = False
        out[same] = pos[same]
        for i in np.flatnonzero(hit & ~same):  # rare: a hash collision, look at the next rows
            out[i] = self.position(uids[i])
        found = out >= 0
        if found.any() and self._ambiguous[out[found]].any():
            raise self._ambiguity(uids[int(np.flatnonzero(found)[self._ambiguous[out[found]]][0])])
        return out

    def entry_ids(self, positions: np.ndarray) -> pa.ListArray:
        """Match sets of index rows (``[]`` for -1)."""
        positions = np.asarray(positions, np.int64)
        known = positions >= 0
        p = positions[known]
        lengths = np.zeros(len(positions), np.int64)
        lengths[known] = self._offsets[p + 1] - self._offsets[p]
        offsets = np.zeros(len(positions) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = np.zeros(len(positions), np.int64)
        starts[known] = self._offsets[p]
        flat = gather_index(starts, lengths)
        return pa.ListArray.from_arrays(
            pa.array(offsets.astype(np.int32)), pa.array(np.asarray(self._ids[flat], np.int32))
        )

    def chunks(self, rows: int = 1 << 20) -> Iterator[tuple[np.ndarray, pa.ListArray]]:
        """``(uid_hash, entry_ids)`` of every index row, ``rows`` at a time (bounded memory)."""
        for start in range(0, len(self), rows):
            stop = min(start + rows, len(self))
            off = np.asarray(self._offsets[start : stop + 1], np.int64)
            values = np.asarray(self._ids[off[0] : off[-1]], np.int32)
            entry_ids = pa.LargeListArray.from_arrays(pa.array(off - off[0]), pa.array(values))
            yield np.asarray(self.uid_hash[start:stop]), entry_ids
