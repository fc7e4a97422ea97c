"""What the barcode drivers emit is what the core's interpretation expects (runs once the
core's ``cart.store.barcodes`` is present)."""

from __future__ import annotations

import cv2
import pytest

from cart.sim.camera import render_barcode
from cart.sim.scanner import ScannerSim
from drivers.decode import decode_image
from drivers.scanner import ScanDecoder, ScannerConfig

barcodes = pytest.importorskip(
    "cart.store.barcodes", reason="core barcode interpretation not present"
)

CASES = [  # (code to render / send, zxing format, AIM id, GTIN-14)
    ("4006381333931", "EAN13", "]E0", "04006381333931"),
    ("96385074", "EAN8", "]E4", "00000096385074"),
    ("036000291452", "UPCA", "]E0", "00036000291452"),
    ("0104412345678909", "DataBar", "]e0", "04412345678909"),
]


def test_camera_upce_read_is_its_gtin():
    label = render_barcode("01234565", "UPCE", module_px=3)
    img = cv2.copyMakeBorder(label, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    (d,) = decode_image(img)
    result = barcodes.interpret(d.text, d.symbology_identifier)
    assert result.ok, result.reason
    assert result.gtin == "00012345000065"


@pytest.mark.parametrize("code,fmt,aim,gtin", CASES)
def test_camera_reads_interpret_to_the_gtin(code, fmt, aim, gtin):
    label = render_barcode(code, fmt, module_px=3)
    img = cv2.copyMakeBorder(label, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    (d,) = decode_image(img)
    assert d.symbology_identifier == aim
    result = barcodes.interpret(d.text, d.symbology_identifier)
    assert result.ok, result.reason
    assert result.gtin == gtin


@pytest.mark.parametrize("code,fmt,aim,gtin", CASES)
def test_scanner_reads_interpret_to_the_gtin(code, fmt, aim, gtin):
    sim = ScannerSim("interop")
    (scan,) = ScanDecoder(ScannerConfig()).feed(sim.frame(code, aim), 0)
    result = barcodes.interpret(scan.code, scan.symbology)
    assert result.ok, result.reason
    assert result.gtin == gtin
    sim.close()
