"""Small hand-made inputs for the metadata tests: a fake WordNet and count/pageview files."""

from __future__ import annotations

import gzip
from pathlib import Path

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"

# (file, first lemma as written in the data file, other lemmas); the entry each one gives is in
# EXPECTED below. Offsets are made up but increasing, as in the real files.
SYNSETS = {
    "adj": [
        ("a", "able", []),
        ("s", "Long(a)", ["long"]),  # marker removed, lower-cased; satellite
        ("a", "elect(ip)", []),
        ("s", "able", []),  # same name again: dropped as a duplicate
    ],
    "adv": [("r", "A.D.", ["AD"])],  # cut at the first "." -> "a"
    "noun": [
        ("n", "hot_dog", ["frank"]),
        ("n", ".22_caliber", []),  # cut at "." -> "": dropped
        ("n", "Dog", ["domestic_dog"]),  # -> "dog"
        ("n", "dog", []),  # duplicate of the previous name
    ],
    "verb": [("v", "run", []), ("v", "Hot_Dog", [])],  # -> "hot dog", a duplicate
}

#: Names in NLTK's all_synsets() order (adj, adv, noun, verb), duplicates and "" included.
ALL_NAMES = ["able", "long", "elect", "able", "a", "hot dog", "", "dog", "dog", "run", "hot dog"]
#: Distinct non-empty names, first appearance.
EXPECTED = ["able", "long", "elect", "a", "hot dog", "dog", "run"]


def make_wordnet(root: Path) -> Path:
    """Write data.adj/adv/noun/verb with a licence header and a few synsets; return the folder."""
    root.mkdir(parents=True, exist_ok=True)
    for pos_file, synsets in SYNSETS.items():
        lines = [HEADER, "  2 Princeton University under the following license.  \n"]
        offset = 1000
        for ss_type, first, others in synsets:
            words = [first, *others]
            word_part = " ".join(f"{w} 0" for w in words)
            lines.append(
                f"{offset:08d} 00 {ss_type} {len(words):02x} {word_part} 000 | a gloss; "
                '"an example"  \n'
            )
            offset += 100
        (root / f"data.{pos_file}").write_text("".join(lines), encoding="utf-8")
    return root


def write(path: Path, text: str, gz: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path
