"""Worldwide metadata: one entry list per language (Meta CLIP 2), each with its own ids and hash.

On disk it is a folder holding one ``{lang}.json`` per metadata language (the language code as
file name, a JSON list of strings as MetaCLIP's ``metadata.json``; ``.json.gz`` is read too).
Files whose name has a second dot (``zh.sources.json``) or starts with ``_`` are not languages.

Hashes: each language has the hash of its list (``metadata_hash``); the whole has the sha256 of
the canonical JSON of ``[[lang, hash], ...]`` sorted by language, so it changes when any list
does and does not depend on file formatting. Lists are read lazily, one language at a time.

``worldwide-default`` names the built-in approximation (see ``worldwide_default.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata.build import encode_text, metadata_json, write_atomic
from metacurate.metadata.load import Metadata, load_metadata

WORLDWIDE_DEFAULT_ALIAS = "worldwide-default"
_LANG_RE = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")


def worldwide_hash(hashes: Mapping[str, str]) -> str:
    """The hash of a whole worldwide metadata from its per-language hashes."""
    canonical = json.dumps(sorted(hashes.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_language_code(lang: str, where: str) -> str:
    """``lang`` if it can name a metadata language (``zh``, ``zh_yue``, ``other``), else error."""
    if not _LANG_RE.match(lang):
        raise MetacurateError(
            f"{where}: {lang!r} is not a language code; name per-language files by an ISO or "
            "Wikipedia code such as en.json, zh.json, be_tarask.json (lower case)"
        )
    return lang


class WorldwideMetadata:
    """Per-language metadata: ``get(lang)`` is a :class:`Metadata` whose ids are that
    language's entry ids. Lists are loaded on first use and kept."""

    def __init__(
        self,
        name: str,
        languages: Sequence[str],
        loader: Callable[[str], Metadata],
        note: str | None = None,
    ) -> None:
        self.name = name
        self.languages: tuple[str, ...] = tuple(sorted(languages))
        self.note = note
        self._loader = loader
        self._loaded: dict[str, Metadata] = {}

    @classmethod
    def from_lists(cls, lists: Mapping[str, Sequence[str]], name: str = "<memory>"):
        """Wrap ``{lang: entries}`` held in memory."""
        mds = {
            check_language_code(lang, name): Metadata.from_list(list(e), name=f"{name}/{lang}")
            for lang, e in lists.items()
        }
        return cls(name, list(mds), mds.__getitem__)

    def __contains__(self, lang: object) -> bool:
        return lang in self.languages

    def __iter__(self) -> Iterator[str]:
        return iter(self.languages)

    def __len__(self) -> int:
        return len(self.languages)

    def get(self, lang: str) -> Metadata:
        """The entry list of ``lang`` (an error naming the languages there are if absent)."""
        md = self._loaded.get(lang)
        if md is None:
            if lang not in self.languages:
                raise MetacurateError(
                    f"{self.name}: no metadata for language {lang!r}; it has "
                    f"{', '.join(self.languages) or 'none'}"
                )
            md = self._loaded[lang] = self._loader(lang)
        return md

    def hashes(self) -> dict[str, str]:
        """``{lang: hash}`` (loads every list)."""
        return {lang: self.get(lang).hash for lang in self.languages}

    @property
    def hash(self) -> str:
        """Hash of the whole (see module docstring)."""
        return worldwide_hash(self.hashes())

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def sizes(self) -> dict[str, int]:
        """``{lang: number of entries}``."""
        return {lang: len(self.get(lang)) for lang in self.languages}


def _language_files(d: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for p in sorted(d.iterdir()):
        name = p.name
        if not p.is_file() or name.startswith(("_", ".")):
            continue
        for suffix in (".json.gz", ".json"):
            if name.endswith(suffix):
                lang = name[: -len(suffix)]
                if "." in lang:
                    break
                check_language_code(lang, str(p))
                if lang in files:
                    raise MetacurateError(
                        f"{d}: language {lang!r} is given twice ({files[lang].name} and {name}); "
                        "keep one"
                    )
                files[lang] = p
                break
    return files


def load_worldwide(path: str | Path) -> WorldwideMetadata:
    """A worldwide metadata folder, or the built-in ``worldwide-default``."""
    if str(path) == WORLDWIDE_DEFAULT_ALIAS and not Path(path).exists():
        from metacurate.metadata import worldwide_default as default

        languages, loader = default.default_lists()
        return WorldwideMetadata(
            default.WORLDWIDE_DEFAULT_NAME, languages, loader, note=default.WORLDWIDE_DEFAULT_NOTE
        )
    d = Path(path)
    if not d.is_dir():
        raise MetacurateError(
            f"{d}: worldwide metadata must be a folder with one {{lang}}.json per language "
            f"(or '{WORLDWIDE_DEFAULT_ALIAS}' for the built-in one)"
        )
    files = _language_files(d)
    if not files:
        raise MetacurateError(f"{d}: no {{lang}}.json files; write one JSON list per language")

    def loader(lang: str) -> Metadata:
        md = load_metadata(files[lang])
        return Metadata.from_encoded(
            md.entries, f"{d.name}/{files[lang].name}", md.canonical_bytes()
        )

    return WorldwideMetadata(d.name, list(files), loader)


def is_worldwide_spec(spec: str | Path | None) -> bool:
    """True when ``spec`` names worldwide metadata (a folder or ``worldwide-default``)."""
    if spec is None:
        return False
    return Path(spec).is_dir() or (str(spec) == WORLDWIDE_DEFAULT_ALIAS and not Path(spec).exists())


def write_worldwide(out: str | Path, lists: Mapping[str, Sequence[str]], gz: bool = False) -> Path:
    """Write ``{lang}.json`` (or ``.json.gz``) per language into folder ``out``; byte-identical
    output for identical lists. Returns the folder."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    for lang, entries in sorted(lists.items()):
        check_language_code(lang, str(d))
        name = f"{lang}.json" + (".gz" if gz else "")
        write_atomic(d / name, encode_text(metadata_json(list(entries)), gz))
    return d


def load_run_wide(path: str | Path) -> Metadata:
    """The run-wide list of a metaclip2 work folder (``metadata.json``: the languages' lists
    end to end). The same word in two languages is two entries by design, and each language's
    list was checked when it was loaded, so its duplicates are not warned about here."""
    import warnings

    from metacurate.metadata.load import MetadataWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetadataWarning)
        return load_metadata(path)
