"""The input files of an extract run: files as given, and Common Crawl path listings
(`warc.paths.gz`, `wat.paths.gz`: one relative path a line) joined to a base URL or prefix,
optionally sampled (seeded, listing order kept) and cut to the first N for trials."""

from __future__ import annotations

import gzip
import random
import urllib.error
import urllib.request

from metacurate.errors import MetacurateError
from metacurate.extract.config import ExtractConfig
from metacurate.extract.warc import check_source, is_url
from metacurate.storage import RemotePath, is_remote

__all__ = ["expand_inputs", "is_listing", "read_listing"]


def is_listing(source: str) -> bool:
    """A path listing: a name ending in `paths.gz` or `.paths` (Common Crawl's names)."""
    name = source.rstrip("/").rsplit("/", 1)[-1].lower()
    return name.endswith(("paths.gz", ".paths"))


def _read_bytes(source: str, endpoint: str | None) -> bytes:
    try:
        if is_url(source):
            request = urllib.request.Request(source, headers={"User-Agent": "metacurate-extract"})
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.read()
        if is_remote(source):
            return RemotePath(source, endpoint).read_bytes()
        with open(source, "rb") as f:
            return f.read()
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise MetacurateError(f"{source}: cannot read the path listing ({exc})") from None


def read_listing(source: str, endpoint: str | None = None) -> list[str]:
    """The relative paths of a listing (gzip or plain text), blank lines skipped."""
    data = _read_bytes(source, endpoint)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise MetacurateError(f"{source}: corrupt gzip listing ({exc})") from None
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise MetacurateError(f"{source}: a path listing must be UTF-8 text") from None
    return [line.strip() for line in lines if line.strip()]


def _join(base: str, path: str) -> str:
    if is_url(path) or is_remote(path):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def expand_inputs(config: ExtractConfig) -> tuple[str, ...]:
    """The files to extract, in order: listings replaced by their (sampled) files, joined to
    ``paths_base``; then ``limit``. Local files are checked to exist."""
    endpoint = config.engine.s3_endpoint
    out: list[str] = []
    for source in config.files:
        if not is_listing(source):
            check_source(source)
            out.append(source)
            continue
        paths = read_listing(source, endpoint)
        if config.sample is not None and config.sample < len(paths):
            keep = sorted(random.Random(config.seed).sample(range(len(paths)), config.sample))
            paths = [paths[i] for i in keep]
        out.extend(_join(config.paths_base, p) for p in paths)
    if config.limit is not None:
        out = out[: config.limit]
    if not out:
        raise MetacurateError("extract: the inputs list no files (empty listing?)")
    return tuple(out)
