"""The board's `backup_secret`: the HMAC key that signs every manifest this board writes.

`mobo init` (and `mobo plug backup`) generates it through the card's `secrets` hook. A
home made before MagBackup has none: it is generated and added to `.mobo/secrets.toml` on
first use (never replaced).
"""

from __future__ import annotations

import secrets

from mobo.kernel.config import Config
from mobo.kernel.home import add_missing_secret

NAME = "backup_secret"


def generate_secrets(config: Config) -> dict[str, str]:
    """The card's `secrets` hook: a fresh backup secret (kept when the board has one)."""
    return {NAME: secrets.token_hex(32)}


def backup_secret(config: Config) -> str:
    """Return the board's backup secret, adding one to its secrets file when it has none."""
    if config.secrets.backup_secret:
        return config.secrets.backup_secret
    return add_missing_secret(config.secrets_path, NAME, secrets.token_hex(32))
