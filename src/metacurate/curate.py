"""The balance stage over a work directory, and ``curate`` = match + count + balance.

Balancing reads only side-cars and counts (never re-matches), decides each row with the
keyed-hash rule of ``balance.py``, and writes the kept rows with every original column plus
``entry_ids`` and ``keep_prob``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from metacurate import balance
from metacurate._version import __version__
from metacurate.count import count_entries
from metacurate.engine.tasks import fingerprint
from metacurate.errors import MetacurateError
from metacurate.metadata import Metadata
from metacurate.pipeline import MatchConfig, match_pool
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.pool.uid import UID_VERSION
from metacurate.report import write_report
from metacurate.workdir import (
    FORMAT_VERSION,
    ParquetSink,
    Workdir,
    artifact_metadata,
    read_json,
    write_json,
    write_parquet,
)


@dataclass(frozen=True)
class BalanceConfig:
    """``metacurate balance``: exactly one of ``t``, ``target_size``, ``tail_share``."""

    workdir: str
    out: str
    t: float | None = None
    target_size: int | None = None
    tail_share: float | None = None
    seed: int = 0
    progress: bool | None = None
    command: str | None = None

    def check(self) -> None:
        given = [x is not None for x in (self.t, self.target_size, self.tail_share)]
        if sum(given) != 1:
            raise MetacurateError("give exactly one of --t, --target-size, --tail-share")
        if self.t is not None and not self.t > 0:
            raise MetacurateError(f"--t must be > 0, got {self.t}")
        if self.seed < 0 or self.seed >= 2**64:
            raise MetacurateError(f"--seed must be in [0, 2**64), got {self.seed}")


def _sidecar(wd: Workdir, task_id: str) -> pa.Table:
    return pq.read_table(wd.sidecar(task_id), columns=["uid", "uid_hash", "entry_ids"])


def _load_run(wd: Workdir) -> tuple[dict, pa.Table]:
    if not wd.stats.exists():
        raise MetacurateError(
            f"{wd.root}: no stats.json; run 'metacurate match POOL --out {wd.root}' first"
        )
    stats = read_json(wd.stats)
    counts_table = pq.read_table(wd.entry_counts)
    kv = counts_table.schema.metadata or {}
    if kv.get(b"metacurate.metadata_hash", b"").decode() != stats["metadata"]["hash"]:
        raise MetacurateError(f"{wd.entry_counts} does not belong to {wd.stats}; rerun match")
    for inp in stats["inputs"]:
        if inp["error"] is None and fingerprint(inp["path"]) != inp["fingerprint"]:
            raise MetacurateError(
                f"{inp['path']} changed since it was matched; rerun 'metacurate match'"
            )
    return stats, counts_table


def choose_t(
    cfg: BalanceConfig, wd: Workdir, stats: dict, counts: np.ndarray
) -> tuple[float, dict]:
    """The threshold ``t`` from the flag the user gave, and how it was chosen."""
    if cfg.t is not None:
        return float(cfg.t), {"t_from": "t"}
    if cfg.tail_share is not None:
        return balance.t_for_tail_share(counts, cfg.tail_share), {"t_from": "tail_share"}
    thresholds = [
        balance.row_threshold(
            tab.column("entry_ids"), tab.column("uid_hash").to_numpy(), counts, cfg.seed
        )
        for tab in (_sidecar(wd, i["task_id"]) for i in stats["inputs"] if i["error"] is None)
    ]
    t, size = balance.t_for_target_size(thresholds, cfg.target_size)
    return t, {"t_from": "target_size", "target_size": cfg.target_size, "target_realised": size}


def balance_workdir(cfg: BalanceConfig) -> dict:
    """Apply the balancing rule to a matched work directory; write the curated set to OUT."""
    cfg.check()
    started = time.perf_counter()
    wd = Workdir(cfg.workdir)
    out = Workdir(cfg.out)
    stats, counts_table = _load_run(wd)
    counts = counts_table.column("count").to_numpy()
    n_entries = len(counts)
    md = stats["metadata"]
    mode = stats["mode"]
    t, how = choose_t(cfg, wd, stats, counts)
    p = balance.entry_probs(counts, t)
    mc = stats["match_config"]
    read = ReadOptions(csv_columns=tuple(mc["csv_columns"]) if mc["csv_columns"] else None)
    curated_dir = out.root / "curated"
    curated_dir.mkdir(parents=True, exist_ok=True)
    for old in curated_dir.glob("*.parquet"):
        old.unlink()
    kv = artifact_metadata(md["hash"], mode, t=repr(t), seed=str(cfg.seed))
    kept_counts = np.zeros(n_entries, dtype=np.int64)
    realised = 0
    expected = 0.0
    kept_uids: list[pa.Array] = []
    show = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    inputs = [i for i in stats["inputs"] if i["error"] is None]
    for inp in tqdm(inputs, desc="balance", unit="file", disable=not show):
        side = _sidecar(wd, inp["task_id"])
        ids = side.column("entry_ids")
        keep, prob = balance.decide(ids, side.column("uid_hash").to_numpy(), p, cfg.seed)
        expected += float(prob.sum())
        kept_rows = np.flatnonzero(keep)
        kept_ids = ids.take(pa.array(kept_rows)).combine_chunks()
        kept_uid = side.column("uid").take(pa.array(kept_rows)).combine_chunks()
        realised += len(kept_rows)
        kept_counts += count_entries(kept_ids, n_entries)
        kept_uids.append(kept_uid)
        _write_curated(
            Source(inp["path"], inp["format"]),
            read,
            curated_dir / f"{inp['task_id']}.parquet",
            keep,
            kept_ids,
            kept_uid,
            prob[kept_rows],
            kv,
        )
    all_uids = pa.concat_arrays(kept_uids) if kept_uids else pa.array([], pa.string())
    wrote_uids = _write_datacomp_uids(out.root / "uids.npy", all_uids)
    write_parquet(
        out.root / "curated_entry_counts.parquet",
        pa.table(
            {
                "entry_id": counts_table.column("entry_id"),
                "entry": counts_table.column("entry"),
                "count": pa.array(counts),
                "p": pa.array(p),
                "count_curated": pa.array(kept_counts),
            }
        ),
        kv,
    )
    manifest = {
        "format_version": FORMAT_VERSION,
        "metacurate_version": __version__,
        "hash_version": balance.HASH_VERSION,
        "uid_version": UID_VERSION,
        "command": cfg.command,
        "workdir": str(wd.root),
        "metadata": stats["metadata"],
        "mode": mode,
        "t": t,
        **how,
        "seed": cfg.seed,
        "tail_share": balance.tail_share(counts, t),
        "pool_rows": stats["rows"],
        "pool_rows_matched": stats["rows_matched"],
        "curated_rows": realised,
        "expected_rows": expected,
        "sum_min_count_t": balance.sum_min_count_t(counts, t),
        "expected_note": balance.EXPECTED_SIZE_NOTE,
        "uids_npy": wrote_uids,
        "inputs": [
            {
                "path": i["path"],
                "format": i["format"],
                "fingerprint": i["fingerprint"],
                "rows": i["rows"],
                "curated": f"curated/{i['task_id']}.parquet",
            }
            for i in inputs
        ],
        "skipped_inputs": [i for i in stats["inputs"] if i["error"] is not None],
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(out.root / "manifest.json", manifest)  # last: the run is complete
    return manifest


def _write_curated(
    source: Source,
    read: ReadOptions,
    path,
    keep: np.ndarray,
    kept_ids: pa.Array,
    kept_uid: pa.Array,
    kept_prob: np.ndarray,
    kv: dict[bytes, bytes],
) -> None:
    """Stream the source once and write its kept rows plus the balancing columns."""
    sink = None
    row0 = lo = 0
    for batch in read_batches(source, read):
        n = batch.num_rows
        if row0 + n > len(keep):
            raise MetacurateError(f"{source.path}: more rows than when matched; rerun match")
        mask = keep[row0 : row0 + n]
        hi = lo + int(np.count_nonzero(mask))
        table = pa.Table.from_batches([batch.filter(pa.array(mask))])
        if "uid" not in table.column_names:
            table = table.append_column("uid", kept_uid.slice(lo, hi - lo))
        table = table.append_column("entry_ids", kept_ids.slice(lo, hi - lo))
        table = table.append_column("keep_prob", pa.array(kept_prob[lo:hi]))
        if sink is None:  # keep the source's own schema metadata (pandas index...), add ours
            sink = ParquetSink(path, table.schema, {**(table.schema.metadata or {}), **kv})
        sink.write(table)
        row0, lo = row0 + n, hi
    if row0 != len(keep):
        raise MetacurateError(f"{source.path}: fewer rows than when matched; rerun match")
    if sink is not None:  # an empty input gets no curated file
        sink.commit()


def _write_datacomp_uids(path, uids: pa.Array) -> bool:
    """``uids.npy`` in DataComp's subset format when every uid is 32 hex digits."""
    if len(uids) == 0 or not pc.all(pc.match_substring_regex(uids, "^[0-9a-fA-F]{32}$")).as_py():
        path.unlink(missing_ok=True)
        return False
    raw = np.frombuffer(pc.utf8_lower(uids).cast(pa.binary()).buffers()[2], dtype=np.uint8)[
        uids.offset * 0 :
    ]
    nib = np.where(raw >= ord("a"), raw - ord("a") + 10, raw - ord("0")).astype(np.uint64)
    nib = nib[: 32 * len(uids)].reshape(-1, 2, 16)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    halves = (nib << shifts).sum(axis=2, dtype=np.uint64)
    arr = np.empty(len(uids), dtype=np.dtype("u8,u8"))
    arr["f0"], arr["f1"] = halves[:, 0], halves[:, 1]
    arr.sort()
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, arr, allow_pickle=False)
    tmp.replace(path)
    return True


def run_curate(
    match: MatchConfig, metadata: Metadata | None = None, report: bool = True, **balance_args
) -> dict:
    """Match (reusing finished side-cars in ``match.out``), count and balance into the same
    folder, then write ``report.html``; returns the manifest, with the match stats under
    ``"match"``."""
    stats = match_pool(match, metadata)
    cfg = BalanceConfig(workdir=match.out, out=match.out, progress=match.progress, **balance_args)
    manifest = balance_workdir(cfg)
    manifest["match"] = {k: v for k, v in stats.items() if k != "inputs"}
    write_json(Workdir(match.out).root / "manifest.json", manifest)
    if report:
        write_report(match.out)
    return manifest


def curate(
    pool: str | Sequence[str],
    out: str,
    *,
    metadata: str | Metadata | None = None,
    t: float | None = None,
    target_size: int | None = None,
    tail_share: float | None = None,
    seed: int = 0,
    **match_options,
) -> dict:
    """The main job, as ``metacurate curate``: match + count + balance ``pool`` into ``out``.

    ``metadata``: a path, a ``Metadata`` or None for the built-in default. ``match_options``
    are the other fields of :class:`MatchConfig` (``text_column``, ``workers``, ...).
    Returns the manifest.
    """
    paths = (pool,) if isinstance(pool, str) else tuple(pool)
    md = metadata if isinstance(metadata, Metadata) else None
    config = MatchConfig(
        pool=paths, out=str(out), metadata=None if md else metadata, **match_options
    )
    return run_curate(config, md, t=t, target_size=target_size, tail_share=tail_share, seed=seed)
