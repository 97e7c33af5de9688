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
