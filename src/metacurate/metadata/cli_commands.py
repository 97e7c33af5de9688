"""Handlers of ``metacurate metadata build|info|diff``: parsed flags to API calls, results out."""

from __future__ import annotations

import argparse
import json
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
    DEFAULT_METADATA_NOTE,
    is_default_spec,
    load_default_sources,
    resolve_metadata,
)
from metacurate.metadata.info import describe_metadata, diff_metadata, format_describe, format_diff
from metacurate.metadata.load import Metadata


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
