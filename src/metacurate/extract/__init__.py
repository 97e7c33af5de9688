"""Common Crawl WARC/WAT → image–alt-text pool (`metacurate extract`).

Stages, each a pure function over one record: `warc.iter_records` (framing, errors counted),
`html.image_pairs_from_html` / `wat.image_pairs_from_wat` (one page → candidate pairs), and
`run.extract` (dedup, optional language id, Parquet shards, stats).
"""

from metacurate.extract.html import image_pairs_from_html
from metacurate.extract.pairs import ImagePair, PageImages
from metacurate.extract.run import ExtractConfig, extract
from metacurate.extract.wat import image_pairs_from_wat

__all__ = [
    "ExtractConfig",
    "ImagePair",
    "PageImages",
    "extract",
    "image_pairs_from_html",
    "image_pairs_from_wat",
]
