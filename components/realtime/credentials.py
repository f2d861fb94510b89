"""The Pusher app MagWS serves (or the external one it feeds): app id, key, secret.

`mobo init` writes `realtime_app_id`, `realtime_key` and `realtime_secret` into the
secrets file. A home made before MagWS existed gets them on first use: `app_for`
appends the missing ones under a file lock, so the gateway and the realtime card, which
may both get there first, end up with the same values.
"""

from __future__ import annotations

import fcntl
import os
import tomllib
from dataclasses import dataclass
from typing import Any

from mobo import defaults
from mobo.kernel.home import realtime_secrets

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


def ensure_secrets(config: Any) -> dict[str, str]:
    """Add the realtime secrets an older home lacks; return the values now on file."""
    path = config.secrets_path
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, defaults.SECRET_FILE_MODE)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text() if path.exists() else ""
        current = tomllib.loads(text)
        fresh = realtime_secrets()
        missing = {k: fresh[k] for k in NAMES if not current.get(k)}
        if missing:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, defaults.SECRET_FILE_MODE)
            with os.fdopen(fd, "a") as fh:
                lead = "\n" if text and not text.endswith("\n") else ""
                fh.write(lead + "".join(f'{k} = "{v}"\n' for k, v in missing.items()))
        env = {k: os.environ.get(f"{defaults.ENV_PREFIX}SECRETS_{k.upper()}") for k in NAMES}
        return {k: env[k] or str(current.get(k) or missing[k]) for k in NAMES}
    finally:
        os.close(lock)
