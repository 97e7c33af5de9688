"""Several texts per image (Meta CLIP 2): per image only one matched text goes through the keep
rule, the one with the smallest keyed score ``fmix64(uid_hash ^ text_hash ^ key(seed, epoch))``.

Pure functions over arrays; ``balance.driver`` reads the files and writes the choice as a
``select`` side-car per task. Counts stay per text.
"""

from __future__ import annotations

import numpy as np

from metacurate.balance.keyed_hash import hash_key
from metacurate.pool.uid import fmix64

_PICK_TAG = 0x7069636B2D746578  # "pick-tex": domain tag of the per-image text choice


def pick_key(seed: int, epoch: int | None = None) -> np.uint64:
    """The choice's key: offline (``epoch=None``) ``fmix64(seed ^ tag)``; online the epoch's
    key of the keep rule mixed with the same tag, so each epoch picks anew."""
    base = int(seed) if epoch is None else hash_key(seed, epoch)
    return np.uint64(fmix64(np.array([base ^ _PICK_TAG], dtype=np.uint64))[0])


def pick_scores(
    uid_hash: np.ndarray, text_hash: np.ndarray, seed: int, epoch: int | None = None
) -> np.ndarray:
    """Each text's score; the smallest score of an image wins."""
    return fmix64(uid_hash ^ text_hash ^ pick_key(seed, epoch))


def choose_one_per_image(
    image_hash: np.ndarray, score: np.ndarray, file: np.ndarray, row: np.ndarray
) -> np.ndarray:
    """Indices of the chosen candidates: per image the smallest score; ties (exact duplicates)
    go to the first in input order (file, then row)."""
    order = np.lexsort((row, file, score, image_hash))
    first = np.ones(len(order), bool)
    first[1:] = image_hash[order][1:] != image_hash[order][:-1]
    return order[first]
