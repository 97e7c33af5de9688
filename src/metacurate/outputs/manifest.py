"""``manifest.json``: what a balanced run made and from what, written last by the balance
stage (docs/formats.md). It records the whole run config."""

from __future__ import annotations

import math

import numpy as np

from metacurate._version import __version__
from metacurate.config import RunConfig
from metacurate.metadata.default import BUILTIN_NOTE, is_builtin
from metacurate.pool.uid import UID_VERSION
from metacurate.storage import AnyPath
from metacurate.workdir import FORMAT_VERSION, Workdir


def uid_source(columns: dict | None) -> str | None:
    """How the uid of an input's rows was made: its column, or the hash of url and text."""
    if not columns:
        return None
    if columns.get("uid"):
        return f"column {columns['uid']!r}"
    return f"hash of url ({columns.get('url')!r}) and text ({columns['text']!r})"


def build_manifest(
    config: RunConfig,
    stats: dict,
    counts: np.ndarray,
    t: float,
    how: dict,
    records: list[dict],
    inputs: list[dict],
    curated_files: list[AnyPath],
    uids: tuple[bool, int],
    numbers: dict,
) -> dict:
    """The manifest of a balance run over the match ``stats`` (``seconds`` added by the
    caller); ``numbers`` are the balance stage's own (hash version, tail share, ...)."""
    cfg = config.balance
    assert cfg is not None
    return {
        "format_version": FORMAT_VERSION,
        "metacurate_version": __version__,
        "hash_version": numbers["hash_version"],
        "uid_version": UID_VERSION,
        "command": config.command,
        "config": config.to_dict(),
        "workdir": str(Workdir(config.workdir, config.engine.s3_endpoint).root),
        "metadata": stats["metadata"],
        "metadata_note": BUILTIN_NOTE if is_builtin(stats["metadata"]["hash"]) else None,
        "mode": stats["mode"],
        "matcher": stats.get("matcher"),
        "t": t,
        **how,
        "seed": cfg.seed,
        "epoch": cfg.epoch,
        "image_column": cfg.image_column,
        "tail_share": numbers["tail_share"],
        "pool_rows": stats["rows"],
        "pool_rows_matched": stats["rows_matched"],
        "curated_rows": sum(r["curated_rows"] for r in records),
        "expected_rows": math.fsum(r["expected_rows"] for r in records),
        "sum_min_count_t": numbers["sum_min_count_t"],
        "expected_note": numbers["expected_note"],
        "uids_npy": uids[0],
        "curated_duplicate_uids": uids[1],
        "rows_duplicate_uid": stats.get("rows_duplicate_uid", 0),
        **({"dedup": stats["dedup"]} if "dedup" in stats else {}),
        "inputs": [
            {
                "path": i["path"],
                "format": i["format"],
                "row_groups": i.get("row_groups"),
                "fingerprint": i["fingerprint"],
                "rows": i["rows"],
                "uid_from": uid_source(i.get("columns")),
                "curated": f"curated/{i['task_id']}.parquet" if f.exists() else None,
            }
            for i, f in zip(inputs, curated_files, strict=True)
        ],
        "skipped_inputs": [i for i in stats["inputs"] if i["error"] is not None],
        "skipped_files": stats.get("skipped_files", []),
        **(language_table(stats, how, records) if "worldwide" in stats else {}),
    }


def language_table(stats: dict, how: dict, records: list[dict]) -> dict:
    """metaclip2 modes: ``t_lang`` / ``tail_share_lang`` (mappings keyed by language code) and
    one row per language: pool rows, matched rows, entries, t, tail share, curated, expected."""
    wt = how["worldwide_t"]
    kept: dict[str, list[float]] = {}
    for r in records:
        for lang, (rows, k, e) in (r.get("lang_rows") or {}).items():
            a = kept.setdefault(lang, [0, 0, 0.0])
            a[0], a[1], a[2] = a[0] + rows, a[1] + k, a[2] + e
    sizes = {x["lang"]: x["entries"] for x in stats["worldwide"]["languages"]}
    langs = sorted(set(sizes) | set(stats.get("languages", {})))
    rows = []
    for lang in langs:
        s = stats.get("languages", {}).get(lang, {})
        rows.append(
            {
                "lang": lang,
                "entries": sizes.get(lang, 0),
                "pool_rows": s.get("rows", 0),
                "pool_rows_matched": s.get("rows_matched", 0),
                "t": wt["t"].get(lang),
                "tail_share": wt["tail_share"].get(lang),
                "curated_rows": kept.get(lang, [0, 0, 0.0])[1],
                "expected_rows": kept.get(lang, [0, 0, 0.0])[2],
            }
        )
    return {
        "t_lang": wt["t"],
        "tail_share_lang": wt["tail_share"],
        "languages": rows,
        "language_source": stats.get("language_source"),
    }
