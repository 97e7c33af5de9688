"""Every command block of README.md runs as written, in order, in one temporary folder.

The folder holds what the README's examples name: ``laion/*.parquet`` and ``cc3m.tsv`` (the
shared real samples when ``METACURATE_SHARED`` has them, else generated stand-ins), ``pool/``
and ``metadata.json`` (a copy of the built-in list, standing in for MetaCLIP's). The test
command block (after the ``test-command`` marker) is what CI itself runs, so it is left out;
a leading ``pip install ... &&`` is what the test environment already did, so it is dropped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata
from tests.conftest import REPO, shared_dir

BLOCK = re.compile(r"(<!-- test-command -->\s*)?```(bash|python)\n(.*?)```", re.S)


def readme_blocks() -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced bash/python block except the test command."""
    text = (REPO / "README.md").read_text()
    return [(m[2], m[3]) for m in BLOCK.finditer(text) if not m[1]]


def _stand_ins(d: Path) -> None:
    metadata = load_default_metadata()
    shared = shared_dir()
    (d / "laion").mkdir()
    laion = shared and shared / "data/captions/laion_sample_10k.parquet"
    if laion and laion.exists():
        (d / "laion/part-00000.parquet").symlink_to(laion)
    else:
        make_sample(d / "laion/part-00000.parquet", metadata, rows=3000)
    cc3m = shared and shared / "data/captions/cc3m_validation.tsv"
    if cc3m and cc3m.exists():
        (d / "cc3m.tsv").symlink_to(cc3m)
    else:
        t = pq.read_table(make_sample(d / "cc3m.parquet", metadata, rows=2000))
        rows = zip(t.column("text").to_pylist(), t.column("url").to_pylist(), strict=True)
        (d / "cc3m.tsv").write_text("".join(f"{c or ''}\t{u}\n" for c, u in rows))
        (d / "cc3m.parquet").unlink()
    (d / "pool").mkdir()
    make_sample(d / "pool/part-0.parquet", metadata, rows=2000, seed=1)
    (d / "metadata.json").write_text(json.dumps(list(metadata.entries)))


def _runnable(code: str) -> str:
    return re.sub(r"^pip install [^\n]*?&&\s*", "", code, flags=re.M)


def test_readme_has_blocks():
    langs = [lang for lang, _ in readme_blocks()]
    assert "bash" in langs and "python" in langs


@pytest.mark.slow
def test_every_readme_block_runs(tmp_path):
    _stand_ins(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for lang, code in readme_blocks():
        code = _runnable(code)
        if lang == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", code]
        else:
            cmd = [sys.executable, "-c", code]
        r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"README block failed:\n{code}\n--- stderr:\n{r.stderr[-3000:]}"
