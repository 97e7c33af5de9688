"""Where a run keeps its files (the layout of docs/formats.md) and what every artifact says
about itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

from metacurate._version import __version__
from metacurate.files import remove_temporaries
from metacurate.storage import AnyPath, RemotePath, location

FORMAT_VERSION = 1


class Workdir:
    """The layout of a match/balance/curate output folder."""

    def __init__(self, root: str | Path | RemotePath, endpoint: str | None = None) -> None:
        self.root: AnyPath = location(root, endpoint)

    @property
    def matches(self) -> AnyPath:
        return self.root / "matches"

    @property
    def metadata(self) -> AnyPath:
        return self.root / "metadata.json"

    @property
    def index(self) -> AnyPath:
        """A copy of the matcher index, in folders packed for training
        (``online.pack_for_training``); runs keep theirs in the shared cache
        (``match.index_cache``)."""
        return self.root / "index"

    @property
    def entry_counts(self) -> AnyPath:
        return self.root / "entry_counts.parquet"

    @property
    def lang_counts(self) -> AnyPath:
        """metaclip2 modes: ``counts/{lang}.parquet``, one count file per language."""
        return self.root / "counts"

    @property
    def stats(self) -> AnyPath:
        return self.root / "stats.json"

    @property
    def manifest(self) -> AnyPath:
        return self.root / "manifest.json"

    @property
    def report(self) -> AnyPath:
        return self.root / "report.html"

    @property
    def curated(self) -> AnyPath:
        return self.root / "curated"

    @property
    def curated_counts(self) -> AnyPath:
        return self.root / "curated_entry_counts.parquet"

    @property
    def uids(self) -> AnyPath:
        return self.root / "uids.npy"

    @property
    def balance(self) -> AnyPath:
        return self.root / "balance"

    def curated_file(self, task_id: str) -> AnyPath:
        return self.curated / f"{task_id}.parquet"

    # match stage, per task
    def sidecar(self, task_id: str) -> AnyPath:
        return self.matches / f"{task_id}.parquet"

    def partial_counts(self, task_id: str) -> AnyPath:
        return self.matches / f"{task_id}.counts.parquet"

    def done(self, task_id: str) -> AnyPath:
        return self.matches / f"{task_id}.done.json"

    def skipped(self, task_id: str) -> AnyPath:
        """An input skipped as unreadable (``skip_bad_files``): not a finished task."""
        return self.matches / f"{task_id}.skipped.json"

    # balance stage, per task
    def selection(self, task_id: str) -> AnyPath:
        return self.balance / f"{task_id}.select.parquet"

    def decisions(self, task_id: str) -> AnyPath:
        return self.balance / f"{task_id}.decisions.parquet"

    def curated_partial_counts(self, task_id: str) -> AnyPath:
        return self.balance / f"{task_id}.counts.parquet"

    def balance_done(self, task_id: str) -> AnyPath:
        return self.balance / f"{task_id}.done.json"

    def retire_match(self) -> None:
        """Remove what says the match stage of this folder finished (stats, counts), before a
        run that may not finish: what is left never pairs an old run's totals with new
        side-cars. A balance run of this folder is retired with it (it summed those totals)."""
        self.retire_balance()
        for path in (self.stats, self.entry_counts):
            path.unlink(missing_ok=True)

    def retire_balance(self) -> None:
        """Remove what says a balance run into this folder finished (the manifest first, then
        what it sums up), before a run that may not finish (its settings may differ)."""
        for path in (self.manifest, self.uids, self.curated_counts, self.report):
            path.unlink(missing_ok=True)

    # dedup stage (match --dedup), per task and per partition
    @property
    def dedup(self) -> AnyPath:
        return self.root / "dedup"

    def dedup_keys(self, task_id: str) -> AnyPath:
        """A task's rows' identity keys, grouped by partition (row groups)."""
        return self.dedup / "keys" / f"{task_id}.parquet"

    def dedup_keys_done(self, task_id: str) -> AnyPath:
        return self.dedup / "keys" / f"{task_id}.done.json"

    def dedup_part(self, part: int) -> AnyPath:
        """One partition's duplicate rows (task, row), grouped by task (row groups)."""
        return self.dedup / "parts" / f"{part:05d}.parquet"

    def dedup_part_done(self, part: int) -> AnyPath:
        return self.dedup / "parts" / f"{part:05d}.done.json"

    def dedup_unique(self, task_id: str) -> AnyPath:
        """A task's ``unique`` mask: one bool per input row, false for a removed duplicate."""
        return self.dedup / "unique" / f"{task_id}.parquet"

    def dedup_counts(self, task_id: str) -> AnyPath:
        """A task's partial counts over its unique rows."""
        return self.dedup / "unique" / f"{task_id}.counts.parquet"

    def dedup_done(self, task_id: str) -> AnyPath:
        return self.dedup / "unique" / f"{task_id}.done.json"

    def remove_temporaries(self) -> list[AnyPath]:
        """Delete what a killed run left half-written (see ``files.remove_temporaries``)."""
        dedup = [self.dedup / sub for sub in ("keys", "parts", "unique")]
        return remove_temporaries(
            [self.root, self.matches, self.curated, self.balance, self.lang_counts, *dedup]
        )


def match_folder(
    root: str | Path | RemotePath, manifest: dict | None, endpoint: str | None = None
) -> AnyPath:
    """The folder holding the side-cars of the balanced run in ``root``: ``root`` for a
    curate run (or a balance into its own work folder), else the work folder its manifest
    names ('balance WORKDIR --out ROOT'), never a ``matches/`` another run left in ``root``.
    A manifest without its config (older runs): the named folder where ``root`` has no
    side-cars."""
    root = location(root, endpoint)
    if not manifest or not manifest.get("workdir"):
        return root
    cfg = manifest.get("config") or {}
    if "workdir" in cfg and "out" in cfg:
        same = cfg["workdir"] == cfg["out"]
    else:
        same = (root / "matches").is_dir()
    return root if same else location(manifest["workdir"], endpoint)


def task_id_for(path: str, row_groups: tuple[int, int] | None = None) -> str:
    """A file-system-safe, stable name for a task on ``path`` (and a row-group range)."""
    stem = Path(path).name
    for suffix in (".gz", ".parquet", ".jsonl", ".json", ".csv", ".tsv", ".tar"):
        stem = stem.removesuffix(suffix)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60]
    if safe.startswith(("_", ".")):  # readers of a folder (pyarrow, pandas) skip such names
        safe = "f" + safe
    part = f"-rg{row_groups[0]}-{row_groups[1]}" if row_groups else ""
    return f"{safe}-{hashlib.sha1(path.encode('utf-8')).hexdigest()[:10]}{part}"


def artifact_metadata(metadata_hash: str, mode: str, **extra: str) -> dict[bytes, bytes]:
    """Key-value metadata stored in every Parquet artifact's schema."""
    kv = {
        "metacurate.format_version": str(FORMAT_VERSION),
        "metacurate.version": __version__,
        "metacurate.metadata_hash": metadata_hash,
        "metacurate.mode": mode,
        **{f"metacurate.{k}": v for k, v in extra.items()},
    }
    return {k.encode(): v.encode() for k, v in kv.items()}
