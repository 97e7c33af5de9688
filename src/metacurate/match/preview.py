"""What a run would read, without running it (``--dry-run``): the resolved inputs, the columns
found in each, and its row count where the file says it cheaply (a Parquet footer)."""

from __future__ import annotations

from metacurate.config import RunConfig
from metacurate.errors import MetacurateError
from metacurate.match.driver import plan_sources
from metacurate.pool.columns import resolve_columns
from metacurate.pool.readers import ReadOptions, read_schema
from metacurate.storage import pool_parquet


def _rows(src, endpoint: str | None) -> int | None:
    if src.format != "parquet":
        return None  # counted when matched (a full read)
    with pool_parquet(src.path, endpoint) as pf:
        meta = pf.metadata
        if src.row_groups is None:
            return meta.num_rows
        return sum(meta.row_group(i).num_rows for i in range(*src.row_groups))


def preview_inputs(config: RunConfig) -> dict:
    """``inputs`` (path, format, row groups, columns, rows or None) and ``skipped_files``;
    a problem with the pool is reported as ``error`` (one line), as the run would say it."""
    m, endpoint = config.match, config.engine.s3_endpoint
    read = ReadOptions(csv_columns=m.csv_columns, batch_rows=m.batch_rows, s3_endpoint=endpoint)
    skipped: list[str] = []
    try:
        sources = plan_sources(config, skipped)
    except MetacurateError as exc:
        return {"error": str(exc)}
    inputs = []
    for src in sources:
        item: dict = {"path": src.path, "format": src.format, "row_groups": src.row_groups}
        try:
            schema = read_schema(src, read)
            cols = (
                resolve_columns(schema, m.text_column, m.url_column, m.uid_column, where=src.path)
                if schema.names
                else None
            )
            item["columns"] = None if cols is None else vars(cols)
            item["rows"] = _rows(src, endpoint) if schema.names else 0
        except (MetacurateError, OSError) as exc:
            item["error"] = str(exc)
        inputs.append(item)
    known = [i["rows"] for i in inputs if i.get("rows") is not None]
    return {
        "inputs": inputs,
        "rows_known": sum(known),
        "inputs_rows_unknown": len(inputs) - len(known),
        "skipped_files": skipped,
    }
