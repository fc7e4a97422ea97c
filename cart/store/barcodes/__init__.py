"""What a scanned code means: GTINs, restricted-circulation price/weight codes, GS1 element
strings, GS1 Digital Link URIs and produce PLUs, parsed with biip.

:func:`interpret` turns any string into an :class:`Interpretation` and never raises: a code it
cannot accept comes back with ``ok == False`` and a ``reason``. A code with a wrong check digit is
always rejected and never matched to a product. :func:`lookup` then matches an interpretation to
the store's catalogue (products and coupons).

A code means only what GS1 and the store say it means. biip parses; where biip is lenient (it
reads what it can and drops or pads the rest) the checks here refuse, each with the GS1 rule it
stands on (GS1 General Specifications, "GenSpecs", release 24; GS1 Digital Link URI Syntax
1.x, "DL"):

- a price (392n) without the trade measure it prices (GenSpecs 4.14.2, mandatory association),
  and a weight or price in the code of a product the catalogue does not sell by measure
  (:func:`match`; GenSpecs 2.1.11.2, variable measure trade items);
- contradictions: one AI twice with different values, two GTINs ((01) with (02), (37) or (255)),
  two net weights, two prices (GenSpecs 4.14.1, invalid pairs; 4.14.3, repeated AIs); in a
  Digital Link any key given twice (DL 1.2, section 4);
- unknown AIs and empty values, in element strings and in Digital Link query parameters;
- a Digital Link whose (01) is not 14 digits, whose scheme is not ``http``/``https`` in one
  case, or that carries a key qualifier of its primary key as a query parameter (DL 1.2);
- a GTIN read from a symbology that does not carry GTINs: a plain QR, Code 128 or Code 39 with
  13 digits is just 13 digits (GenSpecs 2.1.2: GTINs are carried by EAN/UPC, ITF-14, GS1 DataBar,
  GS1-128 and the GS1 modes of QR Code and Data Matrix).

Pure: the only notion of "today" (for expiry dates) comes from the ``t_ms`` the caller passes.
"""

from cart.common.text import printable
from cart.store.barcodes.catalogue import in_store_number as in_store_number
from cart.store.barcodes.catalogue import lookup, match
from cart.store.barcodes.codes import MAX_CODE_LEN as MAX_CODE_LEN
from cart.store.barcodes.codes import interpret
from cart.store.barcodes.layouts import BUILTIN_RCN_LAYOUTS as BUILTIN_RCN_LAYOUTS
from cart.store.barcodes.results import Interpretation, ScanMatch

__all__ = ["Interpretation", "ScanMatch", "interpret", "lookup", "match", "printable"]
