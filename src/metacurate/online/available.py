"""Online balancing of downloaded shards: counts over the rows img2dataset fetched (as
``metacurate balance --available DIR``), computed once where the side-cars are and kept beside
the uid index: ``available-<digest>/counts.npy`` (per entry) and ``rows.npy`` (per side-car row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from metacurate.balance.driver import read_options
from metacurate.dedup import unique_of
from metacurate.download.available import availability
from metacurate.files import read_json, save_npy
from metacurate.online.uid_index import UidIndex
from metacurate.workdir import Workdir


def prepare_available(workdir: str | Path, index: UidIndex, folder: str | Path) -> Path:
    """Map img2dataset's output ``folder`` to the pool rows and save the counts over them."""
    wd = Workdir(workdir)
    stats = read_json(wd.stats)
    inputs = [i for i in stats["inputs"] if i["error"] is None]
    n_entries = pq.read_metadata(wd.entry_counts).num_rows
    read = read_options(stats["match_config"])
    avail = availability(wd, inputs, folder, read, n_entries, unique_of(wd))  # --dedup
    dest = index.directory / f"available-{avail.digest()}"
    if not (dest / "rows.npy").exists():
        save_npy(dest / "counts.npy", avail.counts)
        masks = avail.masks or [np.zeros(0, bool)]
        save_npy(dest / "rows.npy", np.concatenate(masks))
    return dest


def load_available(directory: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(counts over the downloaded rows, downloaded mask per side-car row)``."""
    d = Path(directory)
    return np.load(d / "counts.npy"), np.load(d / "rows.npy")
