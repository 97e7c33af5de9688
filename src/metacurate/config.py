"""The one typed run config: match, balance and engine parts, one default per option.

The CLI builds a :class:`RunConfig` from its flags, the Python API accepts the same objects
(or keyword shortcuts that build them), ``--dry-run`` prints :meth:`RunConfig.to_dict` and the
manifest records it whole. A new option is one field here plus one CLI line.

Errors from :meth:`check` are :class:`ConfigError`: the API shows the parameter name
(``t=-1``), the CLI the flag (``--t -1``).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from metacurate.errors import MetacurateError

MODES = ("metaclip1", "metaclip2", "metaclip2-kana")  # metacurate.match.MODES
LID_MODELS = ("fasttext-lid176", "py3langid")  # metacurate.match.lid.LID_MODELS
T_RULES = ("metacurate", "official")  # metacurate.balance.worldwide.T_RULES
ENGINES = ("local", "ray")
#: How the local engine starts its processes (``EngineConfig.start_method``).
START_METHODS = ("spawn", "fork")
FORMATS = ("parquet", "jsonl", "csv", "tsv", "webdataset")


class ConfigError(MetacurateError):
    """A bad option value; ``field`` is the config field it names."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.detail = message
        super().__init__(f"{field_name}: {message}")

    def for_flag(self) -> str:
        """The same message naming the command-line flag."""
        return f"--{self.field.replace('_', '-')}: {self.detail}"


@dataclass(frozen=True)
class MatchConfig:
    """How captions are read and matched (``metacurate match``)."""

    metadata: str | None = None  # a path, "default" or None: the built-in list
    mode: str = "metaclip1"
    text_column: str | None = None
    url_column: str | None = None
    uid_column: str | None = None
    format: str | None = None  # None: from the file extension
    csv_columns: tuple[str, ...] | None = None  # names for a CSV/TSV without a header row
    batch_rows: int = 65_536
    part_rows: int = 1_000_000
    skip_bad_files: bool = False
    force: bool = False
    lang_column: str | None = None  # metaclip2 modes: the pool's language column; None: LID
    lid_model: str = "fasttext-lid176"

    def check(self) -> None:
        if self.mode not in MODES:
            raise ConfigError("mode", f"unknown mode {self.mode!r}; one of {', '.join(MODES)}")
        if self.lid_model not in LID_MODELS:
            raise ConfigError("lid_model", f"unknown model {self.lid_model!r}; one of {LID_MODELS}")
        if self.mode == "metaclip1" and self.lang_column is not None:
            raise ConfigError("lang_column", "needs --mode metaclip2 or metaclip2-kana")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; one of {FORMATS}")
        for name in ("batch_rows", "part_rows"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class BalanceConfig:
    """How ``t`` is chosen and rows decided (``metacurate balance``): exactly one of ``t``,
    ``target_size``, ``tail_share``."""

    t: float | None = None
    target_size: int | None = None
    tail_share: float | None = None
    seed: int = 0
    epoch: int | None = None  # online balancing's epoch k; None: the offline decision
    image_column: str | None = None  # several texts per image: one chosen text competes
    allow_t_below_1: bool = False  # target_size may choose t < 1 (sub-samples entries seen once)
    available: str | None = None  # img2dataset output: re-count and balance downloaded rows
    success_rate: float | None = None  # planning: curate at t / rate before downloading
    t_rule: str = "metacurate"  # metaclip2 modes: how t_lang follows from t (= t_en)

    def check(self) -> None:
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

    kind: str = "local"
    workers: int | None = None  # None: all cores; with Ray, the cluster's CPUs
    ray_address: str | None = None
    in_flight: int | None = None  # Ray tasks submitted at once; None: workers, or cluster CPUs
    progress: bool | None = None  # None: a bar only when stderr is a terminal
    s3_endpoint: str | None = None  # an S3-compatible store; None: AWS_ENDPOINT_URL, or AWS
    index_cache: str | None = None  # the matcher index cache; None: $METACURATE_CACHE, ~/.cache
    start_method: str = "spawn"  # local processes: spawned, or forked (Linux; the CLI's default)

    def check(self) -> None:
        if self.kind not in ENGINES:
            raise ConfigError("engine", f"unknown engine {self.kind!r}; one of {ENGINES}")
        if self.start_method not in START_METHODS:
            raise ConfigError(
                "start_method",
                f"unknown start method {self.start_method!r}; one of {START_METHODS}",
            )
        for name in ("workers", "in_flight"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(name, f"must be >= 1, got {value}")

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
