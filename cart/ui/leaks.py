"""What Textual would keep alive on a screen that runs for days, and how the cart lets it go.

The basket screen is never closed: the cart shows it from boot to shutdown, through thousands of
trips. Two things in Textual 8 grow with every prompt or check-out screen opened and closed:

- ``Footer`` rebuilds its keys whenever the screen's bindings change, and each new ``FooterKey``
  is data-bound to the footer's ``compact``: the footer keeps a watcher entry naming the key and
  drops the entries of keys that are gone only when ``compact`` changes, which it never does
  (Textualize/textual#6666). :class:`CartFooter` drops them after each rebuild.
- ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method: its 1,024 entries hold the
  style caches of widgets long gone, with every line they rendered. :func:`release_render_caches`
  empties it; the screen calls it when a trip ends (the check-out screen closes).

Together they kept about 1.2 MB a paid trip (``cart bench soak``).
"""

from __future__ import annotations

from textual.widgets import Footer


def drop_dead_watchers(obj) -> int:
    """Remove the watcher entries on ``obj`` whose watching node was removed (closing or
    closed, as Textual itself judges them). Returns how many went."""
    dropped = 0
    for entries in getattr(obj, "__watchers", {}).values():
        live = [
            (node, callback)
            for node, callback in entries
            if not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
        ]
        dropped += len(entries) - len(live)
        entries[:] = live
    return dropped


class CartFooter(Footer):
    """``Footer`` that does not keep the keys it replaced (see the module docstring)."""

    async def recompose(self) -> None:
        await super().recompose()
        drop_dead_watchers(self)


def release_render_caches() -> None:
    """Let go of the render caches of widgets that are gone (see the module docstring); a
    live widget renders its lines again at its next refresh, at the usual cost."""
    from textual._styles_cache import StylesCache

    clear = getattr(StylesCache.get_inner_outer, "cache_clear", None)
    if clear is not None:
        clear()
