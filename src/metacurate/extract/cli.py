"""`metacurate extract`: flags → `run_extract` → printed stats. No logic of its own."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from metacurate.cli_flags import add_engine_arguments, from_args
from metacurate.config import EngineConfig
from metacurate.extract.run import DEFAULT_SHARD_ROWS, STATS_FILE, ExtractConfig, run_extract

#: Engine flags extract has no use for (``--workers`` is its own: local processes).
ENGINE_SKIP = ("workers", "s3_endpoint", "index_cache", "start_method")

EPILOG = f"""\
examples:
  metacurate extract CC-MAIN-*.warc.gz --out pool/ --shard-rows 100000 --lid --workers 4
  metacurate extract https://data.commoncrawl.org/crawl-data/.../x.warc.wat.gz --out pool/
  metacurate extract more.warc.gz --out pool/ --force     # replace pool/'s earlier output
  metacurate extract /shared/cc/*.warc.gz --out /shared/pool/ --engine slurm --slurm-time 60

Writes pool/part-00000.parquet ... (uid, url, text, text_source, page_url, warc_file,
record_offset[, lang]) and pool/{STATS_FILE}; `metacurate curate pool/` reads the shards.
"""


def register(subparsers: Any) -> None:
    """Add the `extract` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "extract",
        help="build an image-text pool from Common Crawl WARC/WAT files",
        description=(
            "Read WARC (.warc, .warc.gz) and WAT (.warc.wat.gz) files, local or http(s), and "
            "write one Parquet row per (image URL, alt/title text). Corrupt records are "
            "skipped and counted, never fatal."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="WARC/WAT paths or URLs")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--shard-rows",
        type=int,
        default=DEFAULT_SHARD_ROWS,
        metavar="N",
        help=f"rows per Parquet shard (default {DEFAULT_SHARD_ROWS})",
    )
    parser.add_argument(
        "--lid", action="store_true", help="add a `lang` column (py3langid, offline)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes parsing input files at once; the output is the same for any N (default 1)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace earlier extract output in --out"
    )
    parser.add_argument(  # the old name, still accepted
        "--overwrite", action="store_true", dest="force", help=argparse.SUPPRESS
    )
    add_engine_arguments(parser, skip=ENGINE_SKIP)
    parser.add_argument("--json", action="store_true", help="print the stats as JSON")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the subcommand; MetacurateError propagates to the top-level CLI (exit 2)."""
    config = ExtractConfig(
        files=tuple(args.files),
        out_dir=args.out,
        shard_rows=args.shard_rows,
        lid=args.lid,
        force=args.force,
        workers=args.workers,
        engine=from_args(EngineConfig, args),
    )
    config.validate()
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
