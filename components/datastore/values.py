"""JSON-friendly values: what every adapter hands back, whatever its driver returned.

- numeric/decimal -> `str`, exact, in plain notation ("12.50"): a JSON number would lose
  digits in JavaScript clients, and a string keeps the scale (Django REST framework does
  the same). The gateway may print it as a bare JSON number.
- uuid -> canonical lowercase `str`.
- timestamp with time zone -> ISO 8601 `str` in UTC ("2024-01-01T08:00:00+00:00");
  timestamp without -> "2024-01-01T08:00:00"; date -> "2024-01-01"; time -> "10:00:00".
- interval -> PostgreSQL's text ("1 day 02:00:00"); bytes -> "\\x00ff" (bytea hex).
- json -> the parsed document (dict, list, str, number, bool); SQL NULL -> None.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal

from mobo.exceptions import QueryError

UTC = dt.UTC


def jsonable(value: object) -> object:
    """Return `value` as something `json.dumps` takes, without losing information."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def iso_from_pg(text: str) -> str:
    """Respell PostgreSQL's ISO output of a timestamp[tz] or time[tz] as `isoformat()` would.

    `2024-01-01 08:00:00.12+00` -> `2024-01-01T08:00:00.120000+00:00`: `T` between date
    and time, six fraction digits or none, offsets as `+HH:MM`. Text `datetime` cannot
    hold (years before 1 or after 9999, `infinity`) is returned as PostgreSQL spelt it.
    """
    if len(text) == 29 and text[26] == "+" and text[19] == ".":  # the common case, quickly
        return f"{text[:10]}T{text[11:]}:00"
    if len(text) > 10 and text[10] == " " and text[4] == "-" and not text.endswith("BC"):
        date, text = text[:10] + "T", text[11:]
    elif text[2:3] == ":":
        date = ""  # a time of day
    else:
        return text
    if len(text) == 8:  # HH:MM:SS
        return date + text
    if text[8] == ".":
        end = text.find("+", 9)
        if end < 0:
            end = text.find("-", 9)
            if end < 0:
                end = len(text)
        clock = text[:8] + (text[8:end] + "000000")[:7]
        zone = text[end:]
    else:
        clock, zone = text[:8], text[8:]
    if len(zone) == 3:  # +HH
        zone += ":00"
    return date + clock + zone


def iso_from_pg_timestamptz(text: str) -> str:
    """Respell a timestamptz as `iso_from_pg` does, its two common forms without a call."""
    if (len(text) == 29 and text[19] == "." and text[26] == "+") or (
        len(text) == 22 and text[19] == "+"
    ):
        return f"{text[:10]}T{text[11:]}:00"
    return iso_from_pg(text)


def iso_from_pg_timestamp(text: str) -> str:
    """Respell a timestamp as `iso_from_pg` does, its two common forms without a call."""
    if (len(text) == 26 and text[19] == "." and text[25] != "C") or len(text) == 19:
        return f"{text[:10]}T{text[11:]}"
    return iso_from_pg(text)


# how the generated row builders (plans.py) respell the values of these kinds on rows a
# reader loaded as PostgreSQL's own text (its session in UTC, DateStyle ISO)
RESPELL_ISO: dict[str, Callable[[str], str]] = {
    "timestamptz": iso_from_pg_timestamptz,
    "timestamp": iso_from_pg_timestamp,
    "time": iso_from_pg,
}


def interval_text(value: dt.timedelta) -> str:
    """Spell a timedelta as PostgreSQL prints an interval: `1 day 02:00:00`."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    clock = f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if value.microseconds:
        clock += f".{value.microseconds:06d}".rstrip("0")
    if not value.days:
        return clock
    unit = "day" if value.days == 1 else "days"
    return f"{sign}{value.days} {unit} {clock}"


def time_text(value: dt.timedelta) -> str:
    """Spell a MySQL TIME (which drivers return as a timedelta) as `HH:MM:SS`."""
    seconds = int(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    clock = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return clock + (f".{value.microseconds:06d}" if value.microseconds else "")


def decimal_text(value: object) -> str:
    """Spell a number from a numeric column exactly as text ("12.50", "0.1")."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, int | Decimal):
        return jsonable(Decimal(value))  # type: ignore[return-value]
    return str(value)


def parse_datetime(value: object, column: str) -> dt.datetime:
    """Read a datetime from a datetime, a date or ISO 8601 text; refuse anything else."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad("timestamp", value, column) from None


def parse_date(value: object, column: str) -> dt.date:
    """Read a date from a date or ISO 8601 text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _bad("date", value, column) from None


def parse_time(value: object, column: str) -> dt.time:
    """Read a time of day from a time or ISO 8601 text."""
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise _bad("time", value, column) from None


def utc_naive(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to UTC and drop the zone; leave a naive one alone."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def parse_uuid(value: object, column: str) -> str:
    """Return the canonical text of a UUID, or refuse text that is not one."""
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise _bad("uuid", value, column) from None


BOOL_WORDS = {"t": True, "true": True, "y": True, "yes": True, "on": True, "1": True}
BOOL_WORDS |= {"f": False, "false": False, "n": False, "no": False, "off": False, "0": False}


def parse_bool(value: object, column: str) -> bool:
    """Read a boolean as PostgreSQL does (true/t/yes/on/1 and their opposites)."""
    if isinstance(value, bool | int):
        return bool(value)
    word = BOOL_WORDS.get(str(value).strip().lower())
    if word is None:
        raise _bad("boolean", value, column)
    return word


def _bad(kind: str, value: object, column: str) -> QueryError:
    code = "22007" if kind in ("timestamp", "date", "time") else "22P02"
    return QueryError(f'invalid input syntax for type {kind}: "{value}"', code=code, details=column)
