"""Secrets: the cards' `secrets` hooks fill the board's file; values are never shown."""

from __future__ import annotations

import pickle
from pathlib import Path

import jwt

from mobo.kernel.config import Secrets, load_config
from mobo.kernel.home import add_card_secrets, init_home
from mobo.kernel.lifecycle import set_unplugged
from tests.conftest import requires_cards


def secrets_text(home: Path) -> str:
    return (home / ".mobo" / "secrets.toml").read_text()


@requires_cards("auth", "backup", "realtime")
def test_init_asks_every_plugged_card(home: Path) -> None:
    init_home(home)
    secrets = load_config(home, environ={}).secrets
    assert {"jwt_secret", "anon_key", "service_role_key", "backup_secret"} <= set(secrets)
    assert {"realtime_app_id", "realtime_key", "realtime_secret"} <= set(secrets)
    claims = jwt.decode(secrets.anon_key, secrets.jwt_secret, algorithms=["HS256"])
    assert claims["role"] == "anon" and claims["ref"] == load_config(home, environ={}).board.id


@requires_cards("auth", "backup", "realtime")
def test_a_card_plugged_later_gets_its_secrets_and_the_others_are_kept(home: Path) -> None:
    init_home(home)
    config = load_config(home, environ={})
    before = dict(config.secrets)
    path = config.secrets_path
    path.write_text("".join(f'{k} = "{v}"\n' for k, v in before.items() if k != "backup_secret"))
    set_unplugged(config.config_path, ["backup"])
    config = load_config(home, environ={})
    assert add_card_secrets(config) == []  # backup is unplugged: nobody asks for it
    assert add_card_secrets(config, ["backup"]) == ["backup_secret"]
    after = load_config(home, environ={}).secrets
    assert len(after.backup_secret) == 64
    assert {k: after[k] for k in before if k != "backup_secret"} == {
        k: v for k, v in before.items() if k != "backup_secret"
    }
    assert add_card_secrets(load_config(home, environ={}), ["backup"]) == []


def test_secrets_read_as_attributes_and_never_show_their_values() -> None:
    secrets = Secrets({"jwt_secret": "s3cr3t"}, anon_key="an0n")
    assert secrets.jwt_secret == "s3cr3t" and secrets["anon_key"] == "an0n"
    assert secrets.no_card_set_this == ""
    assert "s3cr3t" not in repr(secrets) and "an0n" not in f"{secrets}"
    assert pickle.loads(pickle.dumps(secrets)) == secrets


def test_any_secret_can_come_from_the_environment(home: Path) -> None:
    init_home(home)
    config = load_config(home, environ={"MOBO_SECRETS_SENTINEL_TOKEN": "tok"})
    assert config.secrets.sentinel_token == "tok"
