"""Meta CLIP 2 matching written out literally from the official code, independently.

``is_cjk_or_similar`` and ``get_spaced_metadata`` follow facebookresearch/MetaCLIP
``metaclip/curation/substr_matching.py`` line by line (ranges, ``string.punctuation`` and the
``additional_punctuation`` list); no import from metacurate. The kana variant adds the four
kana ranges of docs/worldwide.md. The empty entry, on which the official code raises
``IndexError``, is padded on both sides as in metaclip1.
"""

from __future__ import annotations

import string

from tests.reference import reference_spacing

ADDITIONAL_PUNCTUATION = [
    "，", "。", "、", "；", "：", "？", "！", "“", "”", "‘", "’", "（", "）",
    "【", "】", "《", "》", "〈", "〉", "「", "」", "『", "』", "～", "—",
]  # fmt: skip


def is_punctuation(char: str) -> bool:
    return char in string.punctuation or char in ADDITIONAL_PUNCTUATION


def is_kana(char: str) -> bool:
    cp = ord(char)
    return (
        0x3040 <= cp <= 0x309F
        or 0x30A0 <= cp <= 0x30FF
        or 0x31F0 <= cp <= 0x31FF
        or 0xFF61 <= cp <= 0xFF9F
    )


def is_cjk_or_similar(char: str, kana: bool = False) -> bool:
    code_point = ord(char)
    if (  # noqa: SIM114 (kept as the official code writes it)
        0x4E00 <= code_point <= 0x9FFF
        or 0x3400 <= code_point <= 0x4DBF
        or 0x20000 <= code_point <= 0x2A6DF
        or 0x2A700 <= code_point <= 0x2B73F
        or 0x2B740 <= code_point <= 0x2B81F
        or 0x2B820 <= code_point <= 0x2CEAF
        or 0x2CEB0 <= code_point <= 0x2EBEF
        or 0xF900 <= code_point <= 0xFAFF
        or 0x2E80 <= code_point <= 0x2EFF
        or 0x2F00 <= code_point <= 0x2FDF
        or 0x2FF0 <= code_point <= 0x2FFF
    ):
        return True
    elif (  # noqa: SIM114
        0x0E00 <= code_point <= 0x0E7F
        or 0x0E80 <= code_point <= 0x0EFF
        or 0x1000 <= code_point <= 0x109F
        or 0x1780 <= code_point <= 0x17FF
        or 0x0F00 <= code_point <= 0x0FFF
    ):
        return True
    elif is_punctuation(char):
        return True
    return kana and is_kana(char)


def spaced_entry(entry: str, kana: bool = False) -> str:
    if entry == "":
        return "  "
    spaced = entry
    if not is_cjk_or_similar(spaced[0], kana):
        spaced = f" {spaced}"
    if not is_cjk_or_similar(spaced[-1], kana):
        spaced = f"{spaced} "
    return spaced


def reference_match2(metadata: list[str], text: str | None, mode: str = "metaclip2") -> list[int]:
    """``[i for i, e in enumerate(md) if pad(e) in spacing(text)]`` for a metaclip2 mode."""
    if text is None:
        return []
    kana = {"metaclip2": False, "metaclip2-kana": True}[mode]
    spaced = reference_spacing(text)
    return [i for i, e in enumerate(metadata) if spaced_entry(e, kana) in spaced]


def reference_match2_many(
    metadata: list[str], texts: list[str | None], mode: str = "metaclip2"
) -> list[list[int]]:
    """:func:`reference_match2` for many texts, padding each entry once."""
    kana = {"metaclip2": False, "metaclip2-kana": True}[mode]
    padded = [spaced_entry(e, kana) for e in metadata]
    out = []
    for t in texts:
        if t is None:
            out.append([])
            continue
        spaced = reference_spacing(t)
        out.append([i for i, p in enumerate(padded) if p in spaced])
    return out
