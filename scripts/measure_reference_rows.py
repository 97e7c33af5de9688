"""How many matched English rows make English's tail share a reference (docs/worldwide.md).

    METACURATE_SHARED=/work/shared python scripts/measure_reference_rows.py

For n matched English rows drawn from the real sample captions (LAION + CC3M, built-in English
metadata, mode metaclip2), at the t whose tail share on that subset is closest to P, prints the
median (over 10 subsets) half-width of the 95% bootstrap interval (40 resamples) of the share.
"""

import csv
import sys

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from tests.conftest import shared_dir
from tests.multilingual.captions import laion_captions

from metacurate import Matcher
from metacurate.balance import t_for_tail_share, tail_share
from metacurate.metadata import load_default_metadata

eng = [c for c in laion_captions() if c]
with open(shared_dir() / "data/captions/cc3m_validation.tsv", encoding="utf-8", newline="") as f:
    eng += [r[0] for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
md = load_default_metadata()
m = Matcher(md, mode="metaclip2").match_batch(eng)
rows = [np.asarray(x, dtype=np.int64) for x in m.to_pylist()]
rows = [r for r in rows if len(r)]
N = len(rows)
print("matched English rows", N)
rng = np.random.default_rng(0)
for P in (0.1, 0.2, 0.3, 0.5):
    out = []
    for n in (25, 50, 100, 200, 300, 500, 1000, 2000, 5000):
        hw = []
        for _ in range(10):
            sub = [rows[i] for i in rng.choice(N, n, replace=False)]
            c = np.bincount(np.concatenate(sub), minlength=len(md))
            t = t_for_tail_share(c, P)
            p0 = tail_share(c, t)
            ps = []
            for _ in range(40):
                b = rng.integers(0, n, n)
                cb = np.bincount(np.concatenate([sub[i] for i in b]), minlength=len(md))
                ps.append(tail_share(cb, t))
            lo, hi = np.percentile(ps, [2.5, 97.5])
            hw.append((hi - lo) / 2)
        out.append(f"{n}:{np.median(hw):.3f}")
    print(f"P={P}", " ".join(out), flush=True)
