"""``metacurate demo``: curate end to end on a built-in synthetic sample."""

from __future__ import annotations

import argparse
import sys

from metacurate.cli_flags import EXAMPLES, dry_run
from metacurate.config import T_RULES, BalanceConfig, EngineConfig, MatchConfig, RunConfig
from metacurate.summary import print_manifest


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
        return dry_run(cfg)
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
