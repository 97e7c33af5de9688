"""What online balancing costs in the data loader.

    .venv/bin/python benchmarks/bench_online.py [--rows 10000] [--rounds 7]

1. Loader overhead. WebDataset shards written with ``webdataset``'s own writer the way
   img2dataset writes them (tiny JPEGs, ``.txt``, an indented ``.json`` with uid and the usual
   img2dataset fields, PAX headers) over the LAION sample (or generated captions without the
   shared data). The reference loop reads every sample and decodes its caption; the same loop
   plus the decision is timed for ``.select(b.keep)`` and for the batched ``.compose(b.filter)``
   stage, side-car and caption matching. Runs alternate (reference, variants, reference, ...);
   the median over rounds of each run's time over its neighbouring reference's is printed.
   On a shared machine that ratio is noisy, so the decision's own cost is also timed on the
   same samples held in memory and printed as a share of the reference loop's time.
2. In-loader matching throughput: samples already in memory, ``b.filter`` with
   ``matches="caption"`` (uid from the ``.json`` member, caption matched with the compiled
   matcher, keep rule) in one process, samples/s; the side-car lookup for comparison; and the
   matcher plus keep rule alone on captions already in an Arrow array.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import webdataset as wds

from metacurate.api import match_pool
from metacurate.metadata import load_default_metadata
from metacurate.online import OnlineBalancer

LAION = "data/captions/laion_sample_10k.parquet"


def pool_file(tmp: Path, rows: int) -> Path:
    """The LAION sample (repeated up to ``rows``, uids made unique) or generated captions."""
    shared = Path(os.environ.get("METACURATE_SHARED", "/work/shared"))
    out = tmp / "pool.parquet"
    if (shared / LAION).exists():
        import pyarrow as pa

        table = pq.read_table(shared / LAION, columns=["URL", "TEXT"])
        reps = -(-rows // table.num_rows)
        parts = [
            table.set_column(
                0,
                "URL",
                pa.compute.binary_join_element_wise(table.column("URL"), pa.scalar(f"#{i}"), ""),
            )
            for i in range(reps)
        ]
        pq.write_table(pa.concat_tables(parts).slice(0, rows), out)
        return out
    from metacurate.demo import make_sample

    return make_sample(out, load_default_metadata(), rows)


def write_shards(workdir: Path, pool: Path, out: Path, shard_rows: int) -> list[str]:
    """img2dataset-like shards of every pool row (default TarWriter: float mtime, PAX)."""
    from PIL import Image

    side = pq.read_table(sorted((workdir / "matches").glob("*[0-9a-f].parquet"))[0])
    uids = side.column("uid").to_pylist()
    names = pq.read_schema(pool).names
    text_col, url_col = ("TEXT", "URL") if "TEXT" in names else ("text", "url")
    table = pq.read_table(pool, columns=[text_col, url_col])
    texts, urls = table.column(0).to_pylist(), table.column(1).to_pylist()
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 90, 200)).save(buf, "JPEG")
    jpg = buf.getvalue()
    shards = []
    for s, start in enumerate(range(0, len(uids), shard_rows)):
        path = out / f"{s:05d}.tar"
        with wds.TarWriter(str(path)) as sink:
            for i in range(start, min(start + shard_rows, len(uids))):
                meta = {
                    "url": urls[i], "caption": texts[i], "key": f"{i:09d}",
                    "status": "success", "error_message": None, "width": 16, "height": 16,
                    "original_width": 640, "original_height": 480, "exif": "{}",
                    "sha256": "0" * 64, "uid": uids[i],
                }  # fmt: skip
                sink.write(
                    {
                        "__key__": f"{i:09d}",
                        "jpg": jpg,
                        "txt": texts[i] or "",
                        "json": json.dumps(meta, indent=4),
                    }
                )
        shards.append(str(path))
    return shards


def _caption(sample: dict) -> dict:
    sample["caption"] = sample["txt"].decode("utf-8")
    return sample


def run(variant: str, shards: list[str], balancers: dict) -> tuple[float, int]:
    """One pass over the shards; seconds and samples yielded."""
    ds = wds.WebDataset(shards, shardshuffle=False).map(_caption)
    if variant == "select":
        ds = ds.select(balancers["sidecar"].keep)
    elif variant != "reference":
        ds = ds.compose(balancers[variant].filter)
    t0 = time.perf_counter()
    n = sum(1 for _ in ds)
    return time.perf_counter() - t0, n


def loader_overhead(shards: list[str], balancers: dict, rounds: int) -> None:
    variants = ["select", "sidecar", "caption"]
    ratios: dict[str, list[float]] = {v: [] for v in variants}
    kept: dict[str, int] = {}
    for _ in range(rounds):
        before, n_all = run("reference", shards, balancers)
        times = {}
        for v in variants:
            times[v], kept[v] = run(v, shards, balancers)
        after, _ = run("reference", shards, balancers)
        ref = (before + after) / 2
        for v in variants:
            ratios[v].append(times[v] / ref)
        print(f"  round: reference {ref / n_all * 1e6:.1f} us/sample; " + ", ".join(
            f"{v} {times[v] / n_all * 1e6:.1f}" for v in variants
        ))  # fmt: skip
    print(f"samples {n_all}; kept: " + ", ".join(f"{v} {kept[v]}" for v in variants))
    for v, label in zip(
        variants,
        ["select(b.keep), side-car", "compose(b.filter), side-car", "compose(b.filter), caption"],
        strict=True,
    ):
        med = statistics.median(ratios[v])
        print(f"{label:32s} median time ratio {med:.3f} (overhead {100 * (med - 1):+.1f}%)")


def rule_throughput(samples: list[dict], b: OnlineBalancer, rounds: int) -> None:
    """Matching + keep rule alone, on captions and uids already in Arrow arrays."""
    import pyarrow as pa

    from metacurate import balance
    from metacurate.pool.uid import uid_hash

    local = b._state()
    texts = pa.array(local.reader.captions(samples), pa.binary())
    uids = pa.array(local.reader.uids(samples), pa.string())
    p = balance.entry_probs(local.counts, b.t)
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ids = local.matcher.match_batch(texts)
        balance.keep_mask(ids, uid_hash(uids), p, b.seed, b.epoch)
        rates.append(len(samples) / (time.perf_counter() - t0))
    print(f"match + keep rule only  : median {statistics.median(rates):,.0f} samples/s "
          f"(1 process, {len(samples)} captions as one Arrow array)")  # fmt: skip


def decision_share(shards: list[str], balancers: dict, rounds: int) -> None:
    """The decision's own cost (on samples in memory, median of rounds) over the reference
    loop's cost per sample: the overhead with the loop's noise taken out."""
    samples = [_caption(s) for s in wds.WebDataset(shards, shardshuffle=False)]
    ref = statistics.median(run("reference", shards, balancers)[0] for _ in range(rounds))
    ref /= len(samples)
    cases = {
        "select(b.keep), side-car": lambda: [balancers["sidecar"].keep(s) for s in samples],
        "compose(b.filter), side-car": lambda: list(balancers["sidecar"].filter(samples)),
        "compose(b.filter), caption": lambda: list(balancers["caption"].filter(samples)),
    }
    print(f"reference loop: {ref * 1e6:.1f} us/sample (median of {rounds})")
    for label, fn in cases.items():
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / len(samples))
        cost = statistics.median(times)
        print(f"{label:32s} {cost * 1e6:6.2f} us/sample = {100 * cost / ref:.1f}% of the loop")


def matching_throughput(shards: list[str], balancers: dict, rounds: int) -> None:
    samples = list(wds.WebDataset(shards, shardshuffle=False))
    rule_throughput(samples, balancers["caption"], rounds)
    for mode in ("caption", "sidecar"):
        b = balancers[mode]
        rates = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in b.filter(samples):
                pass
            rates.append(len(samples) / (time.perf_counter() - t0))
        print(f"decision only, {mode:8s}: median {statistics.median(rates):,.0f} samples/s "
              f"(1 process, {len(samples)} samples in memory)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--shard-rows", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--t", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        pool = pool_file(tmp, args.rows)
        workdir = tmp / "work"
        match_pool(pool, workdir, workers=1)
        (tmp / "shards").mkdir()
        shards = write_shards(workdir, pool, tmp / "shards", args.shard_rows)
        balancers = {
            m: OnlineBalancer(workdir, t=args.t, seed=0, epoch=1, matches=m)
            for m in ("sidecar", "caption")
        }
        print(f"metadata: built-in ({len(load_default_metadata())} entries); pool {pool.name}")
        loader_overhead(shards, balancers, args.rounds)
        decision_share(shards, balancers, args.rounds)
        matching_throughput(shards, balancers, args.rounds)


if __name__ == "__main__":
    main()
