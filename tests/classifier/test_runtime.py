"""The LiteRT runtime: loading, validation, errors, lifecycle."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

from models.preprocess import ImageError, load_rgb
from models.runtime import DEFAULT_LABELS, DEFAULT_MODEL, Classifier, ClassifierError, load_labels


def test_top_k_is_sorted_and_sums_to_at_most_one(classifier, grocery):
    top = classifier.classify_file(grocery / "val/Fruit/Banana/Banana_003.jpg", k=5)
    assert len(top) == 5
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1 + 1e-6
    assert {label for label, _ in top} <= {lb.name for lb in classifier.labels}


def test_threads_are_configurable_and_give_the_same_answer(grocery):
    x = np.full((300, 400, 3), 128, np.uint8)
    x[100:200, 150:250] = (200, 180, 20)
    with Classifier(threads=1) as one, Classifier(threads=2) as two:
        np.testing.assert_allclose(one.probabilities(x), two.probabilities(x), atol=1e-6)
    with pytest.raises(ValueError):
        Classifier(threads=0)


def test_close_is_idempotent_and_closed_use_is_an_error():
    clf = Classifier()
    clf.close()
    clf.close()
    assert clf.closed
    with pytest.raises(ClassifierError, match="closed"):
        clf.probabilities(np.zeros((50, 50, 3), np.uint8))


def test_wrong_prepared_input_is_rejected(classifier):
    with pytest.raises(ImageError):
        classifier.probabilities_prepared(np.zeros((224, 224, 3), np.float32))
    with pytest.raises(ImageError):
        classifier.probabilities_prepared(np.zeros((200, 224, 3), np.uint8))
    with pytest.raises(ValueError):
        classifier.top(np.ones(81) / 81, k=0)


def test_corrupt_model_files_are_clear_errors(tmp_path):
    (tmp_path / "junk.tflite").write_bytes(b"\x00" * 100)
    with pytest.raises(ClassifierError, match="not a LiteRT"):
        Classifier(tmp_path / "junk.tflite")
    truncated = DEFAULT_MODEL.read_bytes()[:5000]
    (tmp_path / "cut.tflite").write_bytes(truncated)
    with pytest.raises(ClassifierError, match="cut.tflite"):
        Classifier(tmp_path / "cut.tflite")
    with pytest.raises(ClassifierError, match="cannot read model"):
        Classifier(tmp_path / "missing.tflite")


def test_labels_must_fit_the_model(tmp_path):
    lines = DEFAULT_LABELS.read_text().splitlines()
    (tmp_path / "short.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ClassifierError, match="80 labels"):
        Classifier(labels=tmp_path / "short.csv")


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "header"),
        ("fine_id,name,coarse_id,coarse\n", "no labels"),
        ("fine_id,name,coarse_id,coarse\n1,A,0,X\n", "expected 0"),
        ("fine_id,name,coarse_id,coarse\n0,A,zero,X\n", "integers"),
        ("fine_id,name,coarse_id,coarse\n0,A,0\n", "4 non-empty"),
        ("fine_id,name,coarse_id,coarse\n0,A,0,X\n1,A,0,X\n", "duplicate"),
        ("fine_id,name,coarse_id,coarse\n0,A,0,X\n1,B,0,Y\n", "two names"),
    ],
)
def test_bad_label_files(tmp_path, text, match):
    (tmp_path / "labels.csv").write_text(text)
    with pytest.raises(ClassifierError, match=match):
        load_labels(tmp_path / "labels.csv")


def test_runtime_imports_neither_tensorflow_nor_torch(tmp_path):
    import subprocess

    code = (
        "import sys, numpy as np\n"
        "from models.runtime import Classifier\n"
        "with Classifier() as c: c.classify(np.zeros((64, 64, 3), np.uint8))\n"
        "bad = [m for m in ('tensorflow', 'torch', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = DEFAULT_MODEL.parents[1]
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        check=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_copied_model_loads_from_anywhere(tmp_path):
    shutil.copy(DEFAULT_MODEL, tmp_path / "m.tflite")
    shutil.copy(DEFAULT_LABELS, tmp_path / "l.csv")
    with Classifier(tmp_path / "m.tflite", tmp_path / "l.csv") as clf:
        assert clf.input_size == 224 and len(clf.labels) == 81


def test_coarse_top_sums_every_fine_class_of_a_coarse_class(classifier, grocery):
    probs = classifier.probabilities(load_rgb(grocery / "val/Fruit/Banana/Banana_003.jpg"))
    coarse = classifier.coarse_top(probs, k=43)
    assert len(coarse) == 43 and len({name for name, _ in coarse}) == 43
    assert sum(p for _, p in coarse) == pytest.approx(1.0, abs=1e-6)
    apples = sum(p for lb, p in zip(classifier.labels, probs, strict=True) if lb.coarse == "Apple")
    assert dict(coarse)["Apple"] == pytest.approx(apples)
    assert coarse[0][0] == "Banana"
    with pytest.raises(ValueError, match="k must be"):
        classifier.coarse_top(probs, k=44)
