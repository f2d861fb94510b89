"""The card's bus handler, subscribed by the process hosting it: `on_change(board, event)`."""

from __future__ import annotations

import json

from mobo.contract import Board
from mobo.events import Event

from . import names


def on_change(board: Board, event: Event) -> None:
    """Record the last `data.change` (here in the worker: the card has no process)."""
    seen = {"type": event.type, "id": event.id, "table": event.data.get("table")}
    board.redis.set(names.seen(board.keys), json.dumps(seen))
