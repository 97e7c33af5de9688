"""Printed summaries of a run (match stats, balance manifest), shared by every command."""

from __future__ import annotations

import json


def print_stats(stats: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(stats, indent=1, sort_keys=True))
        return
    rows = stats["rows"] or 1
    print(f"rows:               {stats['rows']:,}")
    print(
        f"rows with no text:  {stats['rows_no_text']:,}  "
        f"(null {stats['rows_null']:,}, empty {stats['rows_empty']:,}, "
        f"invalid UTF-8 {stats['rows_invalid_utf8']:,})"
    )
    print(f"rows matched:       {stats['rows_matched']:,}  ({stats['rows_matched'] / rows:.1%})")
    print(f"total matches:      {stats['total_matches']:,}")
    print(f"entries hit:        {stats['entries_hit']:,} of {stats['metadata']['entries']:,}")
    if stats.get("dedup"):
        print_dedup(stats["dedup"])
    for bad in stats["bad_files"]:
        print(f"skipped bad file:   {bad['error']}")
    print_unknown_files(stats.get("skipped_files") or [])
    if stats.get("rows_duplicate_uid"):
        print(
            f"duplicate uids:     {stats['rows_duplicate_uid']:,} rows repeat the uid of an "
            "earlier row of their input file"
        )
    if stats.get("hint"):
        print(f"hint:               {stats['hint']}")
    print(f"seconds:            {stats['seconds']}")


def print_unknown_files(paths: list[str]) -> None:
    """One line for the files of the pool's folders that were not read (no known format)."""
    if paths:
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3:,} more" if len(paths) > 3 else "")
        print(
            f"not read:           {len(paths):,} files of no known format ({shown}); pass "
            "--format FORMAT to read them"
        )


def print_dedup(d: dict) -> None:
    """--dedup: how many copies of a uid were removed before counting."""
    print(
        f"dedup:              {d['rows_removed']:,} duplicate rows removed, "
        f"{d['rows_unique']:,} unique uids counted ({d['partitions']:,} partitions)"
    )


def manifest_hints(m: dict) -> list[str]:
    """What a careful user should hear about a balanced run: a ``t`` that balances nothing,
    a pool that matched almost nothing for want of spaces."""
    hints = []
    if m.get("pool_rows_matched") and m.get("tail_share", 0) >= 1.0 and m.get("t_from") == "t":
        hints.append(
            f"t = {m['t']:.6g} is above every entry's count, so nothing was balanced: every "
            "matched row is kept; 'metacurate plan WORK' shows t for a pool of this size"
        )
    if (m.get("match") or {}).get("hint"):
        hints.append(m["match"]["hint"])
    return hints


def print_manifest(m: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(m, indent=1, sort_keys=True))
        return
    extra = ""
    if m["t_from"] == "target_size":
        extra = f"  (chosen for --target-size {m['target_size']:,})"
    elif m["t_from"] == "tail_share":
        extra = "  (chosen for the tail share asked)"
    elif m["t_from"] == "t_en":
        extra = "  (English; every language has its own, below)"
    print(f"t:                  {m['t']:.6g}{extra}")
    print(f"tail share:         {m['tail_share']:.4f}")
    print(f"pool rows:          {m['pool_rows']:,}  (matched {m['pool_rows_matched']:,})")
    print(
        f"curated rows:       {m['curated_rows']:,}  (expected {m['expected_rows']:,.1f}; "
        f"sum_e min(count, t) = {m['sum_min_count_t']:,.1f})"
    )
    print(f"                    {m['expected_note']}")
    if m.get("dedup"):
        print_dedup(m["dedup"])
    for note in manifest_hints(m):
        print(f"hint:               {note}")
    if m.get("metadata_note"):
        print(f"metadata:           {m['metadata_note']}")
    print_unknown_files(m.get("skipped_files") or [])
    pool_dup, curated_dup = m.get("rows_duplicate_uid", 0), m.get("curated_duplicate_uids", 0)
    if pool_dup or curated_dup:
        print(
            f"duplicate uids:     {pool_dup:,} pool rows repeat the uid of an earlier row of "
            f"their file; {curated_dup:,} curated rows repeat a curated uid"
            + (" (uids.npy holds each once)" if m.get("uids_npy") else "")
        )
    for skipped in m.get("skipped_inputs", []):
        print(f"skipped input:      {skipped['error']} (retried by the next run)")
    _print_download(m)
    if m.get("languages"):
        why = ((m.get("worldwide_t") or {}).get("reference") or {}).get("why")
        if why:
            print(f"reference:          {why}")
        print_languages(m["languages"])


def _print_download(m: dict) -> None:
    """The download loop's part of a balance summary: what was available, or the plan."""
    a = m.get("available")
    if a is not None:
        tried = f" of {a['attempted']:,} tried" if a["attempted"] is not None else ""
        print(
            f"available:          {a['pool_rows_available']:,} pool rows ({a['succeeded']:,} "
            f"downloads{tried}, mapped by {a['mapped_by']}); counts re-made over them"
        )
    plan = m.get("download_plan")
    if plan is not None:
        print("download plan:")
        print(f"  success rate      {plan['success_rate']:.3f}")
        print(f"  t after download  {plan['t_final']:.6g}")
        print(f"  t to download     {plan['t_download']:.6g}  (= t / success rate)")
        print(f"  rows to download  {plan['rows_to_download']:,}")
        print(f"  expected arrive   {plan['expected_available']:,.0f}")
        print(f"  expected final    {plan['expected_final']:,.0f}  (after re-balancing)")
        print(f"  download with:    {plan['img2dataset']}")
        print(f"  then:             {plan['then']}")


def print_languages(rows: list[dict]) -> None:
    """metaclip2 modes: one line per language with pool rows."""
    print(f"{'lang':<8}{'pool rows':>11}{'matched':>10}{'t':>10}{'tail share':>12}{'curated':>10}")
    for r in sorted(rows, key=lambda r: (r["lang"] == "other", -r["pool_rows"], r["lang"])):
        if not r["pool_rows"]:
            continue
        t = "-" if r["t"] is None else f"{r['t']:.6g}"
        share = "-" if r["tail_share"] is None else f"{r['tail_share']:.4f}"
        print(
            f"{r['lang']:<8}{r['pool_rows']:>11,}{r['pool_rows_matched']:>10,}{t:>10}"
            f"{share:>12}{r['curated_rows']:>10,}"
        )
