"""WebDataset ``.tar`` shards as Arrow batches: one row per sample key, the caption from the
``.txt`` member (or a ``.json`` field), the other scalar ``.json`` fields as columns."""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from metacurate.errors import InputError
from metacurate.pool.options import ReadOptions, is_empty, project
from metacurate.pool.sources import Source
from metacurate.storage import input_stream, open_input


def _wds_key(name: str) -> tuple[str, str] | None:
    """(key, extension) of a member: the path up to the first '.' of the basename."""
    dirname, base = posixpath.split(name)
    if base.startswith(".") or "." not in base:
        return None
    stem, ext = base.split(".", 1)
    return posixpath.join(dirname, stem) if dirname else stem, ext.lower()


def _scalar_bytes(value: Any) -> bytes | None:
    """A JSON value as UTF-8 bytes: strings as they are, other values as JSON text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@dataclass
class _Sample:
    key: str
    text: bytes | None = None
    fields: dict[str, Any] | None = None


def _wds_samples(source: Source, options: ReadOptions) -> Iterator[_Sample]:
    """Samples of a shard in order, reading only the caption and .json members."""
    if is_empty(source, options):
        return
    text_ext = options.wds_text_key.lower()
    ends: list[type[Exception]] = []

    class _Info(tarfile.TarInfo):
        """Records why tarfile stopped: it ends silently on a truncated or garbled header."""

        @classmethod
        def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:
            try:
                return super().fromtarfile(tar)
            except Exception as exc:
                ends.append(type(exc))
                raise

    with (
        _open_shard(source.path, options.s3_endpoint) as raw,
        tarfile.open(fileobj=raw, mode="r|*", tarinfo=_Info) as tar,
    ):
        sample: _Sample | None = None
        for member in tar:
            tar.members.clear()  # tarfile keeps every header it read; a shard may have millions
            if not member.isfile():
                continue
            parts = _wds_key(member.name)
            if parts is None:
                continue
            key, ext = parts
            if sample is None or sample.key != key:
                if sample is not None:
                    yield sample
                sample = _Sample(key)
            if ext == text_ext:
                sample.text = _read_member(tar, member)
            elif ext == "json":
                try:
                    data = json.loads(_read_member(tar, member))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise InputError(
                        f"{source.path}: member {member.name!r} is not valid JSON ({exc}); "
                        "fix or remove that sample"
                    ) from None
                sample.fields = data if isinstance(data, dict) else {}
        if ends and ends[-1] is not tarfile.EOFHeaderError:
            raise tarfile.ReadError(
                "the archive stops without its end-of-archive marker (truncated or corrupt "
                f"after {tar.offset} bytes)"
            )
        if sample is not None:
            yield sample


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    if f is None:  # pragma: no cover - isfile() members always have data
        return b""
    return f.read()


_WDS_FIXED = ("__key__", "text")


def _wds_field_names(samples: Sequence[_Sample]) -> list[str]:
    """Top-level scalar .json fields of these samples, in order of first appearance."""
    names: dict[str, None] = {}
    for s in samples:
        for name, value in (s.fields or {}).items():
            if name not in _WDS_FIXED and not isinstance(value, (dict, list)):
                names.setdefault(name, None)
    return list(names)


def _wds_batch(
    samples: Sequence[_Sample], fields: Sequence[str], options: ReadOptions
) -> pa.RecordBatch:
    def strings(values: list[bytes | None]) -> pa.Array:
        # Built from bytes and viewed as string: undecodable captions stay as they are for
        # the matcher to flag, exactly as the CSV reader does with check_utf8=False.
        return pa.array(values, pa.binary()).view(pa.string())

    texts: list[bytes | None] = []
    for s in samples:
        if s.text is not None:
            texts.append(s.text)
        else:
            texts.append(_scalar_bytes((s.fields or {}).get(options.wds_json_field)))
    arrays = [strings([s.key.encode("utf-8", "surrogateescape") for s in samples]), strings(texts)]
    for name in fields:
        arrays.append(strings([_scalar_bytes((s.fields or {}).get(name)) for s in samples]))
    return pa.RecordBatch.from_arrays(arrays, names=[*_WDS_FIXED, *fields])


def _wds_chunks(source: Source, options: ReadOptions) -> Iterator[list[_Sample]]:
    chunk: list[_Sample] = []
    for sample in _wds_samples(source, options):
        chunk.append(sample)
        if len(chunk) >= options.batch_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def wds_schema(source: Source, options: ReadOptions) -> pa.Schema:
    """`__key__`, `text`, then the .json fields seen in the first batch of samples."""
    first = next(_wds_chunks(source, options), [])
    return pa.schema([(n, pa.string()) for n in [*_WDS_FIXED, *_wds_field_names(first)]])


def _open_shard(path: str, endpoint: str | None) -> Any:
    """A shard's bytes; tarfile undoes gzip itself, other compressions are undone here."""
    if path.lower().endswith((".bz2", ".zst", ".xz", ".lz4")):
        return input_stream(path, endpoint)
    return open_input(path, endpoint)


def wds_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    # The first batch fixes the columns (fields first seen later are ignored), so every
    # batch of a shard has the same schema, the one read_schema reports.
    fields: list[str] | None = None
    cols: list[str] | None = None
    for chunk in _wds_chunks(source, options):
        if fields is None:
            fields = _wds_field_names(chunk)
            schema = pa.schema([(n, pa.string()) for n in [*_WDS_FIXED, *fields]])
            cols = project(schema, columns, source)
        batch = _wds_batch(chunk, fields, options)
        yield batch if cols is None else batch.select(cols)
    if fields is None:  # an empty shard still has the fixed columns
        project(pa.schema([(n, pa.string()) for n in _WDS_FIXED]), columns, source)
