"""What the online balancer reads from a WebDataset sample: its ``uid`` and its caption.

A sample is the dict that ``webdataset`` yields: ``__key__``, ``__url__`` and one entry per
member extension (``jpg``, ``txt``, ``json``...), as raw bytes or already decoded (``str`` for
text, ``dict`` for JSON). img2dataset writes ``.txt`` (the caption) and ``.json`` (the row's
metadata plus every ``save_additional_columns`` column, so ``uid`` when it was asked for).

Parsing the ``.json`` member is most of the loader-side cost, so when ``msgspec`` is installed
(the ``online`` extra) only the wanted fields are decoded, ten times faster than ``json``; any
member it does not accept goes through ``json`` (same values either way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metacurate.errors import MetacurateError


@dataclass(frozen=True)
class SampleFields:
    """Where a sample's uid and caption live.

    ``uid_field``: the field of the ``.json`` member holding the pool's uid; without it the
    sample key (``__key__``) is the uid. ``text_key``: the member extension holding the
    caption, else the first of ``caption_fields`` present in the ``.json`` member.
    """

    uid_field: str = "uid"
    json_key: str = "json"
    text_key: str = "txt"
    caption_fields: tuple[str, ...] = ("caption", "text")


def _where(sample: Mapping[str, Any]) -> str:
    return f"sample {sample.get('__key__')!r} of {sample.get('__url__', '<unknown shard>')}"


def unknown_uid(sample: Mapping[str, Any], uid: str, workdir: str, uid_field: str) -> Exception:
    """The error for a sample whose uid is not a row of the pool matched in ``workdir``."""
    return MetacurateError(
        f"{_where(sample)}: uid {uid!r} is not a row of the pool matched in {workdir}; the "
        f"shards must carry the pool's uid (.json field {uid_field!r}, e.g. img2dataset "
        "save_additional_columns=['uid']), or pass unknown='drop'"
    )


def _as_str(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")
    return str(value)


def _json_fields(raw: Any, names: Sequence[str], where: str) -> list[Any]:
    """``names`` of a ``.json`` member with the standard library (None where absent)."""
    if isinstance(raw, Mapping):
        data = raw
    else:
        try:
            data = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise MetacurateError(f"{where}: the .json member is not valid JSON ({exc})") from None
    if not isinstance(data, Mapping):
        raise MetacurateError(f"{where}: the .json member is not a JSON object")
    return [data.get(n) for n in names]


class SampleReader:
    """Reads uids and captions of samples as ``fields`` says (one per process: it holds a
    compiled ``msgspec`` decoder when ``msgspec`` is installed)."""

    def __init__(self, fields: SampleFields) -> None:
        self.fields = fields
        self._names = [fields.uid_field, *fields.caption_fields]
        self._uid_attr = fields.uid_field
        self._decoder = None
        try:
            import msgspec
        except ImportError:  # pragma: no cover - the online extra installs it
            return
        try:
            struct = msgspec.defstruct(
                "SampleMeta",
                [(fields.uid_field, str | int | None, None)]
                + [(n, str | None, None) for n in fields.caption_fields],
            )
        except (TypeError, ValueError):  # a field name msgspec refuses: json does it all
            return
        self._decoder = msgspec.json.Decoder(struct)
        self._errors = (msgspec.DecodeError, msgspec.ValidationError)

    def _meta(self, sample: Mapping[str, Any]) -> list[Any] | None:
        raw = sample.get(self.fields.json_key)
        if raw is None:
            return None
        if self._decoder is not None and isinstance(raw, (bytes, str)):
            try:
                meta = self._decoder.decode(raw)
            except self._errors:
                pass  # not what the fast path expects: the standard library decides
            else:
                return [getattr(meta, n) for n in self._names]
        return _json_fields(raw, self._names, _where(sample))

    def uid(self, sample: Mapping[str, Any]) -> str:
        """The sample's uid: ``.json[uid_field]`` when present, else ``__key__``."""
        raw = sample.get(self.fields.json_key)
        if self._decoder is not None and type(raw) is bytes:  # the common case, fast
            try:
                value = getattr(self._decoder.decode(raw), self._uid_attr)
            except self._errors:
                value = None
            if type(value) is str:
                return value
        meta = self._meta(sample)
        if meta is not None and meta[0] is not None:
            return _as_str(meta[0])
        key = sample.get("__key__")
        if key is None:
            raise MetacurateError(
                f"{_where(sample)}: no .json {self.fields.uid_field!r} field and no __key__; "
                "write the pool's uid into the shards (img2dataset: "
                "save_additional_columns=['uid'])"
            )
        return _as_str(key)

    def caption(self, sample: Mapping[str, Any]) -> str | bytes | None:
        """The caption: the ``.txt`` member (bytes as stored), else a caption field of
        ``.json``; None when there is none."""
        text = sample.get(self.fields.text_key)
        if text is not None:
            return bytes(text) if isinstance(text, (bytearray, memoryview)) else text
        meta = self._meta(sample)
        if meta is not None:
            for value in meta[1:]:
                if value is not None:
                    return value if isinstance(value, (str, bytes)) else str(value)
        return None

    def uids(self, samples: Sequence[Mapping[str, Any]]) -> list[str]:
        """Every sample's uid, in order (the common case inlined: one ``.json`` member of
        bytes with a string uid)."""
        decoder, key, field = self._decoder, self.fields.json_key, self._uid_attr
        if decoder is None:
            return [self.uid(s) for s in samples]
        out = []
        for s in samples:
            raw = s.get(key)
            if type(raw) is bytes:
                try:
                    value = getattr(decoder.decode(raw), field)
                except self._errors:
                    value = None
                if type(value) is str:
                    out.append(value)
                    continue
            out.append(self.uid(s))
        return out

    def captions(self, samples: Sequence[Mapping[str, Any]]) -> list[bytes | None]:
        """Captions as UTF-8 bytes (what the matcher reads), None where absent."""
        out: list[bytes | None] = []
        key = self.fields.text_key
        for s in samples:
            c = s.get(key)
            if type(c) is not bytes:
                c = self.caption(s)
                if isinstance(c, str):
                    c = c.encode("utf-8", "surrogatepass")
            out.append(c)
        return out
