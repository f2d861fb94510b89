"""`GET /rest/v1/`: a valid OpenAPI 3 document of the live schema, renewed after DDL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from click.testing import CliRunner
from openapi_spec_validator import validate

from components.datastore import open_adapter
from mobo.cli import main
from mobo.events import Event
from mobo.kernel.bus import Bus
from mobo.kernel.config import Config
from mobo.kernel.keys import Keys
from tests.datastore.conftest import throwaway_database
from tests.gateway.platform_support import anon, app_client, make_board

DDL = [
    "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE)",
    "CREATE TABLE books (id INTEGER PRIMARY KEY, title VARCHAR(40) NOT NULL,"
    " author_id INTEGER NOT NULL REFERENCES authors(id), price NUMERIC(8,2),"
    ' meta JSON, status TEXT NOT NULL DEFAULT \'draft\', "select" TEXT, "odd name" TEXT)',
    "CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10",
    "CREATE TABLE mobo_internal (id INTEGER PRIMARY KEY)",
]


def sqlite_board(home: Path, keys: Keys, **sections: Any) -> Config:
    config = make_board(home, keys, **sections)
    adapter = open_adapter("main", {"engine": "sqlite", "path": str(home / "data" / "main.db")})
    try:
        for statement in DDL:
            adapter.raw(statement)
    finally:
        adapter.close()
    return config


def wait_for(check: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def bus(redis_client: redis.Redis, keys: Keys) -> Iterator[Bus]:
    with Bus(redis_client, keys, "test") as bus:
        yield bus


def test_the_document_validates_and_describes_the_tables(home: Path, keys: Keys) -> None:
    config = sqlite_board(home, keys)
    with app_client(config) as (client, _):
        answer = client.simulate_get("/rest/v1/", headers=anon(config))
    assert answer.status_code == 200
    doc = answer.json
    validate(doc)
    assert doc["openapi"].startswith("3.0")
    assert doc["servers"] == [{"url": "/rest/v1"}]
    paths = doc["paths"]
    assert {"/authors", "/books", "/cheap_books", "/odd%20name"} - set(paths) == {"/odd%20name"}
    assert "/mobo_internal" not in paths  # the board's own tables are hidden, as by REST
    assert set(paths["/books"]) == {"get", "post", "patch", "delete"}
    assert set(paths["/cheap_books"]) == {"get"}  # views are read-only here
    assert "/auth/v1/token" in paths and paths["/auth/v1/token"]["servers"] == [{"url": "/"}]
    get = paths["/books"]["get"]
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in get["parameters"]}
    assert {
        "select",
        "order",
        "limit",
        "offset",
        "range",
        "title",
        "author_id",
        "odd name",
    } <= names
    assert sum(1 for p in get["parameters"] if p.get("name") == "select") == 0  # no clash
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apikey"] == {
        **schemes["apikey"],
        "type": "apiKey",
        "in": "header",
        "name": "apikey",
    }
    assert schemes["bearer"]["scheme"] == "bearer"


def test_schemas_come_from_the_columns(home: Path, keys: Keys) -> None:
    config = sqlite_board(home, keys)
    with app_client(config) as (client, _):
        doc = client.simulate_get("/rest/v1/", headers=anon(config)).json
    books = doc["components"]["schemas"]["books"]
    assert set(books["required"]) == {"title", "author_id"}  # NOT NULL, no default, not the key
    props = books["properties"]
    assert props["id"]["type"] == "integer" and "Primary Key" in props["id"]["description"]
    assert props["title"] == {**props["title"], "type": "string", "maxLength": 40}
    assert "nullable" not in props["title"]
    assert props["price"]["nullable"] is True
    assert "<fk table='authors' column='id'/>" in props["author_id"]["description"]
    assert doc["components"]["schemas"]["authors"]["properties"]["born"]["format"] == "date"
    assert "type" not in props["meta"]  # any JSON value


def test_accept_profile_and_media_types(home: Path, keys: Keys) -> None:
    config = sqlite_board(home, keys)
    with app_client(config) as (client, _):
        openapi = client.simulate_get(
            "/rest/v1/", headers=anon(config, Accept="application/openapi+json")
        )
        assert openapi.headers["Content-Type"].startswith("application/openapi+json")
        plain = client.simulate_get("/rest/v1", headers=anon(config, Accept="application/json"))
        assert plain.headers["Content-Type"].startswith("application/json")
        assert plain.json == openapi.json
        csv = client.simulate_get("/rest/v1/", headers=anon(config, Accept="text/csv"))
        assert (csv.status_code, csv.json["code"]) == (406, "PGRST107")
        other = client.simulate_get("/rest/v1/", headers=anon(config, **{"Accept-Profile": "nope"}))
        assert (other.status_code, other.json["code"]) == (406, "PGRST106")


def test_the_document_needs_a_valid_key(home: Path, keys: Keys) -> None:
    config = sqlite_board(home, keys)
    with app_client(config) as (client, _):
        none = client.simulate_get("/rest/v1/")
        bad = client.simulate_get("/rest/v1/", headers={"apikey": "x.y.z"})
    assert none.status_code == 401 and none.json["code"].startswith("PGRST30")
    assert bad.status_code == 401 and set(bad.json) == {"code", "message", "details", "hint"}


def test_etag_answers_304_until_the_schema_changes(home: Path, keys: Keys) -> None:
    config = sqlite_board(home, keys)
    with app_client(config) as (client, _):
        first = client.simulate_get("/rest/v1/", headers=anon(config))
        etag = first.headers["ETag"]
        again = client.simulate_get("/rest/v1/", headers=anon(config, **{"If-None-Match": etag}))
    assert again.status_code == 304 and again.content == b""


def test_a_sqlite_ddl_change_shows_within_seconds(home: Path, keys: Keys, bus: Bus) -> None:
    config = sqlite_board(home, keys, gateway={"schema_check_interval": 0.2})
    announced: list[Event] = []
    bus.on("schema.reloaded", announced.append)
    with app_client(config) as (client, services):
        assert (
            "/reviews" not in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
        )
        assert services.platform is not None
        watcher = services.platform.watcher
        wait_for(lambda: "main" in watcher.fingerprints)  # the worker knows the store
        other = open_adapter("other", {"engine": "sqlite", "path": str(home / "data" / "main.db")})
        try:
            other.raw("CREATE TABLE reviews (id INTEGER PRIMARY KEY, stars INTEGER NOT NULL)")
        finally:
            other.close()
        started = time.monotonic()
        wait_for(
            lambda: (
                "/reviews" in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
            )
        )
        assert time.monotonic() - started < 5  # a few polls, even on a loaded machine
        wait_for(lambda: len(announced) >= 1)
    assert announced[0].data["store"] == "main" and announced[0].data["reason"] == "ddl"
    time.sleep(0.5)
    assert len(announced) == 1  # once for the board, not once per poll or per worker


def test_a_postgres_ddl_from_another_connection_shows_within_seconds(
    home: Path, keys: Keys, tmp_path: Path
) -> None:
    with throwaway_database("postgres", tmp_path) as store:
        config = make_board(
            home, keys, gateway={"schema_check_interval": 0.3}, datastores={"main": store}
        )
        with app_client(config) as (client, services):
            doc = client.simulate_get("/rest/v1/", headers=anon(config)).json
            validate(doc)
            assert "/gadgets" not in doc["paths"] and "/rpc/{function}" in doc["paths"]
            with psycopg.connect(store["dsn"], autocommit=True) as conn:
                conn.execute(
                    "CREATE TABLE gadgets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    " name varchar(20) NOT NULL, tags text[], at timestamptz DEFAULT now())"
                )
            started = time.monotonic()
            wait_for(
                lambda: (
                    "/gadgets"
                    in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
                )
            )
            assert time.monotonic() - started < 6
            doc = client.simulate_get("/rest/v1/", headers=anon(config)).json
            validate(doc)
            gadgets = doc["components"]["schemas"]["gadgets"]
            assert gadgets["required"] == ["name"]
            assert gadgets["properties"]["id"]["format"] == "int64"
            assert gadgets["properties"]["tags"]["type"] == "array"
            assert gadgets["properties"]["at"]["format"] == "date-time"
            assert services.platform is not None
            services.platform.close()  # release the pools before the database is dropped
            if "auth" in services.provided:
                services.provided["auth"].close()


def test_schema_reload_command_reloads_every_gateway_process(home: Path, keys: Keys) -> None:
    """With polling off, only `mobo schema:reload` (over the bus) makes DDL visible."""
    config = sqlite_board(home, keys, gateway={"schema_check_interval": 0})
    with app_client(config) as (client, services):
        assert "/notes" not in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
        assert services.platform is not None
        wait_for(lambda: services.platform.watcher._bus is not None)  # subscribed
        other = open_adapter("other", {"engine": "sqlite", "path": str(home / "data" / "main.db")})
        try:
            other.raw("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        finally:
            other.close()
        time.sleep(0.3)
        assert "/notes" not in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
        result = CliRunner().invoke(main, ["--home", str(home), "schema:reload", "main"])
        assert result.exit_code == 0, result.output
        assert "reload" in result.output
        wait_for(
            lambda: "/notes" in client.simulate_get("/rest/v1/", headers=anon(config)).json["paths"]
        )


def test_schema_reload_refuses_an_unknown_store(home: Path, keys: Keys) -> None:
    make_board(home, keys)
    result = CliRunner().invoke(main, ["--home", str(home), "schema:reload", "nope"])
    assert result.exit_code == 1
    assert "no datastore named 'nope'" in result.output and "main" in result.output


def test_schema_reload_knows_main_when_only_other_stores_are_configured(
    home: Path, keys: Keys
) -> None:
    # regression: the command listed the configured [datastores.*] tables on its own, so
    # the embedded `main` was unknown as soon as another store was configured
    make_board(home, keys, datastores={"edge": {"engine": "sqlite", "path": "data/edge.db"}})
    result = CliRunner().invoke(main, ["--home", str(home), "schema:reload", "main"])
    assert "no datastore named" not in result.output


@pytest.mark.parametrize("engine", ["sqlite", "postgres", "mysql"])
def test_the_fingerprint_moves_with_ddl_only(engine: str, tmp_path: Path) -> None:
    from components.gateway.platform.fingerprint import fingerprint

    with throwaway_database(engine, tmp_path) as settings:
        adapter = open_adapter("fp", settings)
        try:
            adapter.raw("CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            before = fingerprint(adapter)
            adapter.raw("INSERT INTO a (id, name) VALUES (1, 'x')")
            assert fingerprint(adapter) == before  # data is not schema
            adapter.raw("ALTER TABLE a ADD COLUMN extra INTEGER")
            added = fingerprint(adapter)
            assert added != before
            adapter.raw("CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id))")
            assert fingerprint(adapter) not in (before, added)
        finally:
            adapter.close()
