"""One store's settings, read from a `[datastores.<name>]` table of mobo.toml."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mobo.exceptions import ConfigError

POOL_MIN = 1  # connections a pool keeps open
POOL_MAX = 10  # connections a pool may open
CONNECT_TIMEOUT_S = 5.0  # one connection attempt
POOL_TIMEOUT_S = 10.0  # waiting for a free pooled connection
SQLITE_BUSY_TIMEOUT_MS = 5_000  # waiting for SQLite's write lock
POOL_CHECK_IDLE_S = 30.0  # a connection idle this long is pinged before reuse
POSTGRES_SCHEMA = "public"

ENGINE_ALIASES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
}


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Validated settings of one store; `dsn` is kept out of repr (it holds a password)."""

    engine: str
    dsn: str | None = field(default=None, repr=False)
    path: str | None = None
    pool_min: int = POOL_MIN
    pool_max: int = POOL_MAX
    schema: str = POSTGRES_SCHEMA
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    pool_timeout_s: float = POOL_TIMEOUT_S
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS

    @property
    def redacted_dsn(self) -> str:
        """Return the DSN with any password replaced by `***`, for logs and messages."""
        return redact(self.dsn or "")


KEY_VALUE_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(dsn: str) -> str:
    """Hide the password of a DSN: a URL's, or a libpq `password=…` pair's."""
    if "://" not in dsn:
        return KEY_VALUE_PASSWORD.sub(r"\1***", dsn)
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def parse_settings(
    name: str, raw: Mapping[str, object], *, home: Path | None = None
) -> StoreSettings:
    """Validate `[datastores.<name>]`; a ConfigError names the key, value and what is allowed."""
    engine = _engine(name, raw)
    allowed = ENGINE_KEYS[engine]
    for key in raw:
        if key not in allowed and key not in OTHER_CARDS_KEYS:
            raise ConfigError(
                f"datastores.{name}.{key} is not a setting of a {engine} store",
                hint=f"{engine} stores take: {', '.join(allowed)}",
            )
    # Any: _typed() checked each value against its key (an int, a float or a string)
    values: dict[str, Any] = {
        k: _typed(name, k, v) for k, v in raw.items() if k != "engine" and k not in OTHER_CARDS_KEYS
    }
    settings = StoreSettings(engine=engine, **values)
    return _check(name, settings, home)


COMMON_KEYS = ("engine", "pool_min", "pool_max", "connect_timeout_s", "pool_timeout_s")
# Keys of a store's table validated where they are used: the access policy's
# permissions (`[datastores.<name>.permissions.<table>]`, components/datastore/access).
OTHER_CARDS_KEYS = ("permissions",)
ENGINE_KEYS = {
    "postgres": (*COMMON_KEYS, "dsn", "schema"),
    "mysql": (*COMMON_KEYS, "dsn"),
    "sqlite": (*COMMON_KEYS, "path", "busy_timeout_ms"),
}
INT_KEYS = {"pool_min": 0, "pool_max": 1, "busy_timeout_ms": 0}  # key -> smallest allowed
FLOAT_KEYS = ("connect_timeout_s", "pool_timeout_s")
ENGINE_HINT = "allowed: postgres (or postgresql), sqlite, mysql (or mariadb)"
DSN_EXAMPLES = {
    "postgres": 'dsn = "postgresql://user:password@host:5432/database"',
    "mysql": 'dsn = "mysql://user:password@host:3306/database"',
}


def _engine(name: str, raw: Mapping[str, object]) -> str:
    if "engine" not in raw:
        raise ConfigError(f"datastores.{name}.engine is missing", hint=ENGINE_HINT)
    value = raw["engine"]
    engine = ENGINE_ALIASES.get(value.lower()) if isinstance(value, str) else None
    if engine is None:
        raise ConfigError(f"datastores.{name}.engine = {value!r} is not allowed", hint=ENGINE_HINT)
    return engine


def _typed(store: str, key: str, value: object) -> object:
    """Check one value; numbers may come as text (MOBO_DATASTORES_<NAME>_<KEY> variables)."""
    where = f"datastores.{store}.{key} = {value!r}"
    if key in INT_KEYS:
        number = _number(value, int)
        if number is None or number < INT_KEYS[key]:
            raise ConfigError(
                f"{where} is not allowed", hint=f"allowed: a whole number >= {INT_KEYS[key]}"
            )
        return number
    if key in FLOAT_KEYS:
        number = _number(value, float)
        if number is None or number <= 0:
            raise ConfigError(f"{where} is not allowed", hint="allowed: a number of seconds > 0")
        return number
    if not isinstance(value, str) or not value:
        shown = "the DSN" if key == "dsn" else repr(value)
        raise ConfigError(
            f"datastores.{store}.{key} = {shown} is not allowed", hint="allowed: a non-empty string"
        )
    return value


def _number(value: object, type_: type[int] | type[float]) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (type_ is float and isinstance(value, float)):
        return type_(value)
    if isinstance(value, str):
        try:
            return type_(value.strip())
        except ValueError:
            return None
    return None


def _check(name: str, settings: StoreSettings, home: Path | None) -> StoreSettings:
    if settings.pool_min > settings.pool_max:
        raise ConfigError(
            f"datastores.{name}.pool_min = {settings.pool_min} is more than "
            f"pool_max = {settings.pool_max}",
            hint="allowed: pool_min <= pool_max",
        )
    if settings.engine != "sqlite":
        if not settings.dsn:
            raise ConfigError(
                f"datastores.{name}.dsn is missing: a {settings.engine} store needs one",
                hint=DSN_EXAMPLES[settings.engine],
            )
        return settings
    path = settings.path or f"data/{name}.db"
    if path != ":memory:" and home is not None and not Path(path).is_absolute():
        path = str(home / path)
    return replace(settings, path=path)
