"""The flags the stage commands share and the one place they become a :class:`RunConfig`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from metacurate.config import (
    ENGINES,
    FORMATS,
    LID_MODELS,
    MODES,
    START_METHODS,
    T_RULES,
    BalanceConfig,
    EngineConfig,
    MatchConfig,
    RunConfig,
)
from metacurate.errors import MetacurateError

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
    twice = [n for n in names if names.count(n) > 1]
    if twice:
        raise argparse.ArgumentTypeError(f"column {twice[0]!r} named twice in {value!r}")
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
        "--workers",
        type=int,
        help="processes running tasks, this one included (default: all cores; Ray: the "
        "cluster's CPUs)",
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
    p.add_argument(
        "--start-method",
        choices=START_METHODS,
        default=default_start_method(),
        help="how local worker processes start: fork (copies of this one, imports done; the "
        "default on Linux) or spawn (fresh interpreters, ~0.3 s of CPU each)",
    )


def default_start_method() -> str:
    """fork on Linux (the CLI is our own process, forked before any thread starts), else
    spawn (macOS and Windows: fork is unsafe or absent there)."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


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
            start_method=args.start_method,
        ),
        command=" ".join(sys.argv),
    )


def dry_run(config: RunConfig) -> int:
    """Print the resolved configuration as JSON (what the manifest would record)."""
    config.check()
    print(json.dumps(config.to_dict(), indent=1, sort_keys=True))
    return 0
