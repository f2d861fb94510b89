"""Helpers for the REST API tests: a board on a real store, its app, and callers' keys."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w
from falcon import testing

from components.datastore import Adapter, open_adapter
from components.gateway.app import Services, create_app
from mobo.kernel.config import Config, load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL
from tests.datastore.conftest import throwaway_database

# Roles a PostgreSQL test database grants its tables to (the auth migration creates them).
PG_GRANTS = (
    "GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role",
    "GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role",
    "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO anon, authenticated, service_role",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO anon, authenticated, service_role",
)


def make_board(
    home: Path,
    store: dict[str, Any],
    permissions: dict | None = None,
    *,
    others: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """Init a board whose default store is `store` (with REST permissions, if given) and
    `others` beside it."""
    init_home(home)
    main = dict(store)
    if permissions is not None:
        main["permissions"] = permissions
    stores = {"main": main, **(others or {})}
    path = home / "mobo.toml"
    path.write_text(path.read_text() + "\n" + tomli_w.dumps({"datastores": stores}))
    return load_config(home, environ={})


class Board:
    """A board's REST app with its keys; `get`/`post`/... send them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.services = Services(REDIS_URL, Keys(config.namespace), [])
        self.app = create_app(config, self.services)
        self.client = testing.TestClient(self.app)
        self.anon = config.secrets.anon_key
        self.service = config.secrets.service_role_key

    def user(self, sub: str | None = None, **claims: Any) -> str:
        """Return an access token for a user (a new one unless `sub` is given)."""
        auth = self.services.provided["auth"]
        assert auth is not None
        now = int(time.time())
        return auth.tokens.sign(
            {
                "sub": sub or str(uuid.uuid4()),
                "role": "authenticated",
                "aud": "authenticated",
                "iss": auth.settings.jwt_issuer,
                "ref": auth.settings.project,
                "iat": now,
                "exp": now + 3600,
                **claims,
            }
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = "service",
        headers: dict[str, str] | None = None,
        body: Any = None,
        raw: bytes | str | None = None,
    ) -> testing.Result:
        sent = dict(headers or {})
        token = {"service": self.service, "anon": self.anon}.get(key or "", key)
        if key is not None:
            sent.setdefault("apikey", self.anon)
            sent.setdefault("Authorization", f"Bearer {token}")
        if body is not None:
            raw = json.dumps(body)
            sent.setdefault("Content-Type", "application/json")
        path, _, query = path.partition("?")
        return self.client.simulate_request(
            method, "/rest/v1/" + path, query_string=query or None, headers=sent, body=raw
        )

    def get(self, path: str, **kw: Any) -> testing.Result:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> testing.Result:
        return self.request("POST", path, body=body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> testing.Result:
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path: str, **kw: Any) -> testing.Result:
        return self.request("DELETE", path, **kw)

    def close(self) -> None:
        """Close MagAuth's and the gateway's pools (the platform owns the REST stores)."""
        if "auth" in self.services.provided:
            self.services.provided["auth"].close()
        platform = getattr(self.services, "platform", None)
        if platform is not None:
            platform.close()


@contextmanager
def store_with(engine: str, tmp: Path, ddl: list[str]) -> Iterator[tuple[dict[str, Any], Adapter]]:
    """Yield the settings of a throwaway store holding `ddl`, and an adapter on it."""
    with throwaway_database(engine, tmp) as settings:
        adapter = open_adapter("setup", settings)
        try:
            for statement in ddl:
                adapter.raw(statement)
            adapter.refresh_schema()
            yield settings, adapter
        finally:
            adapter.close()


def prepare_postgres(adapter: Adapter, statements: list[str]) -> None:
    """Create the auth schema and roles (MagAuth's migration), then run `statements`."""
    from components.auth import migrate

    migrate.apply(adapter)
    for statement in statements:
        adapter.raw(statement)
