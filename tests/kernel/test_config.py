"""Config: TOML + environment overrides, validated with errors that name what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mobo.exceptions import ConfigError
from mobo.kernel.config import hot_keys, load_config
from mobo.kernel.home import init_home
from tests.conftest import requires_cards


def write(home: Path, text: str) -> None:
    (home / "mobo.toml").write_text(text)


def test_defaults_when_sections_are_missing(home: Path) -> None:
    write(home, "[board]\nid = 'abc'\n")
    config = load_config(home, environ={})
    assert config.gateway.port == 8000
    assert config.gateway.host == "127.0.0.1"
    assert config.namespace == "mobo:abc"
    assert config.worker.queues == ("default", "backup", "sentinel")


def test_environment_overrides_file(home: Path) -> None:
    write(home, "[gateway]\nport = 9000\n")
    config = load_config(
        home,
        environ={
            "MOBO_GATEWAY_PORT": "9100",
            "MOBO_WORKER_QUEUES": "a, b",
            "MOBO_LOG_MAX_BYTES": "8192",
            "MOBO_DATASTORES_MAIN_DSN": "postgresql://x/y",
        },
    )
    assert config.gateway.port == 9100
    assert config.worker.queues == ("a", "b")
    assert config.log.max_bytes == 8192
    assert config.section("datastores") == {"main": {"dsn": "postgresql://x/y"}}


def test_unrelated_mobo_variables_are_ignored(home: Path) -> None:
    write(home, "")
    load_config(home, environ={"MOBO_TEST_REDIS_URL": "x", "MOBO_HOME": str(home)})


def test_unknown_key_names_file_key_and_known_keys(home: Path) -> None:
    write(home, "[gateway]\nprot = 9000\n")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert str(home / "mobo.toml") in str(err.value)
    assert "gateway.prot" in str(err.value)
    assert "port" in err.value.hint


def test_out_of_range_value_names_key_value_and_range(home: Path) -> None:
    write(home, "[gateway]\nport = 70000\n")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert "gateway.port" in str(err.value) and "70000" in str(err.value)
    assert "1 to 65535" in err.value.hint


def test_wrong_type_from_environment_names_the_variable(home: Path) -> None:
    write(home, "")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={"MOBO_GATEWAY_PORT": "eighty"})
    assert "MOBO_GATEWAY_PORT" in str(err.value) and "eighty" in str(err.value)


def test_unknown_env_key_in_known_section_is_an_error(home: Path) -> None:
    write(home, "")
    with pytest.raises(ConfigError, match="MOBO_GATEWAY_PROT"):
        load_config(home, environ={"MOBO_GATEWAY_PROT": "1"})


def test_bad_choice_lists_allowed_values(home: Path) -> None:
    write(home, "[log]\nlevel = 'loud'\n")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert "log.level" in str(err.value)
    assert "debug" in err.value.hint and "critical" in err.value.hint


def test_syntax_error_names_the_file(home: Path) -> None:
    write(home, "[gateway\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(home, environ={})


def test_unknown_section(home: Path) -> None:
    write(home, "[gatewya]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"unknown section \[gatewya\]"):
        load_config(home, environ={})


def test_missing_config_says_to_run_init(home: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert "mobo init" in err.value.hint


def test_init_generates_private_secrets(home: Path) -> None:
    result = init_home(home)
    config = load_config(home, environ={})
    assert len(config.secrets.jwt_secret) >= 48
    assert config.secrets.anon_key.count(".") == 2
    assert config.secrets.anon_key != config.secrets.service_role_key
    assert os.stat(result.secrets_path).st_mode & 0o777 == 0o600
    assert config.secrets.jwt_secret not in repr(config)
    assert config.secrets.jwt_secret not in (home / "mobo.toml").read_text()
    assert (home / "supervisord.conf").exists()


def test_two_inits_make_different_secrets(tmp_path: Path) -> None:
    init_home(tmp_path / "a")
    init_home(tmp_path / "b")
    a = load_config(tmp_path / "a", environ={})
    b = load_config(tmp_path / "b", environ={})
    assert a.secrets.jwt_secret != b.secrets.jwt_secret
    assert a.board.id != b.board.id


def test_init_refuses_to_overwrite(home: Path) -> None:
    init_home(home)
    with pytest.raises(ConfigError, match="already exists"):
        init_home(home)


def test_world_readable_secrets_are_refused(home: Path) -> None:
    result = init_home(home)
    result.secrets_path.chmod(0o644)
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert "chmod 600" in err.value.hint


def test_log_level_is_hot_reloadable() -> None:
    assert "log.level" in hot_keys()
    assert "gateway.port" not in hot_keys()


def test_a_section_is_accepted_when_a_card_claims_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(home, "[sentinel]\nrules = ['a']\n")
    with pytest.raises(ConfigError, match=r"unknown section \[sentinel\]"):
        load_config(home, environ={})
    card = tmp_path / "cards" / "sentinel"
    card.mkdir(parents=True)
    (card / "manifest.toml").write_text(
        'name = "sentinel"\nversion = "1"\nconfig_sections = ["sentinel"]\n'
    )
    monkeypatch.setenv("MOBO_CARD_PATH", str(tmp_path / "cards"))
    config = load_config(home, environ={"MOBO_SENTINEL_MODE": "strict"})
    assert config.section("sentinel") == {"rules": ["a"], "mode": "strict"}


@requires_cards("realtime")
def test_init_writes_the_sections_cards_give_it(home: Path) -> None:
    """The realtime card's init_config hook writes [realtime], on ports nothing holds."""
    init_home(home)
    config = load_config(home, environ={})
    section = config.section("realtime")
    assert {"host", "port", "http_port"} <= set(section)
    assert section["port"] != section["http_port"]
