"""What a backup tells the world while it runs: bus events, and a progress callback.

Events go out on the board's bus when Redis answers (the bus never raises); `progress`
events are throttled, and the same numbers go to an optional callback (the RQ job's
meta, or the CLI's progress bar when it runs inline).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mobo.kernel.config import Config

PROGRESS_EVERY_S = 0.5  # at most two progress events a second

Callback = Callable[[dict[str, Any]], None]


class Reporter:
    def __init__(self, config: Config | None, callback: Callback | None = None) -> None:
        self._bus = _bus(config) if config is not None else None
        self._callback = callback
        self._last = 0.0

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        if self._bus is not None:
            self._bus.emit(type_, data)

    def progress(self, data: dict[str, Any], *, force: bool = False) -> None:
        if self._callback is not None:
            self._callback(data)
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.emit("backup.progress", data)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()


def _bus(config: Config) -> Any:
    from mobo.kernel.bus import Bus
    from mobo.kernel.keys import Keys
    from mobo.kernel.redisconn import connect
    from mobo.kernel.status import board_redis_url

    try:
        client = connect(board_redis_url(config), timeout=2.0)
        return Bus(client, Keys(config.namespace), "backup", history_maxlen=config.bus.history)
    except Exception:  # no Redis: a backup still runs, unannounced
        return None
