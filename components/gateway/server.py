"""gunicorn's master, configured from the board's config (imported by `run`, so that
loading the card, as every process that reads the config does, stays light)."""

from __future__ import annotations

import gc
import os
import threading
import time
from typing import Any

from gunicorn.app.base import BaseApplication

from components.gateway import READY_TIMEOUT_S, base_url, probe
from components.gateway.settings import gateway_settings
from mobo.contract import Board
from mobo.defaults import HEARTBEAT_INTERVAL_S
from mobo.kernel.reload import ConfigWatcher


class GatewayApplication(BaseApplication):
    """gunicorn, configured from the board's config instead of a command line."""

    def __init__(self, board: Board) -> None:
        self.board = board
        super().__init__()

    def load_config(self) -> None:
        gw = gateway_settings(self.board.config)
        settings: dict[str, Any] = {
            "bind": [f"{gw.host}:{gw.port}"],
            "workers": gw.workers,
            # uvicorn workers (HTTP in C, keep-alive) calling the WSGI app through
            # platform/asgi.py: inline with threads = 1, else in a pool of `threads`
            "worker_class": "components.gateway.platform.asgi.GatewayWorker",
            "reuse_port": True,
            "proc_name": f"mobo-gateway[{self.board.config.board.id}]",
            "accesslog": None,
            "errorlog": "-",
            "loglevel": self.board.config.log.level,
            "graceful_timeout": 10,
            "when_ready": self._when_ready,
            "post_fork": self._post_fork,
            "control_socket_disable": True,  # gunicorn 23+: one per home dir would clash
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from components.gateway.app import Services, create_app
        from mobo.kernel.registry import Registry

        board = self.board
        from components.gateway.platform.asgi import WsgiBridge

        services = Services(board.redis_url, board.keys, Registry.discover().names)
        app = WsgiBridge(create_app(board.config, services), gateway_settings(board.config).threads)
        # What is loaded by now (modules, the app) lives as long as the worker: out of the
        # collector's sight, a full collection stops the worker's threads ~2 ms, not ~45.
        gc.freeze()
        return app

    def _post_fork(self, server: Any, worker: Any) -> None:
        """Each worker applies hot config changes itself (it has its own logging)."""
        threading.Thread(
            target=_watch_config, args=(self.board,), daemon=True, name="config-watch"
        ).start()

    def _when_ready(self, server: Any) -> None:
        threading.Thread(target=self._report_ready, name="gateway-ready", daemon=True).start()

    def _report_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if probe(self.board.config, timeout=0.5, master=os.getpid()).ok:
                self.board.ready(url=base_url(self.board.config))
                return
            time.sleep(0.02)
        self.board.log.error("gateway did not answer /health within %ss", READY_TIMEOUT_S)


def _watch_config(board: Board) -> None:
    watcher = ConfigWatcher(board.config)
    while not board.wait(HEARTBEAT_INTERVAL_S):
        watcher.poll()
