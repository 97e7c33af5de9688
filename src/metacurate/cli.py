"""The ``metacurate`` command: flags → API calls → printed results, no logic of its own.

Exit codes: 0 success; 1 unexpected error (a bug: traceback shown); 2 a user mistake
(bad flag, file, column or metadata), explained in one line on stderr; 130 interrupted.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m metacurate.cli: Ctrl-C recorded before the imports below
    from metacurate.interrupts import record_from_start

    record_from_start()

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence

from metacurate._version import __version__
from metacurate.cli_demo import cmd_demo, register_demo
from metacurate.cli_flags import (
    EXAMPLES,
    add_balance_arguments,
    add_engine_arguments,
    add_pool_arguments,
    dry_run,
    run_config,
)
from metacurate.config import ConfigError
from metacurate.errors import EnvironmentFault, MetacurateError
from metacurate.interrupts import interrupted_outside, noticed_interrupts, record_from_start
from metacurate.match.ahead import Ahead, can_go_ahead
from metacurate.summary import print_manifest, print_stats

__all__ = [
    "EXAMPLES",
    "add_balance_arguments",
    "add_engine_arguments",
    "add_pool_arguments",
    "build_parser",
    "cmd_balance",
    "cmd_curate",
    "cmd_demo",
    "cmd_match",
    "main",
    "register_demo",
    "register_stages",
    "run_config",
    "version_line",
]


def cmd_match(args: argparse.Namespace) -> int:
    from metacurate.api import match_pool

    cfg = args.config
    if args.dry_run:
        return dry_run(cfg)
    stats = match_pool(config=cfg)
    print_stats(stats, args.json)
    if not args.json:
        print(f"wrote {args.out}/matches/, {args.out}/entry_counts.parquet, {args.out}/stats.json")
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    from metacurate.api import balance_workdir

    cfg = args.config
    if args.dry_run:
        return dry_run(cfg)
    m = balance_workdir(config=cfg)
    print_manifest(m, args.json)
    if not args.json:
        print(f"wrote {args.out}/curated/, {args.out}/manifest.json")
    return 0


def start_ahead(args: argparse.Namespace) -> Ahead | None:
    """``curate``: its metadata loaded and its index readied in a thread (match/ahead.py,
    engine/startup.py's step 3), started before this process imports the rest (pyarrow, the
    stages) so the two overlap."""
    if args.command != "curate" or args.dry_run:
        return None
    cfg = args.config
    later = ("numpy.ma", "metacurate.report.html")  # 5. curate's report, made after the fork
    return Ahead(cfg, later) if can_go_ahead(cfg) else None


def cmd_curate(args: argparse.Namespace) -> int:
    from metacurate.api import run_curate

    cfg = args.config
    if args.dry_run:
        return dry_run(cfg)
    m = run_curate(cfg, ahead=getattr(args, "ahead", None))
    print_manifest(m, args.json)
    if not args.json:
        print(
            f"wrote {args.out}/curated/ ({m['curated_rows']:,} rows), {args.out}/manifest.json, "
            f"{args.out}/report.html"
        )
    return 0


#: The commands of the main job: their parser needs none of the other commands' modules.
STAGES = ("match", "balance", "curate")


def build_parser(stages_only: bool = False) -> argparse.ArgumentParser:
    """The ``metacurate`` parser; ``stages_only``: just :data:`STAGES`, whose flags import
    nothing heavy (a run of one of them starts its work ~0.2 s sooner)."""
    parser = argparse.ArgumentParser(
        prog="metacurate",
        description="MetaCLIP-style curation: match captions to metadata entries, count, balance.",
        epilog="Run 'metacurate COMMAND --help' for a command's flags and an example.",
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_stages(sub)
    if stages_only:
        return parser
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
    add_engine_arguments(p, skip=("index_cache",))  # balance reads no index
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


INTERRUPTED = "metacurate: interrupted"


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"metacurate: warning: {message}", file=sys.stderr)


#: Values argparse would take for flags: ``-inf``, ``-nan``, ``-1e5`` (its own test for a
#: negative number only knows ``-5`` and ``-.5``).
_NEGATIVE = re.compile(r"-(inf|infinity|nan|\d+(\.\d*)?e[+-]?\d+|\d*\.\d+e[+-]?\d+)", re.I)


def joined_negative_values(argv: list[str]) -> list[str]:
    """``--t -inf`` as ``--t=-inf``, so the value reaches the option's own check (which
    says what is wrong) instead of argparse's "expected one argument"."""
    out: list[str] = []
    for arg in argv:
        prev = out[-1] if out else ""
        if _NEGATIVE.fullmatch(arg) and prev.startswith("--") and "=" not in prev:
            out[-1] = f"{prev}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with noticed_interrupts() as interrupted:
            code = _command(argv)
        if interrupted.is_set():  # a Ctrl-C that Python dropped (interrupts.py)
            raise KeyboardInterrupt
        return code
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
        print(INTERRUPTED, file=sys.stderr)
        return 130


def _command(argv: Sequence[str] | None) -> int:
    warnings.showwarning = _warning_line  # one line per warning, no source location
    from metacurate.engine.startup import tune_environment, tune_process

    # the start-up order of engine/startup.py (its numbered steps)
    tune_environment()  # 1. before numpy and pyarrow load
    argv = joined_negative_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser(stages_only=bool(argv) and argv[0] in STAGES)  # 2. stages
    args = parser.parse_args(argv)
    if isinstance(getattr(args, "out", None), str) and len(args.out) > 1:
        args.out = args.out.rstrip("/") or "/"  # out/curated/, not out//curated/
    # the one RunConfig of a stage command, built once from its flags
    args.config = run_config(args) if args.command in STAGES else None
    args.ahead = start_ahead(args)  # 3. the head start, before the stages' imports
    tune_process()  # 4. no pandas probe, jemalloc, fewer collections
    return int(args.func(args) or 0)


def run() -> None:
    """The ``metacurate`` command (``metacurate/__main__.py`` calls it; ``python -m
    metacurate.cli``): :func:`main`, then out at once once its output is flushed
    (engine/startup.py's step 8: no teardown of a large heap, ~0.1 s a run). A Ctrl-C after
    :func:`main`'s work, as the command leaves, still ends it as interrupted."""
    record_from_start()  # already done by the entry; here for a wrapper that calls run()
    code = main()
    from metacurate.engine.startup import quick_exit

    if code == 0 and interrupted_outside():
        print(INTERRUPTED, file=sys.stderr)
        code = 130
    quick_exit(code)


if __name__ == "__main__":
    run()
