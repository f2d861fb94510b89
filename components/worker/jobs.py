"""Built-in jobs of the worker card (other cards declare theirs in `[provides] jobs`)."""

from __future__ import annotations


def echo(value: object) -> object:
    """Return the value: proves a board's queue reaches its worker end to end."""
    return value
