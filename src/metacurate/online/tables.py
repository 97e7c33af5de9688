"""What the online balancer reads from a work directory: counts, ``t``, the matcher.

Every decision goes through the pure functions of :mod:`metacurate.balance` (``entry_probs``,
``keep_mask``, ``keep_prob``, ``row_threshold``, ``t_for_target_size``, ``t_for_tail_share``),
the same ones the offline balance stage calls: there is no second implementation of the rule.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from metacurate.errors import MetacurateError
from metacurate.files import read_json, write_parquet
from metacurate.match.index_cache import cache_root, index_dir, index_folder, verified_index
from metacurate.match.matcher import Matcher
from metacurate.metadata import load_metadata
from metacurate.workdir import Workdir


def read_counts(counts_path: str | Path) -> tuple[np.ndarray, str, str]:
    """``count`` of every entry, and the metadata hash and mode the counts were made with."""
    path = Path(counts_path)
    if not path.exists():
        raise MetacurateError(
            f"{path}: no entry counts; run 'metacurate match POOL --out {path.parent}' first "
            "(the online balancer needs entry_counts.parquet)"
        )
    table = pq.read_table(path, columns=["count"])
    kv = pq.read_schema(path).metadata or {}
    md_hash = kv.get(b"metacurate.metadata_hash", b"").decode()
    mode = kv.get(b"metacurate.mode", b"metaclip1").decode()
    return table.column("count").to_numpy(), md_hash, mode


def load_matcher(workdir: str | Path, metadata_hash: str, mode: str) -> Matcher:
    """The compiled matcher of a work directory: the index packed with it (memory-mapped,
    checked in full), else the one in this machine's cache, else built from its
    ``metadata.json`` into that cache."""
    wd = Workdir(workdir)
    d = index_dir(wd.index, metadata_hash, mode)
    for folder in (d, index_folder(cache_root(), metadata_hash, mode)):
        if (folder / "index.json").exists():
            try:
                return Matcher.load(folder, metadata_hash, mode)
            except MetacurateError:
                if not wd.metadata.exists():
                    raise
    if not wd.metadata.exists():
        raise MetacurateError(
            f"{wd.root}: neither a matcher index ({d}) nor metadata.json; copy them from the "
            "match work directory (metacurate.online.pack_for_training does it)"
        )
    metadata = load_metadata(wd.metadata)
    if metadata_hash and metadata.hash != metadata_hash:
        raise MetacurateError(
            f"{wd.metadata} (hash {metadata.hash[:12]}) is not the metadata of "
            f"{wd.entry_counts} (hash {metadata_hash[:12]}); copy both from one match run"
        )
    return verified_index(metadata, cache_root(), mode)


def _write_available_counts(src: Workdir, out: Workdir, available: str | Path) -> None:
    from metacurate.balance.driver import read_options
    from metacurate.dedup import unique_of
    from metacurate.download.available import availability

    stats = read_json(src.stats)
    inputs = [i for i in stats["inputs"] if i["error"] is None]
    table = pq.read_table(src.entry_counts)
    read = read_options(stats["match_config"])
    avail = availability(src, inputs, available, read, len(table), unique_of(src))  # --dedup
    table = avail.counts_table(table)
    write_parquet(out.entry_counts, table, table.schema.metadata or {})


def pack_for_training(
    workdir: str | Path, dest: str | Path, available: str | Path | None = None
) -> Path:
    """Copy what in-loader matching needs to ``dest``: ``entry_counts.parquet``,
    ``metadata.json`` and the compiled matcher index (no side-cars, no pool). ``available``
    (an img2dataset output folder): the counts written are those over the downloaded rows,
    so balancing the downloaded shards online equals ``balance --available DIR --epoch k``."""
    src, out = Workdir(workdir), Workdir(dest)
    _, md_hash, mode = read_counts(src.entry_counts)
    out.root.mkdir(parents=True, exist_ok=True)
    if available is None:
        shutil.copy2(src.entry_counts, out.entry_counts)
    else:
        _write_available_counts(src, out, available)
    if src.metadata.exists():
        shutil.copy2(src.metadata, out.metadata)
    for d in (index_folder(cache_root(), md_hash, mode), index_dir(src.index, md_hash, mode)):
        if d.is_dir():  # the shared cache's copy (or one packed before)
            shutil.copytree(d, index_dir(out.index, md_hash, mode), dirs_exist_ok=True)
            break
    return out.root


def worldwide_layout(
    wd: Workdir, matches: str, target_size: int | None, image_column: str | None
) -> tuple[dict, dict] | None:
    """The language layout and per-language row statistics of a metaclip2 work directory
    (``stats.json`` ``worldwide`` and ``languages``), or None. Online balancing there follows
    ``balance``: each language has its own ``t`` (:func:`metacurate.balance.choose_t.choose`);
    a caption can only be matched in its language, so the side-cars are needed."""
    if not wd.stats.exists():
        return None
    stats = read_json(wd.stats)
    layout = stats.get("worldwide")
    if layout is None:
        return None
    if matches == "caption":
        raise MetacurateError(
            f"{wd.root} is a metaclip2 (per-language) run: a caption is matched only in its "
            "language, so in-loader matching is not available; use matches='sidecar'"
        )
    if target_size is not None:
        from metacurate.balance.choose_t import TARGET_SIZE_REFUSAL

        raise MetacurateError(f"target_size=: {TARGET_SIZE_REFUSAL}")
    if image_column is not None:
        raise MetacurateError("image_column= is not available for metaclip2 runs online yet")
    return layout, stats.get("languages") or {}
