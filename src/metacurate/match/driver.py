"""The match stage over a pool: plan one task per input file (or row-group part), run the
unfinished ones on the engine, then sum their partial counts into ``entry_counts.parquet``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

from metacurate._version import __version__
from metacurate.config import RunConfig
from metacurate.count import add_sparse, entry_counts_table
from metacurate.count_lang import write_language_counts
from metacurate.dedup import DedupInput, remove_dedup, run_dedup
from metacurate.engine import Engine
from metacurate.errors import InputError, MetacurateError
from metacurate.files import read_json, read_parquet, write_bytes, write_json, write_parquet
from metacurate.guard import check_out_apart, dedupe_sources
from metacurate.kernel import implementation, native_available
from metacurate.match.ahead import Ahead
from metacurate.match.hints import unspaced_hint
from metacurate.match.index_cache import cache_root, host, identity, index_folder, verified_index
from metacurate.match.task import MatchSpec, MatchTask, empty_stats, match_task
from metacurate.match.worldwide_run import (
    build_indexes,
    combine,
    lid_scores,
    merge_lang_stats,
    pool_languages,
    split_metadata,
)
from metacurate.metadata import Metadata, load_metadata
from metacurate.metadata.layout import Layout
from metacurate.metadata.worldwide import WorldwideMetadata
from metacurate.pool.readers import ReadOptions
from metacurate.pool.sources import Source, expand_pool, fingerprint, split_large_files
from metacurate.progress import progress_bar
from metacurate.records import outputs_intact, read_record
from metacurate.storage import portable, read_table
from metacurate.workdir import FORMAT_VERSION, Workdir, artifact_metadata


def _prepare_workdir(wd: Workdir, metadata: Metadata, force: bool) -> None:
    """Write the run's metadata copy; refuse a workdir made with other metadata."""
    copy = metadata.canonical_bytes() + b"\n"
    same = False
    if wd.metadata.exists():  # the same bytes: the same metadata, no parsing needed
        same = wd.metadata.read_bytes() == copy
        old = metadata if same else _old_metadata(wd)
        if old is not None and old.hash != metadata.hash:
            if not force:
                raise MetacurateError(
                    f"{wd.root} was made with other metadata (hash {old.hash[:12]}, "
                    f"now {metadata.hash[:12]}); use another out folder, or force to rebuild it"
                )
            for p in wd.matches.glob("*") if wd.matches.exists() else []:
                p.unlink()
    if not same or force:
        wd.root.mkdir(parents=True, exist_ok=True)
        write_bytes(wd.metadata, copy)  # the bytes write_json(entries, compact=True) writes


def _old_metadata(wd: Workdir) -> Metadata | None:
    """The folder's metadata copy; None when it is damaged (it is rewritten: every task
    record names its metadata's hash, so none of another metadata is taken as current)."""
    try:
        return load_metadata(wd.metadata)
    except (MetacurateError, OSError, ValueError):
        return None


def _is_current(wd: Workdir, task: MatchTask, spec: MatchSpec) -> bool:
    """A record of the same settings and input, whose outputs are there as recorded
    (records.py); a damaged record is none."""
    rec = read_record(wd.done(task.task_id))
    if rec is None or rec.get("config_hash") != spec.config_hash():
        return False
    try:
        now = fingerprint(task.source.path, spec.read.s3_endpoint)
    except InputError:  # gone or unreadable: the task runs again and says so
        return False
    return rec.get("fingerprint") == now and outputs_intact(wd.root, rec)


def match_spec(config: RunConfig, metadata: Metadata, layout: Layout | None = None) -> MatchSpec:
    m = config.match
    endpoint = config.engine.s3_endpoint
    return MatchSpec(
        lang_column=m.lang_column,
        lid_model=m.lid_model,
        lid_min_score=m.lid_min_score,
        layout=layout,
        workdir=portable(Workdir(config.workdir, endpoint).root),
        metadata_hash=metadata.hash,
        mode=m.mode,
        text_column=m.text_column,
        url_column=m.url_column,
        uid_column=m.uid_column,
        read=ReadOptions(csv_columns=m.csv_columns, batch_rows=m.batch_rows, s3_endpoint=endpoint),
        skip_bad_files=m.skip_bad_files,
        index_cache=str(cache_root(config.engine.index_cache)),
        index_host=host(),
        index_cache_given=config.engine.index_cache is not None,
    )


def plan_sources(config: RunConfig, skipped: list[str] | None = None) -> list[Source]:
    """The pool's inputs, one per match task: files found, duplicates dropped, large files
    split by row groups; refused when the output folder lies among them. Files of no known
    format go to ``skipped``."""
    m, endpoint = config.match, config.engine.s3_endpoint
    sources = dedupe_sources(expand_pool(config.pool, m.format, endpoint, skipped))
    check_out_apart(config.pool, sources, config.workdir, endpoint)
    return split_large_files(sources, m.part_rows, endpoint)


def run_match(
    config: RunConfig,
    metadata: Metadata | WorldwideMetadata,
    engine: Engine,
    sources: Sequence[Source] | None = None,
    ahead: Ahead | None = None,
    skipped: Sequence[str] = (),
) -> dict:
    """Match every input file once (skipping finished ones), then sum the counts.

    ``sources``: :func:`plan_sources` of ``config`` when the caller planned them already;
    ``ahead``: the thread that loaded ``metadata`` and readies its index (match/ahead.py);
    ``skipped``: files of the pool's folders of no known format (listed in the stats).
    Writes side-cars under ``WORKDIR/matches/``, ``WORKDIR/entry_counts.parquet`` and
    ``WORKDIR/stats.json`` (metaclip2 modes: also ``WORKDIR/counts/{lang}.parquet``); returns
    the stats.
    """
    started = time.perf_counter()
    m = config.match
    ww, layout = None, None
    if isinstance(metadata, WorldwideMetadata):
        ww = metadata
        metadata, layout = combine(ww)
    endpoint = config.engine.s3_endpoint
    if sources is None:
        found: list[str] = []
        sources, skipped = plan_sources(config, found), found
    spec = match_spec(config, metadata, layout)
    wd = Workdir(config.workdir, endpoint)
    tasks = [MatchTask(s) for s in sources]

    def prepare() -> list[MatchTask]:  # the tasks still to run
        wd.remove_temporaries()
        _prepare_workdir(wd, metadata, m.force)
        wd.retire_match()
        return [t for t in tasks if m.force or not _is_current(wd, t, spec)]

    # workers are forked only while no other thread runs (engine/startup.py's step 6)
    if ahead is not None:  # its thread checks the index while the folder is prepared
        todo = prepare()
        ahead.index()
        engine.warm(len(sources))  # that thread has ended: workers may be forked
    else:
        engine.warm(len(sources))  # before the thread below: a fork copies this thread alone
        with ThreadPoolExecutor(1) as checker:  # sha256 and validate release the GIL: the
            checking = checker.submit(
                _index_ready, metadata if ww is None else ww, spec, [t.source for t in tasks]
            )
            todo = prepare()  # index is checked while the folder is prepared
            checking.result()
    spec = _with_index_identity(spec, ww is None)
    with progress_bar(len(todo), "match", "file", config.engine.progress) as bar:
        matched_rows = 0
        for record in engine.map(partial(match_task, spec=spec), todo):
            matched_rows += record["stats"]["rows"]  # rows of the files matched so far
            bar.set_postfix(rows=f"{matched_rows:,}", refresh=False)  # 100,000, not 1e+5
            bar.update(1)
    dedup = _dedup(config, wd, tasks, len(metadata), engine) if m.dedup else None
    if dedup is None:
        remove_dedup(wd)
    stats = merge_counts(wd, metadata, tasks, m.mode, engine.checkpoint, dedup)
    if layout is not None:
        stats.update(
            finish_worldwide(
                wd, metadata, layout, tasks, m.lang_column, m.lid_model, m.lid_min_score
            )
        )
    stats["match_config"] = {
        "text_column": m.text_column,
        "url_column": m.url_column,
        "uid_column": m.uid_column,
        "csv_columns": list(m.csv_columns) if m.csv_columns else None,
        "format": m.format,
        "batch_rows": m.batch_rows,
    }
    if layout is not None:  # how languages were found (explain repeats it)
        stats["match_config"].update(
            lang_column=m.lang_column, lid_model=m.lid_model, lid_min_score=m.lid_min_score
        )
    stats["skipped_files"] = list(skipped)  # in the pool's folders, of no known format
    if dedup is not None:  # counts over unique rows: a rerun without it redoes the counts
        stats["match_config"]["dedup"] = True
    hint = unspaced_hint(stats, spec.read)  # a pool of unspaced scripts under metaclip1
    if hint:
        stats["hint"] = hint
    stats["matcher"] = implementation()
    stats["files_matched_now"] = len(todo)
    stats["engine"] = engine.describe()  # where the tasks ran (Ray: how many at once)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    write_json(wd.stats, stats)
    return stats


def _with_index_identity(spec: MatchSpec, single: bool) -> MatchSpec:
    """The spec with the verified index's file identity, for the workers to compare."""
    if not single or not native_available():
        return spec
    d = index_folder(Path(spec.index_cache), spec.metadata_hash, spec.mode)
    try:
        return replace(spec, index_identity=identity(d))
    except OSError:
        return spec


def _record_digest(record: dict) -> str:
    """Identity of a match task's result: its completion record without the timing."""
    record = {k: v for k, v in record.items() if k != "seconds"}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _dedup(
    config: RunConfig, wd: Workdir, tasks: Sequence[MatchTask], n_entries: int, engine: Engine
) -> tuple[np.ndarray, dict]:
    """The dedup stage over the finished match tasks (docs/how-it-works.md, "Dedup")."""
    inputs = []
    for t in tasks:
        if not wd.done(t.task_id).exists():  # skipped as unreadable
            continue
        rec = read_json(wd.done(t.task_id))
        src = Source.from_dict(rec["source"])
        inputs.append(DedupInput(t.task_id, src, rec["stats"]["rows"], _record_digest(rec)))
    read = ReadOptions(
        csv_columns=config.match.csv_columns,
        batch_rows=config.match.batch_rows,
        s3_endpoint=config.engine.s3_endpoint,
    )
    return run_dedup(
        wd.root, inputs, n_entries, read, config.match.dedup_memory_mb, engine,
        config.engine.progress,
    )  # fmt: skip


def _index_ready(
    metadata: Metadata | WorldwideMetadata, spec: MatchSpec, sources: Sequence[Source] = ()
) -> None:
    """The matcher index in the cache folder, verified (or built) once per run before any
    worker maps it; metaclip2 modes: one per language of the pool's language column (none
    ahead with language identification: a worker builds a language's on first use)."""
    if isinstance(metadata, WorldwideMetadata):
        langs: list[str] | None = []
        if spec.lang_column is not None:
            langs = pool_languages(sources, spec.read, spec.lang_column, metadata.languages)
        build_indexes(metadata, Path(spec.index_cache), spec.mode, langs)
    elif native_available():
        verified_index(metadata, Path(spec.index_cache), spec.mode)


def merge_counts(
    wd: Workdir,
    metadata: Metadata,
    tasks: Sequence[MatchTask],
    mode: str,
    checkpoint,
    dedup: tuple[np.ndarray, dict] | None = None,
) -> dict:
    """Sum the tasks' partial counts and stats into ``entry_counts.parquet`` and the stats;
    ``dedup``: the counts over unique rows (and the dedup numbers) to write instead."""
    counts = np.zeros(len(metadata), dtype=np.int64)
    stats = empty_stats()
    bad_files = []
    inputs = []
    for t in tasks:
        done = wd.done(t.task_id)
        rec = read_json(done if done.exists() else wd.skipped(t.task_id))
        if rec["error"]:
            bad_files.append({"path": t.source.path, "error": rec["error"]})
        inputs.append(
            {
                "task_id": t.task_id,
                **rec["source"],
                "fingerprint": rec["fingerprint"],
                "rows": rec["stats"]["rows"],
                "columns": rec.get("columns"),
                "error": rec["error"],
            }
        )
        for k, v in rec["stats"].items():  # numbers add up; histograms add bucket by bucket
            stats[k] = (
                [a + b for a, b in zip(stats[k], v, strict=True)]
                if isinstance(v, list)
                else stats[k] + v
            )
        if rec["error"] is None and dedup is None:
            add_sparse(counts, [read_parquet(wd.partial_counts(t.task_id))])
        checkpoint("count-file")
    extra = {}
    if dedup is not None:
        counts = dedup[0]
        extra = {"dedup": dedup[1]}
    write_parquet(
        wd.entry_counts,
        entry_counts_table(metadata, counts),
        artifact_metadata(metadata.hash, mode, **({"dedup": "1"} if dedup else {})),
    )
    hit = int(np.count_nonzero(counts))
    return {
        **extra,
        "format_version": FORMAT_VERSION,
        "metacurate_version": __version__,
        "metadata": {"name": metadata.name, "hash": metadata.hash, "entries": len(metadata)},
        "mode": mode,
        "files": len(tasks),
        "bad_files": bad_files,
        **stats,
        "rows_no_text": stats["rows_null"] + stats["rows_empty"] + stats["rows_invalid_utf8"],
        "entries_hit": hit,
        "entries_never_hit": len(metadata) - hit,
        "inputs": inputs,
    }


def finish_worldwide(
    wd: Workdir,
    metadata: Metadata,
    layout: Layout,
    tasks: Sequence[MatchTask],
    lang_column: str | None,
    lid_model: str,
    lid_min_score: float = 0.0,
) -> dict:
    """Per-language count files ``WORKDIR/counts/{lang}.parquet`` and the stats' languages."""
    counts = read_table(wd.entry_counts, columns=["count"]).column(0).to_numpy()
    write_language_counts(
        wd.lang_counts, split_metadata(metadata, layout), layout.split(counts),
        artifact_metadata(layout.hash, "worldwide"),
    )  # fmt: skip
    records = [read_json(wd.done(t.task_id)) for t in tasks if wd.done(t.task_id).exists()]
    return {
        "worldwide": layout.as_dict(),
        "languages": merge_lang_stats(records),
        "language_source": f"column {lang_column}" if lang_column else f"lid {lid_model}",
        "lid_scores": None if lang_column else lid_scores(records, lid_min_score),
    }
