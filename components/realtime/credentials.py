"""The Pusher app MagWS serves (or the external one it feeds): app id, key, secret.

`mobo init` (and `mobo plug realtime`) writes `realtime_app_id`, `realtime_key` and
`realtime_secret` into the secrets file through the card's `secrets` hook. A home made
before MagWS existed gets them on first use: `local_app` appends the missing ones under
a file lock, so the gateway and the realtime card, which may both get there first, end
up with the same values.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

from mobo import defaults
from mobo.kernel.home import add_missing_secrets

from .settings import RealtimeSettings

NAMES = ("realtime_app_id", "realtime_key", "realtime_secret")


@dataclass(frozen=True, slots=True)
class App:
    """One Pusher app: what clients connect with (key) and what signs (secret)."""

    app_id: str
    key: str
    secret: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"App(app_id={self.app_id!r}, key={self.key!r})"


def local_app(config: Any) -> App:
    """Return the board's own app, generating it into the secrets file if missing."""
    found = config.secrets
    values = {name: getattr(found, name, "") for name in NAMES}
    if not all(values.values()):
        values = ensure_secrets(config)
    return App(values["realtime_app_id"], values["realtime_key"], values["realtime_secret"])


def signing_app(config: Any, settings: RealtimeSettings) -> App:
    """Return the app channel auth signs for: the external one in connector mode."""
    if settings.connector:
        return App(settings.external_app_id, settings.external_key, settings.external_secret)
    return local_app(config)


def generate_secrets(config: Any = None) -> dict[str, str]:
    """The card's `secrets` hook: a fresh Pusher app (numeric app id, public key, secret)."""
    return {
        "realtime_app_id": str(secrets.randbelow(9_000_000) + 1_000_000),
        "realtime_key": secrets.token_hex(10),
        "realtime_secret": secrets.token_hex(20),
    }


def ensure_secrets(config: Any) -> dict[str, str]:
    """Add the realtime secrets an older home lacks; return the values now in force."""
    on_file = add_missing_secrets(config.secrets_path, generate_secrets(config))
    env = {k: os.environ.get(f"{defaults.ENV_PREFIX}SECRETS_{k.upper()}") for k in NAMES}
    return {k: env[k] or on_file[k] for k in NAMES}
