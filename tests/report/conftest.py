"""Fixtures: one small real curate run (the LAION sample, or the demo pool without it), and a
DOM reader for report pages."""

from __future__ import annotations

import argparse
from html.parser import HTMLParser
from pathlib import Path

import pytest

from metacurate.api import curate
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata
from tests.conftest import shared_dir

SECTION_IDS = (
    "summary",
    "ranked-counts",
    "cumulative",
    "matches-per-caption",
    "top-entries",
    "never-matched",
    "samples",
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


class Dom(HTMLParser):
    """What the tests look at in a page: ids, data-key cells, links and tags."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.keyed: dict[str, dict] = {}  # data-key -> {"value": data-value, "text": shown}
        self.derived: dict[str, dict] = {}
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: set[str] = set()
        self._open: list[dict] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
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
