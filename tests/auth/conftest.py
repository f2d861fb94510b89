"""MagAuth fixtures: a board home with its secrets, MagAuth over a real store, an app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from falcon import testing

from components.auth.mailer import MemoryMailer
from components.auth.runtime import MagAuth
from components.datastore import open_adapter
from components.gateway.app import Services, create_app
from mobo.kernel.config import Config, load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL
from tests.datastore.conftest import throwaway_database


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_board(
    home: Path, *, auth: dict[str, Any] | None = None, store: dict | None = None
) -> Config:
    """Init a board home, add `[auth]` and `[datastores.main]` to mobo.toml, load it."""
    init_home(home)
    path = home / "mobo.toml"
    extra: dict[str, Any] = {}
    if auth:
        extra["auth"] = auth
    if store:
        extra["datastores"] = {"main": store}
    if extra:
        path.write_text(path.read_text() + "\n" + tomli_w.dumps(extra))
    return load_config(home, environ={})


@pytest.fixture
def board(home: Path) -> Config:
    return make_board(home)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def magauth(board: Config, clock: FakeClock, mailer: MemoryMailer) -> Iterator[MagAuth]:
    """MagAuth on a SQLite store in the board's home, with a hand-driven clock."""
    adapter = open_adapter("main", {"engine": "sqlite", "path": str(board.home / "main.db")})
    auth = MagAuth(board, lambda: adapter, mailer=mailer, clock=clock)
    yield auth
    auth.close()
    adapter.close()


def app_client(config: Config) -> tuple[testing.TestClient, Services]:
    services = Services(REDIS_URL, Keys(config.namespace), [])
    return testing.TestClient(create_app(config, services)), services


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def engine_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Settings of a throwaway store on each engine (one per module and engine)."""
    with throwaway_database(request.param, tmp_path_factory.mktemp(request.param)) as settings:
        yield settings
