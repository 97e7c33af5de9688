"""Downloading a curated set with img2dataset: the options (as a command line, or a call to
its Python API) that read ``OUT/curated/*.parquet`` with the pool's own column names and carry
``uid``, ``entry_ids`` and ``keep_prob`` into every shard's ``.json`` and Parquet, so the
shards can be re-balanced (``metacurate balance --available``) and balanced online.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from metacurate.errors import MetacurateError
from metacurate.files import read_json
from metacurate.workdir import Workdir

CARRIED = ("uid", "entry_ids", "keep_prob")


def _columns(wd: Workdir) -> tuple[str, str]:
    """The url and caption column names of the pool of a match work folder."""
    for inp in read_json(wd.stats)["inputs"]:
        columns = read_json(wd.done(inp["task_id"])).get("columns") if not inp["error"] else None
        if columns:
            if not columns.get("url"):
                raise MetacurateError(
                    f"{inp['path']}: the pool has no url column; there is nothing to download"
                )
            return columns["url"], columns["text"]
    raise MetacurateError(f"{wd.root}: no matched input file with columns")


def img2dataset_options(
    out: str | Path,
    output_folder: str | Path,
    workdir: str | Path | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Keyword arguments of ``img2dataset.download`` for the curated set of balance folder
    ``out`` (WebDataset shards, 256 px, the carried columns); ``overrides`` win. ``workdir``:
    the match work folder (default: the one ``out``'s manifest names)."""
    o = Workdir(out)
    if workdir is None:
        if not o.manifest.exists():
            raise MetacurateError(f"{o.root}: no manifest.json; run 'metacurate balance' first")
        workdir = read_json(o.manifest)["workdir"]
    url_col, caption_col = _columns(Workdir(workdir))
    options = {
        "url_list": str(o.curated),
        "input_format": "parquet",
        "url_col": url_col,
        "caption_col": caption_col,
        "save_additional_columns": list(CARRIED),
        "output_format": "webdataset",
        "output_folder": str(output_folder),
        "image_size": 256,
        "resize_mode": "border",
        "processes_count": os.cpu_count() or 1,
        "thread_count": 64,
        "number_sample_per_shard": 10_000,
        "enable_wandb": False,
    }
    options.update(overrides)
    return options


def img2dataset_command(
    out: str | Path,
    output_folder: str | Path,
    workdir: str | Path | None = None,
    **overrides: Any,
) -> str:
    """The same options as an ``img2dataset`` command line (for a shell or a cluster job)."""
    args = ["img2dataset"]
    for key, value in img2dataset_options(out, output_folder, workdir, **overrides).items():
        if isinstance(value, list):
            value = "[" + ",".join(value) + "]"
        args.append(f"--{key}={value}")
    return " ".join(shlex.quote(a) for a in args)


def run_img2dataset(out: str | Path, output_folder: str | Path, **overrides: Any) -> Path:
    """Download the curated set of ``out`` into ``output_folder`` with img2dataset's Python
    API (it must be installed: ``pip install img2dataset``)."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network check at import
    try:
        from img2dataset import download
    except ImportError:
        raise MetacurateError(
            "img2dataset is not installed; pip install img2dataset (or run the command line "
            "of metacurate.download.img2dataset_command)"
        ) from None
    download(**img2dataset_options(out, output_folder, **overrides))
    return Path(output_folder)
