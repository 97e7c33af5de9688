"""Which ``pyarrow.fs`` file system serves a URI, with credentials the standard way.

- ``s3://`` (and ``s3a://``): ``pyarrow.fs.S3FileSystem``. Credentials from the AWS chain
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and
  ``~/.aws``, instance roles). The endpoint of an S3-compatible store (MinIO, Ceph, R2, a local
  test server) from ``--s3-endpoint`` / ``s3_endpoint=``, else ``AWS_ENDPOINT_URL_S3`` or
  ``AWS_ENDPOINT_URL``; region from ``AWS_REGION``/``AWS_DEFAULT_REGION`` (AWS itself: found
  from the bucket).
- ``gs://``/``gcs://``: ``pyarrow.fs.GcsFileSystem`` (Google's default credentials).
- ``hdfs://host:port``: ``pyarrow.fs.HadoopFileSystem`` (needs libhdfs and a JVM).
- anything else fsspec knows (``az://``, ``abfs://``, ``memory://`` ...): fsspec's file
  system wrapped in ``pyarrow.fs.PyFileSystem``.
"""

from __future__ import annotations

import os

import pyarrow.fs as pafs

from metacurate.errors import MetacurateError

#: Schemes whose paths are ``bucket/key`` and which have no folders and no rename.
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs"})


def split_uri(uri: str) -> tuple[str, str, str]:
    """``(scheme, authority, rest)`` of ``scheme://authority/rest``."""
    scheme, sep, tail = uri.partition("://")
    if not sep or not scheme:
        raise MetacurateError(f"{uri}: not a URI (expected scheme://bucket/key)")
    authority, _, rest = tail.partition("/")
    if not authority and scheme.lower() in OBJECT_STORES:
        raise MetacurateError(f"{uri}: no bucket name; write {scheme}://BUCKET/path")
    return scheme.lower(), authority, rest


def s3_endpoint(configured: str | None = None) -> str | None:
    """The S3 endpoint: the flag, else ``AWS_ENDPOINT_URL_S3``, else ``AWS_ENDPOINT_URL``."""
    return (
        configured
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def _s3(bucket: str, endpoint: str | None) -> pafs.FileSystem:
    endpoint = s3_endpoint(endpoint)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if endpoint is None:  # AWS itself: the bucket's region is looked up when not given
        if region:
            return pafs.S3FileSystem(region=region)
        fs, _ = pafs.FileSystem.from_uri(f"s3://{bucket}")
        return fs
    return pafs.S3FileSystem(endpoint_override=endpoint, region=region or "us-east-1")


def _fsspec(scheme: str) -> pafs.FileSystem:
    try:
        import fsspec
    except ImportError:
        raise MetacurateError(
            f"{scheme}:// paths need fsspec: pip install 'metacurate[storage]'"
        ) from None
    try:
        fs = fsspec.filesystem(scheme)
    except (ImportError, ValueError) as exc:
        raise MetacurateError(f"{scheme}:// is not a file system fsspec can open ({exc})") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


def open_filesystem(scheme: str, authority: str, endpoint: str | None = None) -> pafs.FileSystem:
    """The file system for ``scheme://authority`` (``endpoint``: S3-compatible stores)."""
    if scheme in ("s3", "s3a"):
        return _s3(authority, endpoint)
    if scheme in ("gs", "gcs"):
        return pafs.GcsFileSystem()
    if scheme == "hdfs":
        host, _, port = authority.partition(":")
        return pafs.HadoopFileSystem(host or "default", int(port or 0))
    return _fsspec(scheme)
