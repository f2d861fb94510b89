"""Schedule expressions: 5 or 6 cron fields, an alias, or `@every N{s,m,h,d}`; UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from components.backup.errors import BackupError

FIELDS5 = ("minute", "hour", "day of month", "month", "day of week")
FIELDS6 = ("second", *FIELDS5)
ALLOWED = {
    "second": "0-59",
    "minute": "0-59",
    "hour": "0-23",
    "day of month": "1-31",
    "month": "1-12 or jan-dec",
    "day of week": "0-6 or sun-sat",
}
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
EVERY = re.compile(r"^@every\s+(\d+)\s*([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
HINT = (
    'use 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *" = daily at '
    '03:00 UTC), 6 fields with seconds first, @hourly/@daily/@weekly/@monthly, or "@every 30s"'
)


class CronError(BackupError):
    """A schedule expression that does not parse (the message names the field)."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed schedule expression."""

    expr: str
    every_s: int = 0  # `@every N`: the period in seconds, else 0

    def prev(self, now: datetime) -> datetime:
        """Return the latest due time at or before `now`."""
        if self.every_s:
            epoch = int(now.timestamp()) // self.every_s * self.every_s
            return datetime.fromtimestamp(epoch, UTC)
        return self._iter(now + timedelta(microseconds=1)).get_prev(datetime)

    def next(self, now: datetime) -> datetime:
        """Return the first due time after `now`."""
        if self.every_s:
            return self.prev(now) + timedelta(seconds=self.every_s)
        return self._iter(now).get_next(datetime)

    def _iter(self, start: datetime) -> croniter:
        six = len(self.expr.split()) == 6
        return croniter(self.expr, start.astimezone(UTC), second_at_beginning=six)


def parse_cron(expr: str) -> Cron:
    """Parse and check a schedule expression; CronError names the field that is wrong."""
    text = " ".join(expr.split())
    if text.startswith("@every"):
        match = EVERY.match(text)
        if not match or int(match.group(1)) < 1:
            raise CronError(f'"{expr}" is not a valid @every schedule', hint='e.g. "@every 30s"')
        return Cron(text, int(match.group(1)) * UNITS[match.group(2)])
    if text.startswith("@"):
        if text not in ALIASES:
            raise CronError(f'"{expr}": unknown alias {text}', hint=f"known: {', '.join(ALIASES)}")
        return Cron(text)
    parts = text.split(" ") if text else []
    if len(parts) not in (5, 6):
        raise CronError(f'"{expr}" has {len(parts)} fields, expected 5 or 6', hint=HINT)
    names = FIELDS5 if len(parts) == 5 else FIELDS6
    for index, (name, part) in enumerate(zip(names, parts, strict=True)):
        probe = ["*"] * len(parts)
        probe[index] = part
        if not _valid(" ".join(probe), six=len(parts) == 6):
            raise CronError(
                f'"{expr}": the {name} field "{part}" is not valid',
                hint=f"{name} takes {ALLOWED[name]}, with * , - and /; {HINT}",
            )
    if not _valid(text, six=len(parts) == 6):
        raise CronError(f'"{expr}" never matches a date', hint=HINT)
    return Cron(text)


def _valid(text: str, *, six: bool) -> bool:
    try:
        croniter(text, datetime(2026, 1, 1, tzinfo=UTC), second_at_beginning=six).get_next()
    except (ValueError, KeyError, TypeError):  # croniter's errors derive from ValueError
        return False
    return True
