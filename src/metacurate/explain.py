"""``explain``: why one caption is (or is not) in the curated set.

For a text it shows ``spacing(text)``, the matched entries and, against a run's output folder,
each entry's count and ``p_e`` (read from ``curated_entry_counts.parquet``), the keep
probability ``1 - prod(1 - p_e)`` and, for a given ``uid``, the decision the balance stage
wrote for that row (its decisions side-car: per-image choice included), so the answer is what
is on disk. Each entry's ``u`` is shown to say why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate import balance
from metacurate.balance.decisions import decision_at, find_uid
from metacurate.errors import MetacurateError
from metacurate.files import read_json, read_parquet
from metacurate.kernel import native_available
from metacurate.match import spacing
from metacurate.match.index_cache import cache_root, index_folder
from metacurate.match.matcher import Matcher
from metacurate.metadata import Metadata, load_metadata, resolve_metadata
from metacurate.pool.uid import uid_hash
from metacurate.storage import AnyPath, location
from metacurate.workdir import Workdir, match_folder


class Explainer:
    """A matcher plus, with a workdir, the run's counts, ``p_e``, ``t`` and seed.

    Build once and call :meth:`explain` per text (the matcher is the costly part).
    """

    def __init__(
        self,
        metadata: str | Path | None = None,
        workdir: str | Path | None = None,
        seed: int | None = None,
        lang: str | None = None,
    ) -> None:
        self.workdir = location(workdir) if workdir is not None else None  # local or s3://
        self.lang = lang
        self.by_lang = None  # a metaclip2 run: the per-language side (explain_lang)
        self.manifest: dict | None = None
        self.counts: np.ndarray | None = None
        self.p: np.ndarray | None = None
        self.counts_curated: np.ndarray | None = None
        self.t: float | None = None
        mode = "metaclip1"
        if self.workdir is not None:
            meta, mode = self._load_workdir(self.workdir)
            if metadata is not None:
                given = resolve_metadata(metadata)
                if given.hash != meta.hash:
                    raise MetacurateError(
                        f"--metadata {metadata} (hash {given.short_hash}) is not the metadata of "
                        f"{self.workdir} (hash {meta.short_hash}); drop --metadata"
                    )
        else:
            meta = resolve_metadata(metadata)
        self.metadata: Metadata = meta
        self.mode = mode
        run_seed = int(self.manifest["seed"]) if self.manifest else None
        self.seed = int(seed) if seed is not None else run_seed
        if self.by_lang is not None:
            if lang is not None:
                self.by_lang.check(lang)
            self.matcher = None  # each language's own, on first use
        else:
            if lang is not None:
                raise MetacurateError("--lang needs --workdir OUT of a metaclip2 run")
            self.matcher = self._matcher(meta, mode)

    def _load_workdir(self, root: AnyPath) -> tuple[Metadata, str]:
        if (root / "manifest.json").exists():
            self.manifest = read_json(root / "manifest.json")
        wd = Workdir(match_folder(root, self.manifest))  # 'balance WORKDIR --out OTHER'
        if not wd.metadata.exists():
            raise MetacurateError(
                f"{root}: no metadata.json; pass the --out folder of 'metacurate curate' or "
                "'metacurate balance'"
            )
        stats = read_json(wd.stats) if wd.stats.exists() else {}
        if "worldwide" in stats:  # duplicates across languages are by design
            from metacurate.metadata.worldwide import load_run_wide

            meta = load_run_wide(wd.metadata)
        else:
            meta = load_metadata(wd.metadata)
        info = (self.manifest or stats).get("metadata") or {}
        if info.get("hash") not in (None, meta.hash):
            raise MetacurateError(f"{wd.metadata} does not belong to the run in {root}; rerun it")
        if info.get("name"):  # the name the run knew it by, not "metadata.json"
            meta = Metadata(meta.entries, name=info["name"], hash=meta.hash)
        if "worldwide" in stats:
            from metacurate.explain_lang import LanguageExplainer

            self.by_lang = LanguageExplainer(meta, stats, self.manifest)
            self.match_root = wd.root
        curated = root / "curated_entry_counts.parquet"
        if self.manifest and curated.exists():
            table = read_parquet(curated, columns=["count", "p", "count_curated"])
            self.p = table.column("p").to_numpy()
            self.counts_curated = table.column("count_curated").to_numpy()
        elif wd.entry_counts.exists() and not self.manifest:
            table = read_parquet(wd.entry_counts, columns=["count"])
        else:
            raise MetacurateError(f"{root}: no entry counts; the match stage did not finish")
        self.counts = table.column("count").to_numpy().astype(np.int64)
        if len(self.counts) != len(meta):
            raise MetacurateError(f"{root}: entry counts and metadata.json differ in length")
        if self.manifest:
            self.t = float(self.manifest["t"])
            if self.p is None:
                raise MetacurateError(
                    f"{root}: manifest.json but no curated_entry_counts.parquet; rerun balance"
                )
        return meta, (self.manifest or stats).get("mode", "metaclip1")

    def _matcher(self, meta: Metadata, mode: str) -> Matcher:
        """The cached index when it is there and sound (checksums), else one built in memory
        (explain never writes)."""
        if native_available():
            d = index_folder(cache_root(), meta.hash, mode)
            try:  # checked in full (sha256, structure) by Matcher.load
                return Matcher.load(d, meta, mode=mode)
            except (MetacurateError, OSError, ValueError, EOFError):
                pass
        return Matcher(meta, mode=mode)

    def explain(self, text: str, uid: str | None = None) -> dict:
        """Everything about ``text`` (and the row ``uid``): a JSON-ready dict."""
        lang = None
        if self.by_lang is not None:
            lang, lang_from, hits = self._language(text, uid)
            ids = self.by_lang.match(text, lang)
        else:
            ids = self.matcher.match(text)
        out: dict = {
            "text": text,
            "spaced": spacing(text),
            "mode": self.mode,
            "metadata": {
                "name": self.metadata.name,
                "hash": self.metadata.hash,
                "entries": len(self.metadata),
            },
            "workdir": str(self.workdir) if self.workdir is not None else None,
            "t": self.t,
            "matches": [{"entry_id": i, "entry": self.metadata[i]} for i in ids],
        }
        if lang is not None:
            out.update(lang=lang, lang_from=lang_from, t=self.by_lang.t(lang))
            for m in out["matches"]:
                m["entry_id_in_lang"] = m["entry_id"] - self.by_lang.layout.offset(lang)
        if self.counts is not None:
            for m in out["matches"]:
                m["count"] = int(self.counts[m["entry_id"]])
        if self.p is None:
            if uid is not None:
                raise MetacurateError(
                    "a keep decision needs a balanced run: pass --workdir OUT of "
                    "'metacurate curate' (or 'balance'), which holds manifest.json"
                )
            return out
        id_array = pa.array([ids], type=pa.list_(pa.int32()))
        for m in out["matches"]:
            m["p"] = float(self.p[m["entry_id"]])
            if self.counts_curated is not None:
                m["count_curated"] = int(self.counts_curated[m["entry_id"]])
        out["keep_prob"] = float(balance.keep_prob(id_array, self.p)[0])
        if uid is None:
            return out
        seed = self.seed if self.seed is not None else 0
        h = uid_hash(pa.array([uid], type=pa.string()))
        u = balance.uniform(seed, h[0], np.asarray(ids, np.int64)) if ids else np.zeros(0)
        for m, ui in zip(out["matches"], u, strict=True):
            m["u"] = float(ui)
            m["hit"] = bool(ui < m["p"])
        out["uid"] = uid
        out["uid_hash"] = int(h[0])
        out["seed"] = seed
        decision = self._decision_on_disk(uid, ids)
        if "row_entry_ids" in decision and "keep_prob" in decision:  # keep_prob stays the text's
            decision["row_keep_prob"] = decision.pop("keep_prob")
        out.update(decision)
        if out["in_pool"] is False:  # not a row of this run: what the rule would decide
            out["kept"] = bool(balance.keep_mask(id_array, h, self.p, seed)[0])
        return out

    def _language(self, text: str, uid: str | None) -> tuple[str, str, list]:
        """A metaclip2 run: the language ``text`` is matched in, how it was found, and the
        side-car rows of ``uid``."""
        assert self.by_lang is not None
        hits = self._hits(uid) if uid is not None and self.manifest is not None else []
        if hits:
            task_id, row, _ = hits[0]
            lang = self.by_lang.language_of_row(self._match_root(), task_id, row)
            return lang or "other", f"the side-car of uid {uid!r} ({task_id}, row {row})", hits
        if self.lang is not None:
            return self.lang, "--lang", hits
        lang, how = self.by_lang.identify(text)
        return lang, how, hits

    def _match_root(self) -> Path:
        assert self.workdir is not None and self.manifest is not None
        return match_folder(self.workdir, self.manifest)

    def _hits(self, uid: str) -> list[tuple[str, int, list[int]]]:
        assert self.manifest is not None
        task_ids = [self._task_id(i) for i in self.manifest["inputs"]]
        return find_uid(self._match_root(), task_ids, uid)

    def _decision_on_disk(self, uid: str, ids: list[int]) -> dict:
        """The balance stage's decision for the row with this uid (and these matches, if the
        uid is shared by several texts)."""
        assert self.workdir is not None and self.manifest is not None
        hits = self._hits(uid)
        if not hits:
            return {"in_pool": False}
        task_id, row, row_ids = next((h for h in hits if h[2] == ids), hits[0])
        decision = decision_at(self.workdir, task_id, row)
        if decision is None:
            raise MetacurateError(
                f"{self.workdir}: no decisions side-car for {task_id}; rerun 'metacurate balance'"
            )
        out = {"in_pool": True, "task_id": task_id, "row": row, **decision}
        if list(row_ids) != list(ids):  # the text given is not that row's caption
            out["row_entry_ids"] = [int(i) for i in row_ids]
        return out

    @staticmethod
    def _task_id(inp: dict) -> str:
        from metacurate.workdir import task_id_for

        rg = inp.get("row_groups")
        return task_id_for(inp["path"], tuple(rg) if rg else None)


def explain(
    text: str,
    metadata: str | Path | None = None,
    workdir: str | Path | None = None,
    uid: str | None = None,
    seed: int | None = None,
    lang: str | None = None,
) -> dict:
    """One-shot :meth:`Explainer.explain` (builds the matcher; reuse an Explainer for many)."""
    return Explainer(metadata=metadata, workdir=workdir, seed=seed, lang=lang).explain(text, uid)


def format_explanation(r: dict) -> str:
    """The human-readable form of :meth:`Explainer.explain`'s result."""
    meta = r["metadata"]
    lines = [
        f"text:      {r['text']!r}",
        f"spaced:    {r['spaced']!r}",
        f"metadata:  {meta['name']} ({meta['entries']:,} entries, hash {meta['hash'][:12]}), "
        f"mode {r['mode']}",
        f"matches:   {len(r['matches'])}",
    ]
    if r.get("lang") is not None:
        lines.insert(3, f"language:  {r['lang']} (from {r['lang_from']}; matched in its list only)")
    if r["matches"]:
        cols = [("entry_id", "entry_id", "{}"), ("entry", "entry", "{!r}")]
        for key, title, fmt in (
            ("count", "count", "{:,}"),
            ("p", "p_e", "{:.6g}"),
            ("count_curated", "curated", "{:,}"),
            ("u", "u", "{:.6f}"),
            ("hit", "u < p_e", "{}"),
        ):
            if key in r["matches"][0]:
                cols.append((key, title, fmt))
        table = [[title for _, title, _ in cols]]
        table += [[fmt.format(m[key]) for key, _, fmt in cols] for m in r["matches"]]
        widths = [max(len(row[j]) for row in table) for j in range(len(cols))]
        for row in table:
            lines.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
    if "keep_prob" in r:
        lines.append(
            f"keep_prob: {r['keep_prob']:.6g}  (1 - prod(1 - p_e); t = {r['t']:.6g}, "
            f"run {r['workdir']})"
        )
    elif r["workdir"] is None:
        lines.append("(pass --workdir OUT for counts, p_e and the keep probability)")
    if "kept" in r:
        why = ""
        if r["kept"]:
            first = next(m for m in r["matches"] if m["hit"])
            why = f": entry {first['entry']!r} has u {first['u']:.6f} < p_e {first['p']:.6g}"
        elif r["matches"]:
            why = ": no matched entry has u < p_e"
        else:
            why = ": no entry matched"
        if r.get("in_pool") is False:
            why += " (no row of this run has that uid: what the rule would decide)"
        elif "row_entry_ids" in r:  # the row's own matches decided, not this text's
            why = (
                f": decided by the row's own caption, which matches entries "
                f"{r['row_entry_ids'][:8]} (keep_prob {r.get('row_keep_prob', 0):.6g}), not "
                "this text's; u, p_e and keep_prob above are this text's (pass the row's "
                "caption to see why)"
            )
        elif r.get("selected") is False:
            why = ": another text of the same image was chosen (--image-column)"
        lines.append(
            f"decision:  uid {r['uid']!r} (uid_hash {r['uid_hash']:#018x}), seed {r['seed']}: "
            f"{'KEPT' if r['kept'] else 'DROPPED'}{why}"
        )
    return "\n".join(lines)
