"""``OnlineDataset``: WebDataset shards through an ``OnlineBalancer``, as a PyTorch
``IterableDataset`` that is correct with ``DataLoader(num_workers > 1)`` and several ranks.

Shards, not samples, are split: shard ``i`` (of the epoch's shard order, after the finished
shards of a resume are removed) goes to the global worker ``i mod (world_size * num_workers)``,
global worker = ``rank * num_workers + worker``. Every shard is read by exactly one worker of
one rank, and each of its samples is decided there once: no duplicates, no gaps, whatever the
worker and rank counts. The decision is stateless, so a restart re-reads a shard and gets the
same kept samples: :class:`Progress` records what the training loop consumed (whole shards and
a prefix of the others) and ``resume=`` skips exactly that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from metacurate.errors import MetacurateError
from metacurate.online.balancer import OnlineBalancer

_SHUFFLE_TAG = 0x7368617264732D31  # "shards-1": domain tag of the per-epoch shard order


def split_shards(
    urls: Sequence[str], rank: int, world_size: int, worker: int, num_workers: int
) -> list[str]:
    """The shards of one worker of one rank: every ``world_size * num_workers``-th one."""
    if not 0 <= rank < world_size or not 0 <= worker < num_workers:
        raise MetacurateError(
            f"rank {rank} of {world_size}, worker {worker} of {num_workers}: out of range"
        )
    return list(urls[rank * num_workers + worker :: world_size * num_workers])


def shard_order(urls: Sequence[str], seed: int, epoch: int, shuffle: bool) -> list[str]:
    """The epoch's shard order: as given, or a permutation fixed by (seed, epoch), the same on
    every rank and worker."""
    urls = list(urls)
    if not shuffle:
        return urls
    rng = np.random.default_rng([seed & (2**64 - 1), _SHUFFLE_TAG, epoch])
    return [urls[i] for i in rng.permutation(len(urls))]


def shard_samples(url: str) -> Iterator[dict[str, Any]]:
    """The samples of one WebDataset shard, as ``webdataset`` groups them (raw bytes)."""
    from webdataset.tariterators import tarfile_samples

    for sample in tarfile_samples(iter([{"url": url}])):
        if sample:
            yield sample


@dataclass
class Progress:
    """What the training loop consumed in one epoch: finished shards, and how many kept
    samples of each other shard. Feed it every consumed sample (``update``) or the
    ``__url__``/``__last__`` fields of a collated batch (``update_batch``)."""

    epoch: int
    done: set[str] = field(default_factory=set)
    partial: dict[str, int] = field(default_factory=dict)

    def update(self, url: str, last: bool) -> None:
        if last:
            self.done.add(url)
            self.partial.pop(url, None)
        else:
            self.partial[url] = self.partial.get(url, 0) + 1

    def update_batch(self, urls: Sequence[str], lasts: Sequence[bool]) -> None:
        for url, last in zip(urls, lasts, strict=True):
            self.update(str(url), bool(last))

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "done": sorted(self.done), "partial": dict(self.partial)}

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> Progress:
        return cls(int(state["epoch"]), set(state["done"]), dict(state["partial"]))


def _with_last(samples: Iterator[dict[str, Any]], url: str) -> Iterator[dict[str, Any]]:
    """Mark each sample with ``__url__`` and ``__last__`` (True on the shard's last kept one)."""
    prev = next(samples, None)
    while prev is not None:
        nxt = next(samples, None)
        prev.setdefault("__url__", url)
        prev["__last__"] = nxt is None
        yield prev
        prev = nxt


class OnlineDataset(IterableDataset):
    """WebDataset shards ``urls`` balanced online by ``balancer`` at the dataset's epoch.

    ``set_epoch(k)`` before each epoch (the DataLoader pickles the dataset to its workers when
    an epoch starts; with ``persistent_workers=True`` pass ``epoch=`` an object with
    ``get_value()``, such as open_clip's ``SharedEpoch``). ``transform`` maps each kept sample
    (a dict of raw bytes plus ``__url__`` and ``__last__``) to what the loader yields.
    ``rank``/``world_size`` default to ``torch.distributed`` when it is initialised.
    ``shuffle_shards`` permutes the shard order per epoch (the same on every rank).
    ``resume``: a :class:`Progress` (or its ``state_dict()``) of this epoch, to skip what was
    consumed before a restart.
    """

    def __init__(
        self,
        urls: Sequence[str],
        balancer: OnlineBalancer,
        *,
        transform: Callable[[dict[str, Any]], Any] | None = None,
        epoch: int | Any = 0,
        rank: int | None = None,
        world_size: int | None = None,
        shuffle_shards: bool = False,
        resume: Progress | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(urls, str):
            urls = [urls]
        self.urls = [str(u) for u in urls]
        if len(set(self.urls)) != len(self.urls):
            raise MetacurateError("the shard list has the same URL twice; pass each shard once")
        self.balancer = balancer
        self.transform = transform
        self.epoch = epoch
        self.rank = rank
        self.world_size = world_size
        self.shuffle_shards = shuffle_shards
        self.resume = None
        if resume is not None:
            self.set_resume(resume)

    def set_epoch(self, epoch: int) -> None:
        """Iterate epoch ``epoch`` next (forgets a resume point of another epoch)."""
        self.epoch = int(epoch)
        self.balancer.set_epoch(self.epoch)
        if self.resume is not None and self.resume.epoch != self.epoch:
            self.resume = None

    def set_resume(self, resume: Progress | Mapping[str, Any]) -> None:
        """Skip what a previous run of this epoch consumed."""
        self.resume = resume if isinstance(resume, Progress) else Progress.from_state_dict(resume)
        self.set_epoch(self.resume.epoch)

    def _epoch_now(self) -> int:
        value = self.epoch.get_value() if hasattr(self.epoch, "get_value") else self.epoch
        return int(value)

    def _ranks(self) -> tuple[int, int]:
        if self.rank is not None or self.world_size is not None:
            return int(self.rank or 0), int(self.world_size or 1)
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def shards_for(self, rank: int, world_size: int, worker: int, num_workers: int) -> list[str]:
        """The shards that one worker of one rank reads this epoch."""
        epoch = self._epoch_now()
        order = shard_order(self.urls, self.balancer.seed, epoch, self.shuffle_shards)
        if self.resume is not None and self.resume.epoch == epoch:
            order = [u for u in order if u not in self.resume.done]
        return split_shards(order, rank, world_size, worker, num_workers)

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rank, world_size = self._ranks()
        epoch = self._epoch_now()
        if self.balancer.epoch != epoch:
            self.balancer.set_epoch(epoch)
        skip = self.resume.partial if self.resume and self.resume.epoch == epoch else {}
        for url in self.shards_for(rank, world_size, worker, num_workers):
            kept = _with_last(self.balancer.filter(shard_samples(url)), url)
            for sample in islice(kept, skip.get(url, 0), None):
                yield self.transform(sample) if self.transform is not None else sample
