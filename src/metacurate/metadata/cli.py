"""``metacurate metadata build|info|diff``: flags to API calls, results to stdout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata.build import (
    BuildConfig,
    SourcesInfo,
    build_metadata,
    find_sources_for,
    write_metadata,
)
from metacurate.metadata.default import (
    DEFAULT_METADATA_ALIAS,
    DEFAULT_METADATA_NOTE,
    is_default_spec,
    load_default_sources,
    resolve_metadata,
)
from metacurate.metadata.info import describe_metadata, diff_metadata, format_describe, format_diff
from metacurate.metadata.load import Metadata

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
    w = b.add_argument_group("worldwide (Meta CLIP 2): one list per language into folder --out")
    w.add_argument("--worldwide", action="store_true", help="build per-language lists")
    w.add_argument("--wiki-ngrams", metavar="DIR", help="{wiki}.json or {wiki}/**/*.json counts")
    w.add_argument("--wiki-titles", metavar="DIR", help="{wiki}.json title view counts")
    w.add_argument("--wordnet-per-lang", metavar="FILE", help="{omw_code: [lemma, ...]} JSON")
    w.add_argument("--english", metavar="FILE", help="en list (default: the built-in default)")
    w.add_argument("--languages", nargs="+", default=[], metavar="WIKI", help="only these")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    b.set_defaults(func=run_build)

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


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    """The :class:`BuildConfig` that ``metadata build`` flags describe."""
    if args.no_wordnet and args.wordnet:
        raise MetacurateError("--wordnet DIR and --no-wordnet contradict each other; drop one")
    return BuildConfig(
        digits=not args.no_digits,
        wordnet=not args.no_wordnet,
        wordnet_dir=args.wordnet,
        unigram_counts=args.unigrams,
        unigram_corpus=list(args.unigram_corpus),
        min_unigram_count=args.min_unigram_count,
        bigram_counts=args.bigrams,
        bigram_unigram_counts=args.bigram_unigrams,
        min_pmi=args.min_pmi,
        max_bigrams=args.max_bigrams,
        counts_first=args.counts_first,
        pageviews=list(args.pageviews),
        min_title_views=args.min_title_views,
        min_title_line_views=args.min_title_line_views,
    )


def run_build_worldwide(args: argparse.Namespace) -> int:
    """Handler of ``metadata build --worldwide``."""
    from dataclasses import asdict

    from metacurate.metadata.worldwide_build import (
        WorldwideBuildConfig,
        build_worldwide,
        write_worldwide_build,
    )

    if not (args.wiki_ngrams or args.wiki_titles):
        raise MetacurateError("--worldwide needs --wiki-ngrams DIR and/or --wiki-titles DIR")
    config = WorldwideBuildConfig(
        ngrams_dir=args.wiki_ngrams,
        titles_dir=args.wiki_titles,
        wordnet_json=args.wordnet_per_lang,
        english=args.english,
        languages=list(args.languages),
    )
    if args.dry_run:
        print(json.dumps({"out": args.out, **asdict(config)}, indent=2))
        return 0
    lists, stats = build_worldwide(config)
    out = write_worldwide_build(args.out, lists, config, stats)
    summary = {"out": str(out), "entries": {k: len(v) for k, v in sorted(lists.items())}}
    if args.json:
        print(json.dumps({**summary, "stats": stats}, indent=2, ensure_ascii=False))
        return 0
    print(f"wrote {out}: {len(lists)} languages, {sum(map(len, lists.values())):,} entries")
    for lang, n in summary["entries"].items():
        print(f"  {lang:<8} {n:>9,}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    """Handler of ``metadata build``."""
    if args.worldwide:
        return run_build_worldwide(args)
    config = config_from_args(args)
    if args.dry_run:
        from dataclasses import asdict

        print(json.dumps({"out": args.out, **asdict(config)}, indent=2))
        return 0
    result = build_metadata(config, name=Path(args.out).name)
    out, side = write_metadata(result, args.out)
    summary = {
        "out": str(out),
        "sources_file": str(side),
        "entries": len(result.metadata),
        "hash": result.metadata.hash,
        "added": result.union.added,
        "stats": result.stats,
    }
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    print(f"wrote {out}: {len(result.metadata):,} entries, hash {result.metadata.hash}")
    print(f"wrote {side}")
    for name in result.union.source_names:
        print(
            f"  {name:<14} added {result.union.added[name]:>9,} "
            f"of {result.union.offered[name]:>9,} offered"
        )
    if result.union.dropped:
        print(f"  dropped {result.union.dropped:,} empty or punctuation-only entries")
    return 0


def _load_with_sources(spec: str | None) -> tuple[Metadata, SourcesInfo | None, str | None]:
    if is_default_spec(spec):
        return resolve_metadata(spec), load_default_sources(), DEFAULT_METADATA_NOTE
    assert spec is not None
    metadata = resolve_metadata(spec)
    return metadata, find_sources_for(spec, metadata), None


def run_info(args: argparse.Namespace) -> int:
    """Handler of ``metadata info``."""
    from metacurate.metadata.worldwide import is_worldwide_spec, load_worldwide

    if is_worldwide_spec(args.metadata):
        from metacurate.metadata.worldwide_info import describe_worldwide, format_describe_worldwide

        doc = describe_worldwide(load_worldwide(args.metadata), mode=args.mode)
        print(
            json.dumps(doc, indent=2, ensure_ascii=False)
            if args.json
            else format_describe_worldwide(doc)
        )
        return 0
    metadata, sources, note = _load_with_sources(args.metadata)
    doc = describe_metadata(metadata, sources, examples=args.examples, note=note)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(format_describe(doc))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """Handler of ``metadata diff``."""
    from metacurate.metadata.worldwide import is_worldwide_spec, load_worldwide

    if is_worldwide_spec(args.a) or is_worldwide_spec(args.b):
        from metacurate.metadata.worldwide_info import diff_worldwide, format_diff_worldwide

        if not (is_worldwide_spec(args.a) and is_worldwide_spec(args.b)):
            raise MetacurateError(
                "diff compares two lists or two worldwide folders; one of A, B is a folder and "
                "the other a file: give two folders, or A/en.json and a file"
            )
        doc = diff_worldwide(load_worldwide(args.a), load_worldwide(args.b), args.examples)
        print(
            json.dumps(doc, indent=2, ensure_ascii=False)
            if args.json
            else format_diff_worldwide(doc)
        )
        return 0
    a = resolve_metadata(args.a)
    b = resolve_metadata(args.b)
    doc = diff_metadata(a, b, examples=args.examples)
    if args.json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(format_diff(doc))
    return 0


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
