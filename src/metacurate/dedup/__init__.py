"""Pool-wide dedup by uid (``--dedup``): each uid counted and written once, memory bounded by
hash partitions on disk (docs/how-it-works.md, "Dedup")."""

from metacurate.dedup.driver import (
    ORDER,
    DedupInput,
    deduped,
    partitions_for,
    remove_dedup,
    run_dedup,
    unique_mask,
    unique_of,
    unique_record,
    unique_rows,
)
from metacurate.dedup.rowkey import row_keys

__all__ = [
    "ORDER",
    "DedupInput",
    "deduped",
    "partitions_for",
    "remove_dedup",
    "row_keys",
    "run_dedup",
    "unique_mask",
    "unique_of",
    "unique_record",
    "unique_rows",
]
