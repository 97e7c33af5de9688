"""Extending a span checks only the new token against a key that starts with the key already
found (kernel ``find_span``): exact whether the prefix key comes from the same entry (same blob
offset) or from another one (other offset), against the naive loop of semantics.md."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.kernel import native_available
from metacurate.match.matcher import Matcher
from tests.reference import reference_match

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")


def _check(metadata: list[str], texts: list[str | None]) -> None:
    got = Matcher(metadata, native=True).match_arrow(pa.array(texts, pa.string()))
    want = [reference_match(metadata, t) for t in texts]
    assert got.entry_ids.to_pylist() == want


def test_long_space_entry_against_many_spaces():
    """The fuzz finding: a 350-space entry and captions of spaces (4.7 s per 20 KB caption
    when the whole span was compared token by token at every extension; now linear)."""
    metadata = [" " * 18, " " * 350, "a", "a b", "a", " " * 351]
    texts = [" " * n for n in (0, 1, 17, 18, 19, 349, 350, 351, 352, 353, 2000)]
    texts += ["a" + " " * 352 + "b", " " * 20 + "a b" + " " * 360]
    _check(metadata, texts)


@pytest.mark.parametrize("order", ["growing", "shrinking"])
def test_prefix_keys_from_other_entries(order):
    """Growing order: every prefix key is first inserted by its own entry, so each extension
    compares against a key at another blob offset; shrinking: all from the longest entry."""
    chain = [" ".join(["w"] * k) for k in range(1, 40)]
    chain += ["w w x", "w w w x", "w x w", "x"]
    metadata = chain if order == "growing" else chain[::-1]
    texts = [" ".join(["w"] * 45), "w w x w w w x", "w, w w. w x w", "w  w w", None, ""]
    _check(metadata, texts)


tokens = st.sampled_from(["a", "b", "ab", "", "猫", ",", "."])


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(st.lists(tokens, min_size=1, max_size=8).map(" ".join), max_size=12),
    texts=st.lists(st.lists(tokens, max_size=30).map(" ".join), max_size=4),
)
def test_random_token_spans_equal_the_naive_loop(entries, texts):
    _check(entries, texts)
