"""The `gateway` card: the board's HTTP face, a Falcon app under gunicorn's uvicorn workers.

`mobo run gateway` is gunicorn's master process (supervised); its workers each build the
app with `create_app`. The master reports the card ready once `/health` answers.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request

from components.gateway.settings import gateway_settings
from mobo.contract import Board, Card, Check
from mobo.kernel.config import Config
from mobo.kernel.supervisor import port_free

PROBE_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 30.0


def base_url(config: Config) -> str:
    gw = gateway_settings(config)
    host = gw.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    return f"http://{shown}:{gw.port}"


def probe(config: Config, timeout: float = PROBE_TIMEOUT_S, master: int | None = None) -> Check:
    """GET /health once; return the outcome with its latency.

    With `master`, the answer must come from a worker of that gunicorn master."""
    from components.gateway.app import MASTER_HEADER  # falcon: loaded on first use

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


class GatewayCard(Card):
    name = "gateway"

    def url(self, config: Config) -> str:
        return base_url(config)

    def preflight(self, config: Config) -> list[Check]:
        gw = gateway_settings(config)
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
        from components.gateway.server import GatewayApplication

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


def _exit_worker(code: object) -> None:
    """End a forked gunicorn worker here: it must never unwind into the runner's teardown
    (that would report the card stopped and join threads that exist only in the master)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


CARD = GatewayCard()
