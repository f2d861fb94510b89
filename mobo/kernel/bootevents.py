"""The boot's own events: `system.booting`, `boot.stage_completed`, `boot.failed`.

A boot starts before the board's Redis is known (pre-boot reads the config that names
it), and a private Redis only answers once its card runs in "start services". So boot
events wait here, in order, until the bus answers, then go out together; those of a boot
that fails before then are only shown on screen and logged.
"""

from __future__ import annotations

import logging
from typing import Any

from mobo.exceptions import BusUnavailable
from mobo.kernel.bus import Bus
from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from mobo.kernel.redisconn import connect, ping

LOGGER = logging.getLogger(__name__)


class BootEvents:
    """Events of one boot, published once the board's Redis answers."""

    def __init__(self) -> None:
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._config: Config | None = None
        self._bus: Bus | None = None

    def attach(self, config: Config) -> None:
        """Publish to the Redis `config` names (fixed by kernel init) from now on."""
        self._config = config
        self.flush()

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Queue an event and publish every queued one if the bus answers."""
        self._pending.append((type_, data))
        self.flush()

    def flush(self) -> None:
        """Publish the queued events, in order, when the board's Redis answers."""
        bus = self._connected()
        if bus is None:
            return
        pending, self._pending = self._pending, []
        for type_, data in pending:
            bus.emit(type_, data)

    def discard(self) -> None:
        """Forget the queued events (no boot happened: the board was already running)."""
        self._pending.clear()

    def close(self) -> None:
        """Drop what could not be published (logged once) and release the connection."""
        if self._pending:
            LOGGER.info(
                "boot events not published (the board's Redis never answered): %s",
                ", ".join(type_ for type_, _ in self._pending),
            )
            self._pending.clear()
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def _connected(self) -> Bus | None:
        if self._bus is not None:
            return self._bus
        config = self._config
        if config is None:
            return None
        try:
            # a PING first: a Bus would count every event sent to an absent Redis as lost
            ping(config.redis.url)
        except BusUnavailable:
            return None
        client = connect(config.redis.url)
        self._bus = Bus(client, Keys(config.namespace), "kernel", history_maxlen=config.bus.history)
        return self._bus
