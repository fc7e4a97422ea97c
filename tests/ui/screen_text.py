"""Read back what the app has on its (headless) screen, as plain text lines."""

from __future__ import annotations


def screen_lines(app) -> list[str]:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return ["".join(segment.text for segment in strip) for strip in update.strips]


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))
