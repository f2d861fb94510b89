"""Which tables of a store are never served to a caller, whatever its role.

The board's own tables (`mobo_*`, `_mobo_*`: migrations, bridge checkpoints) are never
exposed. MagAuth's tables live in the `auth` schema on PostgreSQL, out of reach of a
store's `public` tables; on SQLite and MariaDB, which have one namespace, they are
`auth_*` beside the user's tables, so they are hidden there too.
"""

from __future__ import annotations

from collections.abc import Callable

BOARD_PREFIXES = ("mobo_", "_mobo_")  # the board's own tables (migrations, checkpoints)
EMBEDDED_AUTH_PREFIXES = ("auth_",)  # MagAuth's tables where there are no schemas


def board_table(name: str) -> bool:
    """Say whether `name` is one of the board's own tables."""
    return name.startswith(BOARD_PREFIXES)


def visibility(engine: str) -> Callable[[str], bool]:
    """Return the test of which tables a store on `engine` shows to callers."""
    hidden: tuple[str, ...] = BOARD_PREFIXES
    if engine != "postgres":  # MagAuth's tables share the store's only namespace
        hidden = (*BOARD_PREFIXES, *EMBEDDED_AUTH_PREFIXES)
    return lambda name: not name.startswith(hidden)
