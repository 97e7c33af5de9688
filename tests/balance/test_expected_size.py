"""The expected curated size is the sum of keep_prob over the rows that compete: with
``--image-column``, one text per image, so it can never exceed the number of images (it
used to sum over every text: 12,016 expected for 10,000 images)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate import balance
from metacurate.api import curate
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata

T, SEED = 3.0, 2


def test_expected_size_counts_one_text_per_image(tmp_path):
    base = pq.read_table(make_sample(tmp_path / "s.parquet", load_default_metadata(), 3000, seed=4))
    images = np.random.default_rng(1).integers(0, 800, base.num_rows)  # ~4 texts per image
    pool = base.set_column(
        base.column_names.index("url"), "url", pa.array([f"http://img/{i}.jpg" for i in images])
    )
    pq.write_table(pool, tmp_path / "pool.parquet")
    out = tmp_path / "out"
    m = curate(
        str(tmp_path / "pool.parquet"), str(out), t=T, seed=SEED, image_column="url",
        workers=1, report=False,
    )  # fmt: skip
    distinct = len(set(images.tolist()))
    assert m["curated_rows"] <= distinct
    assert m["expected_rows"] <= distinct
    (task,) = [p.stem for p in (out / "matches").glob("*.parquet") if "." not in p.stem]
    ids = pq.read_table(out / "matches" / f"{task}.parquet").column("entry_ids").combine_chunks()
    p = pq.read_table(out / "curated_entry_counts.parquet").column("p").to_numpy()
    chosen = pq.read_table(out / "balance" / f"{task}.select.parquet").column(0).to_numpy()
    assert chosen.sum() <= distinct
    by_row = balance.keep_prob(ids, p)
    assert math.isclose(m["expected_rows"], float(by_row[chosen].sum()), rel_tol=1e-9)
