"""WordNet 3.0 synset names, as MetaCLIP's ``wordnet_synsets()`` takes them through NLTK.

MetaCLIP iterates ``nltk.corpus.wordnet.all_synsets()`` and keeps ``ss.name()`` up to its first
``.`` with ``_`` turned into a space. NLTK forms ``name()`` as ``"<lemma>.<pos>.<nn>"`` where
``<lemma>`` is the synset's *first* lemma as written in the ``data.*`` file, with a trailing
syntactic marker such as ``(a)``, ``(p)`` or ``(ip)`` removed, lower-cased. The sense number
``<nn>`` only makes names unique and is cut off anyway, so this module reads the ``data.*`` files
directly and needs neither NLTK nor a download. A lemma that itself contains ``.`` is cut there
too (``"a.d."`` gives ``"a"``, ``".22_caliber"`` gives ``""``), exactly as MetaCLIP's cut does.

Order: NLTK's ``all_synsets()`` order, i.e. the files ``data.adj`` (heads and satellites, as they
appear), ``data.adv``, ``data.noun``, ``data.verb``, each by file offset.
"""

from __future__ import annotations

import os
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from metacurate.errors import MetacurateError

#: The ``data.*`` files in the order NLTK's ``all_synsets()`` reads them (its ``_FILEMAP`` order).
WORDNET_FILES = ("adj", "adv", "noun", "verb")

#: NLTK's marker pattern: a trailing ``(...)`` without nested parentheses is a syntactic marker.
_MARKER = re.compile(r"(.*?)(\([^()]*\))?$")


@dataclass(frozen=True)
class WordNetSource:
    """Where WordNet's ``data.*`` files are: a directory, or a folder inside a zip file."""

    path: Path
    member_prefix: str | None = None  # set when ``path`` is a zip (NLTK's ``wordnet.zip``)

    def describe(self) -> str:
        if self.member_prefix is None:
            return str(self.path)
        return f"{self.path}!{self.member_prefix}"

    def read_lines(self, pos_file: str) -> Iterator[bytes]:
        """Yield the raw lines of ``data.<pos_file>``."""
        name = f"data.{pos_file}"
        if self.member_prefix is None:
            with open(self.path / name, "rb") as f:
                yield from f
        else:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member_prefix + name) as f:
                yield from f


def _has_data_files(d: Path) -> bool:
    return all((d / f"data.{p}").is_file() for p in WORDNET_FILES)


def _zip_prefix(z: Path) -> str | None:
    try:
        with zipfile.ZipFile(z) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return None
    for prefix in ("wordnet/", ""):
        if all(f"{prefix}data.{p}" in names for p in WORDNET_FILES):
            return prefix
    return None


def wordnet_search_paths() -> list[Path]:
    """The places searched for WordNet when no directory is given, in order.

    Debian/Ubuntu's ``wordnet-base`` (``/usr/share/wordnet``), a few other system prefixes, and
    NLTK's data directories (``$NLTK_DATA`` and NLTK's defaults), as ``corpora/wordnet`` or
    ``corpora/wordnet.zip``.
    """
    system = [
        Path("/usr/share/wordnet"),
        Path("/usr/local/share/wordnet"),
        Path("/usr/share/wordnet/dict"),
        Path("/usr/local/WordNet-3.0/dict"),
        Path("/opt/homebrew/share/wordnet"),
        Path("/usr/local/opt/wordnet/dict"),
    ]
    nltk_roots = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    nltk_roots += [
        Path.home() / "nltk_data",
        Path(sys.prefix) / "nltk_data",
        Path(sys.prefix) / "share" / "nltk_data",
        Path(sys.prefix) / "lib" / "nltk_data",
        Path("/usr/share/nltk_data"),
        Path("/usr/local/share/nltk_data"),
        Path("/usr/lib/nltk_data"),
        Path("/usr/local/lib/nltk_data"),
    ]
    out = list(system)
    for root in nltk_roots:
        out += [root / "corpora" / "wordnet", root / "corpora" / "wordnet.zip"]
    return out


def find_wordnet(directory: str | Path | None = None) -> WordNetSource:
    """Locate WordNet's ``data.*`` files: ``directory`` if given, else the usual places."""
    if directory is not None:
        d = Path(directory)
        if d.is_file() and d.suffix == ".zip":
            prefix = _zip_prefix(d)
            if prefix is not None:
                return WordNetSource(d, prefix)
        elif _has_data_files(d):
            return WordNetSource(d)
        elif _has_data_files(d / "dict"):
            return WordNetSource(d / "dict")
        raise MetacurateError(
            f"{d}: no WordNet database there (expected data.noun, data.verb, data.adj, "
            "data.adv); pass the directory that holds them, e.g. --wordnet /usr/share/wordnet"
        )
    found = find_wordnet_or_none()
    if found is None:
        raise MetacurateError(
            "WordNet 3.0 not found (looked in /usr/share/wordnet and NLTK's data folders); "
            "install it (apt-get install wordnet-base), pass --wordnet DIR, or build without it "
            "(--no-wordnet)"
        )
    return found


def find_wordnet_or_none() -> WordNetSource | None:
    """The first WordNet found in :func:`wordnet_search_paths`, or ``None``."""
    for cand in wordnet_search_paths():
        if cand.suffix == ".zip":
            if cand.is_file():
                prefix = _zip_prefix(cand)
                if prefix is not None:
                    return WordNetSource(cand, prefix)
        elif _has_data_files(cand):
            return WordNetSource(cand)
    return None


def synset_entry_name(first_lemma: str) -> str:
    """MetaCLIP's entry for a synset whose first lemma (as in the data file) is ``first_lemma``."""
    lemma = _MARKER.match(first_lemma).group(1)  # type: ignore[union-attr]
    return lemma.lower().split(".", 1)[0].replace("_", " ")


def _data_fields(source: WordNetSource, pos_file: str) -> Iterator[list[str]]:
    """The fields of every synset line of ``data.<pos_file>`` (licence header skipped)."""
    where = f"{source.describe()}/data.{pos_file}"
    try:
        for lineno, raw in enumerate(source.read_lines(pos_file), start=1):
            if not raw or raw[:1].isspace():  # licence header lines start with spaces
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MetacurateError(
                    f"{where}, line {lineno}: not UTF-8 ({exc}); use an unmodified "
                    "WordNet 3.0 database"
                ) from None
            fields = line.split(None, 6)
            if len(fields) < 6 or not fields[0].isdigit():
                raise MetacurateError(
                    f"{where}, line {lineno}: not a WordNet data line (expected "
                    "'offset lex_filenum ss_type w_cnt word lex_id ...'); use an "
                    "unmodified WordNet 3.0 database"
                )
            yield line.split()
    except OSError as exc:
        raise MetacurateError(f"{where}: cannot read ({exc})") from None


def wordnet_synset_names(
    source: WordNetSource, pos_files: tuple[str, ...] = WORDNET_FILES
) -> list[str]:
    """One name per synset (117,659 for WordNet 3.0), in NLTK's ``all_synsets()`` order.

    Names repeat and some are empty; :func:`wordnet_entries` removes both. ``pos_files``
    restricts the files read (``("noun",)``: the 82,115 noun synsets).
    """
    return [synset_entry_name(fields[4]) for pf in pos_files for fields in _data_fields(source, pf)]


def wordnet_lemmas(source: WordNetSource, pos_files: tuple[str, ...] = WORDNET_FILES) -> list[str]:
    """Every lemma of every synset **as written** (case kept, marker removed, ``_`` → space),
    in file order with repeats: ``"T-shirt"``, ``"Paris"``, ``"NATO"``, ``"hot dog"``."""
    out: list[str] = []
    for pf in pos_files:
        for fields in _data_fields(source, pf):
            for k in range(int(fields[3], 16)):
                lemma = _MARKER.match(fields[4 + 2 * k]).group(1)  # type: ignore[union-attr]
                out.append(lemma.replace("_", " "))
    return out


def wordnet_entries(source: WordNetSource) -> list[str]:
    """Distinct non-empty synset names in first-appearance order (86,554 for WordNet 3.0)."""
    return [n for n in dict.fromkeys(wordnet_synset_names(source)) if n]
