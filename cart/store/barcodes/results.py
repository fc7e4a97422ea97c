"""What interpreting and matching a code give: ``Interpretation`` (what a code means) and
``ScanMatch`` (that meaning matched to the catalogue)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cart.store.model import CatalogProduct, Coupon


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What a code means, before it is matched to the catalogue. JSON-able via ``to_dict``."""

    text: str  # the code as interpreted (AIM identifier removed, surrounding blanks stripped)
    symbology: str = ""  # AIM symbology identifier ("]E0"), "" if none
    kind: str = "rejected"  # gtin | rcn | plu | gs1 | digital_link | rejected
    reason: str = ""  # why it was rejected; "" when accepted
    gtin: str = ""  # GTIN-14 look-up key (for an RCN: with the embedded measure zeroed)
    alt_gtins: tuple[str, ...] = ()  # other readings (an 8-digit code: EAN-8 or UPC-E)
    plu: str = ""
    organic: bool = False
    price: int | None = None  # embedded price, minor units
    weight_g: int | None = None  # embedded net weight, grams
    count: int | None = None  # embedded count
    expiry: str = ""  # ISO date from AI (17)
    expired: bool = False
    warnings: tuple[str, ...] = ()
    # Why the item may be sold only after staff approve it ("" when not): an expiry date (17)
    # in the past under the store's ``expired = "block"`` policy. The code is still accepted
    # (``ok``), so the layers above can raise a staff question instead of refusing it.
    needs_staff: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    def to_dict(self) -> dict:
        d = asdict(self)
        d["alt_gtins"] = list(self.alt_gtins)
        d["warnings"] = list(self.warnings)
        d["ok"] = self.ok
        return d


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """An interpretation matched to the catalogue: a product, a coupon, or a reason why not."""

    interpretation: Interpretation
    product: CatalogProduct | None = None
    coupon: Coupon | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason and (self.product is not None or self.coupon is not None)

    @property
    def needs_staff(self) -> str:
        """Why staff must approve before this item is sold ("" when not needed); see
        :attr:`Interpretation.needs_staff`."""
        return self.interpretation.needs_staff if self.ok else ""

    @property
    def needs_weighing(self) -> bool:
        """A product sold by weight whose code carries neither weight nor price (a PLU or a
        plain GTIN): it must be weighed (``WeighProduce``) before it can go on the bill."""
        p, it = self.product, self.interpretation
        return p is not None and p.by_weight and it.weight_g is None and it.price is None


def _reject(text: str, sym: str, reason: str) -> Interpretation:
    return Interpretation(text=text, symbology=sym, kind="rejected", reason=reason)
