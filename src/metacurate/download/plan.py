"""Planning a download: if only a fraction ``r`` of URLs will arrive, curate before the
download at ``t / r`` so that, per head entry, about ``t`` rows survive; after the download,
``metacurate balance --available`` re-counts and re-balances at ``t`` on what arrived.

The expected final size is estimated with the counts each entry is expected to have after the
download (``r * count_curated[e]``): ``r * sum over the download set of keep_prob`` at ``t``
with those counts (a mean-field estimate: the realised counts vary around it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from metacurate.balance.rule import entry_probs, keep_prob
from metacurate.count import count_entries
from metacurate.errors import MetacurateError
from metacurate.files import is_temporary
from metacurate.workdir import Workdir

if TYPE_CHECKING:
    from metacurate.download.available import Availability


def check_success_rate(r: float) -> float:
    r = float(r)
    if not 0.0 < r <= 1.0:
        raise MetacurateError(f"success rate must be in (0, 1], got {r}")
    return r


def plan_download(t_final: float, success_rate: float) -> dict:
    """The pre-download threshold for a final ``t`` and an expected success rate."""
    r = check_success_rate(success_rate)
    return {"success_rate": r, "t_final": float(t_final), "t_download": float(t_final) / r}


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


def measured_success_rate(folder: str | Path) -> float:
    """The success rate img2dataset measured so far: successes over tries in its
    ``*_stats.json`` files (written per finished shard)."""
    tried = ok = 0
    for path in Path(folder).glob("*_stats.json"):
        stats = json.loads(path.read_text())
        tried += int(stats.get("count", 0))
        ok += int(stats.get("successes", 0))
    if tried == 0:
        raise MetacurateError(
            f"{folder}: no img2dataset *_stats.json yet; download a first shard, or pass the "
            "expected success rate as a number"
        )
    return ok / tried


def download_fields(
    avail: Availability | None, plan: dict | None, wd: Workdir, out: Workdir, n_entries: int
) -> dict:
    """The manifest's ``available`` and ``download_plan`` entries (those that apply)."""
    from metacurate.download.img2dataset import img2dataset_command

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
