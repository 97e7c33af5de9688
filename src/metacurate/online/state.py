"""What an :class:`~metacurate.online.OnlineBalancer` checks and holds besides paths and
numbers: its match options (``"auto"`` resolved) and its per-process state (never pickled)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metacurate.errors import MetacurateError
from metacurate.match.matcher import Matcher
from metacurate.online.log import Tallies
from metacurate.online.samples import SampleReader
from metacurate.online.uid_index import UidIndex
from metacurate.workdir import Workdir

MATCHES = ("auto", "sidecar", "caption")


@dataclass
class LocalState:
    """Per-process state, never pickled: loaded tables and the shard being tallied."""

    pid: int
    counts: np.ndarray
    reader: SampleReader
    probs: dict[float, np.ndarray] = field(default_factory=dict)
    index: UidIndex | None = None
    matcher: Matcher | None = None
    tallies: Tallies = field(default_factory=Tallies)
    decisions: np.ndarray | None = None
    decisions_mv: memoryview | None = None  # the same bits, for the one-sample path
    decisions_key: int | None = None
    selected: tuple[int, np.ndarray] | None = None


def resolve_matches(
    matches: str, wd: Workdir, unknown: str, image_column: str | None, available: Any
) -> str:
    """Check the options that depend on how matches are found; resolve ``"auto"``."""
    if matches not in MATCHES:
        raise MetacurateError(f"matches must be one of {MATCHES}, got {matches!r}")
    if unknown not in ("error", "drop"):
        raise MetacurateError(f"unknown must be 'error' or 'drop', got {unknown!r}")
    if matches == "auto":
        matches = "sidecar" if wd.stats.exists() else "caption"
    if image_column is not None and matches == "caption":
        raise MetacurateError(
            "image_column needs the side-cars (matches='sidecar'): the text of an image "
            "that competes is chosen among all its texts in the pool"
        )
    if available is not None and matches == "caption":
        raise MetacurateError(
            "available= needs the side-cars (matches='sidecar'); for in-loader matching "
            "on training nodes use pack_for_training(WORKDIR, DEST, available=DIR)"
        )
    return matches
