"""The fuzz targets, without atheris: the committed corpus (fuzz/corpus/, kept by the long fuzz
runs) and seeded random inputs are replayed against the installed kernel, so every CI run
checks the inputs that once reached new code paths."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from metacurate.kernel import native_available

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"


def test_corpus_replays_cleanly():
    from fuzz import targets

    files = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []
    assert len(files) >= 50, "the seed corpus fuzz/corpus/ is missing"
    for f in files:
        data = f.read_bytes()
        try:
            targets.run(data)
        except Exception as exc:  # name the input that failed
            raise AssertionError(f"{f.name} ({data.hex()}): {exc!r}") from exc


@pytest.mark.parametrize("target", range(8))
def test_random_inputs_per_target(target):
    from fuzz import targets

    rng = random.Random(target)
    for _ in range(150):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        targets.run(bytes([target]) + body)
