"""``--dry-run`` shows what the run would read: the resolved inputs, their columns and the
rows a Parquet footer states, and the files it would not read; it writes nothing."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.cli import main


def test_dry_run_shows_inputs_columns_and_rows(tmp_path, capsys):
    pool = tmp_path / "pool"
    pool.mkdir()
    pq.write_table(pa.table({"caption": ["a dog"] * 120, "URL": ["u"] * 120}), pool / "a.parquet")
    (pool / "b.jsonl").write_text('{"text": "a cat"}\n' * 7)
    (pool / "notes.xyz").write_text("x")
    out = tmp_path / "o"
    assert main(["curate", str(pool), "--out", str(out), "--t", "5", "--dry-run"]) == 0
    doc = json.loads(capsys.readouterr().out)
    resolved = doc["resolved"]
    a, b = resolved["inputs"]
    assert (a["format"], a["rows"], a["columns"]) == (
        "parquet",
        120,
        {"text": "caption", "url": "URL", "uid": None},
    )
    assert (b["format"], b["rows"], b["columns"]["text"]) == ("jsonl", None, "text")
    assert resolved["rows_known"] == 120 and resolved["inputs_rows_unknown"] == 1
    assert resolved["skipped_files"] == [str(pool / "notes.xyz")]
    assert not out.exists()
