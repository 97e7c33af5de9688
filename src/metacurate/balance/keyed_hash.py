"""The keyed hash ``u(seed[, epoch], uid, e)`` in ``[0, 1)`` behind every keep decision.

``HASH_VERSION`` is part of the on-disk contract: curated sets made with one version are
reproduced only by the same version (docs/semantics.md, "The keyed-hash decision").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metacurate.errors import MetacurateError

HASH_VERSION = 1
"""Version of the keyed hash ``u`` in :func:`uniform`. Part of the on-disk contract: curated sets
made with one version are reproduced only by the same version. Bump it (never edit the formula in
place) if the construction ever has to change."""

# --- the keyed hash (HASH_VERSION 1) -------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio, the splitmix64 increment
_SEED_TAG = np.uint64(0x6D65746163757261)  # ASCII "metacura": domain tag for the seed
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_POW_M53 = 2.0**-53
_U64_MAX = 2**64 - 1


def _mix64_inplace(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (Stafford "Mix13"), in place on a uint64 array, wrapping arithmetic."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def _mix64(x: int) -> int:
    """The same finalizer on a Python int (for the scalar key schedule)."""
    m = _U64_MAX
    x &= m
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & m
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & m
    x ^= x >> 31
    return x


def hash_key(seed: int, epoch: int | None) -> int:
    """Scalar key ``K(seed, epoch)``; distinct for every epoch and for ``None`` at a fixed seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise MetacurateError(f"seed must be an integer, got {seed!r}; pass e.g. --seed 0")
    seed = int(seed)
    if not 0 <= seed <= _U64_MAX:
        raise MetacurateError(f"seed must be in [0, 2^64), got {seed}; pass a non-negative seed")
    if epoch is None:
        c = 0
    else:
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise MetacurateError(f"epoch must be an integer or None, got {epoch!r}")
        epoch = int(epoch)
        if not 0 <= epoch < _U64_MAX:
            raise MetacurateError(f"epoch must be in [0, 2^64 - 1), got {epoch}")
        c = epoch + 1
    seed_key = _mix64(seed ^ int(_SEED_TAG))
    return _mix64(seed_key ^ ((c * int(_GOLDEN)) & _U64_MAX))


def as_u64(a: np.ndarray | Sequence[int], what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == np.uint64:
        return a
    if a.dtype.kind == "i":
        return a.astype(np.int64, copy=False).view(np.uint64)
    if a.dtype.kind == "u":
        return a.astype(np.uint64)
    if a.size == 0:
        return a.astype(np.uint64)
    raise MetacurateError(f"{what} must be an integer array (uint64), got dtype {a.dtype}")


def row_keys(seed: int, epoch: int | None, uid_hash: np.ndarray) -> np.ndarray:
    """Per-row state ``R = mix(K ^ uid_hash)`` (new uint64 array)."""
    r = as_u64(uid_hash, "uid_hash") ^ np.uint64(hash_key(seed, epoch))
    return _mix64_inplace(r)


def uniform_from_row_keys(r: np.ndarray, entry_ids: np.ndarray) -> np.ndarray:
    """``u = (mix(R + (e + 1) * G) >> 11) * 2^-53`` elementwise (R and entry_ids broadcast)."""
    e = as_u64(entry_ids, "entry_ids")
    x = np.broadcast_to(e, np.broadcast_shapes(e.shape, r.shape)) + np.uint64(1)
    x *= _GOLDEN
    x += r
    x = _mix64_inplace(x)
    x >>= _S11
    u = x.astype(np.float64)
    u *= _TWO_POW_M53
    return u


def uniform(
    seed: int,
    uid_hash: np.ndarray,
    entry_ids: np.ndarray,
    epoch: int | None = None,
) -> np.ndarray:
    """The keyed hash ``u(seed, uid, e)`` (or ``u(seed, epoch, uid, e)``) in ``[0, 1)``.

    Elementwise: ``uid_hash`` and ``entry_ids`` broadcast against each other.
    All arithmetic is on unsigned 64-bit integers modulo 2^64 (HASH_VERSION 1)::

        mix(x)  = splitmix64 finalizer:  x ^= x >> 30; x *= 0xBF58476D1CE4E5B9;
                                         x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31
        G       = 0x9E3779B97F4A7C15
        c       = 0 if epoch is None else epoch + 1
        K       = mix( mix(seed ^ 0x6D65746163757261) ^ (c * G) )
        R       = mix( K ^ uid_hash )
        u       = ( mix( R + (e + 1) * G ) >> 11 ) * 2^-53

    ``u`` for a row is the ``(e + 1)``-th output of a splitmix64 stream seeded with ``R``. ``mix``
    is a bijection and ``c * G`` is distinct for every ``c < 2^64`` (G is odd), so at a fixed seed
    every epoch, and ``None``, gives a different key ``K``; distinct uids give distinct ``R``.
    ``seed`` must be in ``[0, 2^64)`` and ``epoch`` in ``[0, 2^64 - 1)``.
    """
    uid_hash, entry_ids = np.asarray(uid_hash), np.asarray(entry_ids)
    shape = np.broadcast_shapes(uid_hash.shape, entry_ids.shape)
    r = row_keys(seed, epoch, np.atleast_1d(uid_hash))  # 1-d: no numpy-scalar overflow warnings
    return uniform_from_row_keys(r, np.atleast_1d(entry_ids)).reshape(shape)
