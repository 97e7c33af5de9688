"""The ``metacurate`` command: flags → API calls → printed results, no logic of its own.

Exit codes: 0 success; 1 unexpected error (a bug: traceback shown); 2 a user mistake
(bad flag, file, column or metadata), explained in one line on stderr; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence

from metacurate._version import __version__
from metacurate.config import (
    ENGINES,
    FORMATS,
    LID_MODELS,
    MODES,
    T_RULES,
    BalanceConfig,
    ConfigError,
    EngineConfig,
    MatchConfig,
    RunConfig,
)
from metacurate.errors import EnvironmentFault, MetacurateError
from metacurate.summary import print_manifest, print_stats

EXAMPLES = {
    "match": "metacurate match laion/*.parquet --metadata metadata.json --out work/",
    "balance": "metacurate balance work/ --out curated/ --t 20000 --seed 0\n"
    "  metacurate balance work/ --out to-download/ --t 20000 --success-rate 0.8\n"
    "  metacurate balance work/ --out final/ --t 20000 --available shards/",
    "curate": "metacurate curate laion/*.parquet --metadata metadata.json --t 20000 --out out/\n"
    "  metacurate curate cc3m.tsv --columns caption,url --target-size 10000 --out out/\n"
    "  metacurate curate pool.parquet --mode metaclip2 --lang-column lang "
    "--metadata metadata_dir/ --t 170000 --out out/",
    "demo": "metacurate demo --out metacurate-demo/",
}


def _columns(value: str) -> tuple[str, ...]:
    names = tuple(c.strip() for c in value.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty column name in {value!r}")
    return names


def add_pool_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command that reads a pool (the MatchConfig fields)."""
    d = MatchConfig()
    p.add_argument("pool", nargs="+", help="input files, directories or globs")
    p.add_argument(
        "--metadata", "-m", help="metadata .json/.txt, or 'default' (default: built-in list)"
    )
    p.add_argument(
        "--mode",
        default=d.mode,
        choices=MODES,
        help="matching mode; metaclip2 / metaclip2-kana: per-language metadata (a folder of "
        "{lang}.json, or 'worldwide-default'), see docs/worldwide.md",
    )
    p.add_argument(
        "--lang-column",
        help="metaclip2 modes: the pool's language column (default: identify each text's "
        "language with --lid-model)",
    )
    p.add_argument(
        "--lid-model",
        default=d.lid_model,
        choices=LID_MODELS,
        help=f"metaclip2 modes without --lang-column (default {d.lid_model})",
    )
    p.add_argument("--text-column", help="caption column (default: auto-detect text/caption/...)")
    p.add_argument("--url-column", help="image URL column (default: auto-detect url/URL/...)")
    p.add_argument("--uid-column", help="row identity column (default: auto-detect uid/key)")
    p.add_argument("--format", choices=FORMATS, help="input format (default: from the extension)")
    p.add_argument(
        "--columns",
        type=_columns,
        metavar="A,B,...",
        help="column names of a CSV/TSV without header row, e.g. caption,url",
    )
    p.add_argument(
        "--batch-rows",
        type=int,
        default=d.batch_rows,
        help=f"rows per batch, bounds memory (default {d.batch_rows:,})",
    )
    p.add_argument(
        "--part-rows",
        type=int,
        default=d.part_rows,
        help="split Parquet files bigger than this into tasks of whole row groups "
        f"(default {d.part_rows:,})",
    )
    add_engine_arguments(p)
    p.add_argument("--skip-bad-files", action="store_true", help="record unreadable files, go on")
    p.add_argument("--force", action="store_true", help="redo finished tasks / replace outputs")
    p.add_argument(
        "--index-cache",
        metavar="DIR",
        help="matcher index cache (default: $METACURATE_CACHE or ~/.cache/metacurate)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """Where tasks run (the EngineConfig fields)."""
    p.add_argument(
        "--workers", type=int, help="processes (default: all cores; Ray: the cluster's CPUs)"
    )
    p.add_argument("--engine", choices=ENGINES, default="local", help="task scheduler")
    p.add_argument("--ray-address", help="Ray cluster address (default: start a local one)")
    p.add_argument(
        "--in-flight",
        type=int,
        metavar="N",
        help="Ray tasks submitted at once (default: --workers, else the cluster's CPUs)",
    )
    p.add_argument(
        "--s3-endpoint",
        metavar="URL",
        help="S3-compatible store for s3:// paths, e.g. http://127.0.0.1:9000 "
        "(default: $AWS_ENDPOINT_URL, else AWS)",
    )


def _success_rate(value: str) -> float:
    """A number, or an img2dataset folder whose stats measured it."""
    if os.path.isdir(value):
        from metacurate.download import measured_success_rate

        try:
            return measured_success_rate(value)
        except MetacurateError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number nor a folder") from None


def add_balance_arguments(p: argparse.ArgumentParser) -> None:
    """The threshold flags (exactly one), seed, epoch and image column (BalanceConfig)."""
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--t", type=float, help="threshold t (MetaCLIP: 20000 for a 400M-row curated set)"
    )
    g.add_argument("--target-size", type=int, metavar="N", help="choose t to keep ~N rows")
    g.add_argument("--tail-share", type=float, metavar="P", help="choose t by tail share P")
    p.add_argument("--seed", type=int, default=0, help="seed of the keep decision (default 0)")
    p.add_argument(
        "--t-rule",
        default="metacurate",
        choices=T_RULES,
        help="metaclip2 modes: --t is English's t; each language's t keeps English's tail "
        "share (metacurate), or the official p_to_t clamped to >= 1 (official)",
    )
    p.add_argument(
        "--epoch",
        type=int,
        help="the curated set of online-balancing epoch K (default: the offline decision)",
    )
    p.add_argument(
        "--image-column",
        help="several texts per image: per image (this column, e.g. url) only one matched "
        "text, chosen by a hash of seed and uid, goes through the keep rule",
    )
    p.add_argument(
        "--allow-t-below-1",
        action="store_true",
        help="let --target-size choose t < 1 (sub-samples entries seen only once)",
    )
    p.add_argument(
        "--available",
        metavar="DIR",
        help="img2dataset output folder: re-count entries over the rows it downloaded and "
        "balance those rows only",
    )
    p.add_argument(
        "--success-rate",
        type=_success_rate,
        metavar="R|DIR",
        help="plan a download: curate at t / R (R the expected share of URLs that download, "
        "or an img2dataset folder whose first shards measured it); prints the plan and the "
        "img2dataset command",
    )


def run_config(args: argparse.Namespace) -> RunConfig:
    """The one place flags become the typed run config."""
    match = balance = None
    if hasattr(args, "pool"):
        match = MatchConfig(
            metadata=args.metadata,
            mode=args.mode,
            text_column=args.text_column,
            url_column=args.url_column,
            uid_column=args.uid_column,
            format=args.format,
            csv_columns=args.columns,
            batch_rows=args.batch_rows,
            part_rows=args.part_rows,
            skip_bad_files=args.skip_bad_files,
            force=args.force,
            lang_column=args.lang_column,
            lid_model=args.lid_model,
        )
    if hasattr(args, "seed"):
        balance = BalanceConfig(
            t=args.t,
            target_size=args.target_size,
            tail_share=args.tail_share,
            seed=args.seed,
            epoch=args.epoch,
            image_column=args.image_column,
            allow_t_below_1=args.allow_t_below_1,
            available=getattr(args, "available", None),
            success_rate=getattr(args, "success_rate", None),
            t_rule=args.t_rule,
        )
    workdir = getattr(args, "workdir", None) or args.out
    return RunConfig(
        pool=tuple(getattr(args, "pool", ())),
        workdir=workdir,
        out=args.out,
        match=match or MatchConfig(),
        balance=balance,
        engine=EngineConfig(
            kind=args.engine,
            workers=args.workers,
            ray_address=args.ray_address,
            in_flight=args.in_flight,
            s3_endpoint=args.s3_endpoint,
            index_cache=getattr(args, "index_cache", None),
        ),
        command=" ".join(sys.argv),
    )


def _dry_run(config: RunConfig) -> int:
    """Print the resolved configuration as JSON (what the manifest would record)."""
    config.check()
    print(json.dumps(config.to_dict(), indent=1, sort_keys=True))
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from metacurate.api import match_pool

    cfg = run_config(args)
    if args.dry_run:
        return _dry_run(cfg)
    stats = match_pool(config=cfg)
    print_stats(stats, args.json)
    if not args.json:
        print(f"wrote {args.out}/matches/, {args.out}/entry_counts.parquet, {args.out}/stats.json")
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    from metacurate.api import balance_workdir

    cfg = run_config(args)
    if args.dry_run:
        return _dry_run(cfg)
    m = balance_workdir(config=cfg)
    print_manifest(m, args.json)
    if not args.json:
        print(f"wrote {args.out}/curated/, {args.out}/manifest.json")
    return 0


def cmd_curate(args: argparse.Namespace) -> int:
    from metacurate.api import run_curate

    cfg = run_config(args)
    if args.dry_run:
        return _dry_run(cfg)
    m = run_curate(cfg)
    print_manifest(m, args.json)
    if not args.json:
        print(
            f"wrote {args.out}/curated/ ({m['curated_rows']:,} rows), {args.out}/manifest.json, "
            f"{args.out}/report.html"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from metacurate.api import run_curate

    out = Path(args.out)
    metadata, make, about, match = _demo_parts(args)
    cfg = RunConfig(
        workdir=str(out),
        out=str(out),
        match=match,
        balance=BalanceConfig(t=args.t, seed=args.seed, t_rule=args.t_rule),
        engine=EngineConfig(workers=args.workers),
        command=" ".join(sys.argv),
    )
    if args.dry_run:
        return _dry_run(cfg)
    cfg.check()
    # beside OUT, not inside it: an output folder never holds its own inputs
    sample = make(out.with_name(out.name + "-sample") / "demo_pool.parquet", metadata)
    print(f"sample: {sample} ({about})")
    m = run_curate(replace(cfg, pool=(str(sample),)), metadata)
    print_manifest(m, False)
    print(
        f"results: {out}/curated/ (curated Parquet), {out}/report.html (open in a browser), "
        f"{out}/manifest.json, {out}/entry_counts.parquet, {out}/stats.json"
    )
    return 0


def _demo_parts(args: argparse.Namespace) -> tuple:
    """The demo's metadata, sample maker, sample description and match config."""
    from metacurate import demo

    if not args.worldwide:
        from metacurate.metadata import DEFAULT_METADATA_NOTE, load_default_metadata

        md = load_default_metadata()
        print(f"metadata: {md.name}, {len(md):,} entries. {DEFAULT_METADATA_NOTE}")
        about = "20,000 synthetic captions generated from the built-in metadata"
        return md, demo.make_sample, about, MatchConfig()
    from metacurate.metadata.worldwide import load_worldwide

    ww = load_worldwide("worldwide-default")
    print(
        f"metadata: worldwide-default, {len(ww.languages)} languages; an approximation of "
        "Meta CLIP 2's lists (docs/worldwide.md says what it lacks)"
    )
    langs = ", ".join(demo.WORLDWIDE_MIX)
    about = f"20,000 synthetic captions in {langs}, from the built-in worldwide metadata"
    return ww, demo.make_worldwide_sample, about, MatchConfig(mode=args.mode, lang_column="lang")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metacurate",
        description="MetaCLIP-style curation: match captions to metadata entries, count, balance.",
        epilog="Run 'metacurate COMMAND --help' for a command's flags and an example.",
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_stages(sub)
    register_demo(sub)

    from metacurate.extract.cli import register as register_extract
    from metacurate.metadata.cli import register as register_metadata
    from metacurate.report.cli import register as register_report

    register_report(sub)
    register_metadata(sub)
    register_extract(sub)
    return parser


def version_line() -> str:
    """``--version``: the package version and which matcher implementation runs."""
    from metacurate.kernel import implementation

    return f"metacurate {__version__} (matcher: {implementation()})"


def register_stages(sub: argparse._SubParsersAction) -> None:
    """``match``, ``balance`` and ``curate``."""
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


def register_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run curate end to end on a built-in synthetic sample",
        description="Generate a synthetic 20,000-row pool from the built-in metadata and "
        "curate it with the built-in metadata.",
        epilog=f"example: {EXAMPLES['demo']}",
    )
    p.add_argument("--out", "-o", default="metacurate-demo", help="output folder")
    p.add_argument("--t", type=float, default=50.0, help="threshold t (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the keep decision (default 0)")
    p.add_argument(
        "--t-rule",
        default="metacurate",
        choices=T_RULES,
        help="metaclip2 modes: --t is English's t; each language's t keeps English's tail "
        "share (metacurate), or the official p_to_t clamped to >= 1 (official)",
    )
    p.add_argument("--workers", type=int, help="processes (default: all cores)")
    p.add_argument(
        "--worldwide",
        action="store_true",
        help="a synthetic sample in seven languages (lang column), curated per language with "
        "the built-in worldwide metadata (Meta CLIP 2); --t is English's t",
    )
    p.add_argument(
        "--mode",
        default="metaclip2",
        choices=["metaclip2", "metaclip2-kana"],
        help="--worldwide: the matching mode (default metaclip2, the official rule)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_demo)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"metacurate: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    warnings.showwarning = _warning_line  # one line per warning, no source location
    parser = build_parser()
    args = parser.parse_args(argv)
    from metacurate.engine.startup import skip_pandas_probe

    skip_pandas_probe()  # a process of ours: pyarrow need not import pandas (0.5 s of CPU)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"metacurate: error: {exc.for_flag()}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): stop quietly, like cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the disk, the output folder, permissions: not a bug
        print(f"metacurate: error: {EnvironmentFault.from_oserror(exc)}", file=sys.stderr)
        return 2
    except MetacurateError as exc:
        print(f"metacurate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("metacurate: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
