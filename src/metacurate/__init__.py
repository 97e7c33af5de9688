"""metacurate: MetaCLIP-style curation of image-text pools."""

from metacurate._version import __version__
from metacurate.curate import balance_workdir, curate
from metacurate.errors import MetacurateError
from metacurate.match import Matcher, spacing
from metacurate.metadata import Metadata, load_metadata
from metacurate.pipeline import match_pool

__all__ = [
    "Matcher",
    "Metadata",
    "MetacurateError",
    "__version__",
    "balance_workdir",
    "curate",
    "load_metadata",
    "match_pool",
    "spacing",
]
