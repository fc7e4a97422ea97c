"""Camera verdicts for simulated trips, drawn from the real classifier's outputs.

``models/verdicts.json`` holds the shipped int8 model's top-5 on every val photo, per fine class
(``python -m models.verdicts`` rebuilds it). A placement of an item with label L gets the verdict
of a randomly chosen real photo of L, so confusions (Pink Lady seen as Royal Gala, one milk
carton for another) happen as often as the model really makes them. Items the model does not
know (no label, or a label outside its 81 classes) get the verdict of a random photo of a random
class with its probabilities flattened: a diffuse guess, which is modelled, not measured.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "models" / "verdicts.json"


class MeasuredVision:
    """``verdict(label)`` -> top-5 ``((label, probability), ...)`` of a real photo of ``label``."""

    def __init__(self, table: dict[str, list[tuple[tuple[str, float], ...]]], seed: int) -> None:
        if not table:
            raise ValueError("empty verdict table")
        self.table = table
        self.labels = sorted(table)
        self.rng = random.Random(seed * 104729 + 7)

    @staticmethod
    def load_table(path: str | Path = TABLE) -> dict[str, list[tuple[tuple[str, float], ...]]]:
        """Read and check ``verdicts.json``; ``FileNotFoundError`` or ``ValueError`` if unusable."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        classes = raw.get("classes") if isinstance(raw, dict) else None
        if not isinstance(classes, dict) or not classes:
            raise ValueError(f"{path}: no 'classes' table")
        table = {}
        for label, entry in classes.items():
            verdicts = entry.get("verdicts") if isinstance(entry, dict) else None
            if not isinstance(verdicts, list) or not verdicts:
                raise ValueError(f"{path}: class {label!r} has no verdicts")
            rows = []
            for v in verdicts:
                top = tuple((str(lb), float(p)) for lb, p in v)
                if not top or any(not 0.0 <= p <= 1.0 for _, p in top) or sum(
                        p for _, p in top) > 1.0 + 1e-3:
                    raise ValueError(f"{path}: class {label!r} has a bad verdict {v!r}")
                rows.append(top)
            table[label] = rows
        return table

    def verdict(self, label: str | None) -> tuple[tuple[str, float], ...]:
        rows = self.table.get(label) if label else None
        if rows:
            return self.rng.choice(rows)
        # not a class the model knows: a real verdict of some photo, flattened
        top = self.rng.choice(self.table[self.rng.choice(self.labels)])
        scale = self.rng.uniform(0.2, 0.5)
        return tuple((lb, round(p * scale, 4)) for lb, p in top)
