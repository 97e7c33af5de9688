"""``OnlineBalancer``: the balancing rule applied again at every epoch, inside the data loader.

At epoch ``k`` a sample is kept iff some entry ``e`` of its match set has
``u(seed, k, uid, e) < p_e`` (semantics.md section 3) -- the very decision of
``metacurate balance WORKDIR --t T --seed S --epoch k``, made by the same function
(:func:`metacurate.balance.decide`). Epoch ``k`` online therefore equals epoch ``k`` offline, row
for row, and each epoch sees another balanced subset of the pool: head samples rotate, tail
samples (``p_e = 1``) stay.

The balancer is picklable and small: it carries paths and numbers; every process (each
``DataLoader`` worker) loads the counts, the uid index or the matcher lazily, once, by
memory-mapping them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from metacurate import balance
from metacurate.balance.choose_t import choose
from metacurate.config import BalanceConfig, balance_options
from metacurate.dedup import deduped, unique_rows
from metacurate.errors import MetacurateError
from metacurate.online.available import load_available, prepare_available
from metacurate.online.decisions import bit, expected_rows, load_or_compute, t_for_target
from metacurate.online.images import image_text_hashes, selected_rows
from metacurate.online.log import ShardTally, write_shard_record
from metacurate.online.samples import SampleFields, SampleReader, unknown_uid
from metacurate.online.state import MATCHES, LocalState, resolve_matches
from metacurate.online.tables import (
    load_matcher,
    read_counts,
    worldwide_layout,
)
from metacurate.online.uid_index import UidIndex, build_uid_index
from metacurate.pool.uid import uid_hash
from metacurate.workdir import Workdir

__all__ = ["MATCHES", "OnlineBalancer"]


class OnlineBalancer:
    """Decides WebDataset samples at one epoch; see the module docstring.

    ``workdir``: a ``metacurate match`` work directory (``entry_counts.parquet``; its side-cars
    for ``matches="sidecar"``; its matcher index or ``metadata.json`` for ``"caption"``).
    Exactly one of ``t``, ``target_size`` (the ``t`` whose epoch size is closest, exact, per
    epoch) and ``tail_share``. ``matches``: ``"sidecar"`` looks each sample's match set up by
    uid in the side-cars, ``"caption"`` matches its caption in the loader, ``"auto"`` takes the
    side-cars when the work directory has them. ``unknown``: ``"error"`` (a sample whose uid is
    not a pool row stops the loader) or ``"drop"`` (it is dropped and counted). ``log_dir``:
    where per-shard records of each epoch go (:func:`metacurate.online.read_epoch_log`).
    ``image_column``: several texts per image, one competes per epoch (as ``balance
    --image-column``). ``available``: an img2dataset output folder; counts over the rows it
    downloaded (as ``balance --available``). ``allow_t_below_1``: as ``balance
    --allow-t-below-1`` (a target size that needs ``t < 1`` is an error otherwise).
    A metaclip2 (per-language) work directory: ``t`` is English's, each language gets its own
    (``t_rule`` as ``balance --t-rule``), decided from the side-cars, as offline.
    """

    def __init__(
        self,
        workdir: str | Path,
        config: BalanceConfig | None = None,
        *,
        matches: str = "auto",
        index_dir: str | Path | None = None,
        unknown: str = "error",
        log_dir: str | Path | None = None,
        fields: SampleFields | None = None,
        chunk_rows: int = 1024,
        **options: Any,
    ) -> None:
        """``config``: the balancing options (``t`` or ``target_size`` or ``tail_share``,
        ``seed``, ``epoch`` (the first epoch, default 0), ``image_column``, ``available``,
        ``allow_t_below_1``, ``t_rule``), as ``metacurate balance`` takes them; keyword
        shortcuts for its fields (``t=20, seed=1``) override it. The others are the loader's."""
        cfg = balance_options(config, options)
        t, target_size, tail_share = cfg.t, cfg.target_size, cfg.tail_share
        image_column, available, t_rule = cfg.image_column, cfg.available, cfg.t_rule
        seed, epoch, allow_t_below_1 = cfg.seed, cfg.epoch or 0, cfg.allow_t_below_1
        wd = Workdir(workdir)
        self.workdir = str(wd.root)
        counts, self.metadata_hash, self.mode = read_counts(wd.entry_counts)
        self.matches = resolve_matches(matches, wd, unknown, image_column, available)
        ww = worldwide_layout(wd, self.matches, target_size, image_column)  # metaclip2 runs
        self.worldwide, lang_rows = ww if ww is not None else (None, None)
        self.t_rule = t_rule
        self._choice = {  # what choose() needs besides the counts
            "t": t,
            "tail_share": tail_share,
            "layout": self.worldwide,
            "lang_rows": lang_rows,
            "t_lang": dict(cfg.t_lang) if cfg.t_lang else None,
            "t_rule": t_rule,
        }
        self.image_column = image_column
        self.index_dir = (
            str(build_uid_index(wd.root, index_dir))
            if self.matches == "sidecar" or (wd.stats.exists() and target_size is not None)
            else None
        )
        if image_column is not None:  # read the image and text hashes once, here
            image_text_hashes(self.workdir, UidIndex(self.index_dir), image_column)
        self.available_dir = None
        if available is not None:  # balance what was downloaded: counts over those rows
            index = UidIndex(self.index_dir)
            self.available_dir = str(prepare_available(wd.root, index, available))
            counts = load_available(self.available_dir)[0]
        self.seed = int(seed)
        self.target_size = target_size
        self.allow_t_below_1 = allow_t_below_1
        self.unknown = unknown
        self.log_dir = str(log_dir) if log_dir is not None else None
        self.fields = fields or SampleFields()
        self.chunk_rows = int(chunk_rows)
        self._fixed_t = (
            choose(counts, **self._choice).t if t is not None or tail_share is not None else None
        )
        self._t_by_epoch: dict[int, float] = {}
        self._expected: dict[tuple[float, int | None], tuple[float, float]] = {}
        self._local: LocalState | None = None
        self.epoch = 0
        self.set_epoch(epoch)

    # -- pickling: paths and numbers only ------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_local"] = None
        return state

    def _state(self) -> LocalState:
        """This process's tables, loaded on first use (and again in a forked child)."""
        local = self._local
        if local is None or local.pid != os.getpid():
            if self.available_dir is not None:
                counts = load_available(self.available_dir)[0]
            else:
                counts = read_counts(Workdir(self.workdir).entry_counts)[0]
            local = LocalState(pid=os.getpid(), counts=counts, reader=SampleReader(self.fields))
            if self.index_dir is not None:
                local.index = UidIndex(self.index_dir)
            if self.matches == "caption":
                local.matcher = load_matcher(self.workdir, self.metadata_hash, self.mode)
            self._local = local
            _register_flush(self)
        return local

    # -- epoch and t -----------------------------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Decide at epoch ``epoch`` from now on (resolves ``t`` for a target size)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise MetacurateError(f"epoch must be a non-negative integer, got {epoch!r}")
        self._flush()
        self.epoch = int(epoch)
        self.t_at(self.epoch)
        if self.matches == "sidecar":  # once here, so loader workers only map the file
            self._decisions()

    def t_at(self, epoch: int) -> float:
        """The threshold at ``epoch`` (the same for every epoch unless ``target_size``)."""
        if self._fixed_t is not None:
            return self._fixed_t
        epoch = int(epoch)
        if epoch not in self._t_by_epoch:
            t = t_for_target(
                self._index(),
                self._state().counts,
                self.seed,
                epoch,
                self.target_size,
                self._selected(epoch),
            )
            if t < 1 and not self.allow_t_below_1:  # as balance --target-size
                raise MetacurateError(
                    f"target_size={self.target_size:,} needs t = {t:.3g} < 1 at epoch {epoch}, "
                    "which sub-samples even entries seen once (the tail); ask for more rows, "
                    "or pass allow_t_below_1=True (balance: --allow-t-below-1)"
                )
            self._t_by_epoch[epoch] = t
        return self._t_by_epoch[epoch]

    def _index(self) -> UidIndex:
        """The uid index, for what needs every pool row (target size, expected size)."""
        local = self._state()
        if local.index is None:
            if not Workdir(self.workdir).stats.exists():
                raise MetacurateError(
                    f"{self.workdir}: no side-cars (stats.json); the expected size and t for "
                    "a target size need every pool row: compute them where 'metacurate "
                    "match' ran (OnlineBalancer(WORKDIR, ...).expected_size())"
                )
            self.index_dir = str(build_uid_index(self.workdir))
            local.index = UidIndex(self.index_dir)
        return local.index

    def _selected(self, epoch: int) -> np.ndarray | None:
        """Which side-car rows compete at ``epoch``: the kept copy of each uid (a ``--dedup``
        work folder), the downloaded ones (``available``), one text per image
        (``image_column``); None: all."""
        dedup = deduped(self.workdir)
        if self.image_column is None and self.available_dir is None and not dedup:
            return None
        local = self._state()
        if local.selected is None or local.selected[0] != epoch:
            rows = load_available(self.available_dir)[1] if self.available_dir else None
            if dedup:
                unique = unique_rows(self.workdir)
                rows = unique if rows is None else rows & unique
            if self.image_column is not None:
                index = self._index()
                image, text = image_text_hashes(self.workdir, index, self.image_column)
                rows = selected_rows(index, image, text, self.seed, epoch, rows)
            local.selected = (epoch, rows)
        return local.selected[1]

    def _selection_tag(self) -> str | None:
        """What, besides t, seed and epoch, the decisions depend on (for their file name)."""
        parts = ["dedup"] if deduped(self.workdir) else []
        if self.image_column is not None:
            parts.append("i" + self.image_column)
        if self.available_dir is not None:
            parts.append("a" + Path(self.available_dir).name)
        if self.worldwide is not None:  # p_e per language, by this rule and reference
            ref = {k: self._choice[k] for k in ("t", "tail_share", "t_lang")}
            digest = hashlib.sha256(json.dumps(ref, sort_keys=True).encode()).hexdigest()[:12]
            parts.append(
                "w"
                + self.t_rule
                + ("" if ref["tail_share"] is None and not ref["t_lang"] else digest)
            )
        return "-".join(parts) or None

    @property
    def t(self) -> float:
        return self.t_at(self.epoch)

    def _p(self, t: float) -> np.ndarray:
        local = self._state()
        if t not in local.probs:
            p = (
                choose(local.counts, **self._choice).p
                if self.worldwide is not None
                else balance.entry_probs(local.counts, t)
            )
            local.probs = {t: p}
        return local.probs[t]

    def expected_size(self, epoch: int | None = None) -> float:
        """Expected samples kept per epoch, ``sum keep_prob`` over the pool's side-car rows that
        compete (what open_clip's ``--train-num-samples`` needs). Needs the side-cars."""
        return self._expected_at(self.epoch if epoch is None else epoch)[0]

    def expected_std(self, epoch: int | None = None) -> float:
        """Standard deviation of the epoch size: ``sqrt(sum keep_prob (1 - keep_prob))``."""
        return float(np.sqrt(self._expected_at(self.epoch if epoch is None else epoch)[1]))

    def _expected_at(self, epoch: int) -> tuple[float, float]:
        t = self.t_at(epoch)
        key = (t, epoch if self.image_column is not None else None)
        if key not in self._expected:
            self._expected[key] = expected_rows(self._index(), self._p(t), self._selected(epoch))
        return self._expected[key]

    # -- decisions -------------------------------------------------------------------------------

    def _decisions(self) -> np.ndarray:
        """This epoch's packed keep bits of every uid-index row (side-car mode)."""
        local = self._state()
        if local.decisions_key != self.epoch:  # t is a function of the epoch
            epoch = self.epoch
            local.decisions = load_or_compute(
                local.index,
                self._p(self.t),
                self.t,
                self.seed,
                epoch,
                self._selection_tag(),
                lambda: self._selected(epoch),
            )
            local.decisions_mv = memoryview(local.decisions)
            local.decisions_key = epoch
        return local.decisions

    def match_sets(self, samples: Sequence[Mapping[str, Any]]) -> tuple[pa.ListArray, np.ndarray]:
        """Match sets and ``uid_hash`` of a batch of samples (``[]`` for unknown uids)."""
        local = self._state()
        uids = local.reader.uids(samples)
        hashes = uid_hash(pa.array(uids, pa.string()))
        if self.matches == "sidecar":
            return local.index.entry_ids(local.index.positions(uids)), hashes
        texts = pa.array(local.reader.captions(samples), pa.binary())
        return local.matcher.match_batch(texts), hashes

    def decide(self, samples: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """``(keep, known)`` for a batch of samples at the current epoch; ``known`` is False
        for a uid that is not a pool row (side-car mode with ``unknown='drop'``)."""
        local = self._state()
        if self.matches == "caption":  # match the captions here, decide with the same function
            entry_ids, hashes = self.match_sets(samples)
            keep = balance.keep_mask(entry_ids, hashes, self._p(self.t), self.seed, self.epoch)
            return keep, np.ones(len(samples), bool)
        uids = local.reader.uids(samples)
        pos = local.index.positions(uids)
        known = pos >= 0
        if self.unknown == "error" and not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise unknown_uid(samples[i], uids[i], self.workdir, self.fields.uid_field)
        keep = np.zeros(len(samples), bool)
        keep[known] = bit(self._decisions(), pos[known])
        return keep, known

    def keep(self, sample: Mapping[str, Any]) -> bool:
        """Is ``sample`` kept at the current epoch? For ``wds.WebDataset(urls).select(b.keep)``.

        Side-car mode: one uid lookup and one bit (a few microseconds). Caption mode matches one
        caption per call; :meth:`filter` matches ``chunk_rows`` at a time and is faster."""
        local = self._local
        if local is None or local.pid != os.getpid():
            local = self._state()
        if self.matches == "caption":
            kept = bool(self.decide([sample])[0][0])
            self._count(sample, kept, True)
            return kept
        uid = local.reader.uid(sample)
        pos = local.index.position(uid)
        if pos < 0:
            if self.unknown == "error":
                raise unknown_uid(sample, uid, self.workdir, self.fields.uid_field)
            self._count(sample, False, False)
            return False
        if local.decisions_key != self.epoch:
            self._decisions()
        kept = bool((local.decisions_mv[pos >> 3] >> (7 - (pos & 7))) & 1)
        self._count(sample, kept, True)
        return kept

    def filter(self, samples: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The kept samples of a stream, decided ``chunk_rows`` at a time (a pipeline stage:
        ``wds.DataPipeline(..., b.filter, ...)`` or ``dataset.compose(b.filter)``)."""
        it = iter(samples)
        while chunk := list(islice(it, self.chunk_rows)):
            keep, known = self.decide(chunk)
            self._count_chunk(chunk, keep, known)
            yield from (s for s, k in zip(chunk, keep.tolist(), strict=True) if k)
        self._flush()

    # -- the per-epoch log -----------------------------------------------------------------------

    def _count(self, sample: Mapping[str, Any], kept: bool, known: bool) -> None:
        """Add one decided sample to its shard's tally."""
        local = self._local if self._local is not None else self._state()
        self._write(local.tallies.add_one(sample.get("__url__", ""), self.epoch, kept, known))

    def _count_chunk(
        self, chunk: Sequence[Mapping[str, Any]], keep: np.ndarray, known: np.ndarray
    ) -> None:
        shards = [str(s.get("__url__", "")) for s in chunk]
        for done in self._state().tallies.add_chunk(shards, self.epoch, keep, known):
            self._write(done)

    def _write(self, tally: ShardTally | None) -> None:
        if tally is not None and self.log_dir is not None:
            write_shard_record(self.log_dir, tally, self.t_at(tally.epoch), self.seed)

    def _flush(self) -> None:
        """Write the record of the shard being tallied (when a log directory is set)."""
        local = self._local
        if local is not None and local.pid == os.getpid():
            self._write(local.tallies.take())

    def flush_log(self) -> None:
        """Write the current shard's record now (the loader does it at every shard's end)."""
        self._flush()

    def epoch_counts(self) -> dict[int, dict[str, int]]:
        """Samples seen and kept per epoch by this process (the log directory has them all)."""
        return {k: dict(v) for k, v in self._state().tallies.epochs.items()}


def _register_flush(b: OnlineBalancer) -> None:
    """Write the last shard's record when a loader worker process exits normally
    (``multiprocessing`` runs its finalizers then; ``atexit`` does not run in workers)."""
    from multiprocessing import util

    util.Finalize(None, OnlineBalancer._flush, args=(b,), exitpriority=10)
