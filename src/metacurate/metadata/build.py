"""Build a metadata list from sources, MetaCLIP's recipe, with a deterministic order.

Sources are taken in a fixed order (digits, WordNet, Wikipedia unigrams, bigrams, titles) and
joined by first appearance: an entry keeps the id of its first occurrence, duplicates are
dropped, and so are entries that are empty, whitespace or punctuation only. MetaCLIP's own
script joins the sources through a Python ``set``, so its entry ids depend on the run; here the
same inputs always give the same list, ids and hash.

Next to the metadata file a *sources side file* (``<name>.sources.json[.gz]``) records which
source(s) each entry came from and the parameters of the build.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata import wiki
from metacurate.metadata.load import Metadata
from metacurate.metadata.sources import (
    SOURCES_FORMAT,
    SOURCES_FORMAT_VERSION,
    SourcesInfo,
    find_sources_for,
    read_sources,
    sources_path_for,
)
from metacurate.metadata.wordnet import WordNetSource, find_wordnet, wordnet_entries

__all__ = [
    "DIGITS",
    "SOURCES_FORMAT",
    "SOURCES_FORMAT_VERSION",
    "WIKI_BIGRAM",
    "WIKI_TITLE",
    "WIKI_UNIGRAM",
    "WORDNET",
    "BuildConfig",
    "BuildResult",
    "SourcesInfo",
    "UnionResult",
    "build_metadata",
    "digit_entries",
    "find_sources_for",
    "is_droppable",
    "metadata_json",
    "read_sources",
    "sources_document",
    "sources_path_for",
    "union_sources",
    "write_metadata",
    "write_metadata_files",
]

#: Source names, in the order they are joined.
DIGITS = "digits"
WORDNET = "wordnet"
WIKI_UNIGRAM = "wiki_unigram"
WIKI_BIGRAM = "wiki_bigram"
WIKI_TITLE = "wiki_title"

_ASCII_PUNCT = frozenset(string.punctuation)


def digit_entries() -> list[str]:
    """``"0"`` … ``"99"``, MetaCLIP's first entries."""
    return [str(i) for i in range(100)]


def is_droppable(entry: str) -> bool:
    """True for entries MetaCLIP would never want: empty, whitespace or punctuation only."""
    return all(
        c.isspace() or c in _ASCII_PUNCT or unicodedata.category(c).startswith("P") for c in entry
    )


@dataclass
class UnionResult:
    """Entries joined from named sources, with a bitmask of sources per entry."""

    entries: list[str]
    masks: list[int]  # bit i set when source_names[i] produced the entry
    source_names: list[str]
    added: dict[str, int]  # entries each source added (first appearance)
    offered: dict[str, int]  # entries each source produced, before joining
    dropped: int  # empty / whitespace / punctuation-only entries removed


def union_sources(sources: Sequence[tuple[str, Iterable[str]]]) -> UnionResult:
    """Join ``(name, entries)`` sources by first appearance (see module docstring)."""
    index: dict[str, int] = {}
    entries: list[str] = []
    masks: list[int] = []
    names = [name for name, _ in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"source names must be distinct, got {names}")
    added = dict.fromkeys(names, 0)
    offered = dict.fromkeys(names, 0)
    dropped = 0
    for bit, (name, items) in enumerate(sources):
        flag = 1 << bit
        for e in items:
            offered[name] += 1
            i = index.get(e)
            if i is not None:
                masks[i] |= flag
                continue
            if is_droppable(e):
                dropped += 1
                continue
            index[e] = len(entries)
            entries.append(e)
            masks.append(flag)
            added[name] += 1
    return UnionResult(entries, masks, names, added, offered, dropped)


@dataclass
class BuildConfig:
    """Everything that decides a built metadata list; recorded in the sources side file."""

    digits: bool = True
    wordnet: bool = True
    wordnet_dir: str | None = None  # None: search the usual places
    unigram_counts: str | None = None  # word<TAB>count file
    unigram_corpus: list[str] = field(default_factory=list)  # or count tokens of text files
    min_unigram_count: int = 100
    bigram_counts: str | None = None  # w1 w2<TAB>count file
    bigram_unigram_counts: str | None = None  # unigram counts for PMI; default: the above
    min_pmi: float = 30.0
    max_bigrams: int | None = None
    counts_first: bool = False  # count files have the count first (MetaCLIP's 1gram/2gram)
    pageviews: list[str] = field(default_factory=list)
    min_title_views: int = 70
    min_title_line_views: int = 50

    def check(self) -> None:
        """Raise :class:`MetacurateError` for contradictory or out-of-range settings."""
        if self.unigram_counts and self.unigram_corpus:
            raise MetacurateError(
                "give unigram counts either as a count file (--unigrams) or as corpus text "
                "(--unigram-corpus), not both"
            )
        if self.bigram_counts and not (
            self.bigram_unigram_counts or self.unigram_counts or self.unigram_corpus
        ):
            raise MetacurateError(
                "bigram PMI needs unigram counts: pass --unigrams FILE, --unigram-corpus FILE "
                "or --bigram-unigrams FILE together with --bigrams"
            )
        if self.max_bigrams is not None and self.max_bigrams < 0:
            raise MetacurateError(f"--max-bigrams must be >= 0, got {self.max_bigrams}")
        for flag, value in (
            ("--min-unigram-count", self.min_unigram_count),
            ("--min-title-views", self.min_title_views),
            ("--min-title-line-views", self.min_title_line_views),
        ):
            if value < 0:
                raise MetacurateError(f"{flag} must be >= 0, got {value}")
        for p in [
            self.unigram_counts,
            self.bigram_counts,
            self.bigram_unigram_counts,
            *self.unigram_corpus,
            *self.pageviews,
        ]:
            if p is not None and not Path(p).is_file():
                raise MetacurateError(f"input file not found: {p}")


@dataclass
class BuildResult:
    """A built metadata list, the sources of each entry, and what each step kept or skipped."""

    metadata: Metadata
    union: UnionResult
    config: BuildConfig
    stats: dict[str, object]


def build_metadata(config: BuildConfig, name: str = "<built>") -> BuildResult:
    """Read the configured sources and join them (digits, WordNet, unigrams, bigrams, titles)."""
    config.check()
    sources: list[tuple[str, Iterable[str]]] = []
    stats: dict[str, object] = {}
    if config.digits:
        sources.append((DIGITS, digit_entries()))
    if config.wordnet:
        wn: WordNetSource = find_wordnet(config.wordnet_dir)
        stats["wordnet_dir"] = wn.describe()
        sources.append((WORDNET, wordnet_entries(wn)))
    unigram_counts: dict[str, int] | None = None
    if config.unigram_counts:
        unigram_counts = wiki.read_counts(config.unigram_counts, 1, config.counts_first)
    elif config.unigram_corpus:
        unigram_counts = wiki.count_corpus_unigrams(config.unigram_corpus)
    if unigram_counts is not None:
        stats["unigrams_read"] = len(unigram_counts)
        unigrams = wiki.unigram_entries(unigram_counts, config.min_unigram_count)
        sources.append((WIKI_UNIGRAM, unigrams))
    if config.bigram_counts:
        pmi_unigrams = (
            wiki.read_counts(config.bigram_unigram_counts, 1, config.counts_first)
            if config.bigram_unigram_counts
            else unigram_counts
        )
        assert pmi_unigrams is not None  # config.check() guarantees it
        scores = wiki.score_bigrams(
            pmi_unigrams,
            wiki.iter_counts(config.bigram_counts, 2, config.counts_first),
            config.min_pmi,
        )
        stats["bigrams_above_min_pmi"] = len(scores.scored)
        stats["bigrams_missing_unigram"] = scores.missing_unigram
        stats["bigrams_zero_count"] = scores.zero_count
        sources.append((WIKI_BIGRAM, wiki.bigram_entries(scores, config.max_bigrams)))
    if config.pageviews:
        views = wiki.count_title_views(config.pageviews, config.min_title_line_views)
        stats["pageview_lines_en"] = views.lines_en
        stats["pageview_lines_below_line_views"] = views.below_line_views
        stats["pageview_lines_with_colon"] = views.with_colon
        stats["pageview_lines_malformed"] = views.malformed
        stats["pageview_lines_undecodable"] = views.undecodable
        stats["titles_seen"] = len(views.views)
        sources.append((WIKI_TITLE, wiki.title_entries(views, config.min_title_views)))
    if not sources:
        raise MetacurateError(
            "no metadata sources: keep the digits or WordNet, or pass --unigrams, "
            "--unigram-corpus, --bigrams or --pageviews"
        )
    union = union_sources(sources)
    stats["offered"] = union.offered
    stats["added"] = union.added
    stats["dropped_empty_or_punctuation"] = union.dropped
    return BuildResult(Metadata(tuple(union.entries), name=name), union, config, stats)


# --- files ------------------------------------------------------------------------------------


def encode_text(text: str, gz: bool) -> bytes:
    data = text.encode("utf-8")
    if not gz:
        return data
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header, and so the file, byte-identical across runs.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MetacurateError(f"{path}: cannot write ({exc})") from None


def metadata_json(entries: Sequence[str]) -> str:
    """The text written for a metadata list: a JSON list, one entry per line, UTF-8."""
    if not entries:
        return "[]\n"
    body = ",\n".join(json.dumps(e, ensure_ascii=False) for e in entries)
    return "[\n" + body + "\n]\n"


def sources_document(
    union: UnionResult, entries_hash: str, params: dict[str, object], stats: dict[str, object]
) -> dict[str, object]:
    """The JSON object stored in a sources side file."""
    per_source = {
        name: {
            "added": union.added[name],
            "contains": sum(1 for m in union.masks if m >> bit & 1),
            "offered": union.offered[name],
        }
        for bit, name in enumerate(union.source_names)
    }
    return {
        "format": SOURCES_FORMAT,
        "format_version": SOURCES_FORMAT_VERSION,
        "metadata_hash": entries_hash,
        "entries": len(union.entries),
        "package_version": package_version(),
        "sources": union.source_names,
        "per_source": per_source,
        "params": params,
        "stats": stats,
        "masks": union.masks,
    }


def write_metadata(result: BuildResult, out: str | Path) -> tuple[Path, Path]:
    """Write a built metadata list (``.json``, ``.json.gz``, ``.txt``) and its sources side file.

    The output is byte-identical for identical inputs. Returns both paths.
    """
    return write_metadata_files(
        result.metadata, result.union, out, _jsonable(asdict(result.config)), result.stats
    )


def write_metadata_files(
    metadata: Metadata,
    union: UnionResult,
    out: str | Path,
    params: dict[str, object],
    stats: dict[str, object],
) -> tuple[Path, Path]:
    """Write ``metadata`` to ``out`` and the sources side file beside it (see write_metadata)."""
    out = Path(out)
    gz = out.suffix == ".gz"
    inner = Path(out.stem).suffix if gz else out.suffix
    entries = metadata.entries
    if inner == ".txt":
        bad = [i for i, e in enumerate(entries) if "\n" in e or "\r" in e]
        if bad:
            raise MetacurateError(
                f"{out}: entry {bad[0]} contains a line break and cannot be written one per "
                "line; write .json instead"
            )
        text = "".join(e + "\n" for e in entries)
    elif inner == ".json":
        text = metadata_json(entries)
    else:
        raise MetacurateError(
            f"{out}: unknown metadata format; name the output .json, .json.gz, .txt or .txt.gz"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)  # as 'curate' creates its --out
    except OSError as exc:
        raise MetacurateError(
            f"{out}: cannot create its folder {out.parent} ({exc}); pick another --out"
        ) from None
    side = sources_path_for(out)
    doc = sources_document(union, metadata.hash, params, stats)
    write_atomic(side, encode_text(json.dumps(doc, ensure_ascii=False) + "\n", gz))
    write_atomic(out, encode_text(text, gz))
    return out, side


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("metacurate")
    except PackageNotFoundError:
        return "unknown"


def _jsonable(obj: object) -> dict[str, object]:
    return json.loads(json.dumps(obj, default=str))
