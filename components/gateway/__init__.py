"""The `gateway` card: the board's HTTP face, a Falcon app under gunicorn's uvicorn workers.

`mobo run gateway` is gunicorn's master process (supervised); its workers each build the
app with `create_app`. The master reports the card ready once `/health` answers.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import urllib.request
from typing import Any

from gunicorn.app.base import BaseApplication

from components.gateway.app import MASTER_HEADER
from mobo.contract import Board, Card, Check
from mobo.defaults import HEARTBEAT_INTERVAL_S
from mobo.kernel.config import Config
from mobo.kernel.reload import ConfigWatcher
from mobo.kernel.supervisor import port_free

PROBE_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 30.0


def base_url(config: Config) -> str:
    host = config.gateway.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    return f"http://{shown}:{config.gateway.port}"


def probe(config: Config, timeout: float = PROBE_TIMEOUT_S, master: int | None = None) -> Check:
    """GET /health once; return the outcome with its latency.

    With `master`, the answer must come from a worker of that gunicorn master."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(base_url(config) + "/health", timeout=timeout) as resp:  # noqa: S310
            ok = resp.status == 200
            if master is not None and resp.headers.get(MASTER_HEADER) != str(master):
                ok = False
            detail = f"HTTP {resp.status}"
    except OSError as exc:
        ok, detail = False, str(exc)
    return Check("gateway", ok, detail, ms=(time.perf_counter() - start) * 1000)


class GatewayApplication(BaseApplication):
    """gunicorn, configured from the board's config instead of a command line."""

    def __init__(self, board: Board) -> None:
        self.board = board
        super().__init__()

    def load_config(self) -> None:
        gw = self.board.config.gateway
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
        app = WsgiBridge(create_app(board.config, services), board.config.gateway.threads)
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


class GatewayCard(Card):
    name = "gateway"

    def url(self, config: Config) -> str:
        return base_url(config)

    def preflight(self, config: Config) -> list[Check]:
        gw = config.gateway
        free = port_free(gw.host, gw.port)
        return [
            Check(
                f"port {gw.host}:{gw.port} free",
                free,
                "" if free else "something already listens there",
                hint="stop it, or set [gateway] port in mobo.toml (or MOBO_GATEWAY_PORT)",
            ),
            settings_check(config),
        ]

    def health(self, board: Board) -> Check:
        return probe(board.config)

    def probe(self, board: Board, pid: int | None) -> Check:
        """The master's heartbeat (a stopped master still has serving workers) and HTTP."""
        beat = super().probe(board, pid)
        if not beat.ok:
            return beat
        return probe(board.config, timeout=board.config.health.timeout, master=pid)

    def run(self, board: Board) -> None:
        master = os.getpid()
        try:
            GatewayApplication(board).run()
        except SystemExit as exc:
            if os.getpid() != master:
                _exit_worker(exc.code)
            if exc.code not in (0, None):
                raise RuntimeError(f"gunicorn exited with code {exc.code}") from None


def settings_check(config: Config) -> Check:
    """POST: the rates, proxies and origins of [gateway]/[rate_limit] parse."""
    from components.gateway.platform.settings import from_config
    from mobo.exceptions import ConfigError

    try:
        from_config(config)
    except ConfigError as exc:
        return Check("gateway limits, proxies and origins", False, str(exc), hint=exc.hint)
    return Check("gateway limits, proxies and origins", True)


def _watch_config(board: Board) -> None:
    watcher = ConfigWatcher(board.config)
    while not board.wait(HEARTBEAT_INTERVAL_S):
        watcher.poll()


def _exit_worker(code: object) -> None:
    """End a forked gunicorn worker here: it must never unwind into the runner's teardown
    (that would report the card stopped and join threads that exist only in the master)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


CARD = GatewayCard()
