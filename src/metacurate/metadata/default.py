"""The built-in default metadata: an approximation of MetaCLIP's, shipped with the package.

It holds the digits ``0``-``99``, every WordNet 3.0 synset name (MetaCLIP's rule, the same
86,554 names), English words from the ``wordfreq`` package's frequency list, lower-case and
with a first capital, standing in for MetaCLIP's (cased) Wikipedia unigrams, and title-like
WordNet forms (``T-shirt``, ``Paris``) standing in for its Wikipedia titles. It has no
bigrams, and its capitals are made by rule rather than observed in Wikipedia, so it is *not*
MetaCLIP's metadata; pass MetaCLIP's own ``metadata.json`` with ``--metadata`` to reproduce
the paper. ``scripts/make_default_metadata.py`` regenerates it (see docs/metadata.md).
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata.load import Metadata
from metacurate.metadata.load import load_metadata as load_metadata_file
from metacurate.metadata.sources import SourcesInfo, read_sources
from metacurate.storage import RemotePath

DEFAULT_METADATA_NAME = "metacurate-default-v2"
DEFAULT_METADATA_FILE = "default_metadata.json.gz"
DEFAULT_SOURCES_FILE = "default_metadata.sources.json.gz"
#: The word a user types for the built-in list where a metadata path is expected.
DEFAULT_METADATA_ALIAS = "default"

#: sha256 (``Metadata.hash``) of the built-in list, by name; the first is the current one.
#: ``scripts/make_default_metadata.py`` prints the new hash: put it first when regenerating.
BUILTIN_HASHES = {
    "metacurate-default-v2": "0667053ee6bfecf657c4956c69d565ed6a3287f81cd66270650de25dd9606b3f",
    "metacurate-default-v1": "77e13630d7cdc0916585a3ce9324d91b9243745cb886ba082c9e5f0c184cfdda",
}

#: One line for summaries, manifests and the report of a run that used the built-in list.
BUILTIN_NOTE = (
    "built-in metadata: an approximation of MetaCLIP's list (WordNet names, wordfreq words in "
    "lower case and capitalised, title-like WordNet forms; no Wikipedia bigrams or titles); for "
    "MetaCLIP's own list, get metaclip/metaclip1/metadata.json (metadata.json at the top in "
    "older versions) from github.com/facebookresearch/MetaCLIP (a JSON list of strings, entry "
    "id = position) and pass --metadata metadata.json"
)
#: Older name of :data:`BUILTIN_NOTE`.
DEFAULT_METADATA_NOTE = BUILTIN_NOTE


def is_builtin(metadata_hash: str) -> bool:
    """True when ``metadata_hash`` is that of a built-in list (this one or an earlier version)."""
    return metadata_hash in BUILTIN_HASHES.values()


def _data_file(name: str):
    return resources.files("metacurate.metadata").joinpath("data", name)


def load_default_metadata() -> Metadata:
    """The built-in metadata, named ``metacurate-default-v2`` (about 0.3 s to load)."""
    res = _data_file(DEFAULT_METADATA_FILE)
    try:
        entries = json.loads(gzip.decompress(res.read_bytes()).decode("utf-8"))
    except (OSError, EOFError, ValueError) as exc:
        raise MetacurateError(
            f"built-in default metadata cannot be read ({exc}); reinstall metacurate or pass "
            "--metadata FILE"
        ) from None
    return Metadata(tuple(entries), name=DEFAULT_METADATA_NAME)


def load_default_sources() -> SourcesInfo:
    """The sources side file of the built-in metadata (which source gave each entry)."""
    with resources.as_file(_data_file(DEFAULT_SOURCES_FILE)) as p:
        return read_sources(Path(p))


def resolve_metadata(spec: str | Path | RemotePath | None, cache: Path | None = None) -> Metadata:
    """Metadata from a path, or the built-in default for ``None`` or ``"default"``.

    A file literally named ``default`` in the working directory wins over the alias.
    ``cache``: a cache folder where what loading a file found is remembered.
    """
    if spec is None or (str(spec) == DEFAULT_METADATA_ALIAS and not Path(spec).exists()):
        return load_default_metadata()
    return load_metadata_file(spec, cache)


def load_metadata(path: str | Path | RemotePath) -> Metadata:
    """Metadata from a ``.json`` / ``.txt`` file (``.gz`` too, local or ``s3://``...), or the
    built-in list for ``"default"``: wherever a metadata path is accepted, ``default`` works."""
    if isinstance(path, RemotePath):
        return load_metadata_file(path)
    if not isinstance(path, (str, Path)):
        raise MetacurateError(
            f"load_metadata takes a path or 'default', got {type(path).__name__}; "
            "for a list of strings use Metadata.from_list(entries)"
        )
    return resolve_metadata(path)


def as_metadata(value: object, cache: Path | None = None) -> Metadata:
    """A ``Metadata``, a list/tuple of strings, a path (``str`` / ``Path``) or ``None``
    (``None`` and ``"default"`` are the built-in list); anything else is refused.
    ``cache``: see :func:`resolve_metadata`."""
    if isinstance(value, Metadata):
        return value
    if value is None or isinstance(value, (str, Path)):
        return resolve_metadata(value, cache)
    if isinstance(value, (list, tuple)):
        return Metadata.from_list(list(value))
    raise MetacurateError(
        f"metadata must be a Metadata, a list of strings or a path, got {type(value).__name__}"
    )


def is_default_spec(spec: str | Path | None) -> bool:
    """True when :func:`resolve_metadata` would return the built-in default for ``spec``."""
    return spec is None or (str(spec) == DEFAULT_METADATA_ALIAS and not Path(spec).exists())
