"""Long captions and repeated marks: the streamed token window gives exactly the naive loop's
sets, and memory per caption does not grow with the caption's length."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metacurate import Matcher
from metacurate.kernel import native, native_available
from tests.reference import reference_match

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")

WINDOW = native.WINDOW_TOKENS if native else 1024
COMPACT = native.COMPACT_IDS if native else 4096


def both(metadata: list[str], texts: list[str | None], python: bool = True) -> list[list[int]]:
    """The native sets, after checking they equal the naive loop's and (unless ``python`` is
    false: it is quadratic in a span's length) the Python matcher's."""
    got = Matcher(metadata, native=True).match_batch(texts).to_pylist()
    if python:
        assert got == Matcher(metadata, native=False).match_batch(texts).to_pylist()
    assert got == [reference_match(metadata, t) for t in texts]
    return got


def test_spans_across_window_refills():
    # 2- and 3-token entries at every offset of a caption several windows long
    metadata = ["a b", "b c a", "c", "a b c a b", "x y"]
    caption = " ".join(["a", "b", "c"] * WINDOW) + " x y"
    for shift in range(4):
        assert both(metadata, [("q " * shift) + caption]) == [[0, 1, 2, 3, 4]]


def test_entry_longer_than_the_window():
    # an entry of WINDOW + 5 tokens: the window grows to hold one span
    long_entry = " ".join(["w"] * (WINDOW + 5))
    metadata = [long_entry, "w", long_entry + " z"]
    assert both(metadata, ["w " * (WINDOW + 10) + "z"], python=False) == [[0, 1, 2]]
    assert both(metadata, ["w " * (WINDOW + 4) + "z"], python=False) == [[1]]
    assert both(metadata, ["w " * (WINDOW + 4) + "w,z"], python=False) == [[0, 1]]


def test_many_repeated_marks():
    metadata = ["", ",", ", ,", ". ,", "a", "a ,", "?"]
    texts = [
        "," * (3 * WINDOW),
        ",." * (2 * WINDOW) + "a,",
        "a" + " " * (3 * WINDOW) + "?",
        ", ," * (COMPACT + 7),
        "\t\n\r" * WINDOW,
        "," * (3 * WINDOW) + "a" + "?" * 5,
    ]
    both(metadata, texts)


def test_duplicate_entries_repeated_beyond_compaction():
    # 3 equal entries, each found COMPACT times: the row's ids are compacted, still exact
    metadata = ["dog", "cat", "dog", "dog", "cat dog"]
    assert both(metadata, ["cat dog " * (COMPACT + 3)]) == [[0, 1, 2, 3, 4]]


def test_long_rows_in_a_batch_with_nulls_and_short_rows():
    metadata = ["a", "a a", "b"]
    texts = [None, "a " * (3 * WINDOW), "", "b", "b,a" * WINDOW, None]
    assert both(metadata, texts) == [[], [0, 1], [], [2], [0, 2], []]


piece = st.sampled_from(["a", "b", "ab", "é", "", "x"])
sep = st.sampled_from([" ", "  ", ",", ".", "\t", ", ", "!?", "-"])
unit = st.lists(st.tuples(piece, sep).map("".join), min_size=1, max_size=6).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    metadata=st.lists(st.lists(piece, min_size=1, max_size=4).map(" ".join), max_size=12),
    units=st.lists(st.tuples(unit, st.integers(1, 3 * WINDOW // 2)), min_size=1, max_size=4),
)
def test_property_long_repeated_captions(metadata, units):
    caption = "".join(u * k for u, k in units)
    both(metadata + [",", "a ,", ""], [caption, caption[::-1]])


PEAK_SCRIPT = r"""
import json, sys
import pyarrow as pa
from metacurate import Matcher

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

m = Matcher(["a", ",", ", ,", ""])
text = pa.array(["," * int(sys.argv[1])], type=pa.large_string())
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident size
before = status("VmRSS:")
ids = m.match_batch(text)
print(json.dumps({"added": status("VmHWM:") - before, "ids": ids.to_pylist()}))
"""


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""), reason="RSS under ASan")
def test_memory_of_one_long_caption_is_bounded():
    # 16 MB of commas: 32M tokens. The old kernel's scratch took 72 bytes per caption byte and
    # more for the ids (+1.46 GB here, measured); the window takes a constant few hundred KiB.
    n = 16 * 2**20
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(n)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["ids"] == [[1, 3]]  # ", ," needs one space between marks: never here
    assert result["added"] < 8 * 2**20, result["added"]


def test_memory_bound_does_not_depend_on_length():
    # The same scratch for 1x and 8x the caption: nothing in the kernel scales with it.
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("RSS under ASan")
    added = []
    for n in (2**20, 8 * 2**20):
        out = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, str(n)], capture_output=True, text=True, check=True
        )
        added.append(json.loads(out.stdout)["added"])
    assert added[1] < added[0] + 2**20, added


def test_huge_token_is_matched_exactly():
    # one 3 MB token (no separator): longer than any key, matched by nothing but itself
    token = "é" * (3 * 2**19)
    metadata = ["é", token[:8], "x"]
    assert both(metadata, [token, token + " x", "x " + token[:8]]) == [[], [2], [1, 2]]
    assert Matcher([token], native=True).match_batch(pa.array([token + ",x"])).to_pylist() == [[0]]
