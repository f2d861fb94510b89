"""The `realtime` card (MagWS): table changes over the Pusher Channels protocol.

Its process serves Pusher protocol 7 over WebSocket (`[realtime] port`, default 6001)
and Pusher's HTTP API (`http_port`, default 6002), consumes the board's durable change
stream and sends each change to the subscribers of `private-db.{store}.{table}` that may
read the row. In connector mode (`[realtime] external`) it runs no server and publishes
the changes to that external Pusher-protocol server (Soketi) instead. The gateway serves
channel authorization at `POST /realtime/v1/auth`. See docs/realtime.md.
"""

from __future__ import annotations

from mobo.contract import Board, Card, Check


class RealtimeCard(Card):
    name = "realtime"

    def wanted(self, config) -> bool:  # type: ignore[no-untyped-def]
        """Run when mobo.toml has a `[realtime]` section (or MOBO_REALTIME_* is set)."""
        return "realtime" in config.extra

    def preflight(self, config) -> list[Check]:  # type: ignore[no-untyped-def]
        from .checks import preflight

        return preflight(config) if self.wanted(config) else []

    def url(self, config) -> str | None:  # type: ignore[no-untyped-def]
        from .settings import load_settings

        settings = load_settings(config)
        if settings.connector:
            return settings.external
        return f"ws://{settings.host}:{settings.port}"

    def probe(self, board: Board, pid: int | None) -> Check:
        from .checks import probe

        return probe(board, pid)

    def run(self, board: Board) -> None:
        from .card import run

        run(board)


CARD = RealtimeCard()
