"""The `monitor` card: the board's hardware monitor and power management.

Every `[health] interval` seconds it probes each plugged card from outside (heartbeat,
plus the card's own probe: HTTP for the gateway, PING for Redis, a query per data store,
RQ's registration for the worker), moves each card's health through healthy → degraded →
critical → failed and back through recovering, emits `health.*` on transitions, restarts
failed cards with exponential backoff (taking over from supervisor's FATAL), and leaves a
card stopped with `system.critical` past `restart_max` restarts in `restart_window`.
"""

from __future__ import annotations

from mobo.contract import Board, Card


class MonitorCard(Card):
    name = "monitor"

    def run(self, board: Board) -> None:
        from components.monitor.monitor import Monitor

        Monitor(board).serve()


CARD = MonitorCard()
