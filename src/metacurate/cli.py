"""The ``metacurate`` command: flags → API calls → printed results, no logic of its own.

Exit codes: 0 success; 1 unexpected error (a bug: traceback shown); 2 a user mistake
(bad flag, file, column or metadata), explained in one line on stderr; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from metacurate._version import __version__
from metacurate.errors import MetacurateError

EXAMPLES = {
    "match": "metacurate match laion/*.parquet --metadata metadata.json --out work/",
    "balance": "metacurate balance work/ --out curated/ --t 20000 --seed 0",
    "curate": "metacurate curate laion/*.parquet --metadata metadata.json --t 20000 --out out/\n"
    "  metacurate curate cc3m.tsv --columns caption,url --target-size 5000 --out out/",
    "demo": "metacurate demo --out metacurate-demo/",
}


def _columns(value: str) -> tuple[str, ...]:
    names = tuple(c.strip() for c in value.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty column name in {value!r}")
    return names


def add_pool_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that reads a pool."""
    p.add_argument("pool", nargs="+", help="input files, directories or globs")
    p.add_argument("--metadata", "-m", help="metadata.json or .txt (default: built-in list)")
    p.add_argument("--mode", default="metaclip1", choices=["metaclip1"], help="matching mode")
    p.add_argument("--text-column", help="caption column (default: auto-detect text/caption/...)")
    p.add_argument("--url-column", help="image URL column (default: auto-detect url/URL/...)")
    p.add_argument("--uid-column", help="row identity column (default: auto-detect uid/key)")
    p.add_argument(
        "--format",
        choices=["parquet", "jsonl", "csv", "tsv", "webdataset"],
        help="input format (default: from the file extension)",
    )
    p.add_argument(
        "--columns",
        type=_columns,
        metavar="A,B,...",
        help="column names of a CSV/TSV without header row, e.g. caption,url",
    )
    p.add_argument("--batch-rows", type=int, default=65_536, help="rows per batch (memory)")
    p.add_argument(
        "--part-rows",
        type=int,
        default=1_000_000,
        help="split Parquet files bigger than this into tasks of whole row groups",
    )
    add_engine_arguments(p)
    p.add_argument("--skip-bad-files", action="store_true", help="record unreadable files, go on")
    p.add_argument("--force", action="store_true", help="redo finished tasks / replace outputs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def _dry_run(*configs) -> int:
    """Print the resolved configuration(s) as JSON (what the run would record)."""
    from dataclasses import asdict

    print(json.dumps([asdict(c) for c in configs], indent=1, sort_keys=True))
    return 0


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """Where tasks run."""
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)"
    )
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="task scheduler")
    p.add_argument("--ray-address", help="Ray cluster address (default: start a local one)")


def _match_config(args: argparse.Namespace):
    from metacurate.pipeline import MatchConfig

    return MatchConfig(
        pool=tuple(args.pool),
        out=args.out,
        metadata=args.metadata,
        mode=args.mode,
        text_column=args.text_column,
        url_column=args.url_column,
        uid_column=args.uid_column,
        format=args.format,
        csv_columns=args.columns,
        batch_rows=args.batch_rows,
        part_rows=args.part_rows,
        workers=args.workers,
        engine=args.engine,
        ray_address=args.ray_address,
        skip_bad_files=args.skip_bad_files,
        force=args.force,
    )


def print_stats(stats: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(stats, indent=1, sort_keys=True))
        return
    rows = stats["rows"] or 1
    print(f"rows:               {stats['rows']:,}")
    print(
        f"rows with no text:  {stats['rows_no_text']:,}  "
        f"(null {stats['rows_null']:,}, empty {stats['rows_empty']:,}, "
        f"invalid UTF-8 {stats['rows_invalid_utf8']:,})"
    )
    print(f"rows matched:       {stats['rows_matched']:,}  ({stats['rows_matched'] / rows:.1%})")
    print(f"total matches:      {stats['total_matches']:,}")
    print(f"entries hit:        {stats['entries_hit']:,} of {stats['metadata']['entries']:,}")
    for bad in stats["bad_files"]:
        print(f"skipped bad file:   {bad['error']}")
    print(f"seconds:            {stats['seconds']}")


def cmd_match(args: argparse.Namespace) -> int:
    from metacurate.pipeline import match_pool

    if args.dry_run:
        return _dry_run(_match_config(args))
    stats = match_pool(_match_config(args))
    print_stats(stats, args.json)
    if not args.json:
        print(f"wrote {args.out}/matches/, {args.out}/entry_counts.parquet, {args.out}/stats.json")
    return 0


def add_balance_arguments(p: argparse.ArgumentParser) -> None:
    """The threshold flags (exactly one) and the seed."""
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--t", type=float, help="threshold t (MetaCLIP: 20000 for 400M rows)")
    g.add_argument("--target-size", type=int, metavar="N", help="choose t to keep ~N rows")
    g.add_argument("--tail-share", type=float, metavar="P", help="choose t by tail share P")
    p.add_argument("--seed", type=int, default=0, help="seed of the keep decision (default 0)")
    p.add_argument(
        "--image-column",
        help="several texts per image: per image (this column, e.g. url) only one matched "
        "text, chosen by a hash of seed and uid, goes through the keep rule",
    )


def print_manifest(m: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(m, indent=1, sort_keys=True))
        return
    extra = ""
    if m["t_from"] == "target_size":
        extra = f"  (chosen for --target-size {m['target_size']:,})"
    elif m["t_from"] == "tail_share":
        extra = "  (chosen for the tail share asked)"
    print(f"t:                  {m['t']:.6g}{extra}")
    print(f"tail share:         {m['tail_share']:.4f}")
    print(f"pool rows:          {m['pool_rows']:,}  (matched {m['pool_rows_matched']:,})")
    print(
        f"curated rows:       {m['curated_rows']:,}  (expected {m['expected_rows']:,.1f}; "
        f"sum_e min(count, t) = {m['sum_min_count_t']:,.1f})"
    )
    print(f"                    {m['expected_note']}")


def cmd_balance(args: argparse.Namespace) -> int:
    from metacurate.curate import BalanceConfig, balance_workdir

    cfg = BalanceConfig(
        workdir=args.workdir,
        out=args.out,
        t=args.t,
        target_size=args.target_size,
        tail_share=args.tail_share,
        seed=args.seed,
        image_column=args.image_column,
        workers=args.workers,
        engine=args.engine,
        ray_address=args.ray_address,
        command=" ".join(sys.argv),
    )
    if args.dry_run:
        return _dry_run(cfg)
    m = balance_workdir(cfg)
    print_manifest(m, args.json)
    if not args.json:
        print(f"wrote {args.out}/curated/, {args.out}/manifest.json")
    return 0


def cmd_curate(args: argparse.Namespace) -> int:
    from metacurate.curate import BalanceConfig, run_curate

    if args.dry_run:
        return _dry_run(
            _match_config(args),
            BalanceConfig(
                workdir=args.out,
                out=args.out,
                t=args.t,
                target_size=args.target_size,
                tail_share=args.tail_share,
                seed=args.seed,
                image_column=args.image_column,
            ),
        )
    m = run_curate(
        _match_config(args),
        t=args.t,
        target_size=args.target_size,
        tail_share=args.tail_share,
        seed=args.seed,
        image_column=args.image_column,
        command=" ".join(sys.argv),
    )
    print_manifest(m, args.json)
    if not args.json:
        print(
            f"wrote {args.out}/curated/ ({m['curated_rows']:,} rows), {args.out}/manifest.json, "
            f"{args.out}/report.html"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metacurate.curate import run_curate
    from metacurate.demo import make_sample
    from metacurate.metadata import DEFAULT_METADATA_NOTE, load_default_metadata
    from metacurate.pipeline import MatchConfig

    metadata = load_default_metadata()
    out = Path(args.out)
    sample = make_sample(out / "sample" / "demo_pool.parquet", metadata)
    print(f"sample: {sample} (20,000 synthetic captions generated from the built-in metadata)")
    print(f"metadata: {metadata.name}, {len(metadata):,} entries. {DEFAULT_METADATA_NOTE}")
    m = run_curate(
        MatchConfig(pool=(str(sample),), out=str(out), workers=args.workers),
        metadata,
        t=args.t,
        seed=args.seed,
        command=" ".join(sys.argv),
    )
    print_manifest(m, False)
    print(
        f"results: {out}/curated/ (curated Parquet), {out}/report.html (open in a browser), "
        f"{out}/manifest.json, {out}/entry_counts.parquet, {out}/stats.json"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metacurate",
        description="MetaCLIP-style curation: match captions to metadata entries, count, balance.",
        epilog="Run 'metacurate COMMAND --help' for a command's flags and an example.",
    )
    parser.add_argument("--version", action="version", version=f"metacurate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "match",
        help="match every caption to the metadata; write side-cars and entry counts",
        description="Match each caption of the pool against every metadata entry (mode "
        "metaclip1, exact), write one side-car Parquet per input file, then sum "
        "entry counts into OUT/entry_counts.parquet and OUT/stats.json.",
        epilog=f"example: {EXAMPLES['match']}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_pool_arguments(p)
    p.add_argument("--out", "-o", required=True, help="work directory")
    p.set_defaults(func=cmd_match)

    p = sub.add_parser(
        "balance",
        help="balance a matched work directory into a curated set",
        description="Apply MetaCLIP balancing (p_e = min(1, t/count[e]); keep a row iff some "
        "matched entry e has u(seed, uid, e) < p_e) using only the side-cars and counts.",
        epilog=f"example: {EXAMPLES['balance']}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("workdir", help="a folder written by 'metacurate match'")
    p.add_argument("--out", "-o", required=True, help="output folder (may be the workdir)")
    add_balance_arguments(p)
    add_engine_arguments(p)
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_balance)

    p = sub.add_parser(
        "curate",
        help="the main job: match + count + balance in one command",
        description="Match the pool (reusing side-cars already in OUT), count entries and "
        "balance. OUT gets curated/*.parquet (every original column plus entry_ids and "
        "keep_prob), manifest.json, entry_counts.parquet and stats.json.",
        epilog=f"examples:\n  {EXAMPLES['curate']}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_pool_arguments(p)
    p.add_argument("--out", "-o", required=True, help="output folder")
    add_balance_arguments(p)
    p.set_defaults(func=cmd_curate)

    p = sub.add_parser(
        "demo",
        help="run curate end to end on a built-in synthetic sample",
        description="Generate a synthetic 20,000-row pool from the built-in metadata and "
        "curate it with the built-in metadata.",
        epilog=f"example: {EXAMPLES['demo']}",
    )
    p.add_argument("--out", "-o", default="metacurate-demo", help="output folder")
    p.add_argument("--t", type=float, default=50.0, help="threshold t (default 50)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_demo)

    from metacurate.extract.cli import register as register_extract
    from metacurate.metadata.cli import register as register_metadata
    from metacurate.report.cli import register as register_report

    register_report(sub)
    register_metadata(sub)
    register_extract(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MetacurateError as exc:
        print(f"metacurate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("metacurate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
