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

from cart.common.i18n import _, language_name, next_language

# Keys whose description is not a msgid but says something of the moment: the language key
# names the language it switches to, in that language ("Svenska" on an English screen).
DYNAMIC = {"toggle_language": lambda: language_name(next_language())}


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
                _described(b, msgids.get((key, b.action))) for b in found
            ]


def _described(binding: Binding, msgid: str | None) -> Binding:
    if binding.action in DYNAMIC:
        return replace(binding, description=DYNAMIC[binding.action]())
    return replace(binding, description=_(msgid)) if msgid else binding


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
