"""The definition of semantics.md section 1, written out literally and independently.

Deliberately naive: no import from metacurate, one substring test per entry.
"""

from __future__ import annotations


def reference_spacing(text: str) -> str:
    s = " " + text + " "
    for ch in [",", ".", ";", ":", "?", "!", "`"]:
        s = s.replace(ch, " " + ch + " ")
    for ch in ["\t", "\n", "\r"]:
        s = s.replace(ch, " ")
    return s


def reference_match(metadata: list[str], text: str | None) -> list[int]:
    if text is None:
        return []
    spaced = reference_spacing(text)
    return [i for i, e in enumerate(metadata) if f" {e} " in spaced]


def reference_pick_examples(
    texts: list,
    entry_ids: list,
    kept: list,
    shown: list[int],
    entries: list[str],
    per_side: int,
    max_rows: int,
    locate,
    clip_text,
) -> dict:
    """The report's example picking as a plain loop (its first version): passes ``k`` over
    the rows in order; a row with text is taken while some entry shown in it has fewer than
    ``k + 1`` examples on its side (kept or null: 0, dropped: 1) and the budget lasts; each
    of its shown entries with fewer than ``per_side`` examples there gets it."""
    where = {e: i for i, e in enumerate(shown)}
    quota = [[0] * len(shown), [0] * len(shown)]
    rows_text, rows_kept, examples, used = [], [], {}, set()
    for k in range(per_side):
        for r, ids in enumerate(entry_ids):
            here = [where[e] for e in ids if e in where]
            if not texts[r] or not here:
                continue
            if len(rows_text) >= max_rows:
                break
            q = quota[0 if kept[r] is None or kept[r] else 1]
            if r in used or min(q[j] for j in here) > k:
                continue
            used.add(r)
            row = len(rows_text)
            rows_text.append(clip_text(texts[r]))
            rows_kept.append(None if kept[r] is None else int(kept[r]))
            for j in here:
                if q[j] < per_side:
                    q[j] += 1
                    span = locate(texts[r], entries[shown[j]])
                    a, b = span if span is not None and span[1] < 240 else (-1, -1)
                    examples.setdefault(j, []).extend((row, a, b))
    n = [0] * len(shown)
    n_kept = [0] * len(shown)
    for r, ids in enumerate(entry_ids):
        for e in ids:
            if e in where and texts[r]:
                n[where[e]] += 1
                n_kept[where[e]] += kept[r] is not False
    return {
        "rows": {"text": rows_text, "kept": rows_kept},
        "examples": {str(j): v for j, v in examples.items()},
        "sample_rows": n,
        "sample_kept": n_kept,
    }
