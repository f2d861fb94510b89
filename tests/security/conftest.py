"""Boards for the security suite: real booted boards with the e2e tables (tests/e2e/boards.py).

`board` is one per engine; `pg_single` is a PostgreSQL board whose store pool holds one
connection and whose gateway runs one worker, so every request shares that connection.
`app` is the gateway's Falcon app in this process, on each engine, for TestClient-driven
property tests and schemathesis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import falcon
import pytest
import tomli_w

from components.datastore import Datastores, migrate_card, migrate_store, open_adapter
from components.gateway.app import Services, create_app
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL
from tests.datastore.conftest import throwaway_database
from tests.e2e.boards import DDL, ENGINES, RestBoard, rest_board, store_config


@pytest.fixture(scope="session", params=ENGINES)
def board(request: pytest.FixtureRequest) -> Iterator[RestBoard]:
    with rest_board(request.param) as booted:
        yield booted


@pytest.fixture(scope="session")
def pg_single() -> Iterator[RestBoard]:
    with rest_board("postgres", pool_max=1, workers=1) as booted:
        yield booted


def assert_pgrst_error(status: int, body: object) -> None:
    """A 4xx with PostgREST's error body: {code, message, details, hint}."""
    assert 400 <= status < 500, (status, body)
    assert isinstance(body, dict) and {"code", "message", "details", "hint"} <= body.keys(), body


@contextmanager
def in_process_app(engine: str, tmp: Path) -> Iterator[App]:
    """The gateway's Falcon app (create_app) for a board home on a throwaway `engine` store
    holding the e2e tables; no processes, for falcon's TestClient and schemathesis."""
    with throwaway_database(engine, tmp) as store:
        home = tmp / "home"
        init_home(home)
        toml = home / "mobo.toml"
        main = store_config(engine, store, None)
        toml.write_text(toml.read_text() + "\n" + tomli_w.dumps({"datastores": {"main": main}}))
        config = load_config(home, environ={})
        adapter = open_adapter("main", main, home=home)
        try:
            migrate_card(adapter, "auth")
            (home / "migrations" / "main").mkdir(parents=True)
            (home / "migrations" / "main" / "001_e2e.sql").write_text(DDL[engine])
            migrate_store(adapter, home)
        finally:
            adapter.close()
        services = Services(REDIS_URL, Keys(config.namespace), [])
        stores = Datastores.from_config(config)
        services.datastores = stores  # type: ignore[attr-defined]  # what mount() looks for
        app = create_app(config, services)
        try:
            yield App(engine, app, config.secrets.anon_key, config.secrets.service_role_key)
        finally:
            if "auth" in services.provided:
                services.provided["auth"].close()
            stores.close()  # before the database is dropped


@dataclass
class App:
    engine: str
    app: falcon.App
    anon_key: str
    service_key: str


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    with in_process_app(request.param, tmp_path_factory.mktemp(request.param)) as made:
        yield made
