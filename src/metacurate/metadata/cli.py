"""``metacurate metadata build|info|diff``: the flags (handlers in cli_commands.py)."""

from __future__ import annotations

import argparse
import sys

from metacurate.errors import MetacurateError
from metacurate.metadata.cli_commands import (
    config_from_args,
    run_build,
    run_build_worldwide,
    run_diff,
    run_info,
)
from metacurate.metadata.default import DEFAULT_METADATA_ALIAS

__all__ = [
    "BUILD_EPILOG",
    "DIFF_EPILOG",
    "INFO_EPILOG",
    "config_from_args",
    "main",
    "register",
    "register_build",
    "register_diff",
    "register_info",
    "run_build",
    "run_build_worldwide",
    "run_diff",
    "run_info",
]

_RAW = argparse.RawDescriptionHelpFormatter

BUILD_EPILOG = """\
examples:
  # digits + WordNet (found in /usr/share/wordnet or NLTK's data folders): 86,654 entries
  metacurate metadata build --out metadata.json

  # from your own text: words seen at least 100 times, into a new folder (created)
  metacurate metadata build --out my/metadata.json --unigram-corpus captions.txt

  # MetaCLIP's recipe from Wikipedia statistics
  metacurate metadata build --out metadata.json \\
      --unigrams enwiki-unigram.txt \\
      --bigrams 2gram.txt.gz --bigram-unigrams 1gram.txt.gz --counts-first \\
      --pageviews pageviews-20220829-*.gz

  # Meta CLIP 2's recipe, one {lang}.json per language into the folder --out
  metacurate metadata build --worldwide --out metadata_dir \\
      --wiki-ngrams wiki_ngram/ --wiki-titles title_per_lang/ \\
      --wordnet-per-lang wordnet_per_lang.json

Sources are joined in the order digits, WordNet, unigrams, bigrams, titles; an entry keeps the
id of its first appearance. A side file <out>.sources.json records each entry's source(s)
(--worldwide: <out>/_build.json records parameters, per-source counts and hashes).
The folder of --out is created when missing. To use MetaCLIP's own list instead, download
metaclip1/metadata.json from github.com/facebookresearch/MetaCLIP; no build is needed.
"""

INFO_EPILOG = """\
examples:
  metacurate metadata info                  # the built-in default
  metacurate metadata info metadata.json
  metacurate metadata info metadata.json --json
  metacurate metadata info worldwide-default       # the built-in per-language lists
  metacurate metadata info metadata_dir/            # a folder of {lang}.json
"""

DIFF_EPILOG = """\
examples:
  metacurate metadata diff old.json new.json
  metacurate metadata diff default metaclip/metadata.json --json
  metacurate metadata diff worldwide-default metadata_dir/   # language by language

added: entries in B only; removed: in A only; moved: in both, at another id (an entry's id is
its first position). Runs made with A and B give comparable counts only when they are
identical (same hash).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``metadata`` with ``build``, ``info`` and ``diff`` to a subparsers object."""
    p = subparsers.add_parser(
        "metadata",
        help="build, inspect and compare metadata (the entry list)",
        description="Build metadata from WordNet and Wikipedia statistics, inspect it, diff it.",
        epilog="example:\n  metacurate metadata build --out metadata.json\n"
        "  metacurate metadata info metadata.json",
        formatter_class=_RAW,
    )
    sub = p.add_subparsers(dest="metadata_command", metavar="{build,info,diff}", required=True)
    register_build(sub)
    register_info(sub)
    register_diff(sub)


def register_build(sub: argparse._SubParsersAction) -> None:
    """``metadata build``: its sources' flags, the worldwide group, ``--json``, ``--dry-run``."""
    b = sub.add_parser(
        "build",
        help="build metadata from digits, WordNet and Wikipedia statistics",
        description="Build a metadata list the way MetaCLIP does (digits, WordNet synset "
        "names, unigrams, bigrams by PMI, Wikipedia titles by page views), with a "
        "deterministic order, and write it with a sources side file. Every source is "
        "optional; see docs/metadata.md.",
        epilog=BUILD_EPILOG,
        formatter_class=_RAW,
    )
    b.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output: .json, .json.gz, .txt or .txt.gz (its folder is created)",
    )
    _add_word_sources(b)
    _add_title_sources(b)
    _add_worldwide_sources(b)
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    b.set_defaults(func=run_build)


def _add_word_sources(b: argparse.ArgumentParser) -> None:
    """``metadata build``: digits, WordNet, unigram and bigram flags."""
    b.add_argument("--no-digits", action="store_true", help='leave out "0" ... "99"')
    b.add_argument(
        "--wordnet", metavar="DIR", help="WordNet 3.0 folder with data.noun etc. (or wordnet.zip)"
    )
    b.add_argument("--no-wordnet", action="store_true", help="leave out WordNet synset names")
    b.add_argument("--unigrams", metavar="FILE", help="unigram counts: 'word<TAB>count' lines")
    b.add_argument(
        "--unigram-corpus",
        metavar="FILE",
        nargs="+",
        default=[],
        help="count unigrams (whitespace tokens) from plain-text files instead",
    )
    b.add_argument(
        "--min-unigram-count",
        type=int,
        default=100,
        metavar="N",
        help="keep unigrams seen at least N times (default: 100)",
    )
    b.add_argument("--bigrams", metavar="FILE", help="bigram counts: 'w1 w2<TAB>count' lines")
    b.add_argument(
        "--bigram-unigrams",
        metavar="FILE",
        help="unigram counts for PMI (default: those of --unigrams / --unigram-corpus)",
    )
    b.add_argument(
        "--min-pmi",
        type=float,
        default=30.0,
        metavar="X",
        help="keep bigrams with PMI at least X (default: 30)",
    )
    b.add_argument("--max-bigrams", type=int, metavar="K", help="keep at most K, best PMI first")
    b.add_argument(
        "--counts-first",
        action="store_true",
        help="count files put the count first ('count<TAB>word...', MetaCLIP's 1gram/2gram)",
    )


def _add_title_sources(b: argparse.ArgumentParser) -> None:
    """``metadata build``: the Wikipedia page view flags."""
    b.add_argument(
        "--pageviews",
        metavar="FILE",
        nargs="+",
        default=[],
        help="Wikimedia pageview dumps ('project title views bytes'; .gz ok)",
    )
    b.add_argument(
        "--min-title-views",
        type=int,
        default=70,
        metavar="N",
        help="keep titles with at least N views summed over the dumps (default: 70)",
    )
    b.add_argument(
        "--min-title-line-views",
        type=int,
        default=50,
        metavar="N",
        help="views a single pageview line needs to be counted (default and MetaCLIP: 50; "
        "1 counts all)",
    )


def _add_worldwide_sources(b: argparse.ArgumentParser) -> None:
    """``metadata build``: the worldwide (Meta CLIP 2) argument group."""
    w = b.add_argument_group("worldwide (Meta CLIP 2): one list per language into folder --out")
    w.add_argument("--worldwide", action="store_true", help="build per-language lists")
    w.add_argument("--wiki-ngrams", metavar="DIR", help="{wiki}.json or {wiki}/**/*.json counts")
    w.add_argument("--wiki-titles", metavar="DIR", help="{wiki}.json title view counts")
    w.add_argument("--wordnet-per-lang", metavar="FILE", help="{omw_code: [lemma, ...]} JSON")
    w.add_argument("--english", metavar="FILE", help="en list (default: the built-in default)")
    w.add_argument("--languages", nargs="+", default=[], metavar="WIKI", help="only these")


def register_info(sub: argparse._SubParsersAction) -> None:
    """``metadata info``."""
    i = sub.add_parser(
        "info",
        help="size, hash, sources and never-matching entries of a metadata list",
        description="Describe a metadata list. Without M, describe the built-in default.",
        epilog=INFO_EPILOG,
        formatter_class=_RAW,
    )
    i.add_argument(
        "metadata",
        nargs="?",
        default=None,
        metavar="M",
        help=f"metadata file, or '{DEFAULT_METADATA_ALIAS}' (also when omitted)",
    )
    i.add_argument(
        "--examples", type=int, default=5, metavar="N", help="examples per finding (default: 5)"
    )
    i.add_argument(
        "--mode",
        default="metaclip2",
        choices=["metaclip2", "metaclip2-kana"],
        help="worldwide metadata: padding kinds under this mode; default: metaclip2",
    )
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=run_info)


def register_diff(sub: argparse._SubParsersAction) -> None:
    """``metadata diff``."""
    d = sub.add_parser(
        "diff",
        help="entries added, removed and moved between two metadata lists",
        description="Compare two metadata lists: entries added (in B only), removed (in A "
        "only) and moved (in both, at another id), with counts and examples, and whether they "
        f"are identical. '{DEFAULT_METADATA_ALIAS}' names the built-in list.",
        epilog=DIFF_EPILOG,
        formatter_class=_RAW,
    )
    d.add_argument(
        "a", metavar="A", help=f"the old list: a metadata file or '{DEFAULT_METADATA_ALIAS}'"
    )
    d.add_argument(
        "b", metavar="B", help=f"the new list: a metadata file or '{DEFAULT_METADATA_ALIAS}'"
    )
    d.add_argument(
        "--examples", type=int, default=5, metavar="N", help="examples per finding (default: 5)"
    )
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=run_diff)


def main(argv: list[str] | None = None) -> int:
    """Run ``metadata`` alone (for tests and ``python -m``); the package CLI calls register()."""
    parser = argparse.ArgumentParser(prog="metacurate")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MetacurateError as exc:
        print(f"metacurate: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
