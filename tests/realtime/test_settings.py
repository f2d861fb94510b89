"""`[realtime]` validation and the lazily added app secrets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from components.realtime.credentials import NAMES, local_app
from components.realtime.settings import parse_settings
from mobo.exceptions import ConfigError
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home


def test_defaults_are_soketis_port_and_a_separate_http_port() -> None:
    settings = parse_settings({})
    assert (settings.host, settings.port, settings.http_port) == ("127.0.0.1", 6001, 6002)
    assert not settings.connector and not settings.client_events and settings.replay_grace == 5


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"port": "abc"}, "realtime.port"),
        ({"port": 70000}, "realtime.port"),
        ({"client_events": "maybe"}, "realtime.client_events"),
        ({"nope": 1}, "realtime.nope"),
        ({"port": 7000, "http_port": 7000}, "realtime.http_port"),
        ({"external": "soketi:6001"}, "realtime.external"),
        ({"external": "http://soketi:6001"}, "realtime.external_app_id"),
    ],
)
def test_bad_values_name_the_key(raw: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert named in str(caught.value)


def test_change_capture_keys_are_accepted() -> None:
    parse_settings({"capture": False, "max_row_bytes": 1024, "stream_maxlen": 1000})


def test_init_writes_the_app_and_an_older_home_gets_one_added(home: Path) -> None:
    init_home(home)
    config = load_config(home, environ={})
    app = local_app(config)
    assert app.app_id.isdigit() and app.key and len(app.secret) >= 32
    path = config.secrets_path
    kept = "\n".join(
        line for line in path.read_text().splitlines() if not line.startswith("realtime_")
    )
    path.write_text(kept)  # as a home made before MagWS, without a final newline
    older = load_config(home, environ={})
    added = local_app(older)
    assert added.key != app.key
    values = tomllib.loads(path.read_text())
    assert all(values[name] for name in NAMES) and values["jwt_secret"]
    assert local_app(load_config(home, environ={})) == added  # stable from then on
    assert oct(path.stat().st_mode & 0o777) == "0o600"
