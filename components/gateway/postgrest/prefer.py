"""The `Prefer` header (RFC 7240) as PostgREST reads it.

Values may be comma-separated in one header or spread over repeated headers; for each
preference the first recognised value wins. Anything unrecognised is ignored, unless
`handling=strict` is among them: then it is a 400 (PGRST122) listing the invalid ones.
`timezone=` is valid when it names a known zone, `tx=` is honoured only when the board
allows it, and `max-affected=` only with `handling=strict`.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from components.gateway.postgrest.errors import invalid_preferences

CHOICES: dict[str, tuple[str, ...]] = {
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default", "null"),
    "return": ("representation", "minimal", "headers-only"),
    "count": ("exact", "planned", "estimated"),
    "tx": ("commit", "rollback"),
    "handling": ("strict", "lenient"),
}
APPLIED_ORDER = (*CHOICES, "timezone", "max-affected")  # PostgREST's Preference-Applied order
_RECOGNISED = frozenset(f"{name}={value}" for name, values in CHOICES.items() for value in values)


@functools.cache
def known_timezones() -> frozenset[str]:
    """Return the IANA zone names this machine knows (PostgreSQL's pg_timezone_names)."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a request's `Prefer` headers asked for; None where nothing valid was asked."""

    resolution: str | None = None
    missing: str | None = None
    return_: str | None = None
    count: str | None = None
    tx: str | None = None
    handling: str | None = None
    timezone: str | None = None
    max_affected: int | None = None
    invalid: tuple[str, ...] = ()

    @property
    def strict(self) -> bool:
        return self.handling == "strict"

    def check(self) -> None:
        """Raise PGRST122 when `handling=strict` came with invalid preferences."""
        if self.strict and self.invalid:
            raise invalid_preferences(self.invalid)

    def applied(self, names: Collection[str] = APPLIED_ORDER) -> str | None:
        """Return the `Preference-Applied` value for the preferences in `names`."""
        values = {
            "resolution": self.resolution,
            "missing": self.missing,
            "return": self.return_,
            "count": self.count,
            "tx": self.tx,
            "handling": self.handling,
            "timezone": self.timezone,
            "max-affected": self.max_affected if self.strict else None,
        }
        shown = [f"{n}={values[n]}" for n in APPLIED_ORDER if n in names and values[n] is not None]
        return ", ".join(shown) or None


def split(headers: Iterable[str]) -> list[str]:
    """Return every preference token of the given `Prefer` header values, in order."""
    return [token.strip() for value in headers for token in value.split(",") if token.strip()]


def parse_prefer(
    headers: Iterable[str],
    *,
    allow_tx: bool = False,
    timezones: Collection[str] | None = None,
) -> Preferences:
    """Read the `Prefer` header values of one request."""
    tokens = split(headers)
    zones = known_timezones() if timezones is None else timezones
    chosen: dict[str, str] = {}
    invalid = []
    for token in tokens:
        name, _, value = token.partition("=")
        if token in _RECOGNISED:
            chosen.setdefault(name, value)
        elif name == "timezone" and value in zones:
            chosen.setdefault(name, value)
        elif not token.startswith("max-affected="):
            invalid.append(token)
    return Preferences(
        resolution=chosen.get("resolution"),
        missing=chosen.get("missing"),
        return_=chosen.get("return"),
        count=chosen.get("count"),
        tx=chosen.get("tx") if allow_tx else None,
        handling=chosen.get("handling"),
        timezone=chosen.get("timezone"),
        max_affected=_max_affected(tokens),
        invalid=tuple(invalid),
    )


def _max_affected(tokens: list[str]) -> int | None:
    for token in tokens:
        if token.startswith("max-affected="):
            value = token.removeprefix("max-affected=")
            return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None
    return None
