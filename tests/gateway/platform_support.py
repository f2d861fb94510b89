"""Helpers for the platform tests: a board home in a throwaway namespace, an app on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w
from falcon import testing

from components.gateway.app import Services, create_app
from mobo.kernel.config import Config, load_config
from mobo.kernel.home import init_home
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL


def make_board(home: Path, keys: Keys, **sections: dict[str, Any]) -> Config:
    """Init a board whose namespace is `keys.prefix`, with extra mobo.toml sections."""
    if not (home / "mobo.toml").exists():
        init_home(home)
    path = home / "mobo.toml"
    text = path.read_text().replace('prefix = ""', f'prefix = "{keys.prefix}"', 1)
    merged: dict[str, Any] = {"datastores": {"main": {"engine": "sqlite", "path": "data/main.db"}}}
    merged.update(sections)
    gateway = merged.pop("gateway", {})
    if gateway:
        text = text.replace("[gateway]\n", "[gateway]\n" + tomli_w.dumps(gateway), 1)
    path.write_text(text + "\n" + tomli_w.dumps(merged))
    config = load_config(home, environ={})
    assert config.namespace == keys.prefix
    return config


@contextmanager
def app_client(
    config: Config, redis_url: str = REDIS_URL
) -> Iterator[tuple[testing.TestClient, Services]]:
    """A TestClient on create_app; the platform and MagAuth are closed afterwards."""
    services = Services(redis_url, Keys(config.namespace), [])
    client = testing.TestClient(create_app(config, services))
    try:
        yield client, services
    finally:
        if services.platform is not None:
            services.platform.close()
        if "auth" in services.provided:
            services.provided["auth"].close()


def anon(config: Config, **extra: str) -> dict[str, str]:
    return {"apikey": config.secrets.anon_key, **extra}


def service(config: Config, **extra: str) -> dict[str, str]:
    key = config.secrets.service_role_key
    return {"apikey": key, "Authorization": f"Bearer {key}", **extra}
