"""`mobo keys:list`, `keys:create`, `keys:revoke`, `auth:signing-key`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mobo.cli import main
from mobo.kernel.config import load_config
from tests.auth.conftest import make_board


def mobo(home: Path, *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    return result


def test_keys_lifecycle(home: Path) -> None:
    config = make_board(home)
    listed = json.loads(mobo(home, "keys:list", "--json").output)
    assert [(r["name"], r["role"]) for r in listed] == [
        ("anon", "anon"),
        ("service_role", "service_role"),
    ]
    assert listed[1]["key"] == config.secrets.service_role_key
    created = mobo(
        home,
        "keys:create",
        "--role",
        "authenticated",
        "--name",
        "sensor-1",
        "--expires",
        "30d",
        "--json",
    )
    assert created.exit_code == 0
    key = json.loads(created.output)["key"]
    assert key.startswith("mfk_")
    listed = json.loads(mobo(home, "keys:list", "--json").output)
    native = listed[2]
    assert native["name"] == "sensor-1" and native["role"] == "authenticated"
    assert native["key"].startswith(key[:16]) and key not in json.dumps(listed)
    assert native["created"] and native["expires"] and native["revoked"] is None
    assert "last_used" in native
    plain = mobo(home, "keys:create", "--role", "anon", "--name", "agent")
    assert plain.exit_code == 0 and "mfk_" in plain.output
    assert "sensor-1" in mobo(home, "keys:list").output
    assert mobo(home, "keys:revoke", "sensor-1").exit_code == 0
    names = [r["name"] for r in json.loads(mobo(home, "keys:list", "--json").output)]
    assert "sensor-1" not in names and "agent" in names
    every = json.loads(mobo(home, "keys:list", "--json", "--all").output)
    assert next(r for r in every if r["name"] == "sensor-1")["revoked"]
    missing = mobo(home, "keys:revoke", "sensor-1")
    assert missing.exit_code == 1 and "no active key" in missing.output
    dup = mobo(home, "keys:create", "--role", "anon", "--name", "agent")
    assert dup.exit_code == 1


def test_signing_key_switches_the_board_to_rs256(home: Path) -> None:
    make_board(home, auth={"jwt_algorithm": "RS256"})
    result = mobo(home, "auth:signing-key", "--algorithm", "RS256")
    assert result.exit_code == 0, result.output
    config = load_config(home, environ={})
    assert (home / ".mobo" / "secrets.toml").stat().st_mode & 0o777 == 0o600
    from components.auth.runtime import MagAuth

    auth = MagAuth(config)
    assert auth.tokens.algorithm == "RS256"
    assert auth.tokens.verify(config.secrets.service_role_key).role == "service_role"
    assert auth.tokens.jwks()["keys"][0]["kty"] == "RSA"
