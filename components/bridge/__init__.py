"""MagBridge: copy tables between any two data stores, resumably, verified by checksum.

    from components.bridge import copy_table

    result = copy_table(sqlite_store, "events", pg_store, "events", batch=10_000)
    result.rows, result.seconds, result.checksum, result.verified

`mobo bridge:copy SRC.TABLE DST.TABLE` is the same from the command line. The card has
no process of its own: copies run in the command (or in another card's job, such as a
backup). See docs/bridge.md for type mapping, checkpoints, verification and limits.
"""

from __future__ import annotations

from mobo.contract import Board, Card
from mobo.exceptions import ComponentFatal

from .copy import DEFAULT_BATCH, CopyResult, Progress, copy_table

__all__ = ["CARD", "DEFAULT_BATCH", "CopyResult", "Progress", "copy_table"]


class BridgeCard(Card):
    """Plugged for its commands and library; nothing to supervise."""

    name = "bridge"

    def wanted(self, config: object) -> bool:
        return False

    def run(self, board: Board) -> None:
        raise ComponentFatal(
            "the bridge card has no process", hint="use `mobo bridge:copy SRC.TABLE DST.TABLE`"
        )


CARD = BridgeCard()
