"""The card's one Redis name (a card owns its names, under the board's namespace)."""

from __future__ import annotations

from mobo.kernel.keys import Keys


def seen(keys: Keys) -> str:
    """The last `data.change` event the card's handler saw (JSON)."""
    return f"{keys.prefix}:example:seen"
