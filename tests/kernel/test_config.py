"""Config: TOML + environment overrides, validated with errors that name what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mobo.exceptions import ConfigError, ManifestError
from mobo.kernel.config import hot_keys, load_config
from mobo.kernel.home import init_home
from tests.conftest import requires_cards


def write(home: Path, text: str) -> None:
    (home / "mobo.toml").write_text(text)


@requires_cards("gateway", "worker")
def test_defaults_when_sections_are_missing(home: Path) -> None:
    from components.gateway.settings import gateway_settings
    from components.worker.settings import worker_settings

    write(home, "[board]\nid = 'abc'\n")
    config = load_config(home, environ={})
    assert gateway_settings(config).port == 8000
    assert gateway_settings(config).host == "127.0.0.1"
    assert config.namespace == "mobo:abc"
    assert worker_settings(config).queues == ("default", "backup", "sentinel")


@requires_cards("gateway", "worker")
def test_environment_overrides_file(home: Path) -> None:
    from components.gateway.settings import gateway_settings
    from components.worker.settings import worker_settings

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
    assert gateway_settings(config).port == 9100
    assert worker_settings(config).queues == ("a", "b")
    assert config.log.max_bytes == 8192
    assert config.section("datastores") == {"main": {"dsn": "postgresql://x/y"}}


def test_unrelated_mobo_variables_are_ignored(home: Path) -> None:
    write(home, "")
    load_config(home, environ={"MOBO_TEST_REDIS_URL": "x", "MOBO_HOME": str(home)})


@requires_cards("gateway")
def test_unknown_key_names_file_key_and_known_keys(home: Path) -> None:
    write(home, "[gateway]\nprot = 9000\n")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert str(home / "mobo.toml") in str(err.value)
    assert "gateway.prot" in str(err.value)
    assert "port" in err.value.hint


@requires_cards("gateway")
def test_out_of_range_value_names_key_value_and_range(home: Path) -> None:
    write(home, "[gateway]\nport = 70000\n")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={})
    assert "gateway.port" in str(err.value) and "70000" in str(err.value)
    assert "1 to 65535" in err.value.hint


@requires_cards("gateway")
def test_wrong_type_from_environment_names_the_variable(home: Path) -> None:
    write(home, "")
    with pytest.raises(ConfigError) as err:
        load_config(home, environ={"MOBO_GATEWAY_PORT": "eighty"})
    assert "MOBO_GATEWAY_PORT" in str(err.value) and "eighty" in str(err.value)


@requires_cards("gateway")
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


SETTINGS = """\
from dataclasses import dataclass

from mobo.kernel.config import Config, option


@dataclass(frozen=True, slots=True)
class SentinelSection:
    mode: str = option("watch", choices=("watch", "strict"))
    interval: float = option(5.0, lo=1, hi=60, hot=True)
    rules: tuple[str, ...] = ()


SECTIONS = {"sentinel": SentinelSection}


def sentinel_settings(config: Config) -> SentinelSection:
    return config.settings("sentinel", SentinelSection)
"""


def sentinel_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str = "sentinel") -> None:
    """A card outside the tree whose manifest declares a typed [sentinel] section."""
    card = tmp_path / "cards" / name
    card.mkdir(parents=True)
    (card / "__init__.py").write_text("")
    (card / "settings.py").write_text(SETTINGS)
    (card / "manifest.toml").write_text(
        f'name = "{name}"\nversion = "1"\n[provides]\nsettings = "{name}.settings:SECTIONS"\n'
    )
    monkeypatch.setenv("MOBO_CARD_PATH", str(tmp_path / "cards"))


def test_a_card_declares_a_typed_section(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel_card(tmp_path, monkeypatch)
    write(home, "[sentinel]\nrules = ['a']\n[cards]\nunplugged = ['sentinel']\n")
    config = load_config(home, environ={"MOBO_SENTINEL_INTERVAL": "7"})
    section = config.typed["sentinel"]
    assert (section.mode, section.interval, section.rules) == ("watch", 7.0, ("a",))
    assert "sentinel.interval" in hot_keys() and "sentinel.mode" not in hot_keys()


def test_a_cards_typed_section_is_checked_as_the_kernels(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unplugged or not, a discovered card's section fails at load as a kernel one would."""
    sentinel_card(tmp_path, monkeypatch)
    write(home, "[sentinel]\nmood = 'x'\n[cards]\nunplugged = ['sentinel']\n")
    with pytest.raises(ConfigError, match=r"unknown key `sentinel\.mood`") as err:
        load_config(home, environ={})
    assert "mode" in err.value.hint
    write(home, "[sentinel]\ninterval = 90\n")
    with pytest.raises(ConfigError, match=r"sentinel\.interval = 90\.0 is out of range"):
        load_config(home, environ={})
    write(home, "")
    with pytest.raises(ConfigError, match="MOBO_SENTINEL_MODE = 'loud' is not allowed"):
        load_config(home, environ={"MOBO_SENTINEL_MODE": "loud"})


def test_two_cards_cannot_declare_one_typed_section(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel_card(tmp_path, monkeypatch, "sentinel")
    sentinel_card(tmp_path, monkeypatch, "sentinel2")
    write(home, "")
    with pytest.raises(ManifestError, match=r"card sentinel2: provides.settings declares"):
        load_config(home, environ={})
