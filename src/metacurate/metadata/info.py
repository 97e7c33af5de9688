"""Describe a metadata list (``metadata info``) and compare two (``metadata diff``)."""

from __future__ import annotations

from collections.abc import Sequence

from metacurate.marks import WRAPPED
from metacurate.metadata.load import Metadata
from metacurate.metadata.sources import SourcesInfo

#: Characters that make an entry unmatchable under ``metaclip1``: ``spacing()`` wraps the seven
#: marks in spaces and turns tab/LF/CR into spaces, so ``" " + entry + " "`` never occurs.
UNMATCHABLE_CHARS = (*WRAPPED, "\t", "\n", "\r")


def unmatchable_reason(entry: str) -> str | None:
    """Why ``entry`` can never match under mode ``metaclip1``, or ``None`` if it can."""
    for c in UNMATCHABLE_CHARS:
        if c in entry:
            return f"contains {c!r}"
    return None


def describe_metadata(
    metadata: Metadata,
    sources: SourcesInfo | None = None,
    examples: int = 5,
    note: str | None = None,
) -> dict[str, object]:
    """Size, hash, per-source counts, unmatchable (``metaclip1``) and other odd entries."""
    unmatchable: list[tuple[int, str]] = []
    by_char: dict[str, int] = {}
    seen: dict[str, int] = {}
    duplicates: list[tuple[int, int, str]] = []
    edge_space: list[tuple[int, str]] = []
    empty: list[int] = []
    for i, e in enumerate(metadata.entries):
        hit = [c for c in UNMATCHABLE_CHARS if c in e]
        if hit:
            unmatchable.append((i, e))
            for c in hit:
                by_char[c] = by_char.get(c, 0) + 1
        first = seen.setdefault(e, i)
        if first != i:
            duplicates.append((i, first, e))
        if not e:
            empty.append(i)
        elif e != e.strip(" "):
            edge_space.append((i, e))
    doc: dict[str, object] = {
        "name": metadata.name,
        "entries": len(metadata),
        "hash": metadata.hash,
        "unmatchable_metaclip1": {
            "count": len(unmatchable),
            "by_character": by_char,
            "examples": [{"entry_id": i, "entry": e} for i, e in unmatchable[:examples]],
        },
        "duplicates": {
            "count": len(duplicates),
            "examples": [
                {"entry_id": i, "first_id": f, "entry": e} for i, f, e in duplicates[:examples]
            ],
        },
        "empty": len(empty),
        "edge_spaces": {
            "count": len(edge_space),
            "examples": [{"entry_id": i, "entry": e} for i, e in edge_space[:examples]],
        },
    }
    if sources is not None:
        doc["sources"] = {
            "file": str(sources.path),
            "first_source": sources.first_source_counts(),
            "contains": {n: int(v["contains"]) for n, v in sources.per_source.items()},
        }
    if note:
        doc["note"] = note
    return doc


def format_describe(doc: dict[str, object]) -> str:
    """Human-readable text for :func:`describe_metadata`'s result."""
    lines = [
        f"metadata      {doc['name']}",
        f"entries       {doc['entries']:,}",
        f"hash          {doc['hash']}",
    ]
    src = doc.get("sources")
    if isinstance(src, dict):
        lines.append("sources       (entries first added by / containing each source)")
        for name, n in src["first_source"].items():
            lines.append(f"  {name:<20} {n:>9,}   {src['contains'][name]:>9,}")
    else:
        lines.append("sources       unknown (no sources side file beside it)")
    um = doc["unmatchable_metaclip1"]
    assert isinstance(um, dict)
    lines.append(
        f"unmatchable   {um['count']:,} entries can never match under mode metaclip1 "
        "(they contain , . ; : ? ! ` or a tab/newline)"
    )
    if um["by_character"]:
        parts = ", ".join(f"{c!r}: {n:,}" for c, n in um["by_character"].items())
        lines.append(f"  by character: {parts}")
    for ex in um["examples"]:
        lines.append(f"  e.g. id {ex['entry_id']}: {ex['entry']!r}")
    dup = doc["duplicates"]
    assert isinstance(dup, dict)
    lines.append(f"duplicates    {dup['count']:,} (both ids match wherever the entry does)")
    for ex in dup["examples"]:
        lines.append(f"  e.g. id {ex['entry_id']} repeats id {ex['first_id']}: {ex['entry']!r}")
    lines.append(f"empty         {doc['empty']:,}")
    es = doc["edge_spaces"]
    assert isinstance(es, dict)
    lines.append(f"edge spaces   {es['count']:,}")
    for ex in es["examples"]:
        lines.append(f"  e.g. id {ex['entry_id']}: {ex['entry']!r}")
    if doc.get("note"):
        lines.append(f"note          {doc['note']}")
    return "\n".join(lines)


def _first_ids(entries: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i, e in enumerate(entries):
        ids.setdefault(e, i)
    return ids


def diff_metadata(a: Metadata, b: Metadata, examples: int = 5) -> dict[str, object]:
    """Entries added (in B only), removed (in A only) and moved (in both, other first id).

    An entry's id is its first position; an entry listed several times counts once.
    """
    ia = _first_ids(a.entries)
    ib = _first_ids(b.entries)
    added = [(i, e) for e, i in ib.items() if e not in ia]
    removed = [(i, e) for e, i in ia.items() if e not in ib]
    moved = [(ia[e], i, e) for e, i in ib.items() if e in ia and ia[e] != i]
    return {
        "a": {"name": a.name, "entries": len(a), "hash": a.hash},
        "b": {"name": b.name, "entries": len(b), "hash": b.hash},
        "identical": a.hash == b.hash,
        "same_ids": a.entries == b.entries,
        "common": len(ib) - len(added),
        "added": {
            "count": len(added),
            "examples": [{"entry_id": i, "entry": e} for i, e in added[:examples]],
        },
        "removed": {
            "count": len(removed),
            "examples": [{"entry_id": i, "entry": e} for i, e in removed[:examples]],
        },
        "moved": {
            "count": len(moved),
            "examples": [{"from_id": f, "to_id": t, "entry": e} for f, t, e in moved[:examples]],
        },
    }


def format_diff(doc: dict[str, object]) -> str:
    """Human-readable text for :func:`diff_metadata`'s result."""
    a, b = doc["a"], doc["b"]
    assert isinstance(a, dict) and isinstance(b, dict)
    lines = [
        f"A  {a['name']}: {a['entries']:,} entries, hash {a['hash'][:12]}",
        f"B  {b['name']}: {b['entries']:,} entries, hash {b['hash'][:12]}",
    ]
    if doc["identical"]:
        lines.append("identical: same entries in the same order (same ids, same hash)")
        return "\n".join(lines)
    lines.append(f"common   {doc['common']:,} distinct entries in both")
    for key, label in (("added", "added"), ("removed", "removed"), ("moved", "moved")):
        part = doc[key]
        assert isinstance(part, dict)
        what = {
            "added": "in B, not in A",
            "removed": "in A, not in B",
            "moved": "in both, at a different id",
        }[key]
        lines.append(f"{label:<8} {part['count']:,} ({what})")
        for ex in part["examples"]:
            if key == "moved":
                lines.append(f"  e.g. {ex['entry']!r}: id {ex['from_id']} -> {ex['to_id']}")
            else:
                lines.append(f"  e.g. id {ex['entry_id']}: {ex['entry']!r}")
    return "\n".join(lines)
