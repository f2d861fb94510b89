"""`[auth]` in mobo.toml: MagAuth's settings, validated once.

Every key can be overridden as `MOBO_AUTH_<KEY>` (values from the environment arrive as
text and are converted here). An unknown key is an error, as in the kernel's sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

ALGORITHMS = ("HS256", "RS256", "ES256")
JWT_EXP_S = 3600  # GOTRUE_JWT_EXP
REUSE_INTERVAL_S = 10  # GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL
PASSWORD_MIN_LENGTH = 8
KEY_TOUCH_INTERVAL_S = 60  # an API key's last_used_at is written at most this often
PROJECT_KEY_ISSUER = "magflock"  # `iss` of the anon/service_role keys `mobo init` makes


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """MagAuth's settings; `project` defaults to the board id (claim `ref`)."""

    project: str = ""
    site_url: str = ""
    autoconfirm: bool = True
    disable_signup: bool = False
    password_min_length: int = PASSWORD_MIN_LENGTH
    password_required_characters: str = ""  # e.g. "digits,lower,upper,symbols"
    jwt_exp: int = JWT_EXP_S
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = PROJECT_KEY_ISSUER
    jwt_aud: str = "authenticated"
    jwt_kid: str = ""
    refresh_token_rotation: bool = True
    refresh_token_reuse_interval: int = REUSE_INTERVAL_S
    key_touch_interval: int = KEY_TOUCH_INTERVAL_S
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_sender: str = "noreply@localhost"
    smtp_starttls: bool = False
    smtp_ssl: bool = False

    @property
    def required_characters(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.password_required_characters.split(",") if p.strip())


BOUNDS: dict[str, tuple[int, int]] = {
    "password_min_length": (6, 1024),
    "jwt_exp": (30, 7 * 24 * 3600),
    "refresh_token_reuse_interval": (0, 3600),
    "key_touch_interval": (0, 86_400),
    "smtp_port": (1, 65535),
}
CHARACTER_CLASSES = ("digits", "lower", "upper", "symbols")


def load_settings(config: Config) -> AuthSettings:
    """Read and validate `[auth]`; the project defaults to the board's id."""
    raw = dict(config.section("auth"))
    raw.setdefault("project", config.board.id or "default")
    return parse_settings(raw)


def parse_settings(raw: Mapping[str, Any]) -> AuthSettings:
    """Validate a `[auth]` table; raise ConfigError naming the bad key."""
    types = {f.name: f.type for f in fields(AuthSettings)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in types:
            raise ConfigError(
                f"unknown key `auth.{key}`", hint=f"known keys in [auth]: {', '.join(types)}"
            )
        values[key] = _convert(key, value, types[key])
    settings = AuthSettings(**values)
    _check(settings)
    return settings


def _convert(key: str, value: Any, type_name: object) -> Any:
    kind = str(type_name)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return word in ("1", "true", "yes", "on")
        raise ConfigError(f"auth.{key} = {value!r} is invalid: expected true or false")
    if kind == "int":
        try:
            number = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise ConfigError(f"auth.{key} = {value!r} is invalid: expected a whole number")
        lo, hi = BOUNDS.get(key, (0, 2**31))
        if not lo <= number <= hi:
            raise ConfigError(
                f"auth.{key} = {number} is out of range", hint=f"allowed: {lo} to {hi}"
            )
        return number
    if not isinstance(value, str):
        raise ConfigError(f"auth.{key} = {value!r} is invalid: expected a string")
    return value


def _check(settings: AuthSettings) -> None:
    if settings.jwt_algorithm not in ALGORITHMS:
        raise ConfigError(
            f"auth.jwt_algorithm = {settings.jwt_algorithm!r} is not allowed",
            hint=f"allowed: {', '.join(ALGORITHMS)}",
        )
    unknown = [c for c in settings.required_characters if c not in CHARACTER_CLASSES]
    if unknown:
        raise ConfigError(
            f"auth.password_required_characters: unknown class {unknown[0]!r}",
            hint=f"use a comma-separated list of {', '.join(CHARACTER_CLASSES)}",
        )
    if settings.smtp_starttls and settings.smtp_ssl:
        raise ConfigError("auth.smtp_starttls and auth.smtp_ssl cannot both be true")
