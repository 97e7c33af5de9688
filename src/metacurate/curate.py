"""The balance stage over a work directory, and ``curate`` = match + count + balance.

Balancing reads only side-cars and counts (never re-matches), decides each row with the
keyed-hash rule of ``balance.py``, and writes the kept rows with every original column plus
``entry_ids`` and ``keep_prob``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from metacurate import balance
from metacurate._version import __version__
from metacurate.count import add_sparse
from metacurate.engine import Engine, engine_for
from metacurate.engine.tasks import BalanceSpec, BalanceTask, balance_task, fingerprint
from metacurate.errors import MetacurateError
from metacurate.metadata import Metadata
from metacurate.pipeline import MatchConfig, match_pool
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.pool.uid import UID_VERSION, fmix64, uid_hash
from metacurate.report import write_report
from metacurate.workdir import (
    FORMAT_VERSION,
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
    image_column: str | None = None
    workers: int = 1
    engine: str = "local"
    ray_address: str | None = None
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
    cfg: BalanceConfig, wd: Workdir, stats: dict, counts: np.ndarray, out: Workdir
) -> tuple[float, dict]:
    """The threshold ``t`` from the flag the user gave, and how it was chosen."""
    if cfg.t is not None:
        return float(cfg.t), {"t_from": "t"}
    if cfg.tail_share is not None:
        return balance.t_for_tail_share(counts, cfg.tail_share), {"t_from": "tail_share"}
    thresholds = []
    for i in stats["inputs"]:
        if i["error"] is not None:
            continue
        tab = _sidecar(wd, i["task_id"])
        tau = balance.row_threshold(
            tab.column("entry_ids"), tab.column("uid_hash").to_numpy(), counts, cfg.seed
        )
        select = out.balance / f"{i['task_id']}.select.parquet"
        if select.exists():
            tau[~pq.read_table(select).column("selected").to_numpy()] = np.inf
        thresholds.append(tau)
    t, size = balance.t_for_target_size(thresholds, cfg.target_size)
    return t, {"t_from": "target_size", "target_size": cfg.target_size, "target_realised": size}


_PICK_TAG = 0x7069636B2D746578  # "pick-tex": domain tag of the per-image text choice


def select_one_text_per_image(
    wd: Workdir, out: Workdir, inputs: list[dict], seed: int, image_column: str, read: ReadOptions
) -> None:
    """Several texts per image (Meta CLIP 2): per image, the one matched text with the smallest
    ``fmix64(uid_hash ^ text_hash ^ key(seed))`` is the only one the keep rule applies to.

    Writes ``OUT/balance/<task>.select.parquet`` (one bool per row). Needs 32 bytes per matched
    row in memory (the choice is global across files); exact duplicates (same uid, text and
    image) tie, and the first in input order wins.
    """
    key = np.uint64(fmix64(np.array([seed ^ _PICK_TAG], dtype=np.uint64))[0])
    images, scores, files, rows, lengths = [], [], [], [], []
    for f, inp in enumerate(inputs):
        side = pq.read_table(wd.sidecar(inp["task_id"]), columns=["uid_hash", "entry_ids"])
        columns = read_json(wd.done(inp["task_id"])).get("columns")  # None: an empty file
        image_hash, text_hash = [], []
        batches = (
            read_batches(Source.from_dict(inp), read, columns=[image_column, columns["text"]])
            if columns
            else ()
        )
        for batch in batches:
            image_hash.append(uid_hash(batch.column(0)))
            text_hash.append(uid_hash(batch.column(1)))
        n = side.num_rows
        matched = np.flatnonzero(pc.list_value_length(side.column("entry_ids")).to_numpy() > 0)
        if image_hash:
            img = np.concatenate(image_hash)
            txt = np.concatenate(text_hash)
        else:
            img = txt = np.zeros(0, np.uint64)
        uh = side.column("uid_hash").to_numpy()
        images.append(img[matched])
        scores.append(fmix64(uh[matched] ^ txt[matched] ^ key))
        files.append(np.full(len(matched), f, dtype=np.int64))
        rows.append(matched)
        lengths.append(n)
    if not images:
        return
    img, score, file, row = (np.concatenate(x) for x in (images, scores, files, rows))
    order = np.lexsort((row, file, score, img))  # by image, then score, then input order
    first = np.ones(len(order), bool)
    first[1:] = img[order][1:] != img[order][:-1]
    chosen = order[first]
    for f, inp in enumerate(inputs):
        mask = np.zeros(lengths[f], bool)
        mask[row[chosen][file[chosen] == f]] = True
        write_parquet(
            out.balance / f"{inp['task_id']}.select.parquet",
            pa.table({"selected": pa.array(mask)}),
            {},
        )


def balance_workdir(cfg: BalanceConfig, engine: Engine | None = None) -> dict:
    """Apply the balancing rule to a matched work directory; write the curated set to OUT.

    One task per input file (run by the engine, resumable: a finished task with the same
    ``t``, seed and side-car is kept); the driver then sums the tasks' records.
    """
    cfg.check()
    started = time.perf_counter()
    wd = Workdir(cfg.workdir)
    out = Workdir(cfg.out)
    out.remove_temporaries()
    stats, counts_table = _load_run(wd)
    counts = counts_table.column("count").to_numpy()
    md = stats["metadata"]
    mc = stats["match_config"]
    inputs = [i for i in stats["inputs"] if i["error"] is None]
    out.balance.mkdir(parents=True, exist_ok=True)
    if cfg.image_column:
        select_one_text_per_image(wd, out, inputs, cfg.seed, cfg.image_column, _read_options(mc))
    else:
        for old in out.balance.glob("*.select.parquet"):
            old.unlink()
    t, how = choose_t(cfg, wd, stats, counts, out)
    spec = BalanceSpec(
        workdir=str(wd.root),
        out=str(out.root),
        t=t,
        seed=cfg.seed,
        metadata_hash=md["hash"],
        mode=stats["mode"],
        image_column=cfg.image_column,
        read=_read_options(mc),
    )
    tasks = [
        BalanceTask(i["task_id"], Source.from_dict(i), _record_digest(wd, i["task_id"]))
        for i in inputs
    ]
    out.curated.mkdir(parents=True, exist_ok=True)
    current = {task.task_id for task in tasks if _balance_is_current(out, task, spec)}
    for old in out.curated.glob("*.parquet"):  # stale files of other settings or inputs
        if old.stem not in current:
            old.unlink()
    todo = [task for task in tasks if task.task_id not in current]
    show = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    with (
        tqdm(total=len(todo), desc="balance", unit="file", disable=not show) as bar,
        engine_for(engine, cfg.engine, cfg.workers, cfg.ray_address) as eng,
    ):
        for _ in eng.map(partial(balance_task, spec=spec), todo):
            bar.update(1)
    records = [read_json(out.balance / f"{task.task_id}.done.json") for task in tasks]
    kept_counts = add_sparse(
        np.zeros(len(counts), dtype=np.int64),
        (pq.read_table(out.balance / f"{task.task_id}.counts.parquet") for task in tasks),
    )
    curated_files = [out.curated_file(task.task_id) for task in tasks]
    wrote_uids = _write_datacomp_uids(out.root / "uids.npy", curated_files)
    p = balance.entry_probs(counts, t)
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
        artifact_metadata(md["hash"], stats["mode"], t=repr(t), seed=str(cfg.seed)),
    )
    manifest = {
        "format_version": FORMAT_VERSION,
        "metacurate_version": __version__,
        "hash_version": balance.HASH_VERSION,
        "uid_version": UID_VERSION,
        "command": cfg.command,
        "workdir": str(wd.root),
        "metadata": md,
        "mode": stats["mode"],
        "t": t,
        **how,
        "seed": cfg.seed,
        "image_column": cfg.image_column,
        "tail_share": balance.tail_share(counts, t),
        "pool_rows": stats["rows"],
        "pool_rows_matched": stats["rows_matched"],
        "curated_rows": sum(r["curated_rows"] for r in records),
        "expected_rows": math.fsum(r["expected_rows"] for r in records),
        "sum_min_count_t": balance.sum_min_count_t(counts, t),
        "expected_note": balance.EXPECTED_SIZE_NOTE,
        "uids_npy": wrote_uids,
        "inputs": [
            {
                "path": i["path"],
                "format": i["format"],
                "row_groups": i.get("row_groups"),
                "fingerprint": i["fingerprint"],
                "rows": i["rows"],
                "curated": f"curated/{i['task_id']}.parquet" if f.exists() else None,
            }
            for i, f in zip(inputs, curated_files, strict=True)
        ],
        "skipped_inputs": [i for i in stats["inputs"] if i["error"] is not None],
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json(out.root / "manifest.json", manifest)  # last: the run is complete
    return manifest


def _read_options(match_config: dict) -> ReadOptions:
    """The reader settings the match stage used (columns of a headerless CSV, batch size)."""
    csv_columns = match_config.get("csv_columns")
    return ReadOptions(
        csv_columns=tuple(csv_columns) if csv_columns else None,
        batch_rows=match_config.get("batch_rows", ReadOptions.batch_rows),
    )


def _record_digest(wd: Workdir, task_id: str) -> str:
    """Identity of a match task's result: its completion record without the timing."""
    record = {k: v for k, v in read_json(wd.done(task_id)).items() if k != "seconds"}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _balance_is_current(out: Workdir, task: BalanceTask, spec: BalanceSpec) -> bool:
    rec = out.balance / f"{task.task_id}.done.json"
    if not rec.exists():
        return False
    r = read_json(rec)
    return r.get("config") == spec.config() and r.get("sidecar_record") == task.sidecar_record


def _datacomp_halves(uids: pa.Array) -> np.ndarray | None:
    """The uids as (n, 2) uint64 halves when every one is 32 hex digits, else None."""
    uids = uids.cast(pa.string())
    if isinstance(uids, pa.ChunkedArray):
        uids = uids.combine_chunks()
    if len(uids) == 0:
        return np.zeros((0, 2), np.uint64)
    if pc.min_max(pc.binary_length(uids)).as_py() != {"min": 32, "max": 32}:
        return None
    lower = pc.utf8_lower(uids)
    raw = np.frombuffer(lower.buffers()[2], dtype=np.uint8)[: 32 * len(uids)]
    digit = (raw >= ord("0")) & (raw <= ord("9"))
    if not (digit | ((raw >= ord("a")) & (raw <= ord("f")))).all():
        return None
    nib = np.where(digit, raw - ord("0"), raw - ord("a") + 10).astype(np.uint64)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    return (nib.reshape(-1, 2, 16) << shifts).sum(axis=2, dtype=np.uint64)


def _write_datacomp_uids(path: Path, curated_files: list[Path]) -> bool:
    """``uids.npy`` in DataComp's subset format (a sorted array of two uint64 per uid) when
    every kept uid is 32 hex digits. Holds 16 bytes per kept row in memory, since the array is
    sorted as a whole; stops reading at the first file that is not DataComp-like."""
    parts = []
    for f in curated_files:
        if not f.exists():
            continue
        halves = _datacomp_halves(pq.read_table(f, columns=["uid"]).column(0))
        if halves is None:
            path.unlink(missing_ok=True)
            return False
        parts.append(halves)
    if not parts or sum(len(h) for h in parts) == 0:
        path.unlink(missing_ok=True)
        return False
    halves = np.concatenate(parts)
    arr = np.empty(len(halves), dtype=np.dtype("u8,u8"))
    arr["f0"], arr["f1"] = halves[:, 0], halves[:, 1]
    arr.sort()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)
    os.replace(tmp, path)
    return True


def run_curate(
    match: MatchConfig, metadata: Metadata | None = None, report: bool = True, **balance_args
) -> dict:
    """Match (reusing finished side-cars in ``match.out``), count and balance into the same
    folder, then write ``report.html``; returns the manifest, with the match stats under
    ``"match"``."""
    cfg = BalanceConfig(
        workdir=match.out,
        out=match.out,
        progress=match.progress,
        workers=match.workers,
        engine=match.engine,
        ray_address=match.ray_address,
        **balance_args,
    )
    cfg.check()
    with engine_for(None, match.engine, match.workers, match.ray_address) as engine:
        stats = match_pool(match, metadata, engine)
        manifest = balance_workdir(cfg, engine)
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
    image_column: str | None = None,
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
