"""Pool-wide quantities of one epoch, from the uid index: every row's keep decision, ``t`` for a
target size, the expected epoch size.

Each is a function of :mod:`metacurate.balance` (``keep_mask``, ``keep_prob``,
``row_threshold``, ``t_for_target_size``) evaluated over the index rows ``rows`` at a time
(bounded memory) and spread to every side-car row through ``row_to_index`` (duplicate rows count
as often as the offline stage counts them). The keep decisions are stored as a packed bit array
``<index>/decisions/keep-....npy`` that every loader worker memory-maps; a sample's decision is
then one lookup of its index row. This is the decision of ``metacurate balance --epoch``, made
by the same functions, not a second rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metacurate import balance
from metacurate.files import save_npy
from metacurate.online.uid_index import UidIndex


def decisions_path(
    index_dir: str | Path, t: float, seed: int, epoch: int, selection: str | None = None
) -> Path:
    """``selection``: what else the decisions depend on (image column, downloaded rows)."""
    tag = "" if selection is None else "-" + _digest(selection)
    name = f"keep-h{balance.HASH_VERSION}-t{float(t)!r}-s{int(seed)}-e{int(epoch)}{tag}.npy"
    return Path(index_dir) / "decisions" / name


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def _index_keep(index: UidIndex, p: np.ndarray, seed: int, epoch: int, rows: int) -> np.ndarray:
    keep = np.zeros(len(index), bool)
    start = 0
    for hashes, entry_ids in index.chunks(rows):
        keep[start : start + len(hashes)] = balance.keep_mask(entry_ids, hashes, p, seed, epoch)
        start += len(hashes)
    return keep


def compute_decisions(
    index: UidIndex,
    p: np.ndarray,
    seed: int,
    epoch: int,
    selected: np.ndarray | None = None,
    rows: int = 1 << 20,
) -> np.ndarray:
    """The keep bit of every index row (``np.packbits`` order). ``selected`` (one bool per
    side-car row, several texts per image): only selected rows can be kept; an index row is
    kept when one of its side-car rows is."""
    keep = _index_keep(index, p, seed, epoch, rows)
    if selected is not None:
        kept_rows = keep[index.row_to_index] & selected
        keep = np.bincount(index.row_to_index[kept_rows], minlength=len(index)) > 0
    return np.packbits(keep)


def load_or_compute(
    index: UidIndex,
    p: np.ndarray,
    t: float,
    seed: int,
    epoch: int,
    selection: str | None = None,
    selected: Callable[[], np.ndarray | None] | None = None,
) -> np.ndarray:
    """The packed decisions of ``(t, seed, epoch[, selection])``: memory-mapped when a process
    already wrote them, else computed (and written, when the index folder is writable).
    ``selected`` gives the competing side-car rows (called only when computing here)."""
    path = decisions_path(index.directory, t, seed, epoch, selection)
    if path.exists():
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    packed = compute_decisions(index, p, seed, epoch, selected() if selected else None)
    with contextlib.suppress(OSError):  # a read-only index: keep them in this process only
        save_npy(path, packed)
    return packed


def bit(packed: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The decisions at index rows ``positions`` (all >= 0)."""
    positions = np.asarray(positions, np.int64)
    return ((packed[positions >> 3] >> (7 - (positions & 7))) & 1).astype(bool)


def t_for_target(
    index: UidIndex,
    counts: np.ndarray,
    seed: int,
    epoch: int,
    target_size: int,
    selected: np.ndarray | None = None,
    rows: int = 1 << 20,
) -> float:
    """The ``t`` whose epoch size is closest to ``target_size``, exact (as ``metacurate
    balance --target-size N --epoch k``): every side-car row's threshold at that epoch, rows
    that do not compete for their image excluded."""
    tau = np.empty(len(index), np.float64)
    start = 0
    for hashes, entry_ids in index.chunks(rows):
        tau[start : start + len(hashes)] = balance.row_threshold(
            entry_ids, hashes, counts, seed, epoch
        )
        start += len(hashes)
    per_row = tau[index.row_to_index]
    if selected is not None:
        per_row[~selected] = np.inf
    from metacurate.balance.choose_t import choose

    return choose(
        counts, target_size=target_size, thresholds=lambda: [per_row], allow_t_below_1=True
    ).t


def expected_rows(
    index: UidIndex, p: np.ndarray, selected: np.ndarray | None = None, rows: int = 1 << 20
) -> tuple[float, float]:
    """Expected epoch size ``sum keep_prob`` over the side-car rows that compete, and its
    variance ``sum keep_prob (1 - keep_prob)`` (distinct rows are decided independently)."""
    prob = np.empty(len(index), np.float64)
    start = 0
    for hashes, entry_ids in index.chunks(rows):
        prob[start : start + len(hashes)] = balance.keep_prob(entry_ids, p)
        start += len(hashes)
    per_row = prob[index.row_to_index]
    if selected is not None:
        per_row = per_row[selected]
    return math.fsum(per_row), math.fsum(per_row * (1.0 - per_row))
