"""Wikipedia statistics as metadata sources: unigrams, PMI bigrams and pageview titles.

These follow MetaCLIP's ``build_metadata.py``:

* unigrams: words whose count is at least ``min_count`` (MetaCLIP: 100);
* bigrams: ``pmi = log2(c(w1 w2) * N) - log2(c(w1) * c(w2))`` with ``N`` the sum of all unigram
  counts, computed as NLTK's ``BigramAssocMeasures.pmi`` via ``BigramCollocationFinder`` does;
  bigrams with a word missing from the unigram counts are skipped; kept if ``pmi >= min_pmi``
  (MetaCLIP: 30), ordered by decreasing PMI then by ``(w1, w2)`` (NLTK's ``score_ngrams``);
* titles: lines of Wikimedia pageview dumps (``project title views bytes``) whose project is
  exactly ``en`` (desktop English Wikipedia), whose views on that line are at least
  ``min_line_views`` (MetaCLIP's ``int(count / 50) > 0``, i.e. 50) and whose title has no ``:``;
  ``_`` becomes a space; views are summed over all files and titles with at least ``min_views``
  (MetaCLIP: 70) are kept, in order of first appearance.

Every function returns lists in a deterministic order that depends only on the inputs.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from metacurate.errors import MetacurateError

_GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading bytes, decompressing gzip (recognised by its magic bytes)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise MetacurateError(f"{path}: cannot open ({exc})") from None
    with f:
        if f.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                yield gz
        else:
            yield f


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the line ending; errors name the file and line."""
    lineno = 0
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise MetacurateError(
                        f"{path}, line {lineno}: not UTF-8 ({exc}); save the file as UTF-8"
                    ) from None
                yield lineno, line.rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise MetacurateError(f"{path}, after line {lineno}: cannot read ({exc})") from None


def iter_counts(
    path: str | Path, n_words: int = 1, counts_first: bool = False
) -> Iterator[tuple[str, int]]:
    """Yield ``(key, count)`` from a count file, line by line (see :func:`read_counts`)."""
    p = Path(path)
    words_part = "word" if n_words == 1 else "w1 w2"
    layout = f"count {words_part}" if counts_first else f"{words_part} count"
    for lineno, line in _text_lines(p):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != n_words + 1:
            raise MetacurateError(
                f"{p}, line {lineno}: expected {n_words + 1} fields '{layout}' separated by a tab "
                f"or spaces, got {len(fields)}: {line[:80]!r}"
            )
        raw_count, words = (fields[0], fields[1:]) if counts_first else (fields[-1], fields[:-1])
        try:
            count = int(raw_count)
        except ValueError:
            hint = (
                ""
                if counts_first
                else "; if the count comes first (as in MetaCLIP's 1gram.txt.gz), "
                "pass --counts-first"
            )
            raise MetacurateError(
                f"{p}, line {lineno}: count {raw_count!r} is not an integer "
                f"(expected '{layout}'){hint}"
            ) from None
        if count < 0:
            raise MetacurateError(f"{p}, line {lineno}: negative count {count}; counts are >= 0")
        yield " ".join(words), count


def read_counts(path: str | Path, n_words: int = 1, counts_first: bool = False) -> dict[str, int]:
    """Read a count file: one ``word count`` per line (tab or spaces), or ``count word`` lines.

    ``n_words`` is 1 for unigram files and 2 for bigram files (``w1 w2 count``); bigram keys are
    ``"w1 w2"``. ``counts_first`` reads ``count<TAB>word...`` lines as in MetaCLIP's
    ``1gram.txt.gz`` / ``2gram.txt.gz``. Blank lines are skipped; a word listed twice has its
    counts added. The dict keeps the file's order of first appearance.
    """
    counts: dict[str, int] = {}
    for key, count in iter_counts(path, n_words, counts_first):
        counts[key] = counts.get(key, 0) + count
    return counts


def count_corpus_unigrams(paths: Sequence[str | Path]) -> dict[str, int]:
    """Count whitespace-separated tokens in plain-text corpus files (no other tokenisation).

    Tokens are taken as they are, case and punctuation included; order is first appearance.
    """
    counts: dict[str, int] = {}
    for path in paths:
        for _, line in _text_lines(Path(path)):
            for tok in line.split():
                counts[tok] = counts.get(tok, 0) + 1
    return counts


def unigram_entries(counts: dict[str, int], min_count: int = 100) -> list[str]:
    """Words with ``count >= min_count``, in the counts' order."""
    return [w for w, c in counts.items() if c >= min_count]


def bigram_pmi(c12: float, c1: int, c2: int, n: int) -> float:
    """Pointwise mutual information exactly as NLTK's ``BigramAssocMeasures.pmi`` computes it.

    NLTK evaluates ``log2(n_ii * N) - log2(n_ix * n_xi)`` with ``n_ii`` a float (the bigram count
    divided by ``window_size - 1 = 1.0``); the same operations give the same float here.
    """
    return math.log2(float(c12) * n) - math.log2(c1 * c2)


@dataclass
class BigramScores:
    """Scored bigrams, best first, and what was skipped."""

    scored: list[tuple[str, str, float]] = field(default_factory=list)
    missing_unigram: int = 0  # bigrams with a word absent from the unigram counts (skipped)
    zero_count: int = 0  # bigrams with count 0 (skipped, as NLTK does)


def score_bigrams(
    unigram_counts: dict[str, int],
    bigram_counts: Iterable[tuple[str, int]],
    min_pmi: float = 30.0,
) -> BigramScores:
    """PMI of each bigram ``"w1 w2"`` whose score is ``>= min_pmi``, best first.

    ``N`` is the sum of the positive unigram counts (NLTK's ``FreqDist.N()`` over MetaCLIP's
    unigram table, which drops zero counts). Ties are broken by ``(w1, w2)`` as in NLTK's
    ``score_ngrams``.
    """
    word_fd = {w: c for w, c in unigram_counts.items() if w and c > 0}
    n = sum(word_fd.values())
    out = BigramScores()
    best: dict[tuple[str, str], float] = {}
    for key, c12 in bigram_counts:
        w1, _, w2 = key.partition(" ")
        if not w1 or not w2:
            continue
        if c12 <= 0:
            out.zero_count += 1
            continue
        c1 = word_fd.get(w1)
        c2 = word_fd.get(w2)
        if c1 is None or c2 is None:
            out.missing_unigram += 1
            continue
        pmi = bigram_pmi(c12, c1, c2, n)
        if pmi >= min_pmi and pmi > best.get((w1, w2), -math.inf):
            best[(w1, w2)] = pmi
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    out.scored = [(w1, w2, pmi) for (w1, w2), pmi in ranked]
    return out


def bigram_entries(scores: BigramScores, max_bigrams: int | None = None) -> list[str]:
    """``"w1 w2"`` for the scored bigrams, best first, at most ``max_bigrams``."""
    kept = scores.scored if max_bigrams is None else scores.scored[:max_bigrams]
    return [f"{w1} {w2}" for w1, w2, _ in kept]


@dataclass
class TitleViews:
    """Summed views per title (first-appearance order) and per-reason line counts."""

    views: dict[str, int] = field(default_factory=dict)
    lines_en: int = 0  # lines whose project is exactly "en"
    below_line_views: int = 0  # "en" lines with fewer than min_line_views views
    with_colon: int = 0  # "en" lines whose title has ":" (namespaces such as File:, Talk:)
    malformed: int = 0  # "en" lines without 4 space-separated fields or with a non-integer count
    undecodable: int = 0  # "en" lines that are not UTF-8


def count_title_views(paths: Sequence[str | Path], min_line_views: int = 50) -> TitleViews:
    """Sum English desktop Wikipedia pageviews per title over pageview dump files (.gz or not).

    Bad lines in these third-party dumps are counted by reason in the result, not raised.
    """
    out = TitleViews()
    views = out.views
    for path in paths:
        p = Path(path)
        try:
            with open_binary(p) as f:
                for raw in f:
                    if not raw.startswith(b"en "):
                        continue
                    out.lines_en += 1
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        out.undecodable += 1
                        continue
                    fields = line.rstrip("\r\n").split(" ")
                    if len(fields) != 4:
                        out.malformed += 1
                        continue
                    try:
                        count = int(fields[2])
                    except ValueError:
                        out.malformed += 1
                        continue
                    if count < min_line_views:
                        out.below_line_views += 1
                        continue
                    title = fields[1].strip().replace("_", " ")
                    if ":" in title:
                        out.with_colon += 1
                        continue
                    views[title] = views.get(title, 0) + count
        except (OSError, EOFError) as exc:
            raise MetacurateError(f"{p}: cannot read pageview file ({exc})") from None
    return out


def title_entries(title_views: TitleViews, min_views: int = 70) -> list[str]:
    """Titles with summed views ``>= min_views``, in order of first appearance."""
    return [t for t, v in title_views.views.items() if v >= min_views]
