"""``metacurate coverage``: how many of a list's classes (ImageNet-1k's 1,000, or a user's)
have captions in the pool, in the curated set, and in uniform random subsets of the curated
set's size.

Matching rule (docs/coverage.md): a class matches a caption when one of its names, or the
name's plural, occurs in the lower-cased caption by MetaCLIP's substring rule, with the name
put through the same ``spacing`` as the caption. So case is ignored; ``"goldfish"`` matches
``"Goldfish"`` and ``"goldfishes"``; ``"hot dog"`` matches ``"hot dog,"`` but not
``"hot-dog"`` or ``"hotdog"``; ``"St. Bernard"`` matches ``"st. bernard"``. The plural is
made on the last word: ``+es`` after s, x, z, ch, sh; ``y -> ies`` after a consonant; else
``+s``; none when the name ends in a non-letter. A caption counts once per class however many
of its names it holds.

The captions are read back from the pool files, the keep decisions from the balance stage's
decisions side-cars: one pass over the pool, matched against the class names only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.balance.decisions import read_decisions
from metacurate.errors import MetacurateError
from metacurate.files import read_json
from metacurate.match import Matcher, spacing
from metacurate.metadata import Metadata
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.report.coverage_config import CLASS_LISTS, CoverageConfig
from metacurate.report.stats import Run
from metacurate.workdir import Workdir

#: Where each shipped class list comes from (data/NOTICE.txt has the licence).
CLASS_LIST_SOURCES = {
    "imagenet1k": "ImageNet-1k class names as used for CLIP zero-shot evaluation "
    "(open_clip's IMAGENET_CLASSNAMES, MIT licence)",
}


@dataclass(frozen=True)
class ClassList:
    """Classes, each a label (its first name) and its names (synonyms)."""

    name: str
    source: str
    names: tuple[tuple[str, ...], ...]

    @property
    def labels(self) -> list[str]:
        return [n[0] for n in self.names]


def parse_classes(text: str, where: str) -> tuple[tuple[str, ...], ...]:
    """One class a line, its names separated by commas; blank lines and ``#`` lines skipped."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        names = tuple(n.strip() for n in line.split(","))
        if not all(names):
            raise MetacurateError(
                f"{where}, line {lineno}: an empty class name in {line!r}; write one class a "
                "line, synonyms separated by single commas"
            )
        out.append(names)
    if not out:
        raise MetacurateError(f"{where}: no classes; write one class a line")
    return tuple(out)


def load_classes(spec: str) -> ClassList:
    """A shipped list by name (:data:`.coverage_config.CLASS_LISTS`) or a text file."""
    if spec in CLASS_LISTS and not Path(spec).exists():
        data = resources.files("metacurate").joinpath("data", f"{spec}_classes.txt")
        names = parse_classes(data.read_text(encoding="utf-8"), spec)
        return ClassList(spec, CLASS_LIST_SOURCES[spec], names)
    path = Path(spec)
    if not path.is_file():
        raise MetacurateError(
            f"{spec}: no such class list; pass one of {', '.join(CLASS_LISTS)} or a text file "
            "with one class a line"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MetacurateError(
            f"{spec}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return ClassList(path.name, str(path), parse_classes(text, spec))


def plural(name: str) -> str | None:
    """The plural of a (lower-case) name's last word, by the rule of the module docstring."""
    if not name or not name[-1].isalpha():
        return None
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def name_forms(name: str) -> list[str]:
    """The strings a name is matched as: lower-cased, singular and plural, spaced as captions
    are (``spacing`` without its outer spaces)."""
    low = name.lower()
    forms = [low] + [p for p in [plural(low)] if p is not None]
    return [spacing(f)[1:-1] for f in forms]


class ClassMatcher:
    """Matches lower-cased captions against every form of every class name."""

    def __init__(self, classes: ClassList) -> None:
        forms: dict[str, set[int]] = {}
        for c, names in enumerate(classes.names):
            for n in names:
                for f in name_forms(n):
                    forms.setdefault(f, set()).add(c)
        self.forms = list(forms)
        owners = [sorted(forms[f]) for f in self.forms]
        self.offsets = np.cumsum([0] + [len(o) for o in owners])
        self.owner = np.array([c for o in owners for c in o], np.int64)
        with warnings.catch_warnings():  # edge spaces of spaced forms ("mr . ") are meant
            warnings.simplefilter("ignore")
            self.matcher = Matcher(Metadata.from_list(self.forms, name="class names"))

    def pairs(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """``(row, class)`` pairs, one per caption and class matched (rows of ``texts``)."""
        ids = self.matcher.match_batch(_lower(texts))
        flat = pc.list_flatten(ids).to_numpy(zero_copy_only=False).astype(np.int64)
        parent = pc.list_parent_indices(ids).to_numpy(zero_copy_only=False).astype(np.int64)
        n_own = np.diff(self.offsets)[flat]
        rows = np.repeat(parent, n_own)
        starts = np.repeat(self.offsets[flat], n_own)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(n_own) - n_own, n_own)
        classes = self.owner[starts + within]
        if not len(rows):
            return rows, classes
        key = np.unique(rows * (int(self.owner.max()) + 1) + classes)  # once per row and class
        return key // (int(self.owner.max()) + 1), key % (int(self.owner.max()) + 1)


def _lower(texts: pa.Array) -> pa.Array:
    """Captions lower-cased; a value that is not valid UTF-8 becomes null (it matches nothing)."""
    if pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type):
        return pc.utf8_lower(texts)
    try:
        return pc.utf8_lower(texts.cast(pa.string()))
    except pa.ArrowInvalid:
        values = []
        for b in texts.to_pylist():
            try:
                values.append(None if b is None else b.decode("utf-8").lower())
            except UnicodeDecodeError:
                values.append(None)
        return pa.array(values, pa.string())


def _task_rows(run: Run, inp: dict) -> tuple[pa.ChunkedArray, np.ndarray]:
    """The captions of one input and its rows' keep decisions."""
    decisions = read_decisions(run.root, inp["task_id"])
    if decisions is None:
        raise MetacurateError(
            f"{run.root}: no keep decisions for {inp['path']}; run 'metacurate balance' (or "
            "curate) into this folder first"
        )
    column = read_json(Workdir(run.match_root).done(inp["task_id"]))["columns"]["text"]
    mc = run.stats.get("match_config") or {}
    read = ReadOptions(
        csv_columns=tuple(mc["csv_columns"]) if mc.get("csv_columns") else None,
        s3_endpoint=run.s3_endpoint,
    )
    batches = [b.column(0) for b in read_batches(Source.from_dict(inp), read, [column])]
    texts = pa.chunked_array(batches) if batches else pa.chunked_array([], pa.string())
    kept = decisions.column("kept").to_numpy(zero_copy_only=False).astype(bool)
    if len(texts) != len(kept):
        raise MetacurateError(
            f"{inp['path']}: {len(texts):,} rows now but {len(kept):,} decisions; the file "
            "changed since the run: run curate again"
        )
    return texts, kept


def class_pairs(run: Run, classes: ClassList) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Over every pool row (inputs in order): the row count, each row's keep decision and the
    ``(row, class)`` pairs."""
    if run.manifest is None:
        raise MetacurateError(f"{run.root}: not balanced yet; run 'metacurate balance' first")
    cm = ClassMatcher(classes)
    rows_out, classes_out, kept_out = [], [], []
    n = 0
    for inp, _ in run.sidecars:
        texts, kept = _task_rows(run, inp)
        start = 0
        for chunk in texts.chunks:
            r, c = cm.pairs(chunk)
            rows_out.append(r + n + start)
            classes_out.append(c)
            start += len(chunk)
        kept_out.append(kept)
        n += len(kept)
    cat = np.concatenate
    empty = np.zeros(0, np.int64)
    return (
        n,
        cat(kept_out) if kept_out else np.zeros(0, bool),
        cat(rows_out) if rows_out else empty,
        cat(classes_out) if classes_out else empty,
    )


def _covered(counts: np.ndarray, k: int) -> dict:
    return {"at_least_1": int((counts >= 1).sum()), "at_least_k": int((counts >= k).sum())}


def _spread(values: list[int]) -> dict:
    a = np.asarray(values, np.float64)
    return {
        "mean": float(a.mean()),
        "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "min": int(a.min()),
        "max": int(a.max()),
        "draws": [int(v) for v in values],
    }


def coverage(run: Run, cfg: CoverageConfig) -> dict:
    """Classes covered in the pool, the curated set and ``cfg.draws`` uniform random subsets
    of the pool with as many rows as the curated set (seeded), and the per-class counts."""
    cfg.check()
    classes = load_classes(cfg.classes)
    n, kept, rows, cls = class_pairs(run, classes)
    nc = len(classes.names)
    pool = np.bincount(cls, minlength=nc)
    curated = np.bincount(cls[kept[rows]], minlength=nc) if len(rows) else np.zeros(nc, int)
    m = int(kept.sum())
    rng = np.random.default_rng(cfg.seed)
    draws = []
    for _ in range(cfg.draws):
        mask = np.zeros(n, bool)
        mask[rng.choice(n, size=m, replace=False)] = True
        draws.append(np.bincount(cls[mask[rows]], minlength=nc) if len(rows) else pool * 0)
    rand = np.stack(draws)
    k = cfg.k
    return {
        "classes": {"list": classes.name, "source": classes.source, "count": nc},
        "rule": "lower-cased names and their plurals, MetaCLIP substring rule (docs/coverage.md)",
        "k": k,
        "draws": cfg.draws,
        "seed": cfg.seed,
        "rows": {"pool": n, "curated": m},
        "covered": {
            "pool": _covered(pool, k),
            "curated": _covered(curated, k),
            "random": {
                "at_least_1": _spread([int((d >= 1).sum()) for d in rand]),
                "at_least_k": _spread([int((d >= k).sum()) for d in rand]),
            },
        },
        "per_class": [
            {
                "class": names[0],
                "names": list(names),
                "pool": int(pool[i]),
                "curated": int(curated[i]),
                "random_mean": float(rand[:, i].mean()),
                "random_sd": float(rand[:, i].std(ddof=1)) if cfg.draws > 1 else 0.0,
                "random_covered": float((rand[:, i] >= 1).mean()),  # share of draws with >= 1
            }
            for i, names in enumerate(classes.names)
        ],
    }


def coverage_lines(result: dict, table: bool = False) -> list[str]:
    """The result in a few lines (and, with ``table``, one line per class of the list, most
    captions in the pool first)."""
    c, r, k = result["covered"], result["rows"], result["k"]
    ra = c["random"]
    share = r["curated"] / r["pool"] if r["pool"] else 0.0
    lines = [
        f"classes: {result['classes']['list']} ({result['classes']['count']:,}; "
        f"{result['classes']['source']})",
        f"rows: pool {r['pool']:,}, curated {r['curated']:,} ({share:.1%}); random: "
        f"{result['draws']} uniform subsets of {r['curated']:,} rows (seed {result['seed']})",
        f"{'classes with':<22}{'>= 1 caption':>16}{f'>= {k} captions':>18}",
        f"{'pool':<22}{c['pool']['at_least_1']:>16,}{c['pool']['at_least_k']:>18,}",
        f"{'curated':<22}{c['curated']['at_least_1']:>16,}{c['curated']['at_least_k']:>18,}",
        f"{'random (mean ± sd)':<22}{_pm(ra['at_least_1']):>16}{_pm(ra['at_least_k']):>18}",
    ]
    if table:
        lines.append(f"{'class':<32}{'pool':>8}{'curated':>9}{'random':>9}")
        for row in sorted(result["per_class"], key=lambda x: (-x["pool"], x["class"])):
            lines.append(
                f"{row['class'][:31]:<32}{row['pool']:>8,}{row['curated']:>9,}"
                f"{row['random_mean']:>9.1f}"
            )
    return lines


def _pm(s: dict) -> str:
    return f"{s['mean']:.1f} ± {s['sd']:.1f}"
