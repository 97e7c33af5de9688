"""``metadata info`` and ``metadata diff`` for worldwide metadata, language by language."""

from __future__ import annotations

from metacurate.marks import WRAPPED
from metacurate.metadata.info import diff_metadata
from metacurate.metadata.worldwide import WorldwideMetadata
from metacurate.scripts import is_fully_padded, pad


def unmatchable_reason_mode(entry: str, mode: str = "metaclip2") -> str | None:
    """Why ``pad(entry, mode)`` can never occur in ``spacing(text)``, or ``None``.

    ``spacing`` turns tab/LF/CR into spaces and puts a space on both sides of each of the seven
    wrapped marks, so a pattern holding one of those, or a wrapped mark next to a non-space
    character, never occurs. (A sufficient condition: other patterns may still never occur.)
    """
    p = pad(entry, mode)
    for c in "\t\n\r":
        if c in p:
            return f"contains {c!r}"
    for i, c in enumerate(p):
        if c in WRAPPED and ((i > 0 and p[i - 1] != " ") or (i + 1 < len(p) and p[i + 1] != " ")):
            return f"{c!r} next to a non-space"
    return None


def describe_language(entries: tuple[str, ...], mode: str) -> dict[str, int]:
    """Counts of padding kinds and oddities of one language's list under ``mode``."""
    full = half = unpadded = unmatchable = empty = 0
    for e in entries:
        if not e:
            empty += 1
        if is_fully_padded(e, mode):
            full += 1
        else:
            p = pad(e, mode)
            if p.startswith(" ") or p.endswith(" "):
                half += 1
            else:
                unpadded += 1
        if unmatchable_reason_mode(e, mode):
            unmatchable += 1
    return {
        "entries": len(entries),
        "fully_padded": full,
        "half_padded": half,
        "unpadded": unpadded,
        "unmatchable": unmatchable,
        "duplicates": len(entries) - len(set(entries)),
        "empty": empty,
    }


def describe_worldwide(ww: WorldwideMetadata, mode: str = "metaclip2") -> dict[str, object]:
    """Size and hash of the whole and, per language, entries, hash and padding kinds."""
    per = {}
    for lang in ww.languages:
        md = ww.get(lang)
        per[lang] = {"hash": md.hash, **describe_language(md.entries, mode)}
    doc: dict[str, object] = {
        "name": ww.name,
        "mode": mode,
        "languages": len(ww),
        "entries": sum(int(v["entries"]) for v in per.values()),
        "hash": ww.hash,
        "per_language": per,
    }
    if ww.note:
        doc["note"] = ww.note
    return doc


def format_describe_worldwide(doc: dict[str, object]) -> str:
    """Human-readable text for :func:`describe_worldwide`."""
    lines = [
        f"metadata      {doc['name']} (worldwide, {doc['languages']} languages)",
        f"entries       {doc['entries']:,}",
        f"hash          {doc['hash']}",
        f"mode          {doc['mode']} (padding kinds below)",
        f"{'lang':<8}{'entries':>10}{'padded':>10}{'half':>8}{'unpadded':>10}"
        f"{'never':>7}{'dup':>6}  hash",
    ]
    per = doc["per_language"]
    assert isinstance(per, dict)
    for lang, v in per.items():
        lines.append(
            f"{lang:<8}{v['entries']:>10,}{v['fully_padded']:>10,}{v['half_padded']:>8,}"
            f"{v['unpadded']:>10,}{v['unmatchable']:>7,}{v['duplicates']:>6,}  {v['hash'][:12]}"
        )
    lines.append("never = entries that can never match (a tab/newline, or , . ; : ? ! ` glued)")
    if doc.get("note"):
        lines.append(f"note          {doc['note']}")
    return "\n".join(lines)


def diff_worldwide(
    a: WorldwideMetadata, b: WorldwideMetadata, examples: int = 5
) -> dict[str, object]:
    """Languages only in A or B, and for each common language that differs, its entry diff."""
    ha, hb = a.hashes(), b.hashes()
    common = [lang for lang in a.languages if lang in hb]
    changed = {
        lang: diff_metadata(a.get(lang), b.get(lang), examples=examples)
        for lang in common
        if ha[lang] != hb[lang]
    }
    return {
        "a": {"name": a.name, "languages": len(a), "hash": a.hash},
        "b": {"name": b.name, "languages": len(b), "hash": b.hash},
        "identical": ha == hb,
        "only_in_a": [lang for lang in a.languages if lang not in hb],
        "only_in_b": [lang for lang in b.languages if lang not in ha],
        "unchanged": [lang for lang in common if ha[lang] == hb[lang]],
        "changed": changed,
    }


def format_diff_worldwide(doc: dict[str, object]) -> str:
    """Human-readable text for :func:`diff_worldwide`."""
    a, b = doc["a"], doc["b"]
    assert isinstance(a, dict) and isinstance(b, dict)
    lines = [
        f"A  {a['name']}: {a['languages']} languages, hash {a['hash'][:12]}",
        f"B  {b['name']}: {b['languages']} languages, hash {b['hash'][:12]}",
    ]
    if doc["identical"]:
        lines.append("identical: same languages, same lists (same ids, same hashes)")
        return "\n".join(lines)
    for key, what in (("only_in_a", "only in A"), ("only_in_b", "only in B")):
        langs = doc[key]
        assert isinstance(langs, list)
        lines.append(f"{what:<10} {len(langs)}: {' '.join(langs) or '-'}")
    unchanged = doc["unchanged"]
    assert isinstance(unchanged, list)
    lines.append(f"unchanged  {len(unchanged)}: {' '.join(unchanged) or '-'}")
    changed = doc["changed"]
    assert isinstance(changed, dict)
    lines.append(f"changed    {len(changed)}:")
    for lang, d in changed.items():
        lines.append(
            f"  {lang:<8} {d['a']['entries']:,} -> {d['b']['entries']:,} entries: "
            f"+{d['added']['count']:,} -{d['removed']['count']:,} moved {d['moved']['count']:,}"
        )
        for ex in d["added"]["examples"][:2]:
            lines.append(f"      + id {ex['entry_id']}: {ex['entry']!r}")
        for ex in d["removed"]["examples"][:2]:
            lines.append(f"      - id {ex['entry_id']}: {ex['entry']!r}")
    return "\n".join(lines)
