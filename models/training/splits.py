"""The held-out split: photos of ``train`` kept out of training, to choose epochs and settings.

``val`` is small (296 photos), covers only 60 of the 81 classes, and was used to choose the
shipped model's epoch, so it cannot judge that choice. The held-out split takes, from every fine
class of ``train``, ``round(fraction * n)`` photos (at least ``minimum``) as one contiguous run of
the class's photos in file-name order, starting at a seeded random place. The dataset's photos of
one class were shot in bursts (``Satsumas_011`` and ``Satsumas_012`` are often the same fruit a
moment apart), so a contiguous run keeps most near-duplicates on one side of the line; a random
sample would put their twins in training and flatter the held-out figures.

The split is written to ``models/heldout.txt`` (``path, fine, coarse`` lines as in ``train.txt``,
paths relative to the data folder), and ``split_hash`` fingerprints it; the training record and
the bench name that hash. Standard library only: the bench reads the file without the training
extra.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

HELDOUT_FRACTION = 0.15
HELDOUT_MINIMUM = 3
HELDOUT_SEED = 20261201
HELDOUT_FILE = Path(__file__).resolve().parents[1] / "heldout.txt"

Item = tuple[Path, int, int]


def heldout_indices(
    items: Sequence[Item],
    fraction: float = HELDOUT_FRACTION,
    minimum: int = HELDOUT_MINIMUM,
    seed: int = HELDOUT_SEED,
) -> list[int]:
    """Indices into ``items`` of the held-out photos: per fine class, one contiguous run of
    ``max(minimum, round(fraction * n))`` photos in file-name order (never all of a class)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"held-out fraction must be in (0, 1), got {fraction!r}")
    by_class: dict[int, list[int]] = {}
    for i, (_path, fine, _) in enumerate(items):
        by_class.setdefault(fine, []).append(i)
    rng = random.Random(seed)
    chosen: list[int] = []
    for fine in sorted(by_class):
        members = sorted(by_class[fine], key=lambda i: Path(items[i][0]).name)
        n = len(members)
        k = min(n - 1, max(minimum, round(fraction * n)))
        if k <= 0:
            continue
        start = rng.randrange(0, n - k + 1)
        chosen.extend(members[start : start + k])
    return sorted(chosen)


def split_lines(items: Sequence[Item], root: Path) -> list[str]:
    """``path, fine, coarse`` lines (paths relative to ``root``), as in the dataset's lists."""
    return [f"{Path(p).relative_to(root).as_posix()}, {f}, {c}" for p, f, c in items]


def split_hash(lines: Sequence[str]) -> str:
    """SHA-256 (first 16 hex digits) of a split's lines, in order."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.strip().encode() + b"\n")
    return h.hexdigest()[:16]


def read_list(path: Path) -> list[str]:
    """The non-empty lines of a split list file."""
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def partition(
    train_items: Sequence[Item], root: Path, heldout_file: Path = HELDOUT_FILE
) -> tuple[list[Item], list[Item]]:
    """``train`` split into (the photos to train on, the held-out photos) by the recorded list.

    Every recorded line must be a line of ``train``: a list from another data version is an
    error, not a silently smaller split."""
    wanted = set(read_list(heldout_file))
    lines = split_lines(train_items, root)
    missing = wanted - set(lines)
    if missing:
        raise ValueError(
            f"{heldout_file}: {len(missing)} photos are not in the train list, e.g. "
            f"{sorted(missing)[0]!r}"
        )
    keep = [it for it, ln in zip(train_items, lines, strict=True) if ln not in wanted]
    held = [it for it, ln in zip(train_items, lines, strict=True) if ln in wanted]
    return keep, held


def write_heldout(data: Path, out: Path = HELDOUT_FILE) -> str:
    """Compute the held-out split of ``data/train.txt`` and write it; returns its hash."""
    from models.training.dataset import read_split

    items = read_split(data, "train")
    lines = split_lines([items[i] for i in heldout_indices(items)], data)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return split_hash(lines)


if __name__ == "__main__":  # python -m models.training.splits [DATA]
    import sys

    from cart.common.paths import grocery_store_dir

    root = Path(sys.argv[1]) if len(sys.argv) > 1 else grocery_store_dir()
    print(write_heldout(root))
