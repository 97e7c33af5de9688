"""The balance task: one input file's rows decided from its side-car, the kept rows written
with every source column, and every row's decision written to a decisions side-car.

``p`` (``p_e`` of every entry) is computed once by the driver and carried by the spec: a task
never recomputes or caches it. Decisions side-car schema (one row per input row, in order):
``selected`` (the row's text competes: always true without ``image_column``), ``kept``,
``keep_prob``. The report, ``explain`` and anything downstream read it, so they cannot disagree
with ``curated/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.balance.decisions import DECISIONS_SCHEMA
from metacurate.balance.keyed_hash import HASH_VERSION
from metacurate.balance.rule import decide
from metacurate.count import count_entries, sparse_counts_table
from metacurate.errors import MetacurateError
from metacurate.files import ParquetSink, write_json, write_parquet
from metacurate.outputs.curated import curated_table, source_renamed
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.records import stamp_outputs
from metacurate.storage import AnyPath, RemotePath, parquet_file
from metacurate.workdir import FORMAT_VERSION, Workdir, artifact_metadata


@dataclass(frozen=True, eq=False)
class BalanceSpec:
    """What every balance task of a run shares, ``p`` included."""

    workdir: str | RemotePath
    out: str | RemotePath
    t: float
    p: np.ndarray  # p_e = min(1, t / count[e]) for every entry, from balance.rule.entry_probs
    seed: int
    metadata_hash: str
    mode: str
    epoch: int | None = None
    image_column: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    available: str | None = None  # digest of the downloaded-rows masks (--available)
    worldwide: bool = False  # metaclip2 modes: side-cars and curated rows carry ``lang``
    dedup: bool = False  # the selection holds the first copy of each uid only

    def config(self) -> dict:
        """What a finished balance task must agree with to be reused."""
        return {
            "t": self.t,
            "p_sha256": hashlib.sha256(np.ascontiguousarray(self.p).tobytes()).hexdigest()[:16],
            "seed": self.seed,
            "epoch": self.epoch,
            "metadata_hash": self.metadata_hash,
            "mode": self.mode,
            "image_column": self.image_column,
            "available": self.available,
            "hash_version": HASH_VERSION,
            "format_version": FORMAT_VERSION,
            "expected_rows": "selected rows",  # what a record's expected_rows sums over
            **({"dedup": True} if self.dedup else {}),
        }


@dataclass(frozen=True)
class BalanceTask:
    """Balance one input file: its side-car decides, its source rows are copied."""

    task_id: str
    source: Source
    sidecar_record: str  # digest of the match task's completion record: a rematch changes it


class RowStream:
    """Hands out exactly ``n`` rows at a time from a stream of record batches (to walk a
    side-car in step with its source, whatever either's batch boundaries)."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0

    @classmethod
    def of_parquet(cls, path: AnyPath, columns: list[str], batch_rows: int) -> RowStream:
        pf = parquet_file(path)
        return cls(iter(pf.iter_batches(batch_size=batch_rows, columns=columns)))

    def take(self, n: int) -> pa.Table:
        while self._buffered < n:
            batch = next(self._batches, None)
            if batch is None:
                raise MetacurateError("side-car has fewer rows than its source; rerun match")
            self._buffer.append(batch)
            self._buffered += batch.num_rows
        table = pa.Table.from_batches(self._buffer).combine_chunks()
        rest = table.slice(n)
        self._buffer = rest.to_batches()
        self._buffered = rest.num_rows
        return table.slice(0, n)

    def exhausted(self) -> bool:
        return self._buffered == 0 and next(self._batches, None) is None


def _decide_rows(
    task: BalanceTask,
    spec: BalanceSpec,
    sinks: _Sinks,
    counts: np.ndarray,
    checkpoint: Callable[[str], None],
) -> tuple[int, int, float]:
    """Decide every batch of the source from its side-car (and selection); write decisions
    and curated rows; returns (rows, kept, expected)."""
    wd, out = Workdir(spec.workdir), Workdir(spec.out)
    rows_per = spec.read.batch_rows
    columns = ["uid", "uid_hash", "entry_ids"] + (["lang"] if spec.worldwide else [])
    side = RowStream.of_parquet(wd.sidecar(task.task_id), columns, rows_per)
    select_path = out.selection(task.task_id)
    select = (  # several texts per image: only the chosen text of each image competes
        RowStream.of_parquet(select_path, ["selected"], rows_per) if select_path.exists() else None
    )
    rows = kept = 0
    expected = 0.0
    for batch in read_batches(task.source, spec.read):
        n = batch.num_rows
        part = side.take(n)
        ids = part.column("entry_ids").combine_chunks()
        keep, prob = decide(ids, part.column("uid_hash").to_numpy(), spec.p, spec.seed, spec.epoch)
        selected = np.ones(n, bool) if select is None else select.take(n).column(0).to_numpy()
        keep = keep & selected
        competes = np.where(selected, prob, 0.0)  # a row that does not compete adds nothing
        sinks.decisions.write(
            pa.record_batch(
                [pa.array(selected), pa.array(keep), pa.array(prob)], schema=DECISIONS_SCHEMA
            )
        )
        table = curated_table(batch, keep, part.column("uid"), ids, prob)
        if spec.worldwide:
            lang = part.column("lang").combine_chunks()
            table = source_renamed(table, ("lang",))  # the pool's own column stays
            table = table.append_column("lang", lang.filter(pa.array(keep)))
            _add_lang_rows(sinks.lang_rows, lang, keep, competes)
        sinks.write_curated(table)
        counts += count_entries(table.column("entry_ids").combine_chunks(), len(spec.p))
        rows, kept, expected = rows + n, kept + table.num_rows, expected + float(competes.sum())
        checkpoint("balance-batch")
    if not side.exhausted():
        raise MetacurateError(
            f"{task.source.path}: fewer rows than when matched; rerun 'metacurate match'"
        )
    return rows, kept, expected


def _add_lang_rows(
    acc: dict[str, list[float]], lang: pa.Array, keep: np.ndarray, prob: np.ndarray
) -> None:
    """Rows, kept rows and expected rows per language (metaclip2 modes)."""
    enc = pc.dictionary_encode(lang)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    k = len(enc.dictionary)
    n = np.bincount(codes, minlength=k)
    kept = np.bincount(codes, weights=keep, minlength=k)
    expected = np.bincount(codes, weights=prob, minlength=k)
    for j, x in sorted(enumerate(enc.dictionary.to_pylist()), key=lambda jx: jx[1]):
        a = acc.setdefault(x, [0, 0, 0.0])
        a[0] += int(n[j])
        a[1] += int(kept[j])
        a[2] += float(expected[j])


class _Sinks:
    """The decisions side-car and the curated file of one task (the curated file is opened
    at the first batch, with the source's schema; an empty input gets none)."""

    def __init__(self, out: Workdir, task_id: str, kv: dict[bytes, bytes]) -> None:
        self.out, self.task_id, self.kv = out, task_id, kv
        self.decisions = ParquetSink(out.decisions(task_id), DECISIONS_SCHEMA, kv)
        self.curated: ParquetSink | None = None
        self.lang_rows: dict[str, list[float]] = {}  # lang -> [rows, kept, expected]

    def write_curated(self, table: pa.Table) -> None:
        if self.curated is None:  # keep the source's own schema metadata (pandas...), add ours
            self.curated = ParquetSink(
                self.out.curated_file(self.task_id),
                table.schema,
                {**(table.schema.metadata or {}), **self.kv},
                dictionary=False,
            )
        self.curated.write(table)

    def outputs(self) -> list[AnyPath]:
        """The files this task writes (once committed), its partial counts included."""
        files = [self.out.decisions(self.task_id), self.out.curated_partial_counts(self.task_id)]
        return files + ([self.curated.path] if self.curated is not None else [])

    def commit(self) -> None:
        if self.curated is not None:
            self.curated.commit()
        self.decisions.commit()

    def abort(self) -> None:
        for sink in (self.curated, self.decisions):
            if sink is not None:
                sink.abort()


def balance_task(task: BalanceTask, spec: BalanceSpec, checkpoint: Callable[[str], None]) -> dict:
    """Decide the rows of one input file; write its curated rows, decisions side-car, partial
    curated counts and, last, the completion record. Side-car and source are streamed in
    step, one batch at a time, so memory does not grow with the file."""
    out = Workdir(spec.out)
    extra = {"t": repr(spec.t), "seed": str(spec.seed)}
    if spec.epoch is not None:
        extra["epoch"] = str(spec.epoch)
    kv = artifact_metadata(spec.metadata_hash, spec.mode, **extra)
    counts = np.zeros(len(spec.p), dtype=np.int64)
    sinks = _Sinks(out, task.task_id, kv)
    try:
        rows, kept, expected = _decide_rows(task, spec, sinks, counts, checkpoint)
    except BaseException:
        sinks.abort()
        raise
    sinks.commit()
    write_parquet(out.curated_partial_counts(task.task_id), sparse_counts_table(counts), kv)
    checkpoint("balance-record")
    record = {
        "task_id": task.task_id,
        "config": spec.config(),
        "sidecar_record": task.sidecar_record,
        "rows": rows,
        "curated_rows": kept,
        "expected_rows": expected,
        "outputs": stamp_outputs(out.root, sinks.outputs()),
    }
    if spec.worldwide:
        record["lang_rows"] = sinks.lang_rows
    write_json(out.balance_done(task.task_id), record)  # last
    return record
