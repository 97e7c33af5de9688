"""Find the caption, URL and uid columns of a pool file, by name or by the usual names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from metacurate.errors import MetacurateError

# Ordered by preference: the first name present wins (exact spelling first, then any case).
TEXT_NAMES = (
    "text",  # DataComp, COYO, MetaCLIP, WebDataset `text`
    "caption",  # CC3M/CC12M, img2dataset
    "TEXT",  # LAION
    "CAPTION",
    "Caption",
    "Text",
    "alt",
    "alt_text",
    "ALT",
    "alttext",
    "txt",
)
URL_NAMES = (
    "url",
    "URL",
    "image_url",
    "img_url",
    "src",
    "image_src",
    "img_src",
    "imageurl",
    "link",
)
UID_NAMES = (
    "uid",
    "UID",
    "sample_id",
)
#: Per-run keys that look like identities but are not: img2dataset numbers its outputs
#: ``key`` = shard and row of *that* download run (two runs reuse the same keys), and WebDataset
#: ``__key__`` is the member name. Never taken as the uid unless named with ``--uid-column``.
PER_RUN_KEYS = ("key", "__key__")

_FLAGS = {"text": "--text-column", "url": "--url-column", "uid": "--uid-column"}


@dataclass(frozen=True)
class Columns:
    """Which columns of a pool file hold the caption, the image URL and the uid."""

    text: str
    url: str | None
    uid: str | None


def _detect(names: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate present: exact match first, then case-insensitive."""
    present = set(names)
    for c in candidates:
        if c in present:
            return c
    by_lower: dict[str, str] = {}
    for n in names:
        by_lower.setdefault(n.lower(), n)
    for c in candidates:
        if c.lower() in by_lower:
            return by_lower[c.lower()]
    return None


def _resolve(
    names: Sequence[str], given: str | None, candidates: Sequence[str], role: str, where: str
) -> str | None:
    found = ", ".join(names) if names else "(none)"
    prefix = f"{where}: " if where else ""
    if given is not None:
        if given not in names:
            raise MetacurateError(
                f"{prefix}no column {given!r}; columns found: {found}; "
                f"pass {_FLAGS[role]} NAME with one of those"
            )
        return given
    return _detect(names, candidates)


def resolve_columns(
    schema: pa.Schema,
    text: str | None = None,
    url: str | None = None,
    uid: str | None = None,
    where: str = "",
) -> Columns:
    """The text, URL and uid columns of `schema`: the names given, else the usual names.

    The text column is required; URL and uid are None when absent. `where` (a file name)
    prefixes error messages.
    """
    names = list(schema.names)
    prefix = f"{where}: " if where else ""
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MetacurateError(
            f"{prefix}column {twice[0]!r} appears {names.count(twice[0])} times; a file's "
            "column names must differ (pyarrow and pandas cannot read such a file back either): "
            "rename one of them"
        )
    text_col = _resolve(names, text, TEXT_NAMES, "text", where)
    if text_col is None:
        found = ", ".join(names) if names else "(none)"
        hint = "pass --text-column NAME"
        if where.removesuffix(".gz").endswith((".csv", ".tsv")):
            hint += (
                "; if the file has no header row (its first row was read as column names), "
                "name the columns with --columns, e.g. --columns caption,url"
            )
        raise MetacurateError(
            f"{prefix}no caption column found (looked for {', '.join(TEXT_NAMES[:6])}, ...); "
            f"columns found: {found}; {hint}"
        )
    uid_col = _resolve(names, uid, UID_NAMES, "uid", where)
    if uid_col is not None and not usable_uid_type(schema.field(uid_col).type):
        raise MetacurateError(
            f"{prefix}uid column {uid_col!r} has type {schema.field(uid_col).type}; a uid must "
            "be a string, binary or integer column: pass --uid-column NAME with such a column "
            "(or rename this one so that uids are made from url and caption)"
        )
    return Columns(
        text=text_col,
        url=_resolve(names, url, URL_NAMES, "url", where),
        uid=uid_col,
    )


def usable_uid_type(t: pa.DataType) -> bool:
    """Whether a column of type ``t`` can be a uid (it has one string form per row)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_integer(t)
        or str(t) in ("string_view", "binary_view")
    )
