"""The `redis` card: a private redis-server for a board that has no Redis to use.

It runs only when `[redis] url` is empty and no Redis answers at the default local
address; it listens on a unix socket inside `.mobo/run/` (no TCP port) and keeps its
append-only file in `.mobo/redis/`.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import redis

from mobo.contract import Board, Card, Check
from mobo.exceptions import ComponentFatal, ComponentNotReady
from mobo.kernel.config import Config

SOCKET_NAME = "redis.sock"
START_TIMEOUT_S = 10.0


def socket_url(config: Config) -> str:
    return f"unix://{config.run_dir / SOCKET_NAME}"


def server_command(config: Config) -> list[str]:
    """Return the redis-server command line for this board's private server."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ComponentFatal(
            "redis-server is not installed", hint="apt-get install redis-server, or set [redis] url"
        )
    data = config.state_dir / "redis"
    data.mkdir(mode=0o700, exist_ok=True)
    return [
        binary,
        "--port",
        "0",
        "--unixsocket",
        str(config.run_dir / SOCKET_NAME),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]


class RedisCard(Card):
    name = "redis"

    def wanted(self, config: Config) -> bool:
        """Run only when the board was told to use the private socket (by boot)."""
        return config.redis.url == socket_url(config)

    def preflight(self, config: Config) -> list[Check]:
        if not self.wanted(config):
            return []
        found = shutil.which("redis-server") is not None
        return [
            Check(
                "redis-server installed",
                found,
                "" if found else "not on PATH",
                hint="apt-get install redis-server, or set [redis] url",
            )
        ]

    def probe(self, board: Board, pid: int | None) -> Check:
        """PING the board's Redis (the private one, or the external one it uses)."""
        if pid is not None:
            beat = super().probe(board, pid)
            if not beat.ok:
                return beat
        check = self.health(board)
        if pid is None:
            return Check(self.name, check.ok, f"external Redis: {check.detail}", ms=check.ms)
        return check

    def health(self, board: Board) -> Check:
        start = time.perf_counter()
        try:
            board.redis.ping()
        except redis.RedisError as exc:
            return Check(self.name, False, str(exc))
        return Check(self.name, True, "PONG", ms=(time.perf_counter() - start) * 1000)

    def run(self, board: Board) -> None:
        proc = subprocess.Popen(server_command(board.config), stdout=subprocess.DEVNULL)
        try:
            self._wait_ping(board, proc)
            board.ready(url=socket_url(board.config), detail=f"redis-server pid {proc.pid}")
            while proc.poll() is None and not board.wait(0.5):
                pass
            if proc.returncode is not None:
                raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)

    def _wait_ping(self, board: Board, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {proc.returncode}")
            try:
                board.redis.ping()
                return
            except redis.RedisError:
                time.sleep(0.02)
        raise ComponentNotReady(f"redis-server did not answer within {START_TIMEOUT_S:.0f}s")


CARD = RedisCard()
