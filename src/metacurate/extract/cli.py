"""`metacurate extract`: flags → `run_extract` → printed stats. No logic of its own."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from typing import Any

from metacurate.cli_flags import add_engine_arguments, add_options, from_args
from metacurate.config import EngineConfig
from metacurate.extract.config import ExtractConfig
from metacurate.extract.run import STATS_FILE, run_extract

#: Engine flags extract has no use for.
ENGINE_SKIP = ("index_cache",)

EPILOG = f"""\
examples:
  metacurate extract CC-MAIN-*.warc.gz --out pool/ --shard-rows 100000 --lid
  metacurate extract https://data.commoncrawl.org/crawl-data/.../x.warc.wat.gz --out pool/
  metacurate extract more.warc.gz --out pool/          # adds more.warc.gz, keeps the rest
  metacurate extract wat.paths.gz --sample 20 --out s3://bucket/pool/ --engine ray
  metacurate extract /shared/cc/*.warc.gz --out /shared/pool/ --engine slurm --slurm-time 60

Writes pool/part-00000.parquet ... (uid, url, text, text_source, page_url, warc_file,
record_offset[, lang]) and pool/{STATS_FILE}; `metacurate curate pool/` reads the shards.
A rerun skips the files already done (pool/_extract_files/) and adds new ones; --force
starts over.
"""


def register(subparsers: Any) -> None:
    """Add the `extract` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "extract",
        help="build an image-text pool from Common Crawl WARC/WAT files",
        description=(
            "Read WARC (.warc, .warc.gz) and WAT (.warc.wat.gz) files, local, http(s) or "
            "s3://, or Common Crawl path listings (warc.paths.gz, wat.paths.gz), and write one "
            "Parquet row per (image URL, alt/title text). Corrupt records are skipped and "
            "counted, never fatal."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="WARC/WAT paths or URLs, or path listings"
    )
    add_options(parser, ExtractConfig, "extract")
    parser.add_argument(  # the old name of --force, still accepted
        "--overwrite", action="store_true", dest="force", help=argparse.SUPPRESS
    )
    add_engine_arguments(parser, skip=ENGINE_SKIP)
    parser.add_argument("--json", action="store_true", help="print the stats as JSON")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; MetacurateError propagates to the top-level CLI (exit 2)."""
    config = replace(
        from_args(ExtractConfig, args),
        files=tuple(args.files),
        engine=from_args(EngineConfig, args),
    )
    if args.dry_run:
        print(json.dumps(asdict(config), indent=2))
        return 0
    started = time.perf_counter()
    stats = run_extract(config, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    print(format_stats(stats, seconds))
    return 0


def format_stats(stats: dict[str, Any], seconds: float | None = None) -> str:
    """Plain-text summary: one line per file, then the total and where the output went."""
    lines = []
    for name, block in [*stats["files"].items(), ("total", stats["total"])]:
        errors = ", ".join(f"{k}={v}" for k, v in block["errors"].items()) or "none"
        dropped = ", ".join(f"{k}={v}" for k, v in block["dropped"].items()) or "none"
        lines.append(
            f"{name}: records={block['records']} html_pages={block['html_pages']} "
            f"images_seen={block['images_seen']} with_text={block['with_text']} "
            f"kept={block['kept']} duplicates={block['duplicates']} "
            f"relative_urls_resolved={block['relative_urls_resolved']} "
            f"dropped: {dropped}; errors: {errors}"
        )
    took = f" in {seconds:.1f}s" if seconds is not None else ""
    lines.append(f"wrote {stats['rows']} rows in {len(stats['shards'])} shard(s){took}")
    return "\n".join(lines)
