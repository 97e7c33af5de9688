"""A synthetic curate output folder of any size, written without matching anything.

Counts are Zipfian over many entries; the side-cars hold ``rows`` rows in several files (the
first one small, with a real source file of long, HTML-laden captions, so the report has
examples to show and escape); the manifest claims what a real run would. Only the report's
inputs are written: this is for size and speed tests, not for balancing semantics.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate import balance
from metacurate.pool.uid import hex16

SIDECAR_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("uid", pa.string()),
        ("uid_hash", pa.uint64()),
        ("entry_ids", pa.list_(pa.int32())),
    ]
)


def _sidecar_batch(
    rng: np.random.Generator, start: int, n: int, entries: int, real_uids: bool
) -> pa.RecordBatch:
    lengths = np.minimum(rng.poisson(3.0, n), 40).astype(np.int32)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    heavy = rng.random(int(offsets[-1])) ** (-1 / 0.3)  # Zipf-like tail, cheaper than zipf()
    values = (np.minimum(heavy, entries) - 1).astype(np.int32)
    rows = np.arange(start, start + n, dtype=np.int64)
    if real_uids:
        uids = hex16(rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        hashes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)
    else:  # cheap to write; only the first file's rows are ever sampled
        uids = pa.StringArray.from_buffers(
            n, pa.py_buffer(np.zeros(n + 1, np.int32)), pa.py_buffer(b"")
        )
        hashes = np.zeros(n, np.uint64)
    return pa.record_batch(
        [
            pa.array(rows),
            uids,
            pa.array(hashes),
            pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
        ],
        schema=SIDECAR_SCHEMA,
    )


def make_synthetic_run(
    out: Path,
    rows: int = 10_000_000,
    entries: int = 500_000,
    files: int = 4,
    first_rows: int = 20_000,
    t: float = 20_000.0,
    seed: int = 0,
) -> Path:
    """Write manifest.json, stats.json, curated_entry_counts.parquet and side-cars to ``out``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "matches").mkdir(exist_ok=True)
    sizes = [first_rows] + [(rows - first_rows) // (files - 1)] * (files - 1)
    sizes[-1] += rows - sum(sizes)
    counts = np.zeros(entries, np.int64)
    hist_rows = matched = total = 0
    inputs = []
    start = 0
    for k, size in enumerate(sizes):
        task_id = f"part-{k:05d}"
        source = out / "pool" / f"{task_id}.parquet"
        with pq.ParquetWriter(out / "matches" / f"{task_id}.parquet", SIDECAR_SCHEMA) as w:
            for lo in range(0, size, 1_000_000):
                n = min(1_000_000, size - lo)
                batch = _sidecar_batch(rng, start + lo, n, entries, real_uids=k == 0)
                w.write_batch(batch)
                lengths = np.diff(batch.column(3).offsets.to_numpy())
                counts += np.bincount(batch.column(3).values.to_numpy(), minlength=entries)
                matched += int(np.count_nonzero(lengths))
                total += int(lengths.sum())
                hist_rows += batch.num_rows
        if k == 0:  # a real source for the first file only: long captions with markup
            source.parent.mkdir(exist_ok=True)
            word = "<b>big</b> & <script>alert(1)</script> https://example.com/x.jpg "
            pq.write_table(pa.table({"text": [word * (50 + i % 7) for i in range(size)]}), source)
        (out / "matches" / f"{task_id}.done.json").write_text(
            json.dumps({"columns": {"text": "text", "url": None, "uid": None}})
        )
        inputs.append(
            {
                "task_id": task_id,
                "path": str(source),
                "format": "parquet",
                "rows": size,
                "error": None,
            }
        )
        start += size
    p = balance.entry_probs(counts, t)
    # the balance stage's decisions for the first file (the only one the report samples)
    side = pq.read_table(out / "matches" / "part-00000.parquet")
    keep, prob = balance.decide(side.column("entry_ids"), side.column("uid_hash").to_numpy(), p, 0)
    (out / "balance").mkdir(exist_ok=True)
    pq.write_table(
        pa.table({"selected": np.ones(len(keep), bool), "kept": keep, "keep_prob": prob}),
        out / "balance" / "part-00000.decisions.parquet",
    )
    names = [f"entry {i} " + "x" * 150 for i in range(entries)]
    pq.write_table(
        pa.table(
            {
                "entry_id": pa.array(np.arange(entries, dtype=np.int32)),
                "entry": pa.array(names),
                "count": pa.array(counts),
                "p": pa.array(p),
                "count_curated": pa.array(np.minimum(counts, int(t))),
            }
        ),
        out / "curated_entry_counts.parquet",
    )
    meta = {"name": "synthetic", "hash": "0" * 64, "entries": entries}
    stats = {
        "metadata": meta,
        "mode": "metaclip1",
        "rows": rows,
        "rows_null": 0,
        "rows_empty": 0,
        "rows_invalid_utf8": 0,
        "rows_no_text": 0,
        "rows_matched": matched,
        "total_matches": total,
        "entries_hit": int(np.count_nonzero(counts)),
        "entries_never_hit": int(np.count_nonzero(counts == 0)),
        "bad_files": [],
        "seconds": 1.0,
        "inputs": inputs,
    }
    (out / "stats.json").write_text(json.dumps(stats))
    manifest = {
        "metadata": meta,
        "mode": "metaclip1",
        "t": t,
        "t_from": "t",
        "seed": seed,
        "tail_share": balance.tail_share(counts, t),
        "pool_rows": rows,
        "pool_rows_matched": matched,
        "curated_rows": int(balance.sum_min_count_t(counts, t)),
        "expected_rows": balance.sum_min_count_t(counts, t),
        "sum_min_count_t": balance.sum_min_count_t(counts, t),
        "expected_note": "synthetic",
        "seconds": 1.0,
        "command": "synthetic",
        "workdir": str(out),
        "match": {k: v for k, v in stats.items() if k != "inputs"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out
