"""The download loop's part of a balance run: the manifest's ``available`` and
``download_plan`` entries, and a plan's expected sizes (balancing arithmetic on the curated
download set). Here, not in ``download/``, so that package never imports the balance stage."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from metacurate.balance.rule import entry_probs, keep_prob
from metacurate.count import count_entries
from metacurate.download.available import Availability
from metacurate.download.img2dataset import img2dataset_command
from metacurate.files import is_temporary
from metacurate.workdir import Workdir


def expected_after_download(curated: Path, plan: dict, n_entries: int) -> dict:
    """Rows to download, expected available rows and expected final size of a plan, from the
    curated (download) set it produced."""
    files = sorted(p for p in Path(curated).glob("*.parquet") if not is_temporary(p))
    ids = [pq.read_table(f, columns=["entry_ids"]).column(0).combine_chunks() for f in files]
    counts = np.zeros(n_entries, np.int64)
    for a in ids:
        counts += count_entries(a, n_entries)
    r = plan["success_rate"]
    p = entry_probs(np.round(r * counts).astype(np.int64), plan["t_final"])
    rows = sum(len(a) for a in ids)
    final = r * math.fsum(float(keep_prob(a, p).sum()) for a in ids)
    return {"rows_to_download": rows, "expected_available": r * rows, "expected_final": final}


def download_fields(
    avail: Availability | None, plan: dict | None, wd: Workdir, out: Workdir, n_entries: int
) -> dict:
    """The manifest's ``available`` and ``download_plan`` entries (those that apply)."""
    fields: dict = {}
    if avail is not None:
        fields["available"] = avail.info
    if plan is not None:
        shards = out.root / "shards"
        fields["download_plan"] = {
            **plan,
            **expected_after_download(out.curated, plan, n_entries),
            "img2dataset": img2dataset_command(out.root, shards, wd.root),
            "then": f"metacurate balance {wd.root} --t {plan['t_final']!r} --available "
            f"{shards} --out FINAL",
        }
    return fields
