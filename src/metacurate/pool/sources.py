"""Turn the paths a user gives (files, directories, globs) into an ordered list of pool files."""

from __future__ import annotations

import glob
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from metacurate.errors import InputError, MetacurateError, check_utf8_path
from metacurate.storage import RemotePath, file_stat, is_remote, pool_parquet

FORMATS = ("parquet", "jsonl", "csv", "tsv", "webdataset")

#: Compressions a pool file may have (by name; the readers decompress them as they read).
COMPRESSIONS = (".gz", ".bz2", ".zst", ".xz", ".lz4")
_BASE_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".tar", "webdataset"),
    (".tgz", "webdataset"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "jsonl"),
    (".csv", "csv"),
    (".tsv", "tsv"),
)
# Each ending, then each with a compression after it (".jsonl.zst", ".parquet.gz", ...).
_SUFFIXES: tuple[tuple[str, str], ...] = _BASE_SUFFIXES + tuple(
    (s + c, f) for s, f in _BASE_SUFFIXES if s != ".tgz" for c in COMPRESSIONS
)
_KNOWN = ", ".join(s for s, _ in _BASE_SUFFIXES) + " (each also " + ", ".join(COMPRESSIONS) + ")"
#: What a file's first bytes say when its name says nothing (Spark's ``part-00000``).
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PAR1", "parquet"),
    (257, b"ustar", "webdataset"),
)
_FORMAT_FLAG = "--format " + "|".join(FORMATS)


@dataclass(frozen=True)
class Source:
    """One pool file (or a range of row groups of a big Parquet file) and its format."""

    path: str  # absolute, normalised
    format: str  # one of FORMATS
    row_groups: tuple[int, int] | None = None  # [start, stop) of a Parquet file; None: all
    first_row: int = 0  # index in the file of the part's first row

    @classmethod
    def from_dict(cls, d: dict) -> Source:
        """The source recorded in a stats or manifest entry (extra keys are ignored)."""
        rg = d.get("row_groups")
        return cls(d["path"], d["format"], tuple(rg) if rg else None, d.get("first_row", 0))


def split_large_files(
    sources: Sequence[Source], part_rows: int, endpoint: str | None = None
) -> list[Source]:
    """Parquet files of more than ``part_rows`` rows become parts of whole row groups of about
    ``part_rows`` rows each, so one big file is matched by several workers. The split depends
    only on the file, never on the number of workers."""
    out: list[Source] = []
    for src in sources:
        if src.format != "parquet" or src.row_groups is not None:
            out.append(src)
            continue
        try:
            with pool_parquet(src.path, endpoint) as pf:
                meta = pf.metadata
        except (OSError, pa.ArrowException):
            out.append(src)  # the reader reports the problem with the file's name
            continue
        if meta.num_rows <= part_rows or meta.num_row_groups < 2:
            out.append(src)
            continue
        start = rows = first = 0
        for rg in range(meta.num_row_groups):
            rows += meta.row_group(rg).num_rows
            if rows >= part_rows or rg == meta.num_row_groups - 1:
                out.append(Source(src.path, src.format, (start, rg + 1), first))
                first += rows
                start, rows = rg + 1, 0
    return out


def _format_of(path: str) -> str | None:
    """The format a file name's extension says, or None when it says nothing we know."""
    name = os.path.basename(path).lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    return None


def sniff_format(path: str) -> str | None:
    """The format a local file's first bytes say (Parquet's ``PAR1``, a tar header), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    for at, magic, fmt in _MAGIC:
        if head[at : at + len(magic)] == magic:
            return fmt
    return None


def detect_format(path: str) -> str:
    """The pool format of `path`, from its extension, else (a local file) from its first
    bytes; a MetacurateError when neither says."""
    fmt = _format_of(path)
    if fmt is None and not is_remote(path):
        fmt = sniff_format(path)
    if fmt is None:
        raise MetacurateError(
            f"{path}: cannot tell the format from the file name (known endings: {_KNOWN}); "
            f"pass {_FORMAT_FLAG} to say how to read it"
        )
    return fmt


def _check_format(format: str | None) -> None:
    if format is not None and format not in FORMATS:
        raise MetacurateError(
            f"unknown format {format!r}; use one of: {', '.join(FORMATS)} (the --format flag)"
        )


def _hidden(name: str) -> bool:
    """Names a directory listing skips: hidden files and side files like `_SUCCESS`."""
    return name.startswith((".", "_"))


def _wanted(path: str, format: str | None) -> bool:
    """Whether a file found by listing a directory or a glob belongs to the pool.

    Without `format`, files of any known format; with it, files of that format plus files
    whose name says no known format (e.g. `part-00000`), so that a folder written by
    img2dataset (`.tar`, `.parquet`, `_stats.json` side by side) reads cleanly with
    `--format webdataset`.
    """
    if _hidden(os.path.basename(path)):
        return False
    fmt = _format_of(path)
    if format is None:
        return fmt is not None
    return fmt is None or fmt == format


def _wanted_local(path: str, format: str | None, skipped: list[str] | None) -> bool:
    """:func:`_wanted`, and a local file whose name says nothing is read when its first
    bytes say Parquet or tar; other such files go to ``skipped`` (listed, never silent)."""
    if _wanted(path, format):
        return True
    if format is None and not _hidden(os.path.basename(path)) and _format_of(path) is None:
        if sniff_format(path) is not None:
            return True
        if skipped is not None:
            skipped.append(path)
    return False


def _walk(directory: str, format: str | None, skipped: list[str] | None = None) -> list[str]:
    """All wanted files under `directory`, recursively, sorted by path."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()  # (device, inode) of each folder walked
    for root, dirs, files in os.walk(directory, followlinks=True):
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # a link back to a folder already walked
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        # real folders before links to them, so a file is found under its own path
        kept = [d for d in dirs if not _hidden(d)]
        dirs[:] = sorted(kept, key=lambda d: (os.path.islink(os.path.join(root, d)), d))
        for f in files:
            path = os.path.join(root, f)
            if _wanted_local(path, format, skipped):
                found.append(path)
    return sorted(found)


def _is_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


def _glob_base(pattern: str) -> str:
    """The leading folders of a glob pattern that hold no wildcard."""
    parts = pattern.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if _is_glob(part):
            break
        fixed.append(part)
    return os.sep.join(fixed) or (os.sep if pattern.startswith(os.sep) else os.curdir)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A key glob as a regex: ``*`` and ``?`` stay within one folder, ``**/`` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            j = pattern.find("]", i + 1)
            out.append(pattern[i : j + 1] if j > 0 else re.escape("["))
            i = j + 1 if j > 0 else i + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _expand_remote(
    pattern: str, format: str | None, endpoint: str | None, skipped: list[str] | None = None
) -> list[str]:
    """Files of a remote folder (recursively) or glob, sorted, hidden names skipped."""
    base = pattern
    if _is_glob(pattern):  # the folders before the first wildcard
        first = min(pattern.index(c) for c in "*?[" if c in pattern)
        base = pattern[: pattern.rfind("/", 0, first)]
        bucket_end = pattern.find("/", pattern.index("://") + 3)
        if bucket_end < 0 or first < bucket_end:
            raise MetacurateError(f"{pattern}: wildcards in a bucket name are not supported")
    root = RemotePath(base.rstrip("/"), endpoint)
    if not _is_glob(pattern) and root.is_file():
        return [str(root)]
    rel_glob = _glob_regex(pattern[len(base) :].lstrip("/")) if _is_glob(pattern) else None
    files = []
    for rel, path in root.walk_files():
        parts = rel.split("/")
        if any(_hidden(part) for part in parts):
            continue
        if rel_glob is not None and not any(
            rel_glob.match("/".join(parts[:k])) for k in range(1, len(parts) + 1)
        ):
            continue
        if _wanted(posixpath.basename(rel), format):
            files.append(str(path))
        elif skipped is not None and format is None and _format_of(rel) is None:
            skipped.append(str(path))
    if not files:
        what = "the pattern matched no pool files" if rel_glob else "no such file or folder"
        raise MetacurateError(
            f"{pattern}: {what} (or none of a known format); check the path, the bucket and "
            f"the credentials, or pass {_FORMAT_FLAG}"
        )
    return files


def _expand_one(
    pattern: str, format: str | None, endpoint: str | None, skipped: list[str] | None
) -> Iterator[str]:
    if is_remote(pattern):
        try:
            files = _expand_remote(pattern, format, endpoint, skipped)
        except OSError as exc:  # the store cannot be reached or refuses: the pool's problem
            what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MetacurateError(
                f"{pattern}: cannot list the pool ({what}); check the endpoint (--s3-endpoint, "
                "AWS_ENDPOINT_URL), the network, the bucket and the credentials"
            ) from None
        yield from files
        return
    path = os.path.expanduser(pattern)
    if os.path.isdir(path):
        files = _walk(path, format, skipped)
        if not files:
            what = f"{format} files" if format else f"pool files ({_KNOWN})"
            raise MetacurateError(
                f"{pattern}: directory holds no {what}; check the path or pass {_FORMAT_FLAG}"
            )
        yield from files
    elif os.path.exists(path):
        yield path
    elif _is_glob(path):
        base = _glob_base(path)
        matches = [
            m
            for m in sorted(glob.glob(path, recursive=True))
            if not any(_hidden(part) for part in os.path.relpath(m, base).split(os.sep))
        ]
        files: list[str] = []
        for m in matches:
            if os.path.isdir(m):
                files.extend(_walk(m, format, skipped))
            elif _wanted_local(m, format, skipped):
                files.append(m)
        if not files:
            detail = f"matched {len(matches)} entries but" if matches else "matched nothing;"
            raise MetacurateError(
                f"{pattern}: the pattern {detail} no pool files; check the pattern, "
                f"or pass {_FORMAT_FLAG} for files with other extensions"
            )
        yield from files
    else:
        raise MetacurateError(f"{pattern}: no such file or directory; check the path")


def _check_regular(path: str) -> None:
    """Refuse a pipe, FIFO, socket or device: a run reads each input more than once (its
    columns, its rows, then balance copies the kept rows), and a pipe can be read only once."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # the reader names the problem
    if not stat.S_ISREG(mode):
        what = "a pipe" if stat.S_ISFIFO(mode) else "not a regular file"
        raise MetacurateError(
            f"{path}: {what}; an input is read more than once (match, then balance copies its "
            "rows), so write it to a file first (e.g. 'cmd > pool.jsonl') and pass that file"
        )


def expand_pool(
    paths: Sequence[str],
    format: str | None = None,
    endpoint: str | None = None,
    skipped: list[str] | None = None,
) -> list[Source]:
    """Expand files, directories and globs into pool files, in the order given.

    Each path expands sorted; a file named twice is read once. `format` overrides the
    format detected from each file's extension. Remote paths (``s3://bucket/pool/``,
    ``s3://bucket/pool/*.parquet``) are listed through their file system (``endpoint``: of
    an S3-compatible store). Files of a folder or glob whose name and first bytes say no
    format are not read; they are appended to ``skipped`` (the run lists them).
    """
    if isinstance(paths, str):
        paths = [paths]
    _check_format(format)
    if not paths:
        raise MetacurateError("no pool paths given; name at least one file, directory or glob")
    seen: set[str] = set()
    sources: list[Source] = []
    for pattern in paths:
        for found in _expand_one(pattern, format, endpoint, skipped):
            path = found if is_remote(found) else os.path.abspath(found)
            if path in seen:
                continue
            check_utf8_path(path, "input")
            if not is_remote(path):
                _check_regular(path)
            seen.add(path)
            sources.append(Source(path=path, format=format or detect_format(path)))
    return sources


def fingerprint(path: str, endpoint: str | None = None) -> dict[str, int | str]:
    """What identifies an input file's content cheaply: path, size, mtime and, for a local
    file, its status-change time: a file rewritten in place with the same size and mtime
    (``cp -p``, ``rsync -t``, ``touch -r``) has a new ctime, which no user can set back."""
    try:
        st = os.stat(path) if not is_remote(path) else file_stat(path, endpoint)
    except OSError as exc:
        raise InputError(f"{path}: cannot read input file ({exc.strerror or exc})") from None
    found: dict[str, int | str] = {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if not is_remote(path):
        found["ctime_ns"] = st.st_ctime_ns
    return found
