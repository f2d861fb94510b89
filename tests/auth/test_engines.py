"""MagAuth on every engine: migrations, and one HTTP flow through create_app.

SQLite, PostgreSQL and MariaDB each get a throwaway database (tests/datastore/conftest).
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from components.auth import migrate
from components.auth.runtime import auth_adapter
from components.datastore import open_adapter
from tests.auth.conftest import app_client, make_board

PASSWORD = "pass-word-1"


def test_migrations_are_idempotent(engine_store: dict) -> None:
    adapter = open_adapter("main", engine_store)
    try:
        first = migrate.apply(adapter)
        assert first == ["001_auth.sql"]
        assert migrate.apply(adapter) == first  # again: nothing breaks, nothing changes
        tables = set(auth_adapter(adapter).introspect().tables)
        names = {"users", "identities", "sessions", "refresh_tokens", "api_keys"}
        expected = names if adapter.engine == "postgres" else {f"auth_{n}" for n in names}
        assert expected <= tables
    finally:
        adapter.close()


def test_a_whole_session_over_http(engine_store: dict, tmp_path: Path) -> None:
    config = make_board(tmp_path / "home", store=engine_store)
    client, services = app_client(config)
    key = config.secrets.anon_key
    headers = {"apikey": key, "X-Supabase-Api-Version": "2024-01-01"}
    try:
        email = f"flow-{tmp_path.name[-6:]}@example.com".lower()
        up = client.simulate_post(
            "/auth/v1/signup",
            json={"email": email, "password": PASSWORD, "data": {"n": 1}},
            headers=headers,
        )
        assert up.status_code == 200, up.json
        again = client.simulate_post(
            "/auth/v1/signup", json={"email": email, "password": PASSWORD}, headers=headers
        )
        assert (again.status_code, again.json["code"]) == (422, "user_already_exists")
        signin = client.simulate_post(
            "/auth/v1/token?grant_type=password",
            json={"email": email, "password": PASSWORD},
            headers=headers,
        )
        assert signin.status_code == 200
        bearer = {**headers, "Authorization": f"Bearer {signin.json['access_token']}"}
        me = client.simulate_get("/auth/v1/user", headers=bearer)
        assert me.status_code == 200 and me.json["user_metadata"] == {"n": 1}
        assert me.json["identities"][0]["identity_data"]["email"] == email
        put = client.simulate_put("/auth/v1/user", json={"data": {"m": 2}}, headers=bearer)
        assert put.json["user_metadata"] == {"n": 1, "m": 2}
        refreshed = client.simulate_post(
            "/auth/v1/token?grant_type=refresh_token",
            json={"refresh_token": signin.json["refresh_token"]},
            headers=headers,
        )
        assert refreshed.status_code == 200
        reused = client.simulate_post(
            "/auth/v1/token?grant_type=refresh_token",
            json={"refresh_token": signin.json["refresh_token"]},
            headers=headers,
        )
        assert reused.json["refresh_token"] == refreshed.json["refresh_token"]
        out = client.simulate_post("/auth/v1/logout?scope=global", headers=bearer)
        assert out.status_code == 204
        service = {"Authorization": f"Bearer {config.secrets.service_role_key}"}
        users = client.simulate_get("/auth/v1/admin/users", headers=service).json["users"]
        assert [u["email"] for u in users] == [email]
        assert (
            client.simulate_delete(
                f"/auth/v1/admin/users/{users[0]['id']}", headers=service
            ).status_code
            == 200
        )
        api_key, _ = services.provided["auth"].api_keys.create("device", "authenticated")
        assert services.provided["auth"].authenticate({"apikey": api_key}).role == "authenticated"
    finally:
        services.provided["auth"].close()


@pytest.fixture
def postgres_store(engine_store: dict) -> dict:
    if engine_store["engine"] != "postgres":
        pytest.skip("PostgreSQL only")
    return engine_store


def test_postgres_helpers_read_the_request_claims(postgres_store: dict) -> None:
    adapter = open_adapter("main", postgres_store)
    try:
        migrate.apply(adapter)
    finally:
        adapter.close()
    claims = {
        "sub": "6f1c7e0e-1111-4222-8333-444455556666",
        "role": "authenticated",
        "email": "a@b.io",
    }
    with psycopg.connect(postgres_store["dsn"], autocommit=False) as conn:
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        row = conn.execute(
            "SELECT auth.uid()::text, auth.role(), auth.email(), auth.jwt() ->> 'sub'"
        ).fetchone()
        assert row == (claims["sub"], "authenticated", "a@b.io", claims["sub"])
        conn.execute("SET LOCAL ROLE authenticated")
        assert conn.execute("SELECT auth.uid()::text").fetchone() == (claims["sub"],)
        conn.rollback()
        assert conn.execute("SELECT auth.uid(), auth.role()").fetchone() == (None, None)
        roles = conn.execute(
            "SELECT rolname, rolcanlogin FROM pg_roles "
            "WHERE rolname IN ('anon', 'authenticated', 'service_role')"
        ).fetchall()
        assert sorted(roles) == [("anon", False), ("authenticated", False), ("service_role", False)]
