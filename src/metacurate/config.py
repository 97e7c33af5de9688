"""The one typed run config: match, balance and engine parts, one default per option.

Each option is one dataclass field declared with :func:`option`: its default, help, flag name,
choices and parser live in the field's metadata (allenai/dolma's pattern). The CLI generates
every command's flags from the fields (``cli_flags.add_options``) and reads them back with
``cli_flags.from_args``; the Python API accepts the same objects (or keyword shortcuts that
build them), ``--dry-run`` prints :meth:`RunConfig.to_dict` and the manifest records it whole.
A new option is one field here plus the code that uses it (CONTRIBUTING.md).

Errors from :meth:`check` are :class:`ConfigError`: the API shows the parameter name
(``t=-1``), the CLI the flag (``--t -1``).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from metacurate.errors import MetacurateError, check_utf8_path
from metacurate.options import ConfigError, option

__all__ = [
    "BalanceConfig",
    "ConfigError",
    "EngineConfig",
    "MatchConfig",
    "RunConfig",
    "balance_options",
    "option",
    "split_shortcuts",
    "with_shortcuts",
]

MODES = ("metaclip1", "metaclip2", "metaclip2-kana")  # metacurate.match.MODES
LID_MODELS = ("fasttext-lid176", "py3langid")  # metacurate.match.lid.LID_MODELS
T_RULES = ("metacurate", "official")  # metacurate.balance.worldwide.T_RULES
ENGINES = ("local", "ray", "slurm")
#: How the local engine starts its processes (``EngineConfig.start_method``).
START_METHODS = ("spawn", "fork")
#: Default ``lid_min_score``: on the sample captions (docs/worldwide.md) it keeps 99.8% of the
#: correctly identified rows and sends to ``other`` the uncertain ones (score < 0.3).
LID_MIN_SCORE = 0.3
FORMATS = ("parquet", "jsonl", "csv", "tsv", "webdataset")


def _positive(value: Any) -> bool:
    try:
        return math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class MatchConfig:
    """How captions are read and matched (``metacurate match``)."""

    metadata: str | None = option(
        None,
        "metadata .json/.txt, or 'default' (default: built-in list)",
        short="-m",
    )
    mode: str = option(
        "metaclip1",
        "matching mode; metaclip2 / metaclip2-kana: per-language metadata (a folder of "
        "{{lang}}.json, or 'worldwide-default'), see docs/worldwide.md",
        choices=MODES,
    )
    text_column: str | None = option(None, "caption column (default: auto-detect text/caption/...)")
    url_column: str | None = option(None, "image URL column (default: auto-detect url/URL/...)")
    uid_column: str | None = option(None, "row identity column (default: auto-detect uid/key)")
    format: str | None = option(None, "input format (default: from the extension)", choices=FORMATS)
    csv_columns: tuple[str, ...] | None = option(
        None,
        "column names of a CSV/TSV without header row, e.g. caption,url",
        flag="--columns",
        parse="columns",
        metavar="A,B,...",
    )
    batch_rows: int = option(65_536, "rows per batch, bounds memory (default {default:,})")
    part_rows: int = option(
        1_000_000,
        "split Parquet files bigger than this into tasks of whole row groups (default {default:,})",
    )
    skip_bad_files: bool = option(False, "record unreadable files, go on")
    force: bool = option(False, "redo finished tasks / replace outputs")

    lang_column: str | None = option(
        None,
        "metaclip2 modes: the pool's language column (default: identify each text's "
        "language with --lid-model)",
    )
    lid_model: str = option(
        "fasttext-lid176",
        "metaclip2 modes without --lang-column (default {default})",
        choices=LID_MODELS,
    )
    dedup: bool = option(
        False,
        "count and write each uid once (the pool's uid column, else the hash of url and "
        "text), across every input file; the copy kept is chosen by the row's content",
    )
    dedup_memory_mb: int = option(
        1024,
        "--dedup: memory one dedup task may hold, in MiB; uids are split into partitions "
        "on disk to fit (default {default})",
        metavar="MB",
    )
    lid_min_score: float = option(
        LID_MIN_SCORE,
        "metaclip2 modes with language identification: rows whose LID score is below this "
        "go to 'other' (default {default})",
        metavar="S",
    )

    def check(self) -> None:
        if not 0.0 <= self.lid_min_score <= 1.0:
            raise ConfigError("lid_min_score", f"must be in [0, 1], got {self.lid_min_score}")
        if self.mode not in MODES:
            raise ConfigError("mode", f"unknown mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.lid_model not in LID_MODELS:
            raise ConfigError("lid_model", f"unknown model {self.lid_model!r}; one of {LID_MODELS}")
        if self.mode == "metaclip1" and self.lang_column is not None:
            raise ConfigError("lang_column", "needs --mode metaclip2 or metaclip2-kana")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; one of {FORMATS}")
        for name in ("batch_rows", "part_rows", "dedup_memory_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class BalanceConfig:
    """How ``t`` is chosen and rows decided (``metacurate balance``): exactly one of ``t``,
    ``target_size``, ``tail_share``."""

    t: float | None = option(
        None, "threshold t (MetaCLIP: 20000 for a 400M-row curated set)", group="threshold"
    )
    target_size: int | None = option(
        None, "choose t to keep ~N rows", metavar="N", group="threshold"
    )
    tail_share: float | None = option(
        None, "choose t by tail share P", metavar="P", group="threshold"
    )
    seed: int = option(0, "seed of the keep decision (default {default})")
    epoch: int | None = option(  # online balancing's epoch k; None: the offline decision
        None, "the curated set of online-balancing epoch K (default: the offline decision)"
    )
    image_column: str | None = option(  # several texts per image: one chosen text competes
        None,
        "several texts per image: per image (this column, e.g. url) only one matched "
        "text, chosen by a hash of seed and uid, goes through the keep rule",
    )
    allow_t_below_1: bool = option(
        False, "let --target-size choose t < 1 (sub-samples entries seen only once)"
    )
    available: str | None = option(
        None,
        "img2dataset output folder: re-count entries over the rows it downloaded and "
        "balance those rows only",
        metavar="DIR",
    )
    success_rate: float | None = option(
        None,
        "plan a download: curate at t / R (R the expected share of URLs that download, "
        "or an img2dataset folder whose first shards measured it); prints the plan and the "
        "img2dataset command",
        parse="success_rate",
        metavar="R|DIR",
    )

    t_rule: str = option(
        "metacurate",
        "metaclip2 modes: --t is English's t; each language's t keeps English's tail "
        "share (metacurate), or the official p_to_t clamped to >= 1 (official)",
        choices=T_RULES,
    )
    t_lang: dict[str, float] | None = option(
        None,
        "metaclip2 modes: these languages' t, overriding the rule (e.g. zh=300,ja=40)",
        parse="t_lang",
        metavar="LANG=T,...",
    )

    def check(self) -> None:
        if self.t_lang is not None:
            bad = {k: v for k, v in dict(self.t_lang).items() if not _positive(v)}
            if bad or not self.t_lang:
                raise ConfigError("t_lang", f"give LANG=T pairs with T > 0, got {bad or 'none'}")
        if self.t_rule not in T_RULES:
            raise ConfigError("t_rule", f"unknown rule {self.t_rule!r}; one of {T_RULES}")
        given = [n for n in ("t", "target_size", "tail_share") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ConfigError(
                "t", f"give exactly one of t, target_size, tail_share (got {given or 'none'})"
            )
        if self.t is not None and not (math.isfinite(self.t) and self.t > 0):
            raise ConfigError("t", f"must be a finite number > 0, got {self.t}")
        if self.target_size is not None and self.target_size < 1:
            raise ConfigError("target_size", f"must be >= 1, got {self.target_size}")
        if self.tail_share is not None and not 0.0 <= self.tail_share <= 1.0:
            raise ConfigError("tail_share", f"must be in [0, 1], got {self.tail_share}")
        if not 0 <= self.seed < 2**64:
            raise ConfigError("seed", f"must be in [0, 2**64), got {self.seed}")
        if self.epoch is not None and not 0 <= self.epoch < 2**64 - 1:
            raise ConfigError("epoch", f"must be in [0, 2**64 - 1), got {self.epoch}")
        if self.success_rate is not None and not 0.0 < self.success_rate <= 1.0:
            raise ConfigError("success_rate", f"must be in (0, 1], got {self.success_rate}")


@dataclass(frozen=True)
class EngineConfig:
    """Where tasks run and how they reach files. ``workers``: processes running tasks, the
    calling one included (local: ``workers - 1`` are spawned); None: every core of this
    machine."""

    kind: str = option("local", "task scheduler", flag="--engine", choices=ENGINES)
    workers: int | None = option(
        None,
        "processes running tasks, this one included (default: all cores; Ray: the cluster's CPUs)",
    )
    ray_address: str | None = option(None, "Ray cluster address (default: start a local one)")
    in_flight: int | None = option(
        None,
        "Ray tasks submitted at once (default: --workers, else the cluster's CPUs); Slurm: "
        "array elements running at once (default: all)",
        metavar="N",
    )
    progress: bool | None = option(
        None, "progress bars on stderr (default: only when stderr is a terminal)"
    )
    s3_endpoint: str | None = option(
        None,
        "S3-compatible store for s3:// paths, e.g. http://127.0.0.1:9000 "
        "(default: $AWS_ENDPOINT_URL, else AWS)",
        metavar="URL",
    )
    index_cache: str | None = option(
        None,
        "matcher index cache (default: $METACURATE_CACHE or ~/.cache/metacurate)",
        metavar="DIR",
    )

    start_method: str = option(
        "spawn",
        "how local worker processes start: fork (copies of this one, imports done; the "
        "default on Linux) or spawn (fresh interpreters, ~0.3 s of CPU each)",
        choices=START_METHODS,
        cli_default="start_method",
    )
    slurm_partition: str | None = option(
        None, "Slurm partition of the task arrays (default: the cluster's default)", metavar="NAME"
    )
    slurm_time: int | None = option(
        None, "Slurm: each task's time limit in minutes (default: the partition's)", metavar="MIN"
    )
    slurm_cpus: int = option(1, "Slurm: CPUs per task (default {default})", metavar="N")
    slurm_mem: str | None = option(
        None, "Slurm: memory per task, e.g. 2G (default: the partition's)", metavar="SIZE"
    )
    slurm_sbatch: str | None = option(
        None,
        "Slurm: more sbatch options for the task arrays, e.g. "
        "--slurm-sbatch='--account=lab --qos=low'",
        metavar="OPTIONS",
    )
    slurm_log_dir: str = option(
        "metacurate-slurm",
        "Slurm: folder of the tasks' logs and results, on a file system every node sees "
        "(default: ./{default})",
        metavar="DIR",
    )
    stall_seconds: float = option(
        300.0,
        "Ray: end the run in one line when no task finishes for this long (at least 10 times "
        "the longest task so far): a worker or node lost without a word",
        metavar="S",
    )

    def check(self) -> None:
        if not self.stall_seconds > 0:
            raise ConfigError("stall_seconds", f"must be > 0, got {self.stall_seconds}")
        if self.kind not in ENGINES:
            raise ConfigError("engine", f"unknown engine {self.kind!r}; one of {ENGINES}")
        if self.start_method not in START_METHODS:
            raise ConfigError(
                "start_method",
                f"unknown start method {self.start_method!r}; one of {START_METHODS}",
            )
        for name in ("workers", "in_flight", "slurm_time", "slurm_cpus"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(name, f"must be >= 1, got {value}")
        if self.slurm_mem is not None and not re.fullmatch(r"[1-9][0-9]*[KMGT]?", self.slurm_mem):
            raise ConfigError(
                "slurm_mem", f"{self.slurm_mem!r} is not a size like 500M, 4G or 4096 (MB)"
            )

    @property
    def resolved_workers(self) -> int:
        return self.workers if self.workers is not None else (os.cpu_count() or 1)


@dataclass(frozen=True)
class RunConfig:
    """A whole run: what is read (``pool``), where side-cars live (``workdir``), where the
    curated set goes (``out``), and the three parts. ``curate`` uses one folder for both."""

    pool: tuple[str, ...] = ()
    workdir: str = ""
    out: str = ""
    match: MatchConfig = field(default_factory=MatchConfig)
    balance: BalanceConfig | None = None
    engine: EngineConfig = field(default_factory=EngineConfig)
    command: str | None = None  # the command line, recorded in the manifest

    def check(self) -> None:
        for name, path in (("--out", self.out), ("work folder", self.workdir)):
            if isinstance(path, str):
                check_utf8_path(path, name)
        for path in self.pool:
            if isinstance(path, str):
                check_utf8_path(path, "input")
        self.match.check()
        self.engine.check()
        if self.balance is not None:
            self.balance.check()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``--dry-run`` prints and the manifest records."""
        d = asdict(self)
        d["pool"] = list(self.pool)
        if self.match.csv_columns is not None:
            d["match"]["csv_columns"] = list(self.match.csv_columns)
        d["engine"]["workers_resolved"] = (  # Ray without --workers: the cluster's CPUs
            self.engine.resolved_workers if self.engine.kind == "local" else self.engine.workers
        )
        return d


def split_shortcuts(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Sort keyword shortcuts (``t=50, workers=2, text_column="TEXT"``) into the config part
    each belongs to; an unknown name is an error that lists the known ones."""
    parts: dict[str, dict[str, Any]] = {"match": {}, "balance": {}, "engine": {}}
    names = {
        "match": {f.name for f in fields(MatchConfig)},
        "balance": {f.name for f in fields(BalanceConfig)},
        "engine": {f.name for f in fields(EngineConfig)} | {"engine"},
    }
    for key, value in options.items():
        part = next((p for p, n in names.items() if key in n), None)
        if part is None:
            known = sorted(set().union(*names.values()))
            raise MetacurateError(f"unknown option {key}=; known: {', '.join(known)}")
        parts[part]["kind" if key == "engine" else key] = value
    return parts


def balance_options(config: BalanceConfig | None, options: dict[str, Any]) -> BalanceConfig:
    """``config`` (or the defaults) with keyword shortcuts for its fields applied, checked
    (what ``OnlineBalancer`` takes); an unknown name is an error that lists the known ones."""
    known = {f.name for f in fields(BalanceConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise MetacurateError(f"unknown option {unknown[0]}=; known: {', '.join(sorted(known))}")
    cfg = replace(config or BalanceConfig(), **options)
    cfg.check()
    return cfg


def with_shortcuts(config: RunConfig, options: dict[str, Any]) -> RunConfig:
    """``config`` with keyword shortcuts applied over its parts."""
    parts = split_shortcuts(options)
    balance = config.balance
    if parts["balance"]:
        balance = replace(balance or BalanceConfig(), **parts["balance"])
    return replace(
        config,
        match=replace(config.match, **parts["match"]),
        balance=balance,
        engine=replace(config.engine, **parts["engine"]),
    )
