"""Match rates of the multilingual sample captions under two built-in worldwide lists.

    PYTHONPATH=/path/to/wordfreq python scripts/make_worldwide_default.py --words 251465 \\
        --out-dir /tmp/big
    METACURATE_SHARED=/work/shared python scripts/compare_worldwide_lists.py \\
        src/metacurate/metadata/data/worldwide_default.json.gz /tmp/big/worldwide_default.json.gz

Per sample language (COCO-CN Chinese, Multi30k German, French, Czech): entries of each list,
the share of captions with at least one match and the mean matches per caption (mode
metaclip2, each caption against its own language's list).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.multilingual.captions import multilingual_captions  # noqa: E402

from metacurate import Matcher  # noqa: E402


def main() -> None:
    docs = [json.loads(gzip.decompress(Path(p).read_bytes())) for p in sys.argv[1:3]]
    caps = multilingual_captions()
    print("lang  entries A  entries B  matched A  matched B  matches/row A  matches/row B")
    for lang, texts in sorted(caps.items()):
        cells = []
        for doc in docs:
            entries = doc["languages"][lang]
            ids = Matcher(entries, mode="metaclip2").match_batch(texts)
            lengths = np.diff(ids.offsets.to_numpy())
            cells.append((len(entries), np.mean(lengths > 0), np.mean(lengths)))
        (na, ra, ma), (nb, rb, mb) = cells
        print(
            f"{lang:<4}{na:>11,}{nb:>11,}{ra:>11.1%}{rb:>11.1%}{ma:>15.2f}{mb:>15.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
