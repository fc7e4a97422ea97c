"""The built-in restricted-circulation barcode layouts, by country."""

from __future__ import annotations

from cart.store.model import RcnLayout

# Restricted-circulation layouts by country (GS1 member organisation rules). A store picks one
# with ``[rcn] country = "se"`` or lists its own ``[[rcn.layout]]`` tables (docs/CATALOG.md).
# GS1 Sweden: 20-22 price (2/1/0 decimals), 23-25 weight in kg (3/2/1 decimals), no price
# check digit.
_SWEDEN = (
    RcnLayout("20", "price", "PPPPPPPPVVVV", 2),
    RcnLayout("21", "price", "PPPPPPPPVVVV", 1),
    RcnLayout("22", "price", "PPPPPPPPVVVV", 0),
    RcnLayout("23", "weight", "PPPPPPPPVVVV", 3),
    RcnLayout("24", "weight", "PPPPPPPPVVVV", 2),
    RcnLayout("25", "weight", "PPPPPPPPVVVV", 1),
)
BUILTIN_RCN_LAYOUTS: dict[str, tuple[RcnLayout, ...]] = {
    "se": _SWEDEN,
    "no": _SWEDEN,  # Norway follows the Swedish layout.
    # GS1 UK variable measure numbers: prefix 20 or 28, the rest of a 5-digit VM prefix, a
    # 2-digit item reference, the price verifier digit, the price in pence (docs/BARCODE.md).
    "gb": (
        RcnLayout("20", "price", "PPPPPPPCVVVV", 2),
        RcnLayout("28", "price", "PPPPPPPCVVVV", 2),
    ),
    # GS1 Germany: price 22-23, count 25-26, weight 28-29, each with a price check digit.
    "de": (
        RcnLayout("22", "price", "PPPPPPCVVVVV", 2),
        RcnLayout("23", "price", "PPPPPPCVVVVV", 2),
        RcnLayout("25", "count", "PPPPPPCVVVVV", 0),
        RcnLayout("26", "count", "PPPPPPCVVVVV", 0),
        RcnLayout("28", "weight", "PPPPPPCVVVVV", 3),
        RcnLayout("29", "weight", "PPPPPPCVVVVV", 3),
    ),
    # US/Canada: UPC-A number system 2 (GTIN-13 "02..."): 2 IIIII C PPPP K, price in cents.
    "us": (RcnLayout("02", "price", "PPPPPPPCVVVV", 2),),
}
