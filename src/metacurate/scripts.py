"""Which characters are "no-space script" in the Meta CLIP 2 matching modes, and entry padding.

Meta CLIP 2 (semantics.md section 4) keeps ``spacing()`` and changes only how an entry is padded:
a space is put on a side of the entry only when the entry's character on that side is *not*
"CJK or similar". The official code (``metaclip/curation/substr_matching.py``,
``is_cjk_or_similar``) defines that set; :data:`OFFICIAL_RANGES` and :data:`PUNCTUATION` copy it
range by range, gaps included (U+2A6E0–2A6FF and U+2FE0–2FEF are *not* in it).

Modes:

* ``metaclip2``: exactly the official set. Japanese kana and Hangul are not in it, so an entry
  whose first or last character is kana (``タワー``) is padded with a space on that side and never
  matches inside unspaced Japanese text.
* ``metaclip2-kana``: the official set plus :data:`KANA_RANGES` (Hiragana, Katakana, Katakana
  Phonetic Extensions, halfwidth katakana and halfwidth CJK punctuation), so kana-edged entries
  match inside unspaced Japanese. Hangul is still not included (Korean is written with spaces).

This module is the one definition: the pure-Python matcher, the index builder and the compiled
kernel's tables (which pass these ranges to C) all read it.
"""

from __future__ import annotations

import re
import string
from functools import cache

import numpy as np

#: CJK ideograph blocks, then Thai, Lao, Burmese, Khmer and Tibetan, as the official code lists
#: them (inclusive code point ranges).
OFFICIAL_RANGES: tuple[tuple[int, int], ...] = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0x2CEB0, 0x2EBEF),
    (0xF900, 0xFAFF),
    (0x2E80, 0x2EFF),
    (0x2F00, 0x2FDF),
    (0x2FF0, 0x2FFF),
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Burmese
    (0x1780, 0x17FF),  # Khmer
    (0x0F00, 0x0FFF),  # Tibetan
)

#: ASCII punctuation (``string.punctuation``) and the official ``additional_punctuation``.
PUNCTUATION: frozenset[str] = frozenset(string.punctuation) | frozenset(
    "，。、；：？！“”‘’（）【】《》〈〉「」『』～—"
)

#: Added by ``metaclip2-kana`` only.
KANA_RANGES: tuple[tuple[int, int], ...] = (
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana (with the prolonged sound mark U+30FC)
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0xFF61, 0xFF9F),  # halfwidth CJK punctuation and halfwidth katakana
)

METACLIP2_MODES = ("metaclip2", "metaclip2-kana")


def mode_ranges(mode: str) -> tuple[tuple[int, int], ...]:
    """The code point ranges (besides :data:`PUNCTUATION`) that ``mode`` treats as no-space."""
    if mode == "metaclip2":
        return OFFICIAL_RANGES
    if mode == "metaclip2-kana":
        return OFFICIAL_RANGES + KANA_RANGES
    raise ValueError(f"mode {mode!r} has no no-space characters; one of {METACLIP2_MODES}")


@cache
def no_space_set(mode: str) -> frozenset[str]:
    """Every no-space character of ``mode`` (punctuation included), as a set."""
    ranges = frozenset(chr(c) for lo, hi in mode_ranges(mode) for c in range(lo, hi + 1))
    return ranges | PUNCTUATION


def is_no_space(char: str, mode: str = "metaclip2") -> bool:
    """True when ``char`` is "CJK or similar" (including punctuation) under ``mode``."""
    return char in no_space_set(mode)


def pad(entry: str, mode: str = "metaclip2") -> str:
    """The string whose presence in ``spacing(text)`` means ``entry`` matches under ``mode``.

    ``metaclip1`` pads both sides. The metaclip2 modes pad a side only when the entry's
    character there is not no-space. The empty entry has no edge character and is padded on
    both sides, ``"  "``, as in ``metaclip1`` (the official code raises ``IndexError`` on it).
    """
    if mode == "metaclip1" or not entry:
        return f" {entry} "
    left = "" if is_no_space(entry[0], mode) else " "
    right = "" if is_no_space(entry[-1], mode) else " "
    return left + entry + right


def is_fully_padded(entry: str, mode: str) -> bool:
    """True when ``pad(entry, mode)`` has a space on both sides (metaclip1 semantics)."""
    return not entry or not (is_no_space(entry[0], mode) or is_no_space(entry[-1], mode))


@cache
def unit_regex(mode: str) -> re.Pattern[str]:
    """Splits a string into *units*: one space, one no-space character, or a maximal run of
    other characters. Group 1 is set for the one-character separator units.

    Why units: a padded entry that is not fully padded starts and ends with a separator
    (a space or a no-space character), so its occurrences in ``spacing(text)`` begin and end on
    unit boundaries of the text, and it is a run of whole units (see ``metaclip2.py``).
    """
    parts = [" ", *sorted(re.escape(c) for c in PUNCTUATION)]
    parts += [f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in mode_ranges(mode)]
    cls = "".join(parts)
    return re.compile(f"([{cls}])|[^{cls}]+")


def separator_tables(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The separator class (space or no-space character) as data for the compiled kernel.

    Returns a bitmap of the Basic Multilingual Plane (``uint8[8192]``, bit ``c & 7`` of byte
    ``c >> 3`` set for a separator ``c``) and the separator ranges above U+FFFF, flattened
    ``[lo0, hi0, lo1, hi1, ...]`` (``uint32``).
    """
    bits = np.zeros(0x10000, dtype=bool)
    bits[0x20] = True
    for c in PUNCTUATION:
        bits[ord(c)] = True
    astral: list[int] = []
    for lo, hi in sorted(mode_ranges(mode)):
        if lo > 0xFFFF:
            astral += [lo, hi]
        else:
            bits[lo : min(hi, 0xFFFF) + 1] = True
            if hi > 0xFFFF:
                astral += [0x10000, hi]
    return np.packbits(bits, bitorder="little"), np.array(astral, dtype=np.uint32)
