"""CMOS: the board's configuration.

`mobo.toml` in the board's home, then `MOBO_<SECTION>_<KEY>` environment overrides, then
the secrets file written by `mobo init` (`.mobo/secrets.toml`, mode 0600). Everything is
validated at load; a `ConfigError` names the file (or variable), the key, the bad value and
what is allowed.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mobo import defaults
from mobo.exceptions import ConfigError
from mobo.kernel.registry import Registry

LEVELS = ("debug", "info", "warning", "error", "critical")


def _opt(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    hot: bool = False,
) -> Any:
    """Declare a config key: its default, its bounds or choices, whether it hot-reloads."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices, "hot": hot})


@dataclass(frozen=True, slots=True)
class BoardSection:
    id: str = ""
    name: str = "MoBoMini"


@dataclass(frozen=True, slots=True)
class RedisSection:
    url: str = ""  # empty: the local Redis if it answers, else the private `redis` card


@dataclass(frozen=True, slots=True)
class BusSection:
    prefix: str = ""  # empty: "mobo:<board id>"
    history: int = _opt(defaults.BUS_HISTORY_MAXLEN, lo=100, hi=10_000_000)


@dataclass(frozen=True, slots=True)
class GatewaySection:
    host: str = defaults.GATEWAY_HOST
    port: int = _opt(defaults.GATEWAY_PORT, lo=1, hi=65535)
    workers: int = _opt(defaults.GATEWAY_WORKERS, lo=1, hi=64)
    threads: int = _opt(defaults.GATEWAY_THREADS, lo=1, hi=256)
    trusted_proxies: tuple[str, ...] = defaults.GATEWAY_TRUSTED_PROXIES
    cors_origins: tuple[str, ...] = defaults.GATEWAY_CORS_ORIGINS
    cors_max_age: int = _opt(defaults.GATEWAY_CORS_MAX_AGE_S, lo=0, hi=86400)
    request_events: str = _opt(
        defaults.GATEWAY_REQUEST_EVENTS, choices=("off", "publish", "history")
    )
    event_queue: int = _opt(defaults.GATEWAY_EVENT_QUEUE, lo=100, hi=10_000_000)
    metrics: str = _opt(
        defaults.GATEWAY_METRICS, choices=("off", "service_role", "loopback", "public")
    )
    schema_check_interval: float = _opt(defaults.GATEWAY_SCHEMA_CHECK_S, lo=0, hi=3600)
    aggregates: bool = False  # count()/sum()/... in select= (PostgREST's db-aggregates-enabled)


@dataclass(frozen=True, slots=True)
class RateLimitSection:
    """The gateway's limits per route group, per client IP and per key (see gateway.md)."""

    enabled: bool = True
    exempt_service_role: bool = True
    rest_ip: str = defaults.RATE_LIMIT_REST_IP
    rest_key: str = defaults.RATE_LIMIT_REST_KEY
    auth_ip: str = defaults.RATE_LIMIT_AUTH_IP
    auth_key: str = defaults.RATE_LIMIT_AUTH_KEY
    realtime_ip: str = defaults.RATE_LIMIT_REALTIME_IP
    realtime_key: str = defaults.RATE_LIMIT_REALTIME_KEY
    default_ip: str = defaults.RATE_LIMIT_DEFAULT_IP
    default_key: str = defaults.RATE_LIMIT_DEFAULT_KEY


@dataclass(frozen=True, slots=True)
class WorkerSection:
    queues: tuple[str, ...] = defaults.WORKER_QUEUES


@dataclass(frozen=True, slots=True)
class LogSection:
    level: str = _opt(defaults.LOG_LEVEL, choices=LEVELS, hot=True)
    max_bytes: int = _opt(defaults.LOG_MAX_BYTES, lo=4096, hi=2**40)
    backups: int = _opt(defaults.LOG_BACKUPS, lo=0, hi=100)


@dataclass(frozen=True, slots=True)
class CardsSection:
    unplugged: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthSection:
    interval: float = _opt(defaults.HEALTH_INTERVAL_S, lo=0.2, hi=3600, hot=True)
    timeout: float = _opt(defaults.HEALTH_TIMEOUT_S, lo=0.1, hi=300, hot=True)
    retries: int = _opt(defaults.HEALTH_RETRIES, lo=0, hi=10, hot=True)
    failure_threshold: int = _opt(defaults.HEALTH_FAILURE_THRESHOLD, lo=1, hi=100, hot=True)
    recovery_threshold: int = _opt(defaults.HEALTH_RECOVERY_THRESHOLD, lo=1, hi=100, hot=True)
    heartbeat: float = _opt(defaults.HEARTBEAT_INTERVAL_S, lo=0.1, hi=300)
    restart_base: float = _opt(defaults.RESTART_BASE_S, lo=0.0, hi=3600, hot=True)
    restart_factor: float = _opt(defaults.RESTART_FACTOR, lo=1.0, hi=10, hot=True)
    restart_max: int = _opt(defaults.RESTART_MAX, lo=0, hi=1000, hot=True)
    restart_window: float = _opt(defaults.RESTART_WINDOW_S, lo=1, hi=86400, hot=True)


class Secrets(Mapping[str, str]):
    """The board's secrets by name: `.mobo/secrets.toml` (filled at `mobo init` and
    `mobo plug` by the cards' `secrets` hooks), then MOBO_SECRETS_<NAME>. Read one as
    `secrets.jwt_secret` ("" when no card set it). Never printed, never logged: repr
    names the secrets, never their values."""

    __slots__ = ("_values",)
    _values: dict[str, str]

    def __init__(self, values: Mapping[str, str] | None = None, /, **named: str) -> None:
        object.__setattr__(self, "_values", {**(values or {}), **named})

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):  # copy/pickle probe private names before _values is set
            raise AttributeError(name)
        return str(self._values.get(name, ""))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secrets are read-only")

    def __getitem__(self, name: str) -> str:
        return str(self._values[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return hash(frozenset(self._values.items()))

    def __reduce__(self) -> tuple[type[Secrets], tuple[dict[str, str]]]:
        return (Secrets, (dict(self._values),))  # pickle and copy: __setattr__ refuses

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))})"


SECTIONS: dict[str, type] = {
    "board": BoardSection,
    "redis": RedisSection,
    "bus": BusSection,
    "gateway": GatewaySection,
    "worker": WorkerSection,
    "log": LogSection,
    "cards": CardsSection,
    "health": HealthSection,
    "rate_limit": RateLimitSection,
}


def card_sections() -> dict[str, bool]:
    """The sections the cards claim in their manifest's `config_sections`, each the card's
    own to parse (`components/<card>/settings.py`): name -> whether it is a table of named
    tables (`"datastores.*"`: MOBO_DATASTORES_<NAME>_<KEY> nests one more level)."""
    claimed: dict[str, bool] = {}
    for manifest in Registry.discover().manifests.values():
        for section in manifest.config_sections:
            name = section.removesuffix(".*")
            if name not in SECTIONS:
                claimed[name] = section.endswith(".*")
    return claimed


@dataclass(frozen=True, slots=True)
class Config:
    """The validated configuration of one board."""

    home: Path
    board: BoardSection
    redis: RedisSection
    bus: BusSection
    gateway: GatewaySection
    worker: WorkerSection
    log: LogSection
    cards: CardsSection
    health: HealthSection
    secrets: Secrets
    rate_limit: RateLimitSection = field(default_factory=RateLimitSection)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.home / defaults.STATE_DIR

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.home / defaults.CONFIG_FILE

    @property
    def secrets_path(self) -> Path:
        return self.state_dir / defaults.SECRETS_FILE

    @property
    def namespace(self) -> str:
        return self.bus.prefix or f"mobo:{self.board.id}"

    def section(self, name: str) -> dict[str, Any]:
        """Return a card's own section (`[datastores]`, `[auth]`, …) as a dict, for the card
        to parse."""
        return self.extra.get(name, {})


def home_from_env(home: str | os.PathLike[str] | None = None) -> Path:
    """Return the board's home: the argument, else $MOBO_HOME, else the current directory."""
    return Path(home or os.environ.get(defaults.HOME_ENV) or os.getcwd()).resolve()


def load_config(
    home: Path | None = None,
    environ: typing.Mapping[str, str] | None = None,
    *,
    require_init: bool = True,
) -> Config:
    """Load, merge and validate the board's config from its home and environment."""
    home = home_from_env(home)
    environ = os.environ if environ is None else environ
    path = home / defaults.CONFIG_FILE
    if not path.exists():
        if require_init:
            raise ConfigError(
                f"no board here: {path} does not exist", hint=f"run `mobo init --home {home}` first"
            )
        raw: dict[str, Any] = {}
    else:
        raw = _read_toml(path)
    claimed = card_sections()
    _check_sections(raw, path, claimed)
    overrides = _env_overrides(environ, claimed)
    merged = {name: {**raw.get(name, {}), **overrides.get(name, {})} for name in SECTIONS}
    built = {
        name: _build_section(cls, merged[name], path, overrides.get(name, {}))
        for name, cls in SECTIONS.items()
    }
    extra = {
        name: _merge_nested(raw.get(name, {}), overrides.get(name, {}))
        for name in claimed
        if name in raw or name in overrides
    }
    _check_redis_url(built["redis"].url, path, "MOBO_REDIS_URL" in environ)
    secrets = _load_secrets(home / defaults.STATE_DIR / defaults.SECRETS_FILE, environ)
    return Config(home=home, secrets=secrets, extra=extra, **built)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}",
            hint="fix the syntax, or move the file aside and run `mobo init`",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _check_sections(raw: dict[str, Any], path: Path, claimed: dict[str, bool]) -> None:
    known = (*SECTIONS, *claimed)
    for name, value in raw.items():
        if name not in known:
            raise ConfigError(
                f"{path}: unknown section [{name}]", hint=f"known sections: {', '.join(known)}"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: `{name}` must be a table ([{name}]), not a value")


def _env_overrides(
    environ: typing.Mapping[str, str], claimed: dict[str, bool]
) -> dict[str, dict[str, Any]]:
    """Collect MOBO_<SECTION>_<KEY> variables (a card's table of tables nests one more level)."""
    out: dict[str, dict[str, Any]] = {}
    sections = sorted((*SECTIONS, *claimed), key=len, reverse=True)  # longest name wins
    for var, value in environ.items():
        if not var.startswith(defaults.ENV_PREFIX) or var == defaults.HOME_ENV:
            continue
        rest = var[len(defaults.ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            continue
        key = rest[len(section) + 1 :]
        if claimed.get(section) and "_" in key:
            store, _, sub = key.partition("_")
            out.setdefault(section, {}).setdefault(store, {})[sub] = value
        else:
            out.setdefault(section, {})[key] = _EnvValue(var, value)
    return out


@dataclass(frozen=True, slots=True)
class _EnvValue:
    """A raw string from the environment, remembered with its variable's name."""

    var: str
    text: str


def _merge_nested(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_nested(merged[key], value)
        else:
            merged[key] = value.text if isinstance(value, _EnvValue) else value
    return merged


def _build_section(cls: type, values: dict[str, Any], path: Path, env: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name: f for f in fields(cls)}
    section = _section_name(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            where = value.var if isinstance(value, _EnvValue) else str(path)
            raise ConfigError(
                f"{where}: unknown key `{section}.{key}`",
                hint=f"known keys in [{section}]: {', '.join(names)}",
            )
        kwargs[key] = _coerce(value, hints[key], names[key].metadata, section, key, path)
    return cls(**kwargs)


def _section_name(cls: type) -> str:
    return next(name for name, c in SECTIONS.items() if c is cls)


def _coerce(value: Any, hint: Any, meta: Any, section: str, key: str, path: Path) -> Any:
    where = value.var if isinstance(value, _EnvValue) else f"{path}: {section}.{key}"
    raw = value.text if isinstance(value, _EnvValue) else value
    try:
        out = _convert(raw, hint, from_env=isinstance(value, _EnvValue))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} = {raw!r} is invalid: {exc}") from None
    _check_bounds(out, meta, where)
    return out


def _convert(raw: Any, hint: Any, *, from_env: bool) -> Any:
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise TypeError("expected a whole number")
        return int(raw)
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise TypeError("expected a number")
        return float(raw)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is str:
        if not isinstance(raw, str):
            raise TypeError("expected a string")
        return raw
    if typing.get_origin(hint) is tuple:
        if from_env and isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
            raise TypeError("expected a list of strings")
        return tuple(raw)
    raise TypeError(f"unsupported type {hint}")


def _check_bounds(value: Any, meta: Any, where: str) -> None:
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{where} = {value!r} is out of range", hint=f"allowed: {lo} to {hi}")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"{where} = {value!r} is not allowed", hint=f"allowed: {', '.join(choices)}"
        )


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _check_redis_url(url: str, path: Path, from_env: bool) -> None:
    if url in ("", "private") or url.startswith(REDIS_SCHEMES):
        return
    where = "MOBO_REDIS_URL" if from_env else f"{path}: redis.url"
    raise ConfigError(
        f"{where} = {url!r} is not a Redis URL",
        hint='use redis://host:port/db, rediss://…, unix:///path, "private" or "" (automatic)',
    )


def _load_secrets(path: Path, environ: typing.Mapping[str, str]) -> Secrets:
    data: dict[str, Any] = {}
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by others (mode {mode:o})", hint=f"run `chmod 600 {path}`"
            )
        data = _read_toml(path)
    values = {k: str(v) for k, v in data.items()}
    prefix = f"{defaults.ENV_PREFIX}SECRETS_"
    for var, value in environ.items():
        if var.startswith(prefix) and value:
            values[var[len(prefix) :].lower()] = value
    return Secrets(values)


def hot_keys() -> set[str]:
    """Return the `section.key` names that a running board applies without a restart."""
    return {
        f"{name}.{f.name}"
        for name, cls in SECTIONS.items()
        for f in fields(cls)
        if f.metadata.get("hot")
    }
