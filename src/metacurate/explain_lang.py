"""``explain`` for a metaclip2 run: a text is matched only against its own language's list.

The language is the row's, read from its side-car, when the uid is a row of the run; else the
one given (``--lang``); else language identification with the run's model and minimum score
(``other`` below it). Run-wide ids are ``offset[lang] + id in lang`` (``match/worldwide_run``),
so the run's ``p_e`` (each language under its own ``t``) apply unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError
from metacurate.kernel import native_available
from metacurate.match.index_cache import cache_root, index_dir
from metacurate.match.matcher import Matcher
from metacurate.metadata import Metadata
from metacurate.metadata.layout import Layout
from metacurate.storage import read_table
from metacurate.workdir import Workdir


class LanguageExplainer:
    """The per-language side of :class:`metacurate.explain.Explainer`."""

    def __init__(self, metadata: Metadata, stats: dict, manifest: dict | None) -> None:
        self.layout = Layout.from_dict(stats["worldwide"])
        self.metadata = metadata
        self.mode = stats.get("mode", "metaclip2")
        cfg = stats.get("match_config") or {}
        self.lid_model = cfg.get("lid_model") or "fasttext-lid176"
        self.lid_min_score = float(cfg.get("lid_min_score") or 0.0)
        self.t_lang = (manifest or {}).get("t_lang") or {}
        self._matchers: dict[str, Matcher] = {}
        self._lid = None

    def language_of_row(self, match_root: Path, task_id: str, row: int) -> str | None:
        """The ``lang`` the match stage gave this side-car row."""
        side = read_table(Workdir(match_root).sidecar(task_id), columns=["lang"])
        return side.column("lang")[row].as_py()

    def identify(self, text: str) -> tuple[str, str]:
        """The metadata language LID gives ``text``, and how (label and score)."""
        from metacurate.match.languages import assign_languages
        from metacurate.match.lid import LanguageIdentifier

        if self._lid is None:
            self._lid = LanguageIdentifier(self.lid_model)
        a = assign_languages(
            pa.array([text]), self.layout.languages, None, self._lid, self.lid_min_score
        )
        label, score = a.lid_label[0].as_py(), a.lid_score[0].as_py()
        return a.lang[0].as_py(), f"LID {self.lid_model}: {label!r}, score {score:.3f}"

    def check(self, lang: str) -> str:
        if lang not in self.layout.languages and lang != "other":
            raise MetacurateError(
                f"--lang {lang}: not a language of this run's metadata (languages: "
                f"{', '.join(self.layout.languages)}, or other)"
            )
        return lang

    def matcher(self, lang: str) -> Matcher:
        """The language's cached index when it is there and sound, else one built in memory
        (explain never writes)."""
        m = self._matchers.get(lang)
        if m is None:
            k = self.layout.languages.index(lang)
            o, n = self.layout.offsets[k], self.layout.sizes[k]
            md = Metadata(self.metadata.entries[o : o + n], name=lang, hash=self.layout.hashes[k])
            m = None
            if native_available():
                d = index_dir(cache_root() / "languages" / lang, md.hash, self.mode)
                try:
                    m = Matcher.load(d, md, mode=self.mode)
                except (MetacurateError, OSError, ValueError, EOFError):
                    m = None
            self._matchers[lang] = m = m or Matcher(md, mode=self.mode)
        return m

    def match(self, text: str, lang: str) -> list[int]:
        """Run-wide ids of ``text`` matched in ``lang`` only (none for ``other`` without a
        list)."""
        if lang not in self.layout.languages:
            return []
        local = np.asarray(self.matcher(lang).match(text), np.int64)
        return [int(i) for i in local + self.layout.offset(lang)]

    def t(self, lang: str) -> float | None:
        return self.t_lang.get(lang)
