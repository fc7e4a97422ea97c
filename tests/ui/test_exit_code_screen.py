"""A real signed exit code (about 200 characters, a version 7 QR code) decodes off the check-out
screen at the cart panel's size and larger, through the unchanged cart/ui/qr.py."""

from __future__ import annotations

import pytest

from cart.app.view import Receipt
from cart.basket import exitcode
from cart.common import keys
from cart.ui.app import CartApp
from cart.ui.screens import CheckoutScreen

from .conftest import sample_view
from .screen_text import screen_lines
from .test_app import _decode_screen_qr


@pytest.mark.parametrize("size", [(100, 30), (120, 40)], ids=["7in-panel", "10in-panel"])
async def test_a_signed_exit_code_decodes_off_the_screen(backend, size):
    k = keys.generate("cart-0001")
    claim = exitcode.ExitClaim(
        "demo-sthlm-01", k.cart_id, "0123456789abcdef", 31950, 12, 1_767_258_000_000, True, "medium"
    )
    code = exitcode.build(claim, k.sign)
    app = CartApp(backend)
    async with app.run_test(size=size) as pilot:
        await pilot.press("k")
        backend.push(sample_view(receipt=Receipt("S-42", "Demo\nTOTAL 319.50", code), seq=7))
        await pilot.pause()
        assert isinstance(app.screen, CheckoutScreen)
        lines = screen_lines(app)
        qr_lines = [ln[ln.index("│", 2) + 1 :] if "│" in ln[2:] else "" for ln in lines]
        scanned = _decode_screen_qr(qr_lines)
    assert scanned == code
    assert exitcode.verify(scanned, {k.cart_id: k.public_bytes}) == claim
