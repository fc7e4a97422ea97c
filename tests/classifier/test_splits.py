"""The held-out split of train: stratified, contiguous per class, fixed, and what is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.training.splits import (
    HELDOUT_FILE,
    heldout_indices,
    partition,
    read_list,
    split_hash,
    split_lines,
)


def _items(counts: dict[int, int]) -> list[tuple[Path, int, int]]:
    return [
        (Path(f"/d/train/c{fine}/c{fine}_{i:03d}.jpg"), fine, fine // 2)
        for fine, n in counts.items()
        for i in range(1, n + 1)
    ]


def test_every_class_gets_its_share_as_one_contiguous_run():
    items = _items({0: 20, 1: 40, 2: 16, 3: 65})
    held = heldout_indices(items, fraction=0.15, minimum=3, seed=7)
    by_class: dict[int, list[int]] = {}
    for i in held:
        by_class.setdefault(items[i][1], []).append(i)
    assert {c: len(v) for c, v in by_class.items()} == {0: 3, 1: 6, 2: 3, 3: 10}
    for members in by_class.values():
        assert members == list(range(members[0], members[0] + len(members)))


def test_the_split_is_fixed_by_its_seed():
    items = _items({0: 30, 1: 30, 2: 30})
    assert heldout_indices(items, seed=1) == heldout_indices(items, seed=1)
    assert heldout_indices(items, seed=1) != heldout_indices(items, seed=2)


def test_a_class_is_never_held_out_whole():
    items = _items({0: 2, 1: 1, 2: 30})
    held = heldout_indices(items, minimum=3)
    assert sum(1 for i in held if items[i][1] == 0) == 1
    assert all(items[i][1] != 1 for i in held)


def test_bad_fraction_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        heldout_indices(_items({0: 10}), fraction=1.0)


def test_the_recorded_list_is_the_computed_split(grocery):
    from models.training.dataset import read_split

    items = read_split(grocery, "train")
    computed = split_lines([items[i] for i in heldout_indices(items)], grocery)
    recorded = read_list(HELDOUT_FILE)
    assert recorded == computed
    assert split_hash(recorded) == split_hash(computed)
    keep, held = partition(items, grocery)
    assert len(keep) + len(held) == len(items) == 2640
    assert {f for _, f, _ in held} == {f for _, f, _ in items}  # all 81 classes
    assert not {p for p, _, _ in keep} & {p for p, _, _ in held}


def test_a_list_from_other_data_is_an_error(tmp_path, grocery):
    from models.training.dataset import read_split

    bad = tmp_path / "heldout.txt"
    bad.write_text("train/Fruit/Nope/Nope_001.jpg, 0, 0\n")
    with pytest.raises(ValueError, match="not in the train list"):
        partition(read_split(grocery, "train"), grocery, bad)
