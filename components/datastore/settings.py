"""One store's settings, read from a `[datastores.<name>]` table of mobo.toml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
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


def redact(dsn: str) -> str:
    """Hide the password of a URL-style DSN."""
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def parse_settings(
    name: str, raw: Mapping[str, object], *, home: Path | None = None
) -> StoreSettings:
    """Validate `[datastores.<name>]`; raise ConfigError naming the bad key."""
    known = {f.name for f in fields(StoreSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"datastores.{name}: unknown key(s) {', '.join(unknown)}")
    engine = ENGINE_ALIASES.get(str(raw.get("engine", "")).lower())
    if engine is None:
        raise ConfigError(
            f"datastores.{name}.engine must be postgres, sqlite or mysql, not {raw.get('engine')!r}"
        )
    values = {k: _typed(name, k, v) for k, v in raw.items() if k != "engine"}
    settings = StoreSettings(engine=engine, **values)
    return _check(name, settings, home)


INT_KEYS = ("pool_min", "pool_max", "busy_timeout_ms")
FLOAT_KEYS = ("connect_timeout_s", "pool_timeout_s")


def _typed(store: str, key: str, value: object) -> object:
    """Check one value; numbers may come as text (MOBO_DATASTORES_<NAME>_<KEY> variables)."""
    if key in INT_KEYS:
        number = _number(value, int)
        if number is None or number < 0:
            raise ConfigError(f"datastores.{store}.{key} must be an integer >= 0, not {value!r}")
        return number
    if key in FLOAT_KEYS:
        number = _number(value, float)
        if number is None or number <= 0:
            raise ConfigError(f"datastores.{store}.{key} must be a number > 0, not {value!r}")
        return number
    if not isinstance(value, str) or not value:
        raise ConfigError(f"datastores.{store}.{key} must be a non-empty string")
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
    if settings.pool_max < 1 or settings.pool_min > settings.pool_max:
        raise ConfigError(f"datastores.{name}: need 1 <= pool_max and pool_min <= pool_max")
    if settings.engine != "sqlite":
        if not settings.dsn:
            raise ConfigError(f"datastores.{name}.dsn is required for {settings.engine}")
        return settings
    path = settings.path or f"data/{name}.db"
    if path != ":memory:" and home is not None and not Path(path).is_absolute():
        path = str(home / path)
    return StoreSettings(**{**_as_dict(settings), "path": path})


def _as_dict(settings: StoreSettings) -> dict[str, object]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}
