"""The gateway's platform settings, parsed once from `[gateway]` and `[rate_limit]`.

A rate is written `"<count>/<period>[ burst <n>]"`: `"100/1s"`, `"150/5m burst 30"`,
`"10/h"`; the period's unit is `ms`, `s`, `m`, `h` or `d`, its number optional. Without
`burst`, a client may send `count` requests at once. `""` or `"off"` means no limit.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

GROUPS = ("rest", "auth", "realtime", "default")
UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*(ms|s|m|h|d)\s*(?:burst\s+(\d+))?\s*$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` requests per `period_s`, at most `burst` of them at once."""

    count: int
    period_s: float
    burst: int
    text: str

    @property
    def interval_us(self) -> int:
        """The GCRA emission interval: one request's share of the period."""
        return max(1, round(self.period_s * 1_000_000 / self.count))


@dataclass(frozen=True, slots=True)
class GroupLimits:
    """A route group's limit per client IP and per key (None: not limited that way)."""

    ip: Limit | None
    key: Limit | None


@dataclass(frozen=True, slots=True)
class PlatformSettings:
    """Everything the platform middleware reads from the config."""

    limits_enabled: bool
    exempt_service_role: bool
    limits: Mapping[str, GroupLimits]
    trusted_proxies: tuple[Network, ...]
    cors_origins: tuple[str, ...]
    cors_max_age: int
    request_events: str
    event_queue: int
    metrics: str
    schema_check_s: float


def parse_limit(text: str, where: str) -> Limit | None:
    """Parse a rate spec; raise ConfigError naming `where` when it is not one."""
    if text.strip().lower() in ("", "off", "none"):
        return None
    match = SPEC.match(text.lower())
    if not match:
        raise ConfigError(
            f"{where} = {text!r} is not a rate",
            hint='write "<count>/<period>[ burst <n>]", e.g. "100/1s" or "150/5m burst 30"',
        )
    count, number, unit, burst = match.groups()
    period = float(number or 1) * UNITS_S[unit]
    if int(count) < 1 or period <= 0 or (burst is not None and int(burst) < 1):
        raise ConfigError(f"{where} = {text!r}: count, period and burst must be positive")
    return Limit(int(count), period, int(burst) if burst else int(count), text.strip())


def parse_networks(entries: tuple[str, ...], where: str) -> tuple[Network, ...]:
    """Parse addresses and CIDR blocks (`10.0.0.0/8`, `::1`)."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{where}: {entry!r} is not an IP address or network",
                hint='list addresses or CIDR blocks, e.g. ["127.0.0.1", "10.0.0.0/8"]',
            ) from None
    return tuple(out)


def check_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse origins a browser can never send (a path, no scheme)."""
    for origin in origins:
        if origin == "*":
            continue
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ConfigError(
                f"gateway.cors_origins: {origin!r} is not an origin",
                hint='write "scheme://host[:port]" (no path), "https://*.example.com", or "*"',
            )
    return tuple(o.rstrip("/").lower() for o in origins)


def from_config(config: Config) -> PlatformSettings:
    """Build the platform settings; raise ConfigError for a bad rate, proxy or origin."""
    gw, rl = config.gateway, config.rate_limit
    limits = {
        group: GroupLimits(
            parse_limit(getattr(rl, f"{group}_ip"), f"rate_limit.{group}_ip"),
            parse_limit(getattr(rl, f"{group}_key"), f"rate_limit.{group}_key"),
        )
        for group in GROUPS
    }
    return PlatformSettings(
        limits_enabled=rl.enabled,
        exempt_service_role=rl.exempt_service_role,
        limits=limits,
        trusted_proxies=parse_networks(gw.trusted_proxies, "gateway.trusted_proxies"),
        cors_origins=check_origins(gw.cors_origins),
        cors_max_age=gw.cors_max_age,
        request_events=gw.request_events,
        event_queue=gw.event_queue,
        metrics=gw.metrics,
        schema_check_s=gw.schema_check_interval,
    )
