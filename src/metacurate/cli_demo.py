"""``metacurate demo``: curate end to end on a built-in sample (real LAION alt-text, or with
``--worldwide`` a synthetic multilingual one) and say what balancing did."""

from __future__ import annotations

import argparse
import json
import sys

from metacurate.cli_flags import EXAMPLES, dry_run
from metacurate.config import T_RULES, BalanceConfig, EngineConfig, MatchConfig, RunConfig
from metacurate.summary import print_manifest

#: ``demo --worldwide``'s default t (English's).
WORLDWIDE_T = 50.0


def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from metacurate.api import run_curate

    out = Path(args.out)
    say = (lambda *a: None) if args.json else print
    metadata, make, about, match, t = _demo_parts(args, say)
    cfg = RunConfig(
        workdir=str(out),
        out=str(out),
        match=match,
        balance=BalanceConfig(t=t, seed=args.seed, t_rule=args.t_rule),
        engine=EngineConfig(workers=args.workers, progress=False if args.json else None),
        command=" ".join(sys.argv),
    )
    if args.dry_run:
        return dry_run(cfg)
    cfg.check()
    # beside OUT, not inside it: an output folder never holds its own inputs
    sample = make(out.with_name(out.name + "-sample") / "demo_pool.parquet", metadata)
    say(f"sample: {sample} ({about})")
    m = run_curate(replace(cfg, pool=(str(sample),)), metadata)
    effect = None
    if not args.worldwide:
        from metacurate.demo import demo_effect, effect_lines

        effect = demo_effect(out)
    if args.json:
        print(json.dumps({"manifest": m, "effect": effect}, indent=1, sort_keys=True))
        return 0
    print_manifest(m, False)
    for line in effect_lines(effect) if effect else []:
        print(line)
    print(
        f"results: {out}/curated/ (curated Parquet), {out}/report.html (open in a browser), "
        f"{out}/manifest.json, {out}/entry_counts.parquet, {out}/curated_entry_counts.parquet, "
        f"{out}/stats.json"
    )
    return 0


def _demo_parts(args: argparse.Namespace, say) -> tuple:
    """The demo's metadata, sample maker, sample description, match config and t."""
    from metacurate import demo

    if not args.worldwide:
        from metacurate.metadata import load_default_metadata, load_default_sources

        md = demo.demo_metadata(load_default_metadata(), load_default_sources())
        say(
            f"metadata: {md.name}, {len(md):,} entries: the digits and the ~500 most frequent "
            "English words (lower case and capitalised) of the built-in list, its head scaled "
            "to a 10,000-caption sample (docs/report.md, 'metacurate demo')"
        )
        about = "10,000 real LAION-400M alt-texts, img2dataset's test sample; see data/NOTICE.txt"
        t = args.t if args.t is not None else demo.DEMO_T
        return md, lambda path, _md: demo.copy_laion_sample(path), about, MatchConfig(), t
    from metacurate.metadata.worldwide import load_worldwide

    ww = load_worldwide("worldwide-default")
    say(
        f"metadata: worldwide-default, {len(ww.languages)} languages; an approximation of "
        "Meta CLIP 2's lists (docs/worldwide.md says what it lacks)"
    )
    langs = ", ".join(demo.WORLDWIDE_MIX)
    about = f"20,000 synthetic captions in {langs}, from the built-in worldwide metadata"
    match = MatchConfig(mode=args.mode, lang_column="lang")
    t = args.t if args.t is not None else WORLDWIDE_T
    return ww, demo.make_worldwide_sample, about, match, t


def register_demo(sub: argparse._SubParsersAction) -> None:
    from metacurate.demo import DEMO_T

    p = sub.add_parser(
        "demo",
        help="run curate end to end on a built-in sample of real alt-text",
        description="Curate the 10,000 real LAION alt-texts shipped with metacurate against the "
        "head of the built-in metadata and print what happened to the largest entries and to "
        "the tail. --worldwide: a synthetic 20,000-row pool in seven languages instead.",
        epilog=f"example: {EXAMPLES['demo']}",
    )
    p.add_argument("--out", "-o", default="metacurate-demo", help="output folder")
    p.add_argument(
        "--t",
        type=float,
        default=None,
        help=f"threshold t (default {DEMO_T:g}: the sample's ~6%% tail share, MetaCLIP's; "
        f"--worldwide: {WORLDWIDE_T:g})",
    )
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
    p.add_argument("--json", action="store_true", help="print the manifest and effect as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=cmd_demo)
