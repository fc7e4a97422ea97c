"""``cart decode``, ``cart bench decode`` and ``cart bench camera``."""

from __future__ import annotations

import json

import cv2
import numpy as np

from cart.cli import main
from cart.sim.camera import render_barcode


def write_code(path, code, fmt="EAN13"):
    label = render_barcode(code, fmt, module_px=3)
    page = cv2.copyMakeBorder(label, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    assert cv2.imwrite(str(path), page)
    return path


def lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_decode_prints_one_json_line_per_image(tmp_path, capsys):
    a = write_code(tmp_path / "a.png", "4006381333931")
    b = write_code(tmp_path / "b.png", "0104412345678909", "DataBar")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    assert main(["decode", str(a), str(b), str(blank)]) == 0
    out = lines(capsys)
    assert out == [
        {
            "path": str(a),
            "results": [
                {"text": "4006381333931", "format": "EAN13", "symbology_identifier": "]E0"}
            ],
        },
        {
            "path": str(b),
            "results": [
                {"text": "0104412345678909", "format": "DataBarOmni", "symbology_identifier": "]e0"}
            ],
        },
        {"path": str(blank), "results": []},
    ]


def test_decode_unreadable_file_reports_and_continues(tmp_path, capsys):
    bad = tmp_path / "bad.webp"
    bad.write_bytes(b"RIFF")
    good = write_code(tmp_path / "g.png", "96385074", "EAN8")
    assert main(["decode", str(bad), str(tmp_path / "missing.png"), str(good)]) == 1
    out = lines(capsys)
    assert out[0]["results"] == [] and "bad.webp" in out[0]["error"]
    assert "missing.png" in out[1]["error"]
    assert out[2]["results"][0]["text"] == "96385074"


def test_bench_decode_json_line_last(tmp_path, capsys):
    pos = tmp_path / "ean13-x"
    neg = tmp_path / "falsepositives-x"
    pos.mkdir()
    neg.mkdir()
    write_code(pos / "1.png", "4006381333931")
    (pos / "1.txt").write_text("4006381333931\n")
    write_code(pos / "2.png", "4006381333931")
    (pos / "2.txt").write_text("5901234123457\n")  # the image says otherwise: a misread
    cv2.imwrite(str(neg / "1.png"), np.full((50, 50, 3), 200, np.uint8))
    assert main(["bench", "decode", str(pos), str(neg)]) == 0
    out = lines(capsys)
    last = out[-1]
    assert last["decode_rate"] == 0.5 and last["images"] == 4  # two images, two rotations
    assert last["misreads"] == 2 and last["false_positives"] == 0 and last["negatives"] == 2
    assert last["ms_per_image"] > 0
    assert set(last["zxing"]) >= {"decode_rate", "false_positives", "ms_per_image"}
    assert last["zxing"]["decode_rate"] == 0.5
    assert any(line.get("problem") == "misread" for line in out[:-1])


def test_bench_camera_json(capsys, tmp_path):
    assert main(["bench", "camera", "--frames", "20", "--photos", str(tmp_path)]) == 0
    last = lines(capsys)[-1]
    assert last["bench"] == "camera" and last["opencv_threads"] == 1
    assert last["fps_code_in_view"] > 0 and last["fps_no_code"] > 0
    assert last["code_in_view"]["scans"] == 1 and last["no_code"]["scans"] == 0
    assert last["no_code"]["decoded_frames"] < last["code_in_view"]["decoded_frames"]


def test_scanner_listen_prints_events(capsys):
    import threading

    from cart.sim.scanner import ScannerSim

    sim = ScannerSim("cli")

    def shopper():
        if sim.attached.wait(10):  # the command has the port open
            sim.write(b"\x1b[2J\r\n")
            sim.scan("4006381333931")

    thread = threading.Thread(target=shopper)
    thread.start()
    try:
        assert main(["scanner", "simscanner://cli", "--count", "1", "--seconds", "10"]) == 0
    finally:
        thread.join()
        sim.close()
    out = lines(capsys)
    assert out[0]["event"] == "DeviceStatus" and out[0]["state"] == "connected"
    scan = [o for o in out if o["event"] == "Scan"]
    assert scan == [
        {
            "event": "Scan",
            "t_ms": scan[0]["t_ms"],
            "code": "4006381333931",
            "symbology": "]E0",
            "source": "scanner:handheld",
        }
    ]


def test_camera_listen_replays_a_folder(tmp_path, capsys):
    from cart.sim.camera import CameraSim

    CameraSim(None, code="96385074", fmt="EAN8", seed=2).write_frames(tmp_path, 4, rest=2)
    assert main(["camera", str(tmp_path), "--seconds", "20"]) == 0
    out = lines(capsys)
    assert [o["code"] for o in out if o["event"] == "Scan"] == ["96385074"]
    assert out[-1]["detail"] == "end of replay"


def test_listen_rejects_a_bad_profile_key(tmp_path, capsys):
    profile = tmp_path / "p.toml"
    profile.write_text("[scanner.handheld]\nbaud = 9600\n")
    assert main(["scanner", "loop://", "--profile", str(profile)]) == 2
    assert "unknown key" in capsys.readouterr().err
