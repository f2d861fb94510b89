"""The gateway's typed sections of mobo.toml, `[gateway]` and `[rate_limit]`.

Named in the manifest (`[provides] settings = "components.gateway.settings:SECTIONS"`):
the kernel builds them at load with its own checks (bounds, choices, unknown keys,
MOBO_GATEWAY_<KEY>); the card reads them with `gateway_settings(config)` and
`rate_limit_settings(config)`. What the keys mean: docs/configuration.md, docs/gateway.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobo.kernel.config import Config, option

HOST = "127.0.0.1"
PORT = 8000
WORKERS = 2
THREADS = 4
TRUSTED_PROXIES = ("127.0.0.1", "::1")  # peers whose X-Forwarded-For is believed
CORS_ORIGINS = ("*",)  # browsers send keys in headers, never cookies: * is safe
CORS_MAX_AGE_S = 86400  # how long a browser may cache a preflight answer
REQUEST_EVENTS = "publish"  # api.request: off, publish, or publish + history stream
EVENT_QUEUE = 10_000  # api.request events waiting per worker before dropping
METRICS = "service_role"  # who may read /metrics
SCHEMA_CHECK_S = 2.0  # how often each worker looks for DDL (0: never)
PARSE_CACHE = 1024  # parsed REST requests each worker remembers (LRU)

# Rate limits (GCRA): "<count>/<period>[ burst <n>]", "" or "off" for none
RATE_LIMIT_REST_IP = "100/1s burst 200"
RATE_LIMIT_REST_KEY = "1000/1s burst 2000"
RATE_LIMIT_AUTH_IP = "150/5m burst 30"  # GoTrue's token limit, per auth path
RATE_LIMIT_AUTH_KEY = ""
RATE_LIMIT_REALTIME_IP = "100/1s burst 200"
RATE_LIMIT_REALTIME_KEY = "1000/1s burst 2000"
RATE_LIMIT_DEFAULT_IP = "100/1s burst 200"
RATE_LIMIT_DEFAULT_KEY = ""
RATE_LIMIT_BLOCK_MAX = 64  # most requests of a bucket a worker reserves in one Redis call
RATE_LIMIT_BLOCK_SHARE = 32  # ... and at most burst / this (a burst under 64: one at a time)
RATE_LIMIT_LEASE_S = 0.25  # reserved requests not used within this are dropped


@dataclass(frozen=True, slots=True)
class GatewaySection:
    host: str = HOST
    port: int = option(PORT, lo=1, hi=65535)
    workers: int = option(WORKERS, lo=1, hi=64)
    threads: int = option(THREADS, lo=1, hi=256)
    trusted_proxies: tuple[str, ...] = TRUSTED_PROXIES
    cors_origins: tuple[str, ...] = CORS_ORIGINS
    cors_max_age: int = option(CORS_MAX_AGE_S, lo=0, hi=86400)
    request_events: str = option(REQUEST_EVENTS, choices=("off", "publish", "history"))
    event_queue: int = option(EVENT_QUEUE, lo=100, hi=10_000_000)
    metrics: str = option(METRICS, choices=("off", "service_role", "loopback", "public"))
    schema_check_interval: float = option(SCHEMA_CHECK_S, lo=0, hi=3600)
    aggregates: bool = False  # count()/sum()/... in select= (PostgREST's db-aggregates-enabled)


@dataclass(frozen=True, slots=True)
class RateLimitSection:
    """The gateway's limits per route group, per client IP and per key (see gateway.md)."""

    enabled: bool = True
    exempt_service_role: bool = True
    rest_ip: str = RATE_LIMIT_REST_IP
    rest_key: str = RATE_LIMIT_REST_KEY
    auth_ip: str = RATE_LIMIT_AUTH_IP
    auth_key: str = RATE_LIMIT_AUTH_KEY
    realtime_ip: str = RATE_LIMIT_REALTIME_IP
    realtime_key: str = RATE_LIMIT_REALTIME_KEY
    default_ip: str = RATE_LIMIT_DEFAULT_IP
    default_key: str = RATE_LIMIT_DEFAULT_KEY


SECTIONS = {"gateway": GatewaySection, "rate_limit": RateLimitSection}


def gateway_settings(config: Config) -> GatewaySection:
    """The board's `[gateway]`, as the kernel built it at load."""
    return config.settings("gateway", GatewaySection)


def rate_limit_settings(config: Config) -> RateLimitSection:
    """The board's `[rate_limit]`, as the kernel built it at load."""
    return config.settings("rate_limit", RateLimitSection)


INITIAL = """\
[gateway]
host = "{host}"
port = {port}
workers = {workers}
threads = {threads}
"""


def initial_config(port: int | None = None) -> str:
    """The `[gateway]` of a new mobo.toml (`[provides] init_config`), on the board's HTTP
    port (`mobo init --port`) when given."""
    return INITIAL.format(host=HOST, port=port or PORT, workers=WORKERS, threads=THREADS)
