"""Camera verdicts for simulated trips from real inference, run when the bench starts.

``infer_table()`` runs the shipped int8 classifier (``models.runtime.Classifier``, the code the
cart runs) once over real photos of every class the model knows, from the shared Grocery Store
data (``$CART_SHARED_DATA`` or ``../shared/data`` beside the repository), and keeps each photo's
top-5 in memory (one table per process). ``InferredVision`` then answers each placement of an
item with label L with the real top-5 of a randomly drawn real photo of L: the model's own
confusions (one milk carton for another, Pink Lady for Royal Gala) happen as often as it makes
them on those photos.

Which photos: the val split for every class it covers (photos the model was not trained on);
for the classes val lacks, up to ``train_per_class`` train photos, which the model was trained on
(their verdicts are better than a camera would see; ``info["train_only_classes"]`` names them).
Products with no class in the model (non-food, bakery) get no verdict at all: the camera adds
nothing for them. What stays modelled: whether the camera sees a placement at all (the
profile's view rate), and the photos themselves (shop-shelf photos, not a basket camera).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from cart.common.paths import grocery_store_dir

_CACHE: dict[tuple, tuple[dict, dict]] = {}


class VisionUnavailable(RuntimeError):
    """The shared photos, the model or its runtime are not there."""


def infer_table(
    data: Path | None = None, *, k: int = 5, train_per_class: int = 10, per_class_limit: int = 0
) -> tuple[dict[str, list[tuple]], dict]:
    """``(table, info)``: label -> list of real top-k verdicts, and what was run.

    Raises ``VisionUnavailable`` when the photos, the model or the interpreter are missing.
    ``per_class_limit`` (0: all) caps the val photos per class (tests use it to stay quick).
    """
    data = Path(data) if data is not None else grocery_store_dir()
    key = (str(data), k, train_per_class, per_class_limit)
    if key in _CACHE:
        return _CACHE[key]
    if not (data / "val.txt").is_file() or not (data / "classes.csv").is_file():
        raise VisionUnavailable(f"no grocery photos at {data}")
    try:
        from models.runtime import DEFAULT_MODEL, Classifier, ClassifierError, ImageError
    except ImportError as exc:  # the interpreter is not installed
        raise VisionUnavailable(f"classifier runtime unavailable: {exc}") from None
    if not DEFAULT_MODEL.is_file():
        raise VisionUnavailable(f"no model at {DEFAULT_MODEL}")
    names = _class_names(data)
    val = _split(data / "val.txt", names)
    train = _split(data / "train.txt", names) if (data / "train.txt").is_file() else {}
    t0 = time.perf_counter()
    table: dict[str, list[tuple]] = {}
    train_only: list[str] = []
    photos = failed = 0
    try:
        with Classifier(threads=1) as clf:
            known = [lb.name for lb in clf.labels]
            for label in known:
                paths = val.get(label, [])
                if per_class_limit:
                    paths = paths[:per_class_limit]
                if not paths:
                    pool = train.get(label, [])
                    step = max(1, len(pool) // max(1, train_per_class))
                    paths = pool[::step][:train_per_class]
                    if paths:
                        train_only.append(label)
                rows = []
                for p in paths:
                    try:
                        top = clf.classify_file(p, k=k)
                    except ImageError:
                        failed += 1
                        continue
                    rows.append(tuple((str(lb), float(pr)) for lb, pr in top))
                    photos += 1
                if rows:
                    table[label] = rows
    except ClassifierError as exc:
        raise VisionUnavailable(f"classifier unusable: {exc}") from None
    if not table:
        raise VisionUnavailable(f"no photo at {data} could be classified")
    info = {
        "source": "real inference of the shipped int8 model at bench start",
        "model": DEFAULT_MODEL.name,
        "photos": photos,
        "unreadable_photos": failed,
        "classes": len(table),
        "train_only_classes": sorted(train_only),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    _CACHE[key] = (table, info)
    return table, info


def _class_names(data: Path) -> dict[int, str]:
    import csv

    with open(data / "classes.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return {int(r[1]): r[0].strip() for r in rows if len(r) > 1}


def _split(listing: Path, names: dict[int, str]) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2 or not parts[0]:
            continue
        try:
            label = names[int(parts[1])]
        except (ValueError, KeyError):
            continue
        out.setdefault(label, []).append(listing.parent / parts[0])
    return out


class InferredVision:
    """``verdict(label)``: the real top-5 of a random real photo of ``label``; ``None`` (no
    verdict) for a product the model has no class for."""

    def __init__(self, table: dict[str, list[tuple]], seed: int) -> None:
        self.table = table
        self.rng = random.Random(seed * 104729 + 11)

    def verdict(self, label: str | None):
        rows = self.table.get(label) if label else None
        if not rows:
            return None
        return self.rng.choice(rows)
