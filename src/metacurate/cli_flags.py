"""Every command's flags, generated from the config fields (:func:`metacurate.config.option`),
and the one place they become a :class:`RunConfig`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing
from collections.abc import Callable
from typing import Any

from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig
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


def _t_lang(value: str) -> dict[str, float]:
    """``zh=300,ja=40`` → ``{"zh": 300.0, "ja": 40.0}``."""
    out: dict[str, float] = {}
    for part in (x.strip() for x in value.split(",")):
        lang, eq, t = part.partition("=")
        try:
            out[lang.strip()] = float(t)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not LANG=T (e.g. zh=300,ja=40)"
            ) from None
        if not eq or not lang.strip():
            raise argparse.ArgumentTypeError(f"{part!r} is not LANG=T (e.g. zh=300,ja=40)")
    return out


def default_start_method() -> str:
    """fork on Linux (the CLI is our own process, forked before any thread starts), else
    spawn (macOS and Windows: fork is unsafe or absent there)."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


#: Parsers a field names with ``option(parse=...)``; other fields parse by their type.
PARSERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "columns": _columns,
    "success_rate": _success_rate,
    "t_lang": _t_lang,
}
#: Defaults that only the command line uses (``option(cli_default=...)``).
CLI_DEFAULTS: dict[str, Callable[[], Any]] = {"start_method": default_start_method}


def _parser_of(cls: type, f: dataclasses.Field) -> Callable[[str], Any] | None:
    """The flag's parser: the named one, else from the field's type (None for a bool)."""
    if f.metadata.get("parse"):
        return PARSERS[f.metadata["parse"]]
    hint = typing.get_type_hints(cls)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if args[0] is bool:
        return None
    return PARSERS[args[0].__name__]


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of a config class that have a flag."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli")]


def add_options(
    parser: argparse.ArgumentParser, cls: type, title: str | None = None, skip: tuple = ()
) -> None:
    """One flag per field of ``cls`` (its help, choices, parser and default from the field's
    :func:`~metacurate.config.option`), in an argument group titled ``title``."""
    target: Any = parser.add_argument_group(title) if title else parser
    groups: dict[str, Any] = {}
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        m = f.metadata
        default = CLI_DEFAULTS[m["cli_default"]]() if m["cli_default"] else f.default
        names = [m["flag"] or "--" + f.name.replace("_", "-")] + (
            [m["short"]] if m["short"] else []
        )
        kw: dict[str, Any] = {"dest": f.name, "default": default, "help": _help(m, f.default)}
        parse = _parser_of(cls, f)
        if parse is None:  # a bool: a switch, or --x / --no-x when its default is None
            kw["action"] = "store_true" if f.default is False else argparse.BooleanOptionalAction
        else:
            kw["type"] = parse
            if m["choices"]:
                kw["choices"] = m["choices"]
            if m["metavar"]:
                kw["metavar"] = m["metavar"]
        into = target
        if m["group"]:
            if m["group"] not in groups:
                groups[m["group"]] = target.add_mutually_exclusive_group(required=True)
            into = groups[m["group"]]
        into.add_argument(*names, **kw)


def _help(meta: Any, default: Any) -> str:
    text = meta["help"]
    return text.format(default=default) if "{" in text else text


def from_args(cls: type, args: argparse.Namespace) -> Any:
    """The config object of ``cls`` from parsed flags (fields without a flag: defaults)."""
    return cls(**{f.name: getattr(args, f.name) for f in cli_fields(cls) if hasattr(args, f.name)})


def add_pool_arguments(p: argparse.ArgumentParser) -> None:
    """The pool, the matching flags (MatchConfig) and the engine flags (EngineConfig)."""
    p.add_argument("pool", nargs="+", help="input files, directories or globs")
    add_options(p, MatchConfig, "matching")
    add_engine_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")


def add_engine_arguments(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """Where tasks run (the EngineConfig fields)."""
    add_options(p, EngineConfig, "engine", skip=skip)


def add_balance_arguments(p: argparse.ArgumentParser) -> None:
    """The threshold flags (exactly one), seed, epoch and image column (BalanceConfig)."""
    add_options(p, BalanceConfig, "balancing")


def run_config(args: argparse.Namespace) -> RunConfig:
    """The one place flags become the typed run config."""
    return RunConfig(
        pool=tuple(getattr(args, "pool", ())),
        workdir=getattr(args, "workdir", None) or args.out,
        out=args.out,
        match=from_args(MatchConfig, args),
        balance=from_args(BalanceConfig, args) if hasattr(args, "seed") else None,
        engine=from_args(EngineConfig, args),
        command=" ".join(sys.argv),
    )


def dry_run(config: RunConfig) -> int:
    """Print the resolved configuration as JSON (what the manifest would record) and, for a
    command that reads a pool, what it would read (``resolved``: inputs, columns, rows)."""
    config.check()
    doc = config.to_dict()
    if config.pool:
        from metacurate.match.preview import preview_inputs

        doc["resolved"] = preview_inputs(config)
    print(json.dumps(doc, indent=1, sort_keys=True))
    return 0
