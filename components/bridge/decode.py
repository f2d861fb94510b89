"""Read what a driver returned into neutral values, one column of a batch at a time.

Neutral values, by kind: integer `int`, float `float`, decimal `str` (exact, plain, no
trailing zeros), text `str`, boolean `bool`, json `str` (the document's text), uuid
`str` (canonical), date/time `date`/`time`, timestamp `str` in `datetime.isoformat()`
form (converted to UTC if it had a zone), timestamptz the same in UTC with `+00:00`,
bytes `bytes`; arrays and other types (same engine only) pass through as the driver
read them (text on PostgreSQL, which reads them with `::text`). What does not fit its
column's kind (text in a SQLite INTEGER column, a boolean 2, a date that is not one) is
refused with the row named.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal

from components.datastore.schema import Kind

from .convert import (
    PLAIN_NUMBER,
    Convert,
    Refused,
    decimal_text,
    each,
    nulls_aside,
    preview,
    trim_decimals,
)
from .typeinfo import TypeInfo

UTC = dt.UTC
NONE = type(None)
DAY = dt.timedelta(days=1)
# ISO 8601 text that is canonical but for a space (and "+00"): exactly 6 fractional digits
# or none (PostgreSQL prints ".5" for ".500000"), compared with digits turned into 9s
DIGITS_AS_9 = str.maketrans("0123456789", "9" * 10)
BOOL_WORDS = {"t": True, "true": True, "y": True, "yes": True, "on": True, "1": True}
BOOL_WORDS |= {"f": False, "false": False, "n": False, "no": False, "off": False, "0": False}


def decoder(info: TypeInfo) -> Convert:
    """Return the function that turns a column of driver values into neutral values."""
    if info.engine == "postgres" and info.kind in (Kind.TEXT, Kind.UUID, Kind.JSON):
        return list  # read as text; PostgreSQL's own output is already canonical
    if info.kind is Kind.DECIMAL:
        return DECIMALS[info.engine]
    return DECODERS.get(info.kind, list)


def only(column: Sequence[object], *types: type) -> bool:
    """Tell whether every value of `column` is None or of exactly one of `types`."""
    return set(map(type, column)) <= {NONE, *types}


def typed(
    types: tuple[type, ...],
    fn: Callable[[object], object],
    parse: Callable[[str], object] | None = None,
) -> Convert:
    """Keep a column whose values all have `types`; convert any other with `fn`.

    `parse` is a C function for a column that is all text (dates read as text).
    """
    slow = each(fn)

    def convert(column: Sequence[object]) -> list[object]:
        if only(column, *types):
            return list(column)
        if parse is not None and None not in column and only(column, str):
            try:
                return list(map(parse, column))
            except ValueError:
                pass  # found again, with its row, by the slow path
        return slow(column)

    return convert


def _int(value: object) -> int:
    if type(value) is int:
        return value
    raise Refused("22P02", f"{preview(value)} is not an integer")


def _float(value: object) -> float:
    if type(value) is int and float(value) == value:
        return float(value)
    raise Refused("22P02", f"{preview(value)} is not a floating-point number")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        raise Refused(
            "22021",
            f"{preview(value)} is not valid UTF-8 text",
            hint="fix the value on the source: SQLite keeps whatever bytes it is given",
        )
    raise Refused("22P02", f"{preview(value)} is not text")


def _bool(value: object) -> bool:
    if type(value) is int and value in (0, 1):
        return bool(value)
    word = BOOL_WORDS.get(value.strip().lower()) if isinstance(value, str) else None
    if word is None:
        raise Refused("22P02", f"{preview(value)} is not a boolean")
    return word


def _json(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return _text(value)


def _uuid(value: object) -> str:
    if isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if isinstance(value, str | uuid.UUID):
        return str(uuid.UUID(str(value)))
    raise Refused("22P02", f"{preview(value)} is not a UUID")


def _date(value: object) -> dt.date:
    if type(value) is dt.date:
        return value
    return _parsed(dt.date.fromisoformat, value, "a date")  # type: ignore[return-value]


def _time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, dt.timedelta) and dt.timedelta(0) <= value < DAY:
        return (dt.datetime.min + value).time()
    return _parsed(dt.time.fromisoformat, value, "a time of day")  # type: ignore[return-value]


def _datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return _parsed(dt.datetime.fromisoformat, value, "a timestamp")  # type: ignore[return-value]


def _parsed(parse: Callable[[str], object], value: object, what: str) -> object:
    """Parse ISO 8601 text, or refuse the value as not being `what`."""
    if isinstance(value, str):
        try:
            return parse(value)
        except ValueError:
            pass
    raise Refused(
        "22007",
        f"{preview(value)} is not {what} in ISO 8601 form (years 1 to 9999)",
        hint="MagBridge reads dates and times as ISO 8601 text or the driver's own values; "
        "fix the value, or convert numbers (Unix times) on the source first",
    )


def _naive(value: object) -> str:
    stamp = _datetime(value)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp.isoformat()


def _aware(value: object) -> str:
    stamp = _datetime(value)
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return stamp.isoformat()


def _timestamps(fn: Callable[[object], str], *, zoned: bool) -> Convert:
    """Spell timestamps as ISO 8601 text, without parsing and reformatting each one when
    the column is already in that form (SQLite's adapter writes it, PostgreSQL prints it)
    but for a space or PostgreSQL's `+00`: those are fixed on the column's joined text."""
    slow = each(fn, code="22007")
    shapes = _shapes(zoned)

    def column(values: Sequence[object]) -> list[object]:
        try:
            text = "\n".join(values)  # type: ignore[arg-type]
        except TypeError:  # NULLs, or values that are not text
            return sparse(values)
        return spelled(values, text)

    def convert(values: Sequence[object]) -> list[object]:  # values without NULLs
        try:
            text = "\n".join(values)  # type: ignore[arg-type]
        except TypeError:  # not all text (a date, a number): parsed or refused one by one
            return slow(values)
        return spelled(values, text)

    def spelled(values: Sequence[object], text: str) -> list[object]:
        if not _shaped(text, shapes, values, zoned) or ".000000" in text:
            return slow(values)  # isoformat() drops ".000000", so such text is not canonical
        try:
            list(map(dt.datetime.fromisoformat, values))  # type: ignore[arg-type]  # real dates?
        except ValueError:
            return slow(values)  # finds the row
        text = text.replace(" ", "T")
        if zoned:
            text = (text + "\n").replace("+00\n", "+00:00\n")[:-1]
        return text.split("\n")  # type: ignore[return-value]

    sparse = nulls_aside(convert)
    return column


def _shapes(zoned: bool) -> frozenset[str]:
    zones = ("+99", "+99:99") if zoned else ("",)
    return frozenset(
        f"9999-99-99{sep}99:99:99{fraction}{zone}"
        for sep in " T"
        for fraction in ("", ".999999")
        for zone in zones
    )


def _shaped(text: str, shapes: frozenset[str], values: Sequence[object], zoned: bool) -> bool:
    """Tell whether every line of `text` (the `values` joined) has one of the `shapes`
    (digits as 9), in UTC.

    A column usually has one shape throughout: the first value's shape repeated is
    compared with the whole text at once, and only if that fails is each line's shape
    looked up (splitting the text costs about as much as reading the column)."""
    masked = text.translate(DIGITS_AS_9)
    first = values[0].translate(DIGITS_AS_9) if values else ""  # type: ignore[attr-defined]
    uniform = first in shapes and masked == "\n".join((first,) * len(values))
    if not uniform and not set(masked.split("\n")) <= shapes:
        return False
    lines = text + "\n"
    return not zoned or lines.count("+00\n") + lines.count("+00:00\n") == len(values)


def _pg_decimals(column: Sequence[object]) -> list[object]:
    """PostgreSQL's numeric text: exact and plain already, only trailing zeros to drop."""
    return trim_decimals(column)  # type: ignore[arg-type]


def _mysql_decimals(column: Sequence[object]) -> list[object]:
    if only(column, Decimal):
        texts = list(map(str, column))
        if "E" not in "".join(texts):  # str() of a Decimal uses exponents below 1e-6
            return trim_decimals(texts)
    return _any_decimals(column)


def _sqlite_decimals(column: Sequence[object]) -> list[object]:
    """SQLite keeps NUMERIC as integers and floats (text only when not a number)."""
    if only(column, float, int):
        texts = list(map(repr, column))
        joined = "\n".join(texts)
        if "e" not in joined and "n" not in joined:  # no exponents, nan or inf
            # repr() ends a float with a zero only in ".0": dropped on the joined text
            ended = joined + "\n"
            if ".0\n" not in ended:
                return texts  # type: ignore[return-value]  # nothing to drop
            trimmed = ("\n" + ended).replace(".0\n", "\n")
            if "\n-0\n" in trimmed:
                return trim_decimals(texts)
            return trimmed[1:-1].split("\n")  # type: ignore[return-value]
    elif only(column, str) and all(map(PLAIN_NUMBER.fullmatch, column)):
        return trim_decimals(column)  # type: ignore[arg-type]
    return _any_decimals(column)


_any_decimals = each(decimal_text)


def _bytes(value: object) -> bytes:
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise Refused("22P02", f"{preview(value)} is not a byte string")


DECIMALS: dict[str, Convert] = {
    "postgres": nulls_aside(_pg_decimals),
    "mysql": nulls_aside(_mysql_decimals),
    "sqlite": nulls_aside(_sqlite_decimals),
}
DECODERS: dict[Kind, Convert] = {
    Kind.INTEGER: typed((int,), _int),
    Kind.FLOAT: typed((float,), _float),
    Kind.TEXT: typed((str,), _text),
    Kind.BOOLEAN: typed((bool,), _bool),
    Kind.JSON: typed((str,), _json),
    Kind.UUID: each(_uuid),
    Kind.DATE: typed((dt.date,), _date, dt.date.fromisoformat),
    Kind.TIME: typed((dt.time,), _time, dt.time.fromisoformat),
    Kind.TIMESTAMP: _timestamps(_naive, zoned=False),
    Kind.TIMESTAMPTZ: _timestamps(_aware, zoned=True),
    Kind.BYTES: typed((bytes,), _bytes),
}
