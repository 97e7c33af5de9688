"""The balance stage over a matched work folder: choose ``t``, compute ``p_e`` once, run one
balance task per input file on the engine (finished ones with the same settings are kept),
then sum the tasks' records into the curated counts, ``uids.npy`` and the manifest."""

from __future__ import annotations

import hashlib
import json
import time
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.balance.choose_t import choose
from metacurate.balance.downloads import download_fields
from metacurate.balance.keyed_hash import HASH_VERSION
from metacurate.balance.rule import EXPECTED_SIZE_NOTE, entry_probs, sum_min_count_t
from metacurate.balance.select import choose_one_per_image, pick_scores
from metacurate.balance.task import BalanceSpec, BalanceTask, balance_task
from metacurate.balance.threshold import row_threshold, tail_share
from metacurate.config import BalanceConfig, ConfigError, RunConfig
from metacurate.count import add_sparse
from metacurate.dedup import unique_mask, unique_record
from metacurate.download.available import Availability, availability
from metacurate.download.plan import plan_download
from metacurate.engine import Engine
from metacurate.errors import MetacurateError
from metacurate.files import read_json, read_parquet, write_json, write_parquet
from metacurate.guard import check_out_apart
from metacurate.outputs.manifest import build_manifest
from metacurate.outputs.uids import write_datacomp_uids
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source, fingerprint
from metacurate.pool.uid import uid_hash
from metacurate.progress import progress_bar
from metacurate.records import outputs_intact, read_record
from metacurate.storage import AnyPath, portable, read_schema
from metacurate.workdir import Workdir, artifact_metadata


def load_match_run(wd: Workdir, endpoint: str | None = None) -> tuple[dict, pa.Table]:
    """The match stats and entry counts of a work folder, checked against each other and
    against the inputs (changed since matched: an error)."""
    if not wd.stats.exists():
        raise MetacurateError(
            f"{wd.root}: no stats.json; run 'metacurate match POOL --out {wd.root}' first"
        )
    stats = read_json(wd.stats)
    counts_table = read_parquet(wd.entry_counts)
    kv = counts_table.schema.metadata or {}
    if kv.get(b"metacurate.metadata_hash", b"").decode() != stats["metadata"]["hash"]:
        raise MetacurateError(f"{wd.entry_counts} does not belong to {wd.stats}; rerun match")
    for inp in stats["inputs"]:
        if inp["error"] is None and fingerprint(inp["path"], endpoint) != inp["fingerprint"]:
            raise MetacurateError(
                f"{inp['path']} changed since it was matched; rerun 'metacurate match'"
            )
    return stats, counts_table


def check_before_writing(config: RunConfig) -> None:
    """What can be refused before any output folder is made: a work folder that was never
    matched, an output folder that holds the inputs (the next run would read its curated
    files back as pool rows)."""
    endpoint = config.engine.s3_endpoint
    wd = Workdir(config.workdir, endpoint)
    if not wd.stats.exists():
        raise MetacurateError(
            f"{wd.root}: no stats.json; run 'metacurate match POOL --out {wd.root}' first"
        )
    inputs = [i for i in read_json(wd.stats)["inputs"] if i["error"] is None]
    check_out_apart((), [Source.from_dict(i) for i in inputs], str(config.out), endpoint)


def read_options(match_config: dict, endpoint: str | None = None) -> ReadOptions:
    """The reader settings the match stage used (columns of a headerless CSV, batch size),
    and where the pool's store is (``endpoint``)."""
    csv_columns = match_config.get("csv_columns")
    return ReadOptions(
        csv_columns=tuple(csv_columns) if csv_columns else None,
        batch_rows=match_config.get("batch_rows", ReadOptions.batch_rows),
        s3_endpoint=endpoint,
    )


def _thresholds(cfg: BalanceConfig, wd: Workdir, out: Workdir, inputs: list[dict], counts):
    """The per-row thresholds of the pool (rows left out by a selection: never kept)."""
    thresholds = []
    for i in inputs:
        tab = read_parquet(wd.sidecar(i["task_id"]), columns=["uid_hash", "entry_ids"])
        tau = row_threshold(
            tab.column("entry_ids"), tab.column("uid_hash").to_numpy(), counts, cfg.seed, cfg.epoch
        )
        select = out.selection(i["task_id"])
        if select.exists():
            tau[~read_parquet(select).column("selected").to_numpy()] = np.inf
        thresholds.append(tau)
    return thresholds


def _image_and_text_hashes(
    wd: Workdir, inp: dict, image_column: str, read: ReadOptions
) -> tuple[np.ndarray, np.ndarray]:
    columns = read_json(wd.done(inp["task_id"])).get("columns")  # None: an empty file
    if not columns:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    image, text = [], []
    src = Source.from_dict(inp)
    for batch in read_batches(src, read, columns=[image_column, columns["text"]]):
        image.append(uid_hash(batch.column(0)))
        text.append(uid_hash(batch.column(1)))
    if not image:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    return np.concatenate(image), np.concatenate(text)


def select_texts(
    wd: Workdir,
    out: Workdir,
    inputs: list[dict],
    cfg: BalanceConfig,
    read: ReadOptions,
    available: list[np.ndarray] | None = None,
) -> None:
    """Write ``OUT/balance/<task>.select.parquet``: per image, the one matched text that goes
    through the keep rule (``balance.select``), among the ``available`` rows when given. Holds
    32 bytes per matched row in memory (the choice is global across files)."""
    images, scores, files, rows, lengths = [], [], [], [], []
    for f, inp in enumerate(inputs):
        side = read_parquet(wd.sidecar(inp["task_id"]), columns=["uid_hash", "entry_ids"])
        img, txt = _image_and_text_hashes(wd, inp, cfg.image_column, read)
        matched = pc.list_value_length(side.column("entry_ids")).to_numpy() > 0
        if available is not None:
            matched &= available[f]
        matched = np.flatnonzero(matched)
        uh = side.column("uid_hash").to_numpy()
        images.append(img[matched])
        scores.append(pick_scores(uh[matched], txt[matched], cfg.seed, cfg.epoch))
        files.append(np.full(len(matched), f, dtype=np.int64))
        rows.append(matched)
        lengths.append(side.num_rows)
    if not images:
        return
    img, score, file, row = (np.concatenate(x) for x in (images, scores, files, rows))
    chosen = choose_one_per_image(img, score, file, row)
    for f, inp in enumerate(inputs):
        mask = np.zeros(lengths[f], bool)
        mask[row[chosen][file[chosen] == f]] = True
        write_parquet(out.selection(inp["task_id"]), pa.table({"selected": pa.array(mask)}), {})


def _select(
    wd: Workdir,
    out: Workdir,
    inputs: list[dict],
    cfg: BalanceConfig,
    read: ReadOptions,
    n_entries: int,
    dedup: bool = False,
) -> Availability | None:
    """Write the selection side-cars (rows that compete: the first copy of each uid with
    ``dedup``, downloaded ones with ``available``, one text per image with ``image_column``);
    the availability, when asked for."""
    unique = (lambda inp: unique_mask(wd, inp["task_id"])) if dedup else None
    avail = (
        availability(wd, inputs, cfg.available, read, n_entries, unique) if cfg.available else None
    )
    masks = avail.masks if avail else None
    if cfg.image_column:
        if masks is None and unique is not None:
            masks = [unique(inp) for inp in inputs]
        select_texts(wd, out, inputs, cfg, read, masks)
        return avail
    for i, inp in enumerate(inputs):
        if masks is None and unique is None:
            break
        mask = masks[i] if masks is not None else unique(inp)  # type: ignore[misc]
        write_parquet(out.selection(inp["task_id"]), pa.table({"selected": pa.array(mask)}), {})
    return avail


def _record_digest(wd: Workdir, task_id: str) -> str:
    """Identity of a match task's result: its completion record without the timing."""
    record = {k: v for k, v in read_json(wd.done(task_id)).items() if k != "seconds"}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _sidecar_digest(wd: Workdir, task_id: str, dedup: dict | None) -> str:
    """What a balance task's rows depend on: the match task's record, and with dedup the
    task's unique mask (another file's copy of a uid may win after files are added)."""
    if dedup is None:
        return _record_digest(wd, task_id)
    mask = unique_record(wd, task_id)["unique_sha256"]
    return hashlib.sha256(f"{_record_digest(wd, task_id)}:{mask}".encode()).hexdigest()[:16]


def _written_here(out: Workdir, path: AnyPath) -> bool:
    """True for a curated file a balance task wrote (its record, or its self-describing
    footer); a user's own file in ``curated/`` is never deleted."""
    if out.balance_done(path.stem).exists():
        return True
    try:
        kv = read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return b"metacurate.format_version" in kv and b"metacurate.t" in kv


def _is_current(out: Workdir, task: BalanceTask, spec: BalanceSpec) -> bool:
    """A record of the same settings and side-car whose outputs are there as recorded
    (records.py); a damaged record is none."""
    r = read_record(out.balance_done(task.task_id))
    if r is None or r.get("config") != spec.config():
        return False
    return r.get("sidecar_record") == task.sidecar_record and outputs_intact(out.root, r)


def choose_p(
    cfg: BalanceConfig, wd: Workdir, out: Workdir, inputs: list[dict], counts, stats: dict
) -> tuple[float, dict, np.ndarray]:
    """``t``, how it was chosen, and ``p_e`` of every entry (:func:`choose_t.choose`): one
    ``t`` (metaclip1), or one per language (metaclip2 modes); inflated for a download plan."""
    worldwide = stats.get("worldwide")
    if worldwide is not None and cfg.success_rate is not None:
        raise ConfigError(
            "success_rate",
            "download planning is not available in metaclip2 modes yet; balance with "
            "--t (English's t) and re-balance the downloaded rows with --available",
        )
    choice = choose(
        counts,
        t=cfg.t,
        tail_share=cfg.tail_share,
        target_size=cfg.target_size,
        thresholds=lambda: _thresholds(cfg, wd, out, inputs, counts),
        allow_t_below_1=cfg.allow_t_below_1,
        layout=worldwide,
        lang_rows=stats.get("languages"),
        t_lang=cfg.t_lang,
        t_rule=cfg.t_rule,
    )
    t, how, p = choice.t, choice.how, choice.p
    if cfg.success_rate is not None:  # before a download: inflate t for the losses
        how = {**how, "download_plan": plan_download(t, cfg.success_rate)}
        t = how["download_plan"]["t_download"]
        p = entry_probs(counts, t)
    return t, how, p


def _run_tasks(
    out: Workdir,
    tasks: list[BalanceTask],
    spec: BalanceSpec,
    engine: Engine,
    progress,
    force: bool = False,
) -> None:
    """Run the balance tasks not already current (all of them with ``force``); drop curated
    files of other settings."""
    out.curated.mkdir(parents=True, exist_ok=True)
    current = set() if force else {t.task_id for t in tasks if _is_current(out, t, spec)}
    for old in out.curated.glob("*.parquet"):  # stale files of other settings or inputs
        if old.stem not in current and _written_here(out, old):
            old.unlink()
    todo = [task for task in tasks if task.task_id not in current]
    with progress_bar(len(todo), "balance", "file", progress) as bar:
        for _ in engine.map(partial(balance_task, spec=spec), todo):
            bar.update(1)


def run_balance(config: RunConfig, engine: Engine, match_stats: dict | None = None) -> dict:
    """Balance ``config.workdir`` into ``config.out``; returns the manifest, written once and
    last (``match_stats``: ``curate``'s match stage, recorded under ``"match"``)."""
    cfg = config.balance
    if cfg is None:
        raise MetacurateError("balancing needs one of t, target_size, tail_share")
    cfg.check()
    started = time.perf_counter()
    endpoint = config.engine.s3_endpoint
    wd, out = Workdir(config.workdir, endpoint), Workdir(config.out, endpoint)
    out.remove_temporaries()
    stats, counts_table = load_match_run(wd, endpoint)
    out.retire_balance()  # this run may not finish: the folder must not look finished
    counts = counts_table.column("count").to_numpy()
    inputs = [i for i in stats["inputs"] if i["error"] is None]
    check_out_apart((), [Source.from_dict(i) for i in inputs], str(config.out), endpoint)
    read = read_options(stats["match_config"], endpoint)
    out.balance.mkdir(parents=True, exist_ok=True)
    for old in out.balance.glob("*.select.parquet"):
        old.unlink()
    dedup = stats.get("dedup")
    avail = _select(wd, out, inputs, cfg, read, len(counts), dedup is not None)
    if avail is not None:  # balance what was downloaded: counts over those rows only
        counts, counts_table = avail.counts, avail.counts_table(counts_table)
    worldwide = "worldwide" in stats
    t, how, p = choose_p(cfg, wd, out, inputs, counts, stats)
    spec = BalanceSpec(
        worldwide=worldwide,
        workdir=portable(wd.root),
        out=portable(out.root),
        t=t,
        p=p,
        seed=cfg.seed,
        metadata_hash=stats["metadata"]["hash"],
        mode=stats["mode"],
        epoch=cfg.epoch,
        image_column=cfg.image_column,
        read=read,
        available=avail.digest() if avail is not None else None,
        dedup=dedup is not None,
    )
    tasks = [
        BalanceTask(i["task_id"], Source.from_dict(i), _sidecar_digest(wd, i["task_id"], dedup))
        for i in inputs
    ]
    _run_tasks(out, tasks, spec, engine, config.engine.progress, config.match.force)
    records, curated_files, wrote_uids = _merge_tasks(out, tasks, spec, counts_table)
    numbers = {
        "hash_version": HASH_VERSION,
        "tail_share": tail_share(counts, t),
        "sum_min_count_t": sum_min_count_t(counts, t),
        "expected_note": EXPECTED_SIZE_NOTE,
    }
    manifest = build_manifest(
        config, stats, counts, t, how, records, inputs, curated_files, wrote_uids, numbers
    )
    manifest.update(download_fields(avail, how.get("download_plan"), wd, out, len(counts)))
    manifest["engine"] = engine.describe()  # where the tasks ran (Ray: how many at once)
    manifest["seconds"] = round(time.perf_counter() - started, 3)
    if match_stats is not None:
        manifest["match"] = {k: v for k, v in match_stats.items() if k != "inputs"}
    write_json(out.manifest, manifest)  # last: the run is complete
    return manifest


def _merge_tasks(
    out: Workdir, tasks: list[BalanceTask], spec: BalanceSpec, counts_table: pa.Table
) -> tuple[list[dict], list, tuple[bool, int]]:
    """Sum the tasks' records into ``curated_entry_counts.parquet`` and ``uids.npy``."""
    counts = counts_table.column("count").to_numpy()
    records = [read_json(out.balance_done(task.task_id)) for task in tasks]
    kept_counts = add_sparse(
        np.zeros(len(counts), dtype=np.int64),
        (read_parquet(out.curated_partial_counts(task.task_id)) for task in tasks),
    )
    curated_files = [out.curated_file(task.task_id) for task in tasks]
    wrote_uids, duplicate_uids = write_datacomp_uids(out.uids, curated_files)
    kv_extra = {"t": repr(spec.t), "seed": str(spec.seed)}
    if spec.epoch is not None:
        kv_extra["epoch"] = str(spec.epoch)
    write_parquet(
        out.curated_counts,
        pa.table(
            {
                "entry_id": counts_table.column("entry_id"),
                "entry": counts_table.column("entry"),
                "count": pa.array(counts),
                "p": pa.array(spec.p),
                "count_curated": pa.array(kept_counts),
            }
        ),
        artifact_metadata(spec.metadata_hash, spec.mode, **kv_extra),
    )
    return records, curated_files, (wrote_uids, duplicate_uids)
