"""The download loop: plan what to fetch, fetch it with img2dataset, re-balance what arrived.

``plan`` (the inflated pre-download ``t`` for an expected success rate), ``img2dataset`` (the
command line / Python call for a curated set, carrying ``uid``, ``entry_ids`` and
``keep_prob`` into the shards) and ``available`` (which pool rows img2dataset fetched, and the
entry counts over those rows only, for ``metacurate balance --available DIR``).
"""

from metacurate.download.available import (
    Availability,
    Downloaded,
    availability,
    read_img2dataset,
)
from metacurate.download.img2dataset import (
    img2dataset_command,
    img2dataset_options,
    run_img2dataset,
)
from metacurate.download.plan import measured_success_rate, plan_download

__all__ = [
    "Availability",
    "Downloaded",
    "availability",
    "img2dataset_command",
    "img2dataset_options",
    "measured_success_rate",
    "plan_download",
    "read_img2dataset",
    "run_img2dataset",
]
