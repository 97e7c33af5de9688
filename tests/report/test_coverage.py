"""``metacurate coverage``: class counts checked against a naive count, and the method's
claim (the curated set covers at least as many classes as random subsets of its size)."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.cli import main

MARKS = ",.;:?!`"


def _spaced(text: str) -> str:
    """MetaCLIP's spacing, written out again."""
    s = " " + text + " "
    for m in MARKS:
        s = s.replace(m, f" {m} ")
    return s.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _forms(name: str) -> list[str]:
    """A name's forms by the documented rule: lower case, singular and plural, spaced."""
    low = name.lower()
    out = [low]
    if low[-1].isalpha():
        if low[-1] in "sxz" or low[-2:] in ("ch", "sh"):
            out.append(low + "es")
        elif low[-1] == "y" and low[-2] not in "aeiou":
            out.append(low[:-1] + "ies")
        else:
            out.append(low + "s")
    return [_spaced(f) for f in out]  # " form " with the spacing's own edge spaces


def naive_counts(texts: list[str | None], classes: list[list[str]]) -> np.ndarray:
    """Per class, the captions holding one of its forms: per caption, each form whose first
    word is a word of the caption (which it must be to occur) is looked for as a substring."""
    by_word: dict[str, list[tuple[int, str]]] = {}
    for c, names in enumerate(classes):
        for n in names:
            for f in _forms(n):
                by_word.setdefault(f.split(" ")[1], []).append((c, f))
    counts = np.zeros(len(classes), np.int64)
    for text in texts:
        if not text:
            continue
        s = _spaced(text.lower())
        found = {c for w in set(s.split(" ")) for c, f in by_word.get(w, ()) if f in s}
        for c in found:
            counts[c] += 1
    return counts


def _imagenet() -> list[list[str]]:
    text = resources.files("metacurate").joinpath("data", "imagenet1k_classes.txt").read_text()
    return [[n] for n in text.splitlines() if n.strip()]


def test_counts_equal_a_naive_count(real_run, capsys):
    out, texts = real_run
    assert main(["coverage", str(out), "--json", "--draws", "4", "--k", "5"]) == 0
    result = json.loads(capsys.readouterr().out)
    classes = _imagenet()
    assert result["classes"]["count"] == len(classes) == 1000
    assert len(result["per_class"]) == 1000
    pool = np.array([r["pool"] for r in result["per_class"]])
    assert (pool == naive_counts(texts, classes)).all()
    # the curated set, read from the curated files themselves (not the decisions)
    cur_texts = []
    for f in sorted((out / "curated").glob("*.parquet")):
        t = pq.read_table(f)
        cur_texts += t.column("TEXT" if "TEXT" in t.column_names else "caption").to_pylist()
    assert len(cur_texts) == result["rows"]["curated"]
    curated = np.array([r["curated"] for r in result["per_class"]])
    assert (curated == naive_counts(cur_texts, classes)).all()
    cov = result["covered"]
    assert cov["pool"] == {
        "at_least_1": int((pool >= 1).sum()),
        "at_least_k": int((pool >= 5).sum()),
    }
    assert cov["curated"]["at_least_1"] == int((curated >= 1).sum())
    assert cov["curated"]["at_least_k"] == int((curated >= 5).sum())
    rand = cov["random"]["at_least_1"]
    assert len(rand["draws"]) == 4 and rand["mean"] == pytest.approx(np.mean(rand["draws"]))
    means = np.array([r["random_mean"] for r in result["per_class"]])
    assert (means <= pool).all()
    # a random subset of 60% of the rows holds about 60% of each class's captions
    assert means.sum() == pytest.approx(0.6 * pool.sum(), rel=0.05)
    assert (out / "coverage.json").exists()


def test_curated_covers_at_least_the_random_mean(real_run, capsys):
    """The method's claim on real alt-text: balancing keeps the rare classes' captions."""
    out, _ = real_run
    assert main(["coverage", str(out), "--json"]) == 0
    cov = json.loads(capsys.readouterr().out)["covered"]
    assert cov["curated"]["at_least_1"] >= cov["random"]["at_least_1"]["mean"]
    assert cov["curated"]["at_least_1"] <= cov["pool"]["at_least_1"]


def test_user_list_rule(tmp_path, capsys):
    """Case, plural, synonyms and the spacing rule on a user's class file."""
    captions = [
        "Two Hot Dogs, please",  # hot dog (plural, case)
        "a hotdog",  # not hot dog: no space
        "hot-dog stand",  # not: '-' is not a separator
        "Puppies!",  # puppy: y -> ies
        "one pup and a puppy",  # puppy once (two synonyms)
        "St. Bernard at the door",  # St. Bernard, spaced like the caption
        "foxes and boxes",  # fox: +es
        "glasses",  # glass: +es
    ]
    pool = tmp_path / "p.parquet"
    pq.write_table(pa.table({"text": captions}), pool)
    classes = tmp_path / "classes.txt"
    classes.write_text("# my classes\nhot dog\npuppy, pup\n\nSt. Bernard\nfox\nglass\ncat\n")
    out = tmp_path / "o"
    curate(str(pool), str(out), metadata=["a", "and", "at"], t=100.0, workers=1)
    assert main(["coverage", str(out), "--classes", str(classes), "--json", "--k", "1"]) == 0
    per = {r["class"]: r["pool"] for r in json.loads(capsys.readouterr().out)["per_class"]}
    assert per == {"hot dog": 1, "puppy": 2, "St. Bernard": 1, "fox": 1, "glass": 1, "cat": 0}
    assert list(per.values()) == list(
        naive_counts(
            captions, [["hot dog"], ["puppy", "pup"], ["St. Bernard"], ["fox"], ["glass"], ["cat"]]
        )
    )


def test_bad_options_and_files(tmp_path, capsys, real_run):
    out, _ = real_run
    assert main(["coverage", str(out), "--k", "0"]) == 2
    assert "--k" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("dog,,hound\n")
    assert main(["coverage", str(out), "--classes", str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert main(["coverage", str(out), "--classes", str(tmp_path / "missing.txt")]) == 2


def test_table_lists_every_class(real_run, capsys):
    out, _ = real_run
    assert main(["coverage", str(out), "--table"]) == 0
    printed = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith("class "))
    rows = printed[start + 1 : start + 1001]
    assert len(rows) == 1000 and not printed[start + 1001].startswith(" ")
    assert sum(1 for r in rows if r.split()[-3] == "0") > 0  # classes without captions too
