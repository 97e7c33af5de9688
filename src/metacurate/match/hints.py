"""Hints a finished match stage can give from its own numbers: a pool of captions written
without spaces between words (Chinese, Japanese, Thai...) matches almost nothing under
MetaCLIP 1's rule, which needs a space or one of seven punctuation marks around every entry."""

from __future__ import annotations

from metacurate.errors import MetacurateError
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.pool.text import shown_text
from metacurate.scripts import no_space_set

#: Below this share of matched rows a metaclip1 run looks at its captions' scripts.
FEW_MATCHED = 0.02
#: Captions read from the first inputs to tell the script.
SAMPLE = 200


def _unspaced(text: str, chars: frozenset[str]) -> bool:
    """Most of the caption's letters are in a script written without spaces."""
    letters = [c for c in text if not c.isspace()]
    return bool(letters) and sum(c in chars for c in letters) * 2 > len(letters)


def unspaced_hint(stats: dict, read: ReadOptions) -> str | None:
    """One line when a metaclip1 run matched almost nothing and its captions are mostly in
    scripts written without spaces; None otherwise (or when the captions cannot be read)."""
    rows = stats.get("rows", 0)
    if stats.get("mode") != "metaclip1" or not rows or stats["rows_matched"] > FEW_MATCHED * rows:
        return None
    chars = no_space_set("metaclip2-kana")
    texts: list[str] = []
    for inp in stats["inputs"]:
        column = (inp.get("columns") or {}).get("text")
        if inp.get("error") or not column:
            continue
        try:
            for batch in read_batches(Source.from_dict(inp), read, [column]):
                texts += [t for t in shown_text(batch.column(0)).to_pylist() if t]
                if len(texts) >= SAMPLE:
                    break
        except (MetacurateError, OSError):
            continue
        if len(texts) >= SAMPLE:
            break
    if not texts or sum(_unspaced(t, chars) for t in texts[:SAMPLE]) * 2 <= len(texts[:SAMPLE]):
        return None
    return (
        f"{stats['rows_matched']:,} of {rows:,} rows matched: most captions are in a script "
        "written without spaces (Chinese, Japanese, Thai...), where MetaCLIP 1's rule (an entry "
        "between spaces) rarely matches; use --mode metaclip2 with per-language metadata "
        "(docs/worldwide.md)"
    )
