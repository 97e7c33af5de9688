"""metacurate: MetaCLIP-style curation of image-text pools."""

from metacurate.errors import MetacurateError
from metacurate.match import Matcher, spacing
from metacurate.metadata import Metadata, load_metadata

__version__ = "0.1.0"

__all__ = ["Matcher", "Metadata", "MetacurateError", "load_metadata", "spacing", "__version__"]
