"""Device profile helpers shared by every section's owner (``hardware/profiles/*.toml``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def reject_unknown_keys(
    table: str, section: Mapping, known: Iterable[str], error: type[Exception] = ValueError
) -> None:
    """Raise ``error`` naming the table and every key of ``section`` not in ``known``.

    Unknown keys are errors, never ignored: a misspelt key would otherwise leave a device on
    its default settings without anyone noticing.
    """
    known = set(known)
    unknown = sorted(set(section) - known)
    if unknown:
        raise error(
            f"[{table}]: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
