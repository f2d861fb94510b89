"""The realtime card's POST checks and its outside probe."""

from __future__ import annotations

import json
from typing import Any

from mobo.contract import Board, Card, Check
from mobo.exceptions import ConfigError
from mobo.kernel.supervisor import port_free

from . import names
from .credentials import App
from .publisher import PublishError, PusherClient
from .settings import load_settings


def preflight(config: Any) -> list[Check]:
    """Settings valid; our ports free, or (connector mode) the external server answers."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        return [Check("realtime settings valid", False, str(exc), hint=exc.hint)]
    if settings.connector:
        return [external_check(settings)]
    checks = []
    for port in (settings.port, settings.http_port):
        free = port_free(settings.host, port)
        checks.append(
            Check(
                f"realtime port {settings.host}:{port} free",
                free,
                "" if free else "something already listens there",
                hint="stop it, or set [realtime] port / http_port in mobo.toml",
            )
        )
    return checks


def external_check(settings: Any) -> Check:
    """Ask the external server for its channels, signed with the configured app."""
    app = App(settings.external_app_id, settings.external_key, settings.external_secret)
    name = f"realtime external {settings.external} answers"
    try:
        PusherClient(settings.external, app, timeout=3.0).channels()
    except PublishError as exc:
        return Check(
            name,
            False,
            str(exc),
            hint="start the external server, or check [realtime] external, external_app_id, "
            "external_key and external_secret",
        )
    return Check(name, True, f"app {settings.external_app_id}")


def probe(board: Board, pid: int | None) -> Check:
    """The heartbeat, and the stats the card keeps publishing."""
    beat = Card.probe(_Base(), board, pid)  # type: ignore[arg-type]
    if not beat.ok:
        return beat
    raw = board.redis.get(names.stats(board.keys))
    if raw is None:
        return Check("realtime", False, "no stats published for 10 s (event loop stuck?)")
    stats = json.loads(raw)
    return Check("realtime", True, f"{stats.get('connections', 0)} connections")


class _Base(Card):
    name = "realtime"
