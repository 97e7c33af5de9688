"""Online balancing: the balancing rule applied again at every epoch, in the data loader.

``OnlineBalancer`` decides WebDataset samples (``wds.WebDataset(urls).select(b.keep)``);
``OnlineDataset`` is a PyTorch ``IterableDataset`` over shards that is correct with several
``DataLoader`` workers and ranks (imported lazily: it needs ``torch``).
"""

from __future__ import annotations

from typing import Any

from metacurate.online.balancer import OnlineBalancer
from metacurate.online.log import read_epoch_log
from metacurate.online.samples import SampleFields
from metacurate.online.tables import pack_for_training
from metacurate.online.uid_index import UidIndex, build_uid_index

__all__ = [
    "OnlineBalancer",
    "OnlineDataset",
    "SampleFields",
    "UidIndex",
    "build_uid_index",
    "pack_for_training",
    "read_epoch_log",
    "split_shards",
]


def __getattr__(name: str) -> Any:
    if name in ("OnlineDataset", "split_shards"):
        from metacurate.online import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'metacurate.online' has no attribute {name!r}")
