"""``metacurate report``, ``explain`` and ``stats``: flags to API calls, results to stdout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from metacurate.errors import MetacurateError

_RAW = argparse.RawDescriptionHelpFormatter

REPORT_EPILOG = """\
examples:
  metacurate report out/                     # writes out/report.html
  metacurate report out/ -o ~/laion-report.html

The page is one self-contained file (charts inline, no network), about 0.3 to 1.5 MB
whatever the pool size (most of it the explorer's sample of captions).
"""

EXPLAIN_EPILOG = """\
examples:
  metacurate explain "a photo of a dog, on the beach"
  metacurate explain "a photo of a dog" --workdir out/
  metacurate explain "a photo of a dog" --workdir out/ --uid 0f3a9c... --json

With --workdir, each entry shows its count and p_e and the text its keep probability; with
--uid too, the decision that 'curate' made for that row (its uid is the pool's uid column, or
the 'uid' column of out/curated/*.parquet and out/matches/*.parquet).
"""

COVERAGE_EPILOG = """\
examples:
  metacurate coverage out/                      # ImageNet-1k's 1,000 classes
  metacurate coverage out/ --classes my_classes.txt --k 20 --draws 10 --table
  metacurate coverage out/ --json | jq .covered

A class matches a caption when one of its names, or the name's plural, occurs in the
lower-cased caption as a whole-word run by MetaCLIP's substring rule (docs/coverage.md).
Writes OUT/coverage.json; 'metacurate report OUT' shows it.
"""

STATS_EPILOG = """\
examples:
  metacurate stats out/
  metacurate stats out/ --json | jq .manifest.curated_rows
"""


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a run folder."""
    from metacurate.report.html import write_report

    path = write_report(args.out_dir, args.output)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1024:,.0f} kB)")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    """Classes of a list covered by the pool, the curated set and random subsets."""
    from metacurate.cli_flags import from_args
    from metacurate.files import write_json
    from metacurate.report.coverage import coverage, coverage_lines
    from metacurate.report.coverage_config import CoverageConfig
    from metacurate.report.stats import load_run

    cfg = from_args(CoverageConfig, args)
    cfg.check()
    run = load_run(args.out_dir)
    result = coverage(run, cfg)
    write_json(run.root / "coverage.json", result)
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return 0
    for line in coverage_lines(result, args.table):
        print(line)
    print(f"wrote {run.root / 'coverage.json'} ('metacurate report' shows it)")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain one text (and optionally one uid's decision)."""
    from metacurate.explain import Explainer, format_explanation

    if args.uid is not None and args.workdir is None:
        raise MetacurateError("--uid needs --workdir OUT (the run's counts, t and seed)")
    explainer = Explainer(
        metadata=args.metadata, workdir=args.workdir, seed=args.seed, lang=args.lang
    )
    result = explainer.explain(args.text, args.uid)
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        print(format_explanation(result))
    return 0


def run_summary(out_dir: str | Path) -> dict:
    """``{"match": stats, "manifest": manifest or None, "compared_with_metaclip": ...}`` of a
    run folder (no per-input list)."""
    from metacurate.report.compare import run_comparison
    from metacurate.report.stats import load_run

    run = load_run(out_dir)
    manifest = None
    if run.manifest is not None:
        manifest = {k: v for k, v in run.manifest.items() if k not in ("match", "inputs")}
    return {
        "match": {k: v for k, v in run.stats.items() if k != "inputs"},
        "manifest": manifest,
        "compared_with_metaclip": run_comparison(run),
    }


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the match stats and the manifest summary of a run folder."""
    from metacurate.summary import print_manifest, print_stats

    summary = run_summary(args.out_dir)
    if args.json:
        print(json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False))
        return 0
    print_stats({"bad_files": [], **summary["match"]}, False)
    if summary["manifest"] is None:
        print("not balanced yet: no manifest.json (run 'metacurate balance')")
    else:
        print_manifest(summary["manifest"], False)
    from metacurate.report.compare import compare_lines

    for line in compare_lines(summary["compared_with_metaclip"]):
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report``, ``explain``, ``stats`` and ``plan`` to a subparsers object."""
    from metacurate.plan import register as register_plan

    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a curated run",
        description="Write one HTML file (opens offline) with the run's summary, ranked entry "
        "counts before/after balancing, the cumulative share of matches, matches per caption, "
        "the largest and the never-matched entries and sample captions.",
        epilog=REPORT_EPILOG,
        formatter_class=_RAW,
    )
    p.add_argument("out_dir", metavar="OUT", help="the --out folder of 'metacurate curate'")
    p.add_argument("-o", "--output", help="where to write the page (default: OUT/report.html)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "explain",
        help="show how one caption is matched and balanced",
        description="Print spacing(TEXT), the matched entries and, with --workdir, their "
        "counts and p_e, the keep probability 1 - prod(1 - p_e) and, with --uid, the keep "
        "decision for that row under the run's seed.",
        epilog=EXPLAIN_EPILOG,
        formatter_class=_RAW,
    )
    p.add_argument("text", metavar="TEXT", help="the caption")
    p.add_argument(
        "--metadata",
        "-m",
        help="metadata file (default: the run's metadata.json with --workdir, else built-in)",
    )
    p.add_argument("--workdir", "-w", metavar="OUT", help="a curated run folder")
    p.add_argument("--uid", help="the row's uid: print the run's keep decision for it")
    p.add_argument("--seed", type=int, help="seed of the decision (default: the run's)")
    p.add_argument(
        "--lang",
        help="metaclip2 runs: the text's language (default: the row's, with --uid, else "
        "language identification as the run did it)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_explain)

    p = subparsers.add_parser(
        "stats",
        help="print the match statistics and manifest summary of a run",
        description="Print the match statistics (rows, rows without text by reason, matched "
        "rows, matches, entries hit) and the balancing summary (t, tail share, curated rows).",
        epilog=STATS_EPILOG,
        formatter_class=_RAW,
    )
    p.add_argument("out_dir", metavar="OUT", help="a match, balance or curate output folder")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_stats)

    from metacurate.cli_flags import add_options
    from metacurate.report.coverage_config import CoverageConfig

    p = subparsers.add_parser(
        "coverage",
        help="count a class list's classes in the pool, the curated set and random subsets",
        description="For a class list (ImageNet-1k's names by default), the number of classes "
        "with at least 1 and at least K matching captions in the pool, in the curated set and "
        "in uniform random subsets of the curated set's size, and per class the three counts.",
        epilog=COVERAGE_EPILOG,
        formatter_class=_RAW,
    )
    p.add_argument("out_dir", metavar="OUT", help="a balance or curate output folder")
    add_options(p, CoverageConfig, "coverage")
    p.add_argument(
        "--table",
        action="store_true",
        help="also print one line per class (every class of the list)",
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_coverage)

    register_plan(subparsers)
