"""The screen's own words in the shopper's language, and the switch between languages.

Everything the runtime sends (``CartView``) is already in the language the view names
(``CartView.language``); this module covers what the screen writes itself. Key descriptions
are written as msgids (``N_("Pay")``) in each class's ``BINDINGS`` and translated onto every
node's bindings here, when a screen opens and whenever the language changes; the rest of the
screen's words are translated (``_()``) where they are rendered, so a re-render after a change
of language shows them in the new one.
"""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode

from cart.common.i18n import _


def relabel_bindings(node: DOMNode) -> None:
    """Put the descriptions of ``node``'s key bindings (and its descendants') in the current
    language, translated from the English msgids their classes' ``BINDINGS`` were written with."""
    for each in (node, *node.walk_children()):
        bindings = getattr(each, "_bindings", None)
        msgids = _msgids(type(each))
        if bindings is None or not msgids:
            continue
        for key, found in bindings.key_to_bindings.items():
            bindings.key_to_bindings[key] = [
                replace(b, description=_(msgids[(key, b.action)]))
                if msgids.get((key, b.action))
                else b
                for b in found
            ]


def _msgids(cls: type) -> dict[tuple[str, str], str]:
    """(key, action) -> the description written in ``cls``'s ``BINDINGS`` (and its bases')."""
    out: dict[tuple[str, str], str] = {}
    for base in reversed(cls.__mro__):
        for b in base.__dict__.get("BINDINGS", ()):
            if isinstance(b, tuple):
                b = Binding(*b)
            if isinstance(b, Binding):
                for key in b.key.split(","):
                    out[(key.strip(), b.action)] = b.description
    return out
