"""Boot real boards (supervisord, gunicorn, RQ, redis-server) in throwaway homes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from mobo.kernel.status import forget_board_keys
from tests.conftest import free_port

MOBO = [sys.executable, "-m", "mobo"]


@dataclass
class BoardHome:
    """A board home on disk, driven through the real `mobo` CLI."""

    home: Path
    port: int
    env: dict[str, str]
    cwd: Path | None = None  # `python -m mobo` imports from here first (a copied tree)

    def mobo(
        self, *args: str, timeout: float = 60, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*MOBO, *args],
            env={**self.env, **(env or {})},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"mobo {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def status(self) -> dict:
        return json.loads(self.mobo("status", "--json").stdout)

    def card(self, name: str) -> dict:
        return next(c for c in self.status()["cards"] if c["name"] == name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def board_pids(self) -> set[int]:
        """supervisord and every process below it."""
        pidfile = self.home / ".mobo" / "run" / "supervisord.pid"
        if not pidfile.exists():
            return set()
        try:
            root = psutil.Process(int(pidfile.read_text()))
            return {root.pid, *(p.pid for p in root.children(recursive=True))}
        except (psutil.Error, ValueError):
            return set()


def make_home(extra_env: dict[str, str] | None = None, cwd: Path | None = None) -> BoardHome:
    # a short path: supervisor's and redis's unix sockets must fit in 107 bytes
    home = Path(tempfile.mkdtemp(prefix="mobo-", dir="/tmp"))
    port = free_port()
    env = {**os.environ, "MOBO_HOME": str(home), **(extra_env or {})}
    env.pop("MOBO_REDIS_URL", None) if "MOBO_REDIS_URL" not in (extra_env or {}) else None
    board = BoardHome(home, port, env, cwd)
    board.mobo("init", "--port", str(port))
    # `mobo init` takes 6001/6002 for realtime when free; boards made before any boots
    # would all take them, so each test board gets its own
    config = home / "mobo.toml"
    ports = f"port = {free_port()}\nhttp_port = {free_port()}"
    config.write_text(re.sub(r"(?m)^port = \d+\nhttp_port = \d+$", ports, config.read_text()))
    return board


def teardown(board: BoardHome) -> None:
    pids = board.board_pids()
    board.mobo("shutdown", check=False, timeout=60)
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    forget_board_keys(board.home)  # its event history and streams, on a shared Redis
    shutil.rmtree(board.home, ignore_errors=True)


@pytest.fixture
def board_home() -> Iterator[BoardHome]:
    board = make_home()
    yield board
    teardown(board)


@pytest.fixture(scope="module")
def booted() -> Iterator[BoardHome]:
    """One booted default board shared by a module's tests."""
    board = make_home()
    board.mobo("boot")
    yield board
    teardown(board)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; return its value or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {predicate}")
