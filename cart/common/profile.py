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


def named_tables(
    profile: Mapping, table: str, error: type[Exception] = ValueError
) -> list[tuple[str, Mapping]]:
    """The ``[TABLE.NAME]`` tables of a parsed profile, as (NAME, table) pairs in file order."""
    section = profile.get(table, {})
    if not isinstance(section, Mapping):
        raise error(f"[{table}] must be a table of [{table}.NAME] tables")
    out = []
    for name, body in section.items():
        if not isinstance(body, Mapping):
            raise error(f"[{table}.{name}] must be a table")
        out.append((name, body))
    return out
