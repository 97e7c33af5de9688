"""Several texts per image, online: at each epoch only one matched text of an image competes,
chosen by ``metacurate.balance.select`` with the epoch in its key (as ``metacurate balance
--image-column COL --epoch k``).

The image and text hashes of every side-car row are read from the pool once (the column the
user names, the caption column the match stage used) and kept beside the uid index; each epoch's
choice is then a sort over them, in memory (about 32 bytes per matched row, like the offline
stage).
"""

from __future__ import annotations

import hashlib

import numpy as np

from metacurate.balance.driver import read_options
from metacurate.balance.select import choose_one_per_image, pick_scores
from metacurate.errors import MetacurateError
from metacurate.files import read_json, save_npy
from metacurate.online.uid_index import UidIndex
from metacurate.pool.readers import read_batches
from metacurate.pool.sources import Source
from metacurate.pool.uid import uid_hash
from metacurate.workdir import Workdir


def _file_hashes(wd: Workdir, inp: dict, image_column: str, read) -> tuple[list, list]:
    columns = read_json(wd.done(inp["task_id"])).get("columns")  # None: an empty file
    image, text = [], []
    if not columns:
        return image, text
    try:
        batches = read_batches(Source.from_dict(inp), read, columns=[image_column, columns["text"]])
        for batch in batches:
            image.append(uid_hash(batch.column(0)))
            text.append(uid_hash(batch.column(1)))
    except KeyError:
        raise MetacurateError(
            f"{inp['path']}: no column {image_column!r} for image_column; name the column "
            "that identifies the image (e.g. url)"
        ) from None
    return image, text


def image_text_hashes(
    workdir: str, index: UidIndex, image_column: str
) -> tuple[np.ndarray, np.ndarray]:
    """``uid_hash`` of the image column and of the caption of every side-car row (cached in
    the index folder)."""
    tag = hashlib.sha1(image_column.encode("utf-8")).hexdigest()[:10]
    img_path = index.directory / f"image-{tag}.npy"
    txt_path = index.directory / "text.npy"
    if img_path.exists() and txt_path.exists():
        return np.load(img_path), np.load(txt_path)
    wd = Workdir(workdir)
    stats = read_json(wd.stats)
    read = read_options(stats["match_config"])
    image, text = [], []
    for inp in (i for i in stats["inputs"] if i["error"] is None):
        img, txt = _file_hashes(wd, inp, image_column, read)
        image += img
        text += txt
    img_all = np.concatenate(image) if image else np.zeros(0, np.uint64)
    txt_all = np.concatenate(text) if text else np.zeros(0, np.uint64)
    if len(img_all) != len(index.row_to_index):
        raise MetacurateError(
            f"the pool of {workdir} has {len(img_all)} rows but its side-cars "
            f"{len(index.row_to_index)}; rerun 'metacurate match'"
        )
    save_npy(img_path, img_all)
    save_npy(txt_path, txt_all)
    return img_all, txt_all


def selected_rows(
    index: UidIndex,
    image_hash: np.ndarray,
    text_hash: np.ndarray,
    seed: int,
    epoch: int,
    available: np.ndarray | None = None,
) -> np.ndarray:
    """Per side-car row: is it the text of its image that competes at ``epoch`` (among the
    ``available`` rows when given)?"""
    n = len(index.row_to_index)
    matched = index.set_sizes()[index.row_to_index] > 0
    if available is not None:
        matched &= available
    matched = np.flatnonzero(matched)
    file = np.repeat(np.arange(len(index.file_rows)), index.file_rows)
    start = np.concatenate(([0], np.cumsum(index.file_rows)[:-1]))
    row = np.arange(n) - start[file]
    uh = index.uid_hash[index.row_to_index[matched]]
    score = pick_scores(uh, text_hash[matched], seed, epoch)
    chosen = choose_one_per_image(image_hash[matched], score, file[matched], row[matched])
    selected = np.zeros(n, bool)
    selected[matched[chosen]] = True
    return selected
