"""One epoch's keep decisions for every row of the uid index, computed once and shared.

``balance.keep_mask`` over the index rows (``rows`` at a time) at ``(t, seed, epoch)``, stored
as a packed bit array ``<index>/decisions/keep-....npy`` that every loader worker memory-maps;
a sample's decision is then one lookup of its index row. This is the offline decision of
``metacurate balance --epoch``, evaluated by the same function, not a second rule.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from metacurate import balance
from metacurate.files import save_npy
from metacurate.online.uid_index import UidIndex


def decisions_path(index_dir: str | Path, t: float, seed: int, epoch: int) -> Path:
    name = f"keep-h{balance.HASH_VERSION}-t{float(t)!r}-s{int(seed)}-e{int(epoch)}.npy"
    return Path(index_dir) / "decisions" / name


def compute_decisions(
    index: UidIndex, p: np.ndarray, seed: int, epoch: int, rows: int = 1 << 20
) -> np.ndarray:
    """The keep bit of every index row (``np.packbits`` order), bounded memory."""
    bits = np.zeros(len(index), bool)
    start = 0
    for hashes, entry_ids in index.chunks(rows):
        bits[start : start + len(hashes)] = balance.keep_mask(entry_ids, hashes, p, seed, epoch)
        start += len(hashes)
    return np.packbits(bits)


def load_or_compute(index: UidIndex, p: np.ndarray, t: float, seed: int, epoch: int) -> np.ndarray:
    """The packed decisions of ``(t, seed, epoch)``: memory-mapped when a process already
    wrote them, else computed (and written, when the index folder is writable)."""
    path = decisions_path(index.directory, t, seed, epoch)
    if path.exists():
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    packed = compute_decisions(index, p, seed, epoch)
    with contextlib.suppress(OSError):  # a read-only index: keep them in this process only
        save_npy(path, packed)
    return packed


def bit(packed: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The decisions at index rows ``positions`` (all >= 0)."""
    positions = np.asarray(positions, np.int64)
    return ((packed[positions >> 3] >> (7 - (positions & 7))) & 1).astype(bool)
