"""The built-in worldwide default: an approximation of Meta CLIP 2's per-language metadata.

About 40 languages, each the digits ``0``-``99`` and the most frequent words of the
``wordfreq`` package's list for that language; English is the built-in English default
(digits, WordNet names, wordfreq words). It lacks what Meta CLIP 2's lists are mostly made of:
Wikipedia bigrams (PMI) and titles, multilingual WordNet, cased forms (wordfreq folds case),
and 300+ languages; build real per-language lists with ``metadata build --worldwide`` to
reproduce the paper. ``scripts/make_worldwide_default.py`` regenerates the data file.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from importlib import resources

from metacurate.errors import MetacurateError
from metacurate.metadata.default import load_default_metadata
from metacurate.metadata.load import Metadata

WORLDWIDE_DEFAULT_NAME = "metacurate-worldwide-default-v1"
WORLDWIDE_DEFAULT_FILE = "worldwide_default.json.gz"
WORLDWIDE_DEFAULT_FORMAT = "metacurate.worldwide-default"

WORLDWIDE_DEFAULT_NOTE = (
    "metacurate's built-in worldwide default approximates Meta CLIP 2's metadata: per language "
    "the digits and wordfreq's most frequent (lower-case) words, English the built-in default; "
    "no Wikipedia bigrams or titles, no multilingual WordNet, about 40 languages. Build real "
    "lists with 'metadata build --worldwide' to reproduce the paper"
)


def default_lists() -> tuple[list[str], Callable[[str], Metadata]]:
    """The built-in worldwide metadata's languages and the loader of one language's list
    (``load_worldwide("worldwide-default")`` wraps them: lists parsed on first use)."""
    res = resources.files("metacurate.metadata").joinpath("data", WORLDWIDE_DEFAULT_FILE)
    try:
        doc = json.loads(gzip.decompress(res.read_bytes()).decode("utf-8"))
    except (OSError, EOFError, ValueError) as exc:
        raise MetacurateError(
            f"built-in worldwide metadata cannot be read ({exc}); reinstall metacurate or pass "
            "--metadata DIR"
        ) from None
    if doc.get("format") != WORLDWIDE_DEFAULT_FORMAT:
        raise MetacurateError("built-in worldwide metadata has an unknown format; reinstall")
    lists: dict[str, list[str]] = doc["languages"]

    def loader(lang: str) -> Metadata:
        if lang == "en":
            return load_default_metadata()
        return Metadata(tuple(lists[lang]), name=f"{WORLDWIDE_DEFAULT_NAME}/{lang}")

    return ["en", *lists], loader
