"""Rounding rules of the pricing, on exact integers (no floats anywhere).

    amount of a weighed line  = weight_amount(price_per_kg, grams)
                              = round_half_up(price_per_kg × grams, 1000)
    a saving split over lines = allocate(total, weights) / allocate_latest(total, caps)

``docs/PRICING.md`` states the same rules; ``cart.pricing.engine`` applies them.
"""

from __future__ import annotations

from collections.abc import Sequence


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for ``numerator >= 0, denominator > 0``."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def weight_amount(price_per_kg: int, grams: int) -> int:
    """The amount for ``grams`` of a product priced per kilogram (half up to the minor unit)."""
    return round_half_up(price_per_kg * grams, 1000)


def allocate_latest(total: int, caps: Sequence[int]) -> list[int]:
    """Give ``total`` to the last entries first, each at most its cap (a promotion's saving
    lands on the item that completes the deal: the third of "3 for 2", the second of BOGO)."""
    out = [0] * len(caps)
    left = total
    for i in range(len(caps) - 1, -1, -1):
        if left <= 0:
            break
        give = min(left, caps[i])
        out[i] = give
        left -= give
    return out


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` over ``weights`` in proportion (largest remainder, ties to the earlier).

    The shares sum to exactly ``total``; no share exceeds its weight when total <= sum(weights).
    """
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    base = [total * w // s for w in weights]
    rem = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % s), i))
    for i in order[:rem]:
        base[i] += 1
    return base
