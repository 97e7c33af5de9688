"""Fixtures: one small real curate run (the LAION sample, or the demo pool without it), and a
DOM reader for report pages."""

from __future__ import annotations

import argparse
import csv
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.demo import copy_laion_sample, make_sample
from metacurate.metadata import load_default_metadata
from tests.conftest import shared_dir

SECTION_IDS = (
    "summary",
    "explore",
    "ranked-counts",
    "cumulative",
    "matches-per-caption",
    "compared",
    "top-entries",
    "never-matched",
    "samples",
    "coverage",
)


@pytest.fixture(scope="session")
def pool_file(tmp_path_factory) -> Path:
    """The LAION sample when the shared data is there, else a generated demo pool."""
    d = shared_dir()
    if d is not None and (d / "data/captions/laion_sample_10k.parquet").exists():
        return d / "data/captions/laion_sample_10k.parquet"
    path = tmp_path_factory.mktemp("pool") / "demo_pool.parquet"
    return make_sample(path, load_default_metadata(), 5000)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, pool_file) -> Path:
    """A curate output folder of the sample pool (t = 20, seed 3)."""
    out = tmp_path_factory.mktemp("run") / "out"
    curate(str(pool_file), str(out), t=20.0, seed=3, workers=1)
    return out


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """The LAION sample (shipped) and CC3M (shared data, when present) curated with the
    built-in metadata to 60% of their rows."""
    d = tmp_path_factory.mktemp("cov")
    pool = [str(copy_laion_sample(d / "laion.parquet"))]
    texts = pq.read_table(pool[0], columns=["TEXT"]).column(0).to_pylist()
    shared = shared_dir()
    cc3m = shared / "data/captions/cc3m_validation.tsv" if shared else None
    if cc3m is not None and cc3m.exists():
        rows = list(csv.reader(cc3m.open(encoding="utf-8"), delimiter="\t", quoting=3))
        caps = [r[0] for r in rows]
        pq.write_table(pa.table({"caption": caps, "url": [r[1] for r in rows]}), d / "cc3m.parquet")
        pool.append(str(d / "cc3m.parquet"))
        texts += caps
    out = d / "out"
    curate(pool, str(out), target_size=round(0.6 * len(texts)), seed=0, workers=1)
    return out, texts


class Dom(HTMLParser):
    """What the tests look at in a page: ids, data-key cells, links and tags."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.keyed: dict[str, dict] = {}  # data-key -> {"value": data-value, "text": shown}
        self.derived: dict[str, dict] = {}
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: set[str] = set()
        self.scripts: list[dict[str, str]] = []  # attributes of every <script>
        self._open: list[dict] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "script":
            self.scripts.append(a)
        if "id" in a:
            self.ids.append(a["id"])
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            if name in a:
                self.links.append((tag, name, a[name]))
        if "data-key" in a or "data-derived" in a:
            cell = {"value": a.get("data-value"), "text": ""}
            if "data-key" in a:
                self.keyed[a["data-key"]] = cell
            else:
                self.derived[a["data-derived"]] = cell
            self._open.append(cell)

    def handle_data(self, data: str) -> None:
        for cell in self._open:
            cell["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._open:
            self._open.pop()


def lookup(manifest: dict, dotted: str):
    """``manifest["a"]["b"]`` for ``"a.b"``."""
    value = manifest
    for part in dotted.split("."):
        value = value[part]
    return value


def cli(argv: list[str]) -> int:
    """Run one of the subcommands registered by ``metacurate.report.cli.register``."""
    from metacurate.report.cli import register

    parser = argparse.ArgumentParser(prog="metacurate")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
