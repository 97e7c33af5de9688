"""The per-epoch log of the online balancer: how many samples each shard had and kept.

Each loader process writes one small JSON record per (epoch, shard) when it finishes the shard,
``LOG_DIR/epoch-00000/<shard>.json``; records merge by addition, and a shard read again after
a resume rewrites its record with the same numbers (the decisions are stateless).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metacurate.files import read_json, write_json


def epoch_dir(log_dir: str | Path, epoch: int) -> Path:
    return Path(log_dir) / f"epoch-{int(epoch):05d}"


def shard_record_path(log_dir: str | Path, epoch: int, shard: str) -> Path:
    """A file-system-safe, stable record name for a shard URL."""
    stem = Path(str(shard)).name.removesuffix(".tar")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60]
    digest = hashlib.sha1(str(shard).encode("utf-8")).hexdigest()[:10]
    return epoch_dir(log_dir, epoch) / f"{safe}-{digest}.json"


@dataclass
class ShardTally:
    """Counts of one shard in one epoch, as the loader saw them."""

    shard: str
    epoch: int
    seen: int = 0
    kept: int = 0
    unknown: int = 0

    def record(self, t: float, seed: int) -> dict:
        return {
            "shard": self.shard,
            "epoch": self.epoch,
            "t": t,
            "seed": seed,
            "seen": self.seen,
            "kept": self.kept,
            "unknown": self.unknown,
        }


def write_shard_record(log_dir: str | Path, tally: ShardTally, t: float, seed: int) -> None:
    write_json(shard_record_path(log_dir, tally.epoch, tally.shard), tally.record(t, seed))


def read_epoch_log(log_dir: str | Path, epoch: int) -> dict:
    """The epoch's totals over every shard record: ``shards``, ``seen``, ``kept``,
    ``unknown``, ``t``, ``seed``."""
    records = [read_json(p) for p in sorted(epoch_dir(log_dir, epoch).glob("*.json"))]
    out = {
        "epoch": int(epoch),
        "shards": len(records),
        "seen": sum(r["seen"] for r in records),
        "kept": sum(r["kept"] for r in records),
        "unknown": sum(r["unknown"] for r in records),
        "t": sorted({r["t"] for r in records}),
        "seed": sorted({r["seed"] for r in records}),
    }
    if len(out["t"]) == 1:
        out["t"] = out["t"][0]
    if len(out["seed"]) == 1:
        out["seed"] = out["seed"][0]
    return out


class Tallies:
    """One process's counts: the shard being read (its record is due when the next shard
    starts) and per-epoch totals."""

    def __init__(self) -> None:
        self.current: ShardTally | None = None
        self.epochs: dict[int, dict[str, int]] = {}

    def add(self, shard: str, epoch: int, seen: int, kept: int, unknown: int) -> ShardTally | None:
        """Count a run of samples of one shard; returns the tally it finished, if any."""
        done = None
        if self.current is None or self.current.shard != shard or self.current.epoch != epoch:
            done, self.current = self.current, ShardTally(shard, epoch)
        tally = self.current
        totals = self.epochs.setdefault(epoch, {"seen": 0, "kept": 0, "unknown": 0})
        tally.seen, tally.kept, tally.unknown = (
            tally.seen + seen,
            tally.kept + kept,
            tally.unknown + unknown,
        )
        for key, n in (("seen", seen), ("kept", kept), ("unknown", unknown)):
            totals[key] += n
        return done

    def add_one(self, shard: Any, epoch: int, kept: bool, known: bool) -> ShardTally | None:
        """Count one decided sample (``keep``'s path: the shard of the last sample, the usual
        case, is counted in place); returns the tally it finished, if any."""
        tally = self.current
        if tally is None or tally.shard != shard or tally.epoch != epoch:
            return self.add(str(shard), epoch, 1, int(kept), int(not known))
        totals = self.epochs[epoch]
        tally.seen += 1
        totals["seen"] += 1
        if kept:
            tally.kept += 1
            totals["kept"] += 1
        if not known:
            tally.unknown += 1
            totals["unknown"] += 1
        return None

    def add_chunk(
        self, shards: Sequence[str], epoch: int, keep: np.ndarray, known: np.ndarray
    ) -> list[ShardTally]:
        """Count decided samples, one run of equal shard URLs at a time."""
        if shards.count(shards[0]) == len(shards):  # the usual case: one shard
            bounds = [0, len(shards)]
        else:
            bounds = [0, *(i for i in range(1, len(shards)) if shards[i] != shards[i - 1])]
            bounds.append(len(shards))
        done = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            kept = int(np.count_nonzero(keep[lo:hi]))
            finished = self.add(shards[lo], epoch, hi - lo, kept, int((~known[lo:hi]).sum()))
            if finished is not None:
                done.append(finished)
        return done

    def take(self) -> ShardTally | None:
        """The shard being tallied, now finished."""
        done, self.current = self.current, None
        return done
