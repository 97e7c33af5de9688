"""Balancing (semantics.md section 3) against an obviously-correct per-row loop."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate import balance
from metacurate.balance import (
    EXPECTED_SIZE_NOTE,
    HASH_VERSION,
    entry_probs,
    expected_size,
    keep_mask,
    keep_prob,
    row_threshold,
    sum_min_count_t,
    t_for_tail_share,
    t_for_target_size,
    tail_share,
    uniform,
)
from metacurate.errors import MetacurateError

U64 = 2**64 - 1

# --- references --------------------------------------------------------------------------------


def _mix_ref(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & U64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & U64
    x ^= x >> 31
    return x


def u_ref(seed: int, uid: int, e: int, epoch: int | None = None) -> float:
    """The documented HASH_VERSION 1 formula, in plain Python integers."""
    g = 0x9E3779B97F4A7C15
    c = 0 if epoch is None else epoch + 1
    k = _mix_ref(_mix_ref(seed ^ 0x6D65746163757261) ^ ((c * g) & U64))
    r = _mix_ref(k ^ uid)
    return (_mix_ref((r + (e + 1) * g) & U64) >> 11) / 2**53


def p_ref(count: int, t: float) -> float:
    return 1.0 if count < t else t / count


def keep_ref(rows, uids, counts, t, seed, epoch=None) -> np.ndarray:
    """One Python loop per row: keep iff some e has u(seed, uid, e) < p_e."""
    out = []
    for row, uid in zip(rows, uids, strict=True):
        out.append(
            any(
                float(uniform(seed, np.uint64(uid), e, epoch)) < p_ref(counts[e], t)
                for e in (row or [])
            )
        )
    return np.array(out, dtype=bool)


def keep_prob_ref(rows, counts, t) -> np.ndarray:
    return np.array(
        [1.0 - math.prod(1.0 - p_ref(counts[e], t) for e in (row or [])) for row in rows]
    )


def list_array(rows) -> pa.ListArray:
    return pa.array(rows, type=pa.list_(pa.int32()))


def synthetic_pool(n_rows: int, n_entries: int, seed: int, a: float = 1.3):
    """Zipf-distributed matches, 1-5 unique ascending ids per row, plus a few empty rows."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, n_rows)
    lengths[rng.random(n_rows) < 0.05] = 0
    rows = np.repeat(np.arange(n_rows), lengths)
    ids = (rng.zipf(a, len(rows)) - 1) % n_entries
    order = np.lexsort((ids, rows))
    rows, ids = rows[order], ids[order]
    first = np.ones(len(ids), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
    rows, ids = rows[first], ids[first]
    offsets = np.zeros(n_rows + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=offsets[1:])
    entry_ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids.astype(np.int32)))
    uid_hash = rng.integers(0, 2**64, n_rows, dtype=np.uint64)
    counts = np.bincount(ids, minlength=n_entries).astype(np.int64)
    return entry_ids, uid_hash, counts


# --- strategies ----------------------------------------------------------------------------------

N_ENTRIES = 8


@st.composite
def pools(draw):
    counts = draw(st.lists(st.integers(0, 20), min_size=N_ENTRIES, max_size=N_ENTRIES))
    row = st.one_of(
        st.sets(st.integers(0, N_ENTRIES - 1), max_size=5).map(sorted),
        st.just([]),
    )
    rows = draw(st.lists(row, max_size=30))
    uids = draw(st.lists(st.integers(0, U64), min_size=len(rows), max_size=len(rows)))
    t = draw(st.floats(0.01, 25, allow_nan=False))
    seed = draw(st.integers(0, U64))
    epoch = draw(st.one_of(st.none(), st.integers(0, 10**6)))
    return rows, uids, counts, t, seed, epoch


# --- the hash ------------------------------------------------------------------------------------


def test_hash_version_and_golden_values():
    # Pinned outputs: if these change, curated sets change; bump HASH_VERSION instead.
    assert HASH_VERSION == 1
    uid = np.array([0, 1, 2**63, U64], dtype=np.uint64)
    got = uniform(0, uid, np.array([0, 1, 7, 499_999]))
    want = [u_ref(0, int(x), e) for x, e in zip(uid, [0, 1, 7, 499_999], strict=True)]
    assert got.tolist() == want
    assert float(uniform(0, np.uint64(5), 3)) == 0.15489506840601586
    assert float(uniform(1, np.uint64(5), 3, epoch=0)) == 0.7804428182649934


@given(
    seed=st.integers(0, U64),
    uid=st.integers(0, U64),
    e=st.integers(0, 2**31 - 1),
    epoch=st.one_of(st.none(), st.integers(0, 2**64 - 2)),
)
def test_uniform_matches_documented_formula(seed, uid, e, epoch):
    u = float(uniform(seed, np.uint64(uid), np.int32(e) if e < 2**31 else e, epoch))
    assert u == u_ref(seed, uid, e, epoch)
    assert 0.0 <= u < 1.0


def test_uniform_broadcasts_and_accepts_int64_uids():
    uid = np.array([1, 2, 3], dtype=np.uint64)
    e = np.array([[0], [5]], dtype=np.int32)
    assert uniform(3, uid, e).shape == (2, 3)
    assert np.array_equal(uniform(3, uid.astype(np.int64), e), uniform(3, uid, e))


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, "0", True])
def test_bad_seed_is_user_error(bad):
    with pytest.raises(MetacurateError):
        uniform(bad, np.zeros(1, np.uint64), np.zeros(1, np.int32))


def test_bad_epoch_is_user_error():
    with pytest.raises(MetacurateError):
        uniform(0, np.zeros(1, np.uint64), np.zeros(1, np.int32), epoch=-1)


def test_u_is_roughly_uniform_and_seeds_independent():
    n = 1_000_000
    rng = np.random.default_rng(1)
    uid = rng.integers(0, 2**64, n, dtype=np.uint64)
    e = rng.integers(0, 500_000, n).astype(np.int32)
    for seed, uid_, e_ in [(0, uid, e), (7, np.arange(n, dtype=np.uint64), np.zeros(n, int))]:
        u = uniform(seed, uid_, e_)
        assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
        obs = np.bincount((u * 100).astype(int), minlength=100)
        chi2 = float(((obs - n / 100) ** 2 / (n / 100)).sum())
        assert chi2 < 200  # df = 99: mean 99, sd 14
        ks = np.abs(np.sort(u) - (np.arange(n) + 0.5) / n).max()
        assert ks < 2.5 / math.sqrt(n)
    # consecutive entry ids of one uid, and two seeds on the same pairs, are uncorrelated
    u_row = uniform(0, np.uint64(42), np.arange(n))
    assert abs(np.corrcoef(u_row[:-1], u_row[1:])[0, 1]) < 0.01
    assert abs(np.corrcoef(uniform(0, uid, e), uniform(1, uid, e))[0, 1]) < 0.01
    # epoch None differs from every epoch, and epochs differ from each other
    draws = [uniform(0, uid[:1000], e[:1000], ep) for ep in (None, 0, 1, 2)]
    for i in range(len(draws)):
        for j in range(i + 1, len(draws)):
            assert not np.array_equal(draws[i], draws[j])


# --- entry_probs, keep_prob, sizes ---------------------------------------------------------------


def test_entry_probs():
    counts = np.array([0, 1, 4, 5, 10], dtype=np.int64)
    assert entry_probs(counts, 5).tolist() == [1.0, 1.0, 1.0, 1.0, 0.5]
    assert entry_probs(counts, 2.5).tolist() == [1.0, 1.0, 2.5 / 4, 0.5, 0.25]
    for bad in (0, -1, float("nan")):
        with pytest.raises(MetacurateError):
            entry_probs(counts, bad)
    with pytest.raises(MetacurateError):
        entry_probs(np.array([-1]), 1)


@settings(max_examples=200)
@given(pools())
def test_keep_prob_matches_product_formula(pool):
    rows, _uids, counts, t, _seed, _epoch = pool
    p = entry_probs(np.array(counts), t)
    got = keep_prob(list_array(rows), p)
    want = keep_prob_ref(rows, counts, t)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for row, g in zip(rows, got, strict=True):
        if not row:
            assert g == 0.0
        if any(p[e] == 1.0 for e in row):
            assert g == 1.0


def test_expected_size_is_not_sum_min_count_t():
    # two rows, each matching both entries of count 2; t = 1 gives p = 0.5 each
    entry_ids = list_array([[0, 1], [0, 1]])
    p = entry_probs(np.array([2, 2]), 1)
    assert expected_size(entry_ids, p) == pytest.approx(1.5)
    assert sum_min_count_t(np.array([2, 2]), 1) == 2.0
    assert isinstance(EXPECTED_SIZE_NOTE, str) and "\n" not in EXPECTED_SIZE_NOTE


# --- keep_mask against the loop ------------------------------------------------------------------


@settings(max_examples=300)
@given(pools(), st.integers(0, 3), st.integers(0, 3))
def test_keep_mask_matches_loop_reference(pool, pre, post):
    rows, uids, counts, t, seed, epoch = pool
    p = entry_probs(np.array(counts), t)
    want = keep_ref(rows, uids, counts, t, seed, epoch)
    uid_hash = np.array(uids, dtype=np.uint64)
    got = keep_mask(list_array(rows), uid_hash, p, seed, epoch)
    assert got.dtype == bool and np.array_equal(got, want)
    # a sliced array (offset != 0, values not starting at 0) gives the same decisions
    padded = list_array([[0, 1, 2]] * pre + rows + [[3, 4]] * post).slice(pre, len(rows))
    assert np.array_equal(keep_mask(padded, uid_hash, p, seed, epoch), want)
    # int64 ids, large lists and chunked arrays too
    big = pa.array(rows, type=pa.large_list(pa.int64()))
    assert np.array_equal(keep_mask(big, uid_hash, p, seed, epoch), want)
    half = len(rows) // 2
    chunked = pa.chunked_array([list_array(rows[:half]), list_array(rows[half:])])
    assert np.array_equal(keep_mask(chunked, uid_hash, p, seed, epoch), want)


def test_null_lists_are_never_kept():
    entry_ids = list_array([[0], None, [0]])
    got = keep_mask(entry_ids, np.array([1, 2, 3], np.uint64), np.ones(1), seed=0)
    assert got.tolist() == [True, False, True]
    assert keep_prob(entry_ids, np.ones(1)).tolist() == [1.0, 0.0, 1.0]


def test_user_errors():
    entry_ids = list_array([[0, 3]])
    with pytest.raises(MetacurateError, match="different metadata"):
        keep_mask(entry_ids, np.zeros(1, np.uint64), np.ones(2), seed=0)
    with pytest.raises(MetacurateError, match="uid_hash"):
        keep_mask(entry_ids, np.zeros(2, np.uint64), np.ones(4), seed=0)
    with pytest.raises(MetacurateError, match="list"):
        keep_mask(pa.array([1]), np.zeros(1, np.uint64), np.ones(4), seed=0)


# --- properties on realistic pools ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pool_100k():
    return synthetic_pool(100_000, 5_000, seed=3)


def test_determinism_and_chunking(pool_100k):
    entry_ids, uid_hash, counts = pool_100k
    p = entry_probs(counts, 50)
    whole = keep_mask(entry_ids, uid_hash, p, seed=11)
    assert np.array_equal(whole, keep_mask(entry_ids, uid_hash, p, seed=11))
    rng = np.random.default_rng(0)
    for n_chunks in (1, 7):
        cuts = np.sort(rng.choice(np.arange(1, len(uid_hash)), n_chunks - 1, replace=False))
        bounds = list(pairwise([0, *cuts, len(uid_hash)]))
        parts = {
            (a, b): keep_mask(entry_ids.slice(a, b - a), uid_hash[a:b], p, seed=11)
            for a, b in reversed(bounds)  # processed in reverse file order
        }
        assert np.array_equal(np.concatenate([parts[ab] for ab in bounds]), whole)


def test_nesting(pool_100k):
    entry_ids, uid_hash, counts = pool_100k
    ts = [0.5, 1, 2, 7.5, 20, 100, 1000, float(counts.max())]
    masks = [keep_mask(entry_ids, uid_hash, entry_probs(counts, t), seed=5) for t in ts]
    for lo in range(len(ts)):
        for hi in range(lo + 1, len(ts)):
            assert not (masks[lo] & ~masks[hi]).any(), (ts[lo], ts[hi])
    assert [int(m.sum()) for m in masks] == sorted(int(m.sum()) for m in masks)


def test_t_at_max_count_keeps_every_matched_row(pool_100k):
    entry_ids, uid_hash, counts = pool_100k
    matched = np.diff(entry_ids.offsets.to_numpy()) > 0
    assert not matched.all()  # the pool has empty rows
    for t in (float(counts.max()), float(counts.max()) + 1, 1e12):
        got = keep_mask(entry_ids, uid_hash, entry_probs(counts, t), seed=0, epoch=3)
        assert np.array_equal(got, matched)
    for t in (0.01, 1, 10):
        got = keep_mask(entry_ids, uid_hash, entry_probs(counts, t), seed=0)
        assert not got[~matched].any()


def test_seeds_and_epochs_give_different_similar_subsets(pool_100k):
    entry_ids, uid_hash, counts = pool_100k
    p = entry_probs(counts, 20)
    exp = expected_size(entry_ids, p)
    sd = math.sqrt(float((lambda q: (q * (1 - q)).sum())(keep_prob(entry_ids, p))))
    masks = [keep_mask(entry_ids, uid_hash, p, seed=s) for s in (0, 1, 2)]
    masks += [keep_mask(entry_ids, uid_hash, p, seed=0, epoch=ep) for ep in (0, 1)]
    for m in masks:
        assert abs(int(m.sum()) - exp) < 4 * sd
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert (masks[i] != masks[j]).sum() > 0.05 * masks[i].sum()


@settings(max_examples=50, deadline=None)
@given(pools())
def test_row_threshold_is_exact_on_small_pools(pool):
    rows, uids, counts, _t, seed, epoch = pool
    entry_ids, uid_hash = list_array(rows), np.array(uids, dtype=np.uint64)
    tau = row_threshold(entry_ids, uid_hash, np.array(counts), seed, epoch)
    assert np.array_equal(np.isinf(tau), np.array([not r for r in rows], dtype=bool))
    finite = tau[np.isfinite(tau)]
    ts = {0.01, 0.5, 1.0, 3.0, 25.0}
    ts |= {float(x) for x in finite if x > 0}
    ts |= {float(np.nextafter(x, -np.inf)) for x in finite if np.nextafter(x, -np.inf) > 0}
    for t in sorted(ts):
        want = keep_ref(rows, uids, counts, t, seed, epoch)
        assert np.array_equal(tau <= t, want), t


def test_row_threshold_equals_keep_mask_for_many_t(pool_100k):
    entry_ids, uid_hash, counts = pool_100k
    tau = row_threshold(entry_ids, uid_hash, counts, seed=9, epoch=2)
    sample = np.random.default_rng(0).choice(tau[np.isfinite(tau)], 20)
    ts = [0.3, 1, 1.5, 10, 123.456, float(counts.max())]
    ts += [float(x) for x in sample] + [float(np.nextafter(x, 0)) for x in sample]
    for t in ts:
        got = keep_mask(entry_ids, uid_hash, entry_probs(counts, t), seed=9, epoch=2)
        assert np.array_equal(got, tau <= t), t


# --- 1M rows: convergence and target size --------------------------------------------------------


@pytest.fixture(scope="module")
def pool_1m():
    return synthetic_pool(1_000_000, 50_000, seed=42)


@pytest.mark.slow
def test_kept_count_converges_to_expected_size(pool_1m):
    entry_ids, uid_hash, counts = pool_1m
    for t in (1, 10, 100, 1000, 10_000):
        p = entry_probs(counts, t)
        prob = keep_prob(entry_ids, p)
        exp, sd = float(prob.sum()), math.sqrt(float((prob * (1 - prob)).sum()))
        kept = int(keep_mask(entry_ids, uid_hash, p, seed=2024).sum())
        assert abs(kept - exp) <= 4 * max(sd, 1.0), (t, kept, exp, sd)
        assert exp <= sum_min_count_t(counts, t)


@pytest.mark.slow
def test_t_for_target_size(pool_1m):
    entry_ids, uid_hash, counts = pool_1m
    tau = row_threshold(entry_ids, uid_hash, counts, seed=1)
    reachable = int(np.isfinite(tau).sum())
    cuts = [0, 100_000, 350_000, 351_000, 800_000, 1_000_000]
    chunks = [
        row_threshold(entry_ids.slice(a, b - a), uid_hash[a:b], counts, seed=1)
        for a, b in pairwise(cuts)
    ]
    assert np.array_equal(np.concatenate(chunks), tau)
    for n in (1, 1000, 50_000, 300_000, reachable - 10, reachable):
        t, size = t_for_target_size(tau, n)
        assert t > 0
        assert (t, size) == t_for_target_size(chunks[::-1], n)
        assert abs(size - n) <= 0.005 * n
        kept = int(keep_mask(entry_ids, uid_hash, entry_probs(counts, t), seed=1).sum())
        assert kept == size
    with pytest.raises(MetacurateError, match="unreachable"):
        t_for_target_size(tau, reachable + 1)
    with pytest.raises(MetacurateError):
        t_for_target_size(tau, 0)


def test_t_for_target_size_ties():
    tau = np.array([1.0, 2.0, 2.0, 2.0, 5.0, np.inf])
    assert t_for_target_size(tau, 1) == (1.0, 1)
    assert t_for_target_size(tau, 2) == (np.nextafter(2.0, 0), 1)  # |1-2| < |4-2|
    assert t_for_target_size(tau, 3) == (2.0, 4)  # |4-3| < |1-3|
    assert t_for_target_size(tau, 4) == (2.0, 4)
    assert t_for_target_size(tau, 5) == (5.0, 5)
    with pytest.raises(MetacurateError, match="only 5 rows"):
        t_for_target_size(tau, 6)


# --- tail share ----------------------------------------------------------------------------------


def test_tail_share_hand_example():
    counts = np.array([1, 2, 2, 5, 10, 0])  # total 20
    assert tail_share(counts, 1) == 0.0
    assert tail_share(counts, 2) == 0.05
    assert tail_share(counts, 3) == tail_share(counts, 2.5) == tail_share(counts, 5) == 0.25
    assert tail_share(counts, 5.5) == tail_share(counts, 10) == 0.5
    assert tail_share(counts, 11) == 1.0
    assert tail_share(np.zeros(3, int), 5) == 0.0
    assert t_for_tail_share(counts, 0.3) == 3.0  # closest share 0.25, reached first at t = 3
    assert t_for_tail_share(counts, 0.4) == 6.0  # closest share 0.5
    assert t_for_tail_share(counts, 0.375) == 3.0  # tie between 0.25 and 0.5: smaller t
    assert t_for_tail_share(counts, 0.0) == 1.0
    assert t_for_tail_share(counts, 0.02) == 1.0
    assert t_for_tail_share(counts, 1.0) == 11.0
    assert t_for_tail_share(np.array([10**6, 10**7]), 0.0) == 1.0  # never below 1
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(MetacurateError):
            t_for_tail_share(counts, bad)
    # Meta CLIP 2: a language's t is the one whose tail share is closest to English's at t_en
    en = np.array([1, 1, 3, 3, 100, 200])
    assert tail_share(en, 4) == 8 / 308  # 0.026: closer to 0.05 (t = 2) than to 0 (t = 1)
    assert t_for_tail_share(counts, tail_share(en, 4)) == 2.0


@given(st.lists(st.integers(0, 30), min_size=1, max_size=12), st.floats(0, 1))
def test_t_for_tail_share_is_smallest_closest_integer_t(counts, share):
    counts = np.array(counts)
    t = t_for_tail_share(counts, share)
    assert t >= 1 and t == int(t)
    cands = range(1, int(counts.max()) + 3)
    dist = {c: abs(tail_share(counts, c) - share) for c in cands}
    best = min(dist.values())
    assert t == min(c for c in cands if dist[c] == best)


def test_native_keep_mask_equals_numpy(monkeypatch):
    """The C loop and the numpy formula give the same decisions, bit for bit."""
    from metacurate.match.matcher import native_available

    if not native_available():
        pytest.skip("native kernel not built")
    rng = np.random.default_rng(5)
    n_rows, n_entries = 200_000, 5_000
    lengths = rng.integers(0, 6, n_rows)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = rng.integers(0, n_entries, int(offsets[-1])).astype(np.int32)
    ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    uid_hash = rng.integers(0, 2**64, n_rows, dtype=np.uint64)
    p = rng.random(n_entries)
    for seed, epoch in [(0, None), (7, 3), (2**64 - 1, 0)]:
        native = balance.keep_mask(ids.slice(3), uid_hash[3:], p, seed, epoch)
        monkeypatch.setenv("METACURATE_NO_NATIVE", "1")
        numpy_path = balance.keep_mask(ids.slice(3), uid_hash[3:], p, seed, epoch)
        monkeypatch.delenv("METACURATE_NO_NATIVE")
        assert native.dtype == numpy_path.dtype == np.bool_
        assert (native == numpy_path).all()
        assert 0 < native.sum() < n_rows


def test_native_keep_prob_equals_numpy(monkeypatch):
    """keep_prob sums in the same order in C and numpy: the same bits."""
    from metacurate.match.matcher import native_available

    if not native_available():
        pytest.skip("native kernel not built")
    rng = np.random.default_rng(9)
    lengths = rng.integers(0, 40, 20_000)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = rng.integers(0, 1000, int(offsets[-1])).astype(np.int32)
    ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)).slice(5)
    p = np.where(rng.random(1000) < 0.05, 1.0, rng.random(1000))
    native = keep_prob(ids, p)
    monkeypatch.setenv("METACURATE_NO_NATIVE", "1")
    fallback = keep_prob(ids, p)
    assert native.tobytes() == fallback.tobytes()
    keep_n, prob_n = balance.decide(ids, np.arange(len(ids), dtype=np.uint64), p, 1)
    assert prob_n.tobytes() == fallback.tobytes()
