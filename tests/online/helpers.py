"""Test data for online balancing: a real-caption pool, its match work directory and WebDataset
shards written with ``webdataset``'s own writer (tiny JPEGs, ``.txt``, ``.json`` with uid)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate import balance
from metacurate.files import read_json
from metacurate.workdir import Workdir


def tiny_jpegs(n: int = 16) -> list[bytes]:
    """``n`` distinct 8x8 JPEG images."""
    from PIL import Image

    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (16 * i % 256, 255 - 16 * i % 256, 90)).save(buf, "JPEG")
        out.append(buf.getvalue())
    return out


def sidecar_table(workdir: Path) -> pa.Table:
    """Every side-car row of a work directory, in input order."""
    wd = Workdir(workdir)
    stats = read_json(wd.stats)
    tables = [pq.read_table(wd.sidecar(i["task_id"])) for i in stats["inputs"] if not i["error"]]
    return pa.concat_tables(tables).combine_chunks()


def write_shards(
    workdir: Path, pool: Path, out: Path, shard_rows: int, text_column: str
) -> list[str]:
    """One sample per pool row, key = ``row`` as 9 digits, in shards of ``shard_rows``; the
    ``.json`` member is indented like img2dataset's and carries the side-car uid."""
    import webdataset as wds

    side = sidecar_table(workdir)
    uids = side.column("uid").to_pylist()
    texts = pq.read_table(pool, columns=[text_column]).column(0).to_pylist()
    jpegs = tiny_jpegs()
    out.mkdir(parents=True, exist_ok=True)
    urls = []
    for s, start in enumerate(range(0, len(uids), shard_rows)):
        url = str(out / f"shard-{s:05d}.tar")
        with wds.TarWriter(url, mtime=0) as sink:  # int mtime: no PAX headers, faster reads
            for row in range(start, min(start + shard_rows, len(uids))):
                meta = {"uid": uids[row], "caption": texts[row], "status": "success"}
                sink.write(
                    {
                        "__key__": f"{row:09d}",
                        "jpg": jpegs[row % len(jpegs)],
                        "txt": texts[row] or "",
                        "json": json.dumps(meta, indent=4).encode(),
                    }
                )
        urls.append(url)
    return urls


def offline_keys(workdir: Path, t: float, seed: int, epoch: int | None) -> set[str]:
    """The keys of the rows kept offline at epoch ``epoch``: ``keep_mask`` on the side-cars."""
    side = sidecar_table(workdir)
    counts = pq.read_table(Workdir(workdir).entry_counts).column("count").to_numpy()
    keep = balance.keep_mask(
        side.column("entry_ids"),
        side.column("uid_hash").to_numpy(),
        balance.entry_probs(counts, t),
        seed,
        epoch=epoch,
    )
    rows = side.column("row").to_numpy()[keep]
    return {f"{r:09d}" for r in rows}


def keep_probs(workdir: Path, t: float) -> np.ndarray:
    """keep_prob of every side-car row at ``t``."""
    side = sidecar_table(workdir)
    counts = pq.read_table(Workdir(workdir).entry_counts).column("count").to_numpy()
    return balance.keep_prob(side.column("entry_ids"), balance.entry_probs(counts, t))


def cli_keys(workdir: Path, out: Path, *flags: str) -> set[str]:
    """The keys of the rows ``metacurate balance WORKDIR FLAGS --out OUT`` keeps, row for row
    from its decisions side-cars (the offline curated set of that epoch)."""
    from metacurate.cli import main

    assert main(["balance", str(workdir), "--out", str(out), "--workers", "1", *flags]) == 0
    stats = read_json(Workdir(workdir).stats)
    keys = set()
    for inp in stats["inputs"]:
        if inp["error"]:
            continue
        side = pq.read_table(Workdir(workdir).sidecar(inp["task_id"]), columns=["row"])
        kept = pq.read_table(Workdir(out).decisions(inp["task_id"])).column("kept").to_numpy()
        keys |= {f"{r:09d}" for r in side.column("row").to_numpy()[kept]}
    curated = pq.read_table(Workdir(out).curated, columns=["uid"]).num_rows
    assert curated == len(keys)
    return keys
