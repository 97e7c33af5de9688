"""Where files live: local folders (``pathlib.Path``, the fast path) or object stores and
remote file systems (``RemotePath`` over ``pyarrow.fs`` / ``fsspec``). See docs/storage.md."""

from metacurate.storage.access import (
    AnyPath,
    file_stat,
    input_stream,
    is_remote,
    location,
    open_input,
    open_output,
    parquet_file,
    parquet_writer,
    pool_parquet,
    portable,
    read_schema,
    read_table,
    rmtree,
    write_table,
)
from metacurate.storage.filesystems import OBJECT_STORES, s3_endpoint
from metacurate.storage.remote import RemotePath

__all__ = [
    "OBJECT_STORES",
    "AnyPath",
    "RemotePath",
    "file_stat",
    "input_stream",
    "is_remote",
    "location",
    "open_input",
    "open_output",
    "parquet_file",
    "parquet_writer",
    "pool_parquet",
    "portable",
    "read_schema",
    "read_table",
    "rmtree",
    "s3_endpoint",
    "write_table",
]
