"""A table of the shipped model's real verdicts, for simulated trips (``cart.sim.vision``).

``python -m models.verdicts [--data DIR]`` classifies every val photo with the shipped int8 model
and writes ``models/verdicts.json``: for each fine class, the top-5 of each of its photos. The val
split has photos of 60 of the 81 classes; for the other 21 the train photos are used and the
entry says so (``"split": "train"``): the model was trained on those, so their verdicts are
better than a camera would see.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.bench import read_val
from models.runtime import DEFAULT_MODEL, Classifier

TABLE = Path(__file__).resolve().parent / "verdicts.json"


def build_table(data: Path, clf: Classifier, k: int = 5, per_class_train: int = 5) -> dict:
    classes: dict[str, dict] = {}
    for path, label in read_val(data):
        entry = classes.setdefault(label, {"split": "val", "verdicts": []})
        entry["verdicts"].append(_verdict(clf, path, k))
    names = {lb.name for lb in clf.labels}
    missing = sorted(names - set(classes))
    if missing:
        train = {}
        for line in (data / "train.txt").read_text().splitlines():
            if line.strip():
                rel, fine, _ = (p.strip() for p in line.split(","))
                train.setdefault(clf.labels[int(fine)].name, []).append(data / rel)
        for label in missing:
            paths = train.get(label, [])
            if not paths:
                continue
            step = max(1, len(paths) // per_class_train)
            classes[label] = {"split": "train", "verdicts": [
                _verdict(clf, p, k) for p in paths[::step][:per_class_train]]}
    return {"model": DEFAULT_MODEL.name, "k": k,
            "classes": {name: classes[name] for name in sorted(classes)}}


def _verdict(clf: Classifier, path: Path, k: int) -> list[list]:
    return [[label, round(p, 4)] for label, p in clf.classify_file(path, k=k)]


def main(argv=None) -> int:
    import os

    root = Path(__file__).resolve().parents[1]
    default = Path(os.environ.get("CART_SHARED_DATA", root.parent / "shared" / "data"))
    p = argparse.ArgumentParser(prog="python -m models.verdicts", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=default / "grocery-store")
    p.add_argument("--out", type=Path, default=TABLE)
    args = p.parse_args(argv)
    if not (args.data / "val.txt").is_file():
        print(f"error: no val split at {args.data}", file=sys.stderr)
        return 2
    with Classifier() as clf:
        table = build_table(args.data, clf)
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
