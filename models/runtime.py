"""The grocery classifier on the cart: a LiteRT int8 model, numpy and OpenCV only.

    from models.runtime import Classifier
    with Classifier(threads=1) as clf:
        clf.classify(rgb_frame)            # [("Granny-Smith", 0.91), ...] best first, 5 entries
        clf.classify_file("photo.jpg", k=3)
        clf.coarse_top(clf.probabilities(rgb_frame))  # [("Apple", 0.97), ...] by coarse class

The interpreter comes from ``ai_edge_litert`` (or ``tflite_runtime`` where that is what is
installed); TensorFlow and PyTorch are never imported here. Pre-processing is
``models.preprocess.prepare``, the function training used for its evaluation view.
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from models.preprocess import ImageError, load_rgb, prepare

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = MODELS_DIR / "grocery_lite0_int8.tflite"
FLOAT_MODEL = MODELS_DIR / "grocery_lite0_f16.tflite"
DEFAULT_LABELS = MODELS_DIR / "labels.csv"

__all__ = [
    "DEFAULT_LABELS",
    "DEFAULT_MODEL",
    "FLOAT_MODEL",
    "Classifier",
    "ClassifierError",
    "ImageError",
    "Label",
    "load_labels",
]


class ClassifierError(RuntimeError):
    """The model or its labels are missing, corrupt, or do not fit together."""


@dataclass(frozen=True, slots=True)
class Label:
    fine_id: int
    name: str  # fine class name, e.g. "Granny-Smith" (the catalogue's ``label``)
    coarse_id: int
    coarse: str  # coarse class name, e.g. "Apple"


def load_labels(path: str | Path = DEFAULT_LABELS) -> tuple[Label, ...]:
    """Read ``labels.csv`` (``fine_id,name,coarse_id,coarse``), checking ids run 0..N-1."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassifierError(f"{path}: cannot read labels: {exc}") from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows or rows[0] != ["fine_id", "name", "coarse_id", "coarse"]:
        raise ClassifierError(f"{path}: expected header 'fine_id,name,coarse_id,coarse'")
    labels: list[Label] = []
    for n, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != 4 or not row[1] or not row[3]:
            raise ClassifierError(f"{path} line {n}: expected 4 non-empty fields, got {row!r}")
        try:
            fine, coarse = int(row[0]), int(row[2])
        except ValueError:
            raise ClassifierError(f"{path} line {n}: ids must be integers: {row!r}") from None
        if fine != len(labels):
            raise ClassifierError(f"{path} line {n}: fine id {fine}, expected {len(labels)}")
        labels.append(Label(fine, row[1], coarse, row[3]))
    if not labels:
        raise ClassifierError(f"{path}: no labels")
    names = [lb.name for lb in labels]
    if len(set(names)) != len(names):
        raise ClassifierError(f"{path}: duplicate class names")
    coarse_names: dict[int, str] = {}
    for lb in labels:
        if coarse_names.setdefault(lb.coarse_id, lb.coarse) != lb.coarse:
            raise ClassifierError(f"{path}: coarse id {lb.coarse_id} has two names")
    return tuple(labels)


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ClassifierError(
                "no LiteRT interpreter: install ai-edge-litert (or tflite-runtime)"
            ) from None
    return Interpreter


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - np.max(logits)
    e = np.exp(z)
    return e / e.sum()


class Classifier:
    """One LiteRT interpreter and its labels. Thread-safe (calls are serialised)."""

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        labels: str | Path = DEFAULT_LABELS,
        threads: int = 1,
    ):
        if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 64:
            raise ValueError(f"threads must be an integer 1..64, got {threads!r}")
        self.model_path = Path(model)
        self.threads = threads
        self.labels = load_labels(labels)
        try:
            content = self.model_path.read_bytes()
        except OSError as exc:
            raise ClassifierError(f"{self.model_path}: cannot read model: {exc}") from exc
        if len(content) < 8 or content[4:8] != b"TFL3":
            raise ClassifierError(f"{self.model_path}: not a LiteRT (.tflite) model")
        try:
            self._interp = _interpreter_class()(model_content=content, num_threads=threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ClassifierError(f"{self.model_path}: cannot load model: {exc}") from exc
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ClassifierError(f"{self.model_path}: expected one input and one output")
        self._in, self._out = inp[0], out[0]
        shape = tuple(int(d) for d in self._in["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[1] != shape[2] or shape[3] != 3:
            raise ClassifierError(f"{self.model_path}: unexpected input shape {shape}")
        self.input_size = shape[1]
        self.input_dtype = np.dtype(self._in["dtype"])
        if self.input_dtype not in (np.uint8, np.float32):
            raise ClassifierError(f"{self.model_path}: unsupported input type {self.input_dtype}")
        if self.input_dtype == np.uint8:
            scale, zero = self._in["quantization"]
            if abs(scale - 1.0) > 1e-6 or zero != 0:
                raise ClassifierError(
                    f"{self.model_path}: uint8 input must take raw pixels (scale 1, zero point 0)"
                    f", got scale {scale}, zero point {zero}"
                )
        n_out = int(np.prod(self._out["shape"]))
        if n_out != len(self.labels):
            raise ClassifierError(
                f"{self.model_path}: {n_out} outputs but {len(self.labels)} labels"
            )
        self.quantized = self.input_dtype == np.uint8
        self._lock = threading.Lock()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Release the interpreter; calling it again does nothing."""
        self._closed = True
        self._interp = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- inference ---------------------------------------------------------------------------
    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """The model input for an RGB frame (``models.preprocess.prepare``)."""
        return prepare(rgb, self.input_size)

    def probabilities_prepared(self, pixels: np.ndarray) -> np.ndarray:
        """Class probabilities (sum 1) for an already prepared ``S x S x 3`` uint8 input."""
        if self._closed:
            raise ClassifierError("classifier is closed")
        s = self.input_size
        if pixels.shape != (s, s, 3) or pixels.dtype != np.uint8:
            raise ImageError(
                f"prepared input must be {s} x {s} x 3 uint8, got {pixels.dtype} {pixels.shape}"
            )
        x = pixels[None].astype(self.input_dtype, copy=False)
        with self._lock:
            self._interp.set_tensor(self._in["index"], x)
            self._interp.invoke()
            raw = self._interp.get_tensor(self._out["index"]).reshape(-1)
        if raw.dtype != np.float32:
            scale, zero = self._out["quantization"]
            raw = (raw.astype(np.float32) - zero) * scale
        return softmax(raw)

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        return self.probabilities_prepared(self.prepare(rgb))

    def top(self, probs: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        if not 1 <= k <= len(self.labels):
            raise ValueError(f"k must be 1..{len(self.labels)}, got {k}")
        idx = np.argsort(-probs, kind="stable")[:k]
        return [(self.labels[i].name, float(probs[i])) for i in idx]

    def coarse_top(self, probs: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        """Top ``k`` ``(coarse class name, probability)``: each coarse class's probability is the
        sum over its fine classes (all of them, not only the fine top-k), best first."""
        names: dict[int, str] = {lb.coarse_id: lb.coarse for lb in self.labels}
        if not 1 <= k <= len(names):
            raise ValueError(f"k must be 1..{len(names)}, got {k}")
        ids = np.array([lb.coarse_id for lb in self.labels])
        sums = np.zeros(int(ids.max()) + 1)
        np.add.at(sums, ids, probs)
        order = [int(i) for i in np.argsort(-sums, kind="stable") if int(i) in names][:k]
        return [(names[i], float(sums[i])) for i in order]

    def classify(self, rgb: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        """Top ``k`` ``(fine class name, probability)`` for an RGB frame, best first."""
        return self.top(self.probabilities(rgb), k)

    def classify_file(self, path: str | Path, k: int = 5) -> list[tuple[str, float]]:
        return self.classify(load_rgb(path), k)
