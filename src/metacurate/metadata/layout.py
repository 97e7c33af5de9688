"""Where each language's entries sit in the run-wide numbering of a metaclip2 run.

A run over worldwide metadata lays the languages' lists end to end, in code order, so a row of
language ``L`` whose entry has id ``i`` in ``L``'s list gets the run-wide id ``offset[L] + i``
(``match/worldwide_run.py``). :class:`Layout` (written to ``stats.json``) turns any run-wide id
back into ``(lang, id in lang)`` and splits per-entry values into one array per language; the
match stage writes it, the balance stage and the report read it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from metacurate.metadata.worldwide import worldwide_hash


@dataclass(frozen=True)
class Layout:
    """Where each language's entries sit in the run-wide numbering."""

    languages: tuple[str, ...]
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    hashes: tuple[str, ...]
    name: str = "<worldwide>"

    @property
    def hash(self) -> str:
        """The worldwide metadata hash (per-language hashes, see ``metadata/worldwide.py``)."""
        return worldwide_hash(dict(zip(self.languages, self.hashes, strict=True)))

    def offset(self, lang: str) -> int:
        return self.offsets[self.languages.index(lang)]

    def split(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Run-wide per-entry values → ``{lang: values of that language's entries}``."""
        return {
            lang: counts[o : o + n]
            for lang, o, n in zip(self.languages, self.offsets, self.sizes, strict=True)
        }

    def lang_of(self, entry_ids: np.ndarray) -> list[str]:
        """The language of each run-wide id."""
        starts = np.asarray(self.offsets)
        return [self.languages[k] for k in np.searchsorted(starts, entry_ids, side="right") - 1]

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "hash": self.hash,
            "languages": [
                {"lang": lang, "offset": o, "entries": n, "hash": h}
                for lang, o, n, h in zip(
                    self.languages, self.offsets, self.sizes, self.hashes, strict=True
                )
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Layout:
        langs = d["languages"]
        return cls(
            tuple(x["lang"] for x in langs),
            tuple(int(x["offset"]) for x in langs),
            tuple(int(x["entries"]) for x in langs),
            tuple(x["hash"] for x in langs),
            str(d.get("name", "<worldwide>")),
        )
