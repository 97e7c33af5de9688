"""Planning a download: if only a fraction ``r`` of URLs will arrive, curate before the
download at ``t / r`` so that, per head entry, about ``t`` rows survive; after the download,
``metacurate balance --available`` re-counts and re-balances at ``t`` on what arrived.

The expected final size is estimated with the counts each entry is expected to have after the
download (``r * count_curated[e]``): ``r * sum over the download set of keep_prob`` at ``t``
with those counts (a mean-field estimate: the realised counts vary around it); that estimate
is computed by the balance stage (``balance/downloads.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from metacurate.errors import MetacurateError


def check_success_rate(r: float) -> float:
    r = float(r)
    if not 0.0 < r <= 1.0:
        raise MetacurateError(f"success rate must be in (0, 1], got {r}")
    return r


def plan_download(t_final: float, success_rate: float) -> dict:
    """The pre-download threshold for a final ``t`` and an expected success rate."""
    r = check_success_rate(success_rate)
    return {"success_rate": r, "t_final": float(t_final), "t_download": float(t_final) / r}


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
