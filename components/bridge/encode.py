"""Turn neutral values into the target driver's parameters, refusing what would not fit.

Checks run on a whole column first (`max(map(len, ...))` and the like run in C); only
when one fails is the column walked to name the row. What an engine would round or
drop silently is refused here: more decimal places than the column's scale, a NaN into
SQLite (stored as NULL) or MySQL, a decimal SQLite would keep as an inexact float, an
instant outside MySQL TIMESTAMP's 1970-2038. What an engine refuses loudly (a NUL in
PostgreSQL text, an over-long string) is refused here too, with the row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from operator import methodcaller

from components.datastore.schema import Kind

from .bounds import SQLITE_INT, decimals_fit, int_bounds, ints_fit
from .convert import Convert, Refused, check, decimal_text, each, preview
from .pgcopy import copy_fields
from .typeinfo import TypeInfo

MYSQL_TIMESTAMP = ("1970-01-01T00:00:01+00:00", "2038-01-19T03:14:07.999999+00:00")
NOT_FINITE = ("NaN", "Infinity", "-Infinity")
NOT_FINITE_SET = frozenset(NOT_FINITE)


Encode = Callable[[list[object], list[object]], list[object]]


def encoder(source: TypeInfo, target: TypeInfo) -> Encode:
    """Return the function that makes a column of `source` ready for `target`.

    It takes the column's neutral values and their canonical spelling (the checksum's,
    which PostgreSQL's COPY reuses as its text fields) and returns driver parameters
    (COPY fields on PostgreSQL).
    """
    steps = _steps(source, target)
    fields = copy_fields(source.kind, target.kind) if target.engine == "postgres" else None

    def encode(neutral: list[object], spelled: list[object]) -> list[object]:
        out = neutral
        for fn in steps:
            out = fn(out)
        return fields(out, spelled) if fields is not None else out

    return encode


def checker(source: TypeInfo, target: TypeInfo) -> Convert:
    """Return the function that only checks a column for `target` (what `encoder` checks).

    For a PostgreSQL target whose COPY fields are the canonical spellings themselves
    (`fused`), the batch's COPY text is made from the checksum's text instead.
    """
    steps = _steps(source, target)

    def check(neutral: Sequence[object]) -> list[object]:
        out = neutral
        for fn in steps:
            out = fn(out)
        return out  # type: ignore[return-value]

    return check


def _steps(source: TypeInfo, target: TypeInfo) -> list[Convert]:
    """Return the target's checks and conversions, but for checks the source's type
    cannot fail (`bounds.py`); integers going into a decimal column are made text first."""
    steps = STEPS.get((target.engine, target.kind), ())
    found = [step(target) for step in steps if not PROVEN.get(step, _never)(source, target)]
    if source.kind is Kind.INTEGER and target.kind is Kind.DECIMAL:
        found.insert(0, each(str))  # the decimal checks read text
    return found


def _never(source: TypeInfo, target: TypeInfo) -> bool:
    return False


def fused(source: Kind, target: TypeInfo) -> bool:
    """Tell whether a column's COPY fields for `target` are its canonical spellings (but
    for NULL, and for text holding COPY's or the checksum's special characters)."""
    if target.engine != "postgres":
        return False
    if source is Kind.TEXT:
        return target.kind is Kind.TEXT
    return target.kind not in (Kind.TEXT, Kind.JSON, Kind.ARRAY, Kind.OTHER, Kind.BYTES)


def _spelled(target: TypeInfo) -> str:
    return f"{target.spelled} on {target.engine}"


def int_range(target: TypeInfo) -> Convert:
    lo, hi = int_bounds(target)

    def fits(value: object) -> object:
        if lo <= value <= hi:  # type: ignore[operator]
            return value
        raise Refused("22003", f"{value} is out of range for {_spelled(target)}")

    return _checked(lambda vs: lo <= min(vs) and max(vs) <= hi, fits)  # type: ignore[type-var]


def length(target: TypeInfo) -> Convert:
    limit, unit = (target.length, "characters") if target.length else (target.max_bytes, "bytes")
    if limit is None:
        return list
    size = len if unit == "characters" else _byte_size

    def fits(value: object) -> object:
        if size(value) <= limit:
            return value
        raise Refused(
            "22001",
            f"{preview(value)} is {size(value)} {unit} long; {_spelled(target)} holds {limit}",
            hint="widen the target column (or create the target table yourself), or shorten "
            "the source value",
        )

    return _checked(lambda vs: max(map(size, vs)) <= limit, fits)


def no_nul(target: TypeInfo) -> Convert:
    def fits(value: object) -> object:
        if "\x00" not in value:  # type: ignore[operator]
            return value
        raise Refused("22021", "PostgreSQL text cannot contain the character U+0000 (NUL)")

    return _checked(lambda vs: "\x00" not in "".join(vs), fits)  # type: ignore[arg-type]


def finite(target: TypeInfo) -> Convert:
    engine = target.engine

    def fits(value: object) -> object:
        if math.isfinite(value):  # type: ignore[arg-type]
            return value
        stored = "NULL" if engine == "sqlite" else "nothing"
        raise Refused(
            "22003", f"{value} cannot be stored in {_spelled(target)} (it keeps {stored})"
        )

    if engine == "sqlite":  # SQLite keeps infinities but turns NaN into NULL
        return _checked(lambda vs: not any(map(math.isnan, vs)), _not_nan(target))
    return _checked(lambda vs: all(map(math.isfinite, vs)), fits)


def _not_nan(target: TypeInfo) -> Callable[[object], object]:
    def fits(value: object) -> object:
        if not math.isnan(value):  # type: ignore[arg-type]
            return value
        raise Refused("22003", f"SQLite stores NaN as NULL: {_spelled(target)} cannot keep it")

    return fits


def decimal_fits(target: TypeInfo) -> Convert:
    def fits(value: object) -> object:
        text = decimal_text(value)
        if text in NOT_FINITE:
            if target.engine == "postgres":
                return text  # numeric holds NaN (and, without a typmod, infinities)
            raise Refused("22003", f"{text} cannot be stored in {_spelled(target)}")
        whole, _, fraction = text.lstrip("-").partition(".")
        if target.scale is not None and len(fraction) > target.scale:
            raise Refused(
                "22003",
                f"{text} has {len(fraction)} decimal places; {_spelled(target)} keeps "
                f"{target.scale}, so it would be rounded",
            )
        if target.precision is not None:
            room = target.precision - (target.scale or 0)
            if len(whole.lstrip("0")) > room:
                raise Refused("22003", f"{text} has too many digits for {_spelled(target)}")
        return text

    too_fine = _too_many_places(target.scale)
    too_large = _too_many_digits(target.precision, target.scale)
    room = None if target.precision is None else target.precision - (target.scale or 0)

    def ok(values: list[object]) -> bool:
        joined = "\n".join(values)  # type: ignore[arg-type]  # a NULL: TypeError (`check`)
        # NaN and infinities looked for value by value only if their text is there at all
        if ("NaN" in joined or "Infinity" in joined) and not NOT_FINITE_SET.isdisjoint(values):
            if target.engine != "postgres":
                return False
            values = [v for v in values if v not in NOT_FINITE_SET]
            joined = "\n".join(values)  # type: ignore[arg-type]
        if too_fine is not None and too_fine.search(joined):
            return False
        if too_large is None or not values:
            return True
        longest = max(map(len, values))  # type: ignore[arg-type]
        # text no longer than the digits allowed before the point cannot have too many
        return longest <= room or too_large.search(joined) is None  # type: ignore[operator]

    return _checked(ok, fits)


def _too_many_places(scale: int | None) -> re.Pattern[str] | None:
    """Match a plain decimal (one per line) with more than `scale` fractional digits."""
    return None if scale is None else re.compile(rf"\.[0-9]{{{scale + 1}}}")


def _too_many_digits(precision: int | None, scale: int | None) -> re.Pattern[str] | None:
    """Match a plain decimal whose integer part needs more than `precision - scale` digits."""
    if precision is None:
        return None
    room = precision - (scale or 0)
    return re.compile(rf"(?m)^-?0*[1-9][0-9]{{{room}}}")


def sqlite_number(target: TypeInfo) -> Convert:
    def number(value: object) -> object:
        text = str(value)
        if "." not in text and text not in NOT_FINITE:
            whole = int(text)
            if SQLITE_INT[0] <= whole <= SQLITE_INT[1]:
                return whole
        approx = float(text)
        if text in NOT_FINITE or decimal_text(approx) != text:
            raise Refused(
                "22003",
                f"{text} would not stay exact: SQLite keeps numbers as 64-bit floats "
                "(about 15 significant digits) and has no NaN",
                hint="copy into PostgreSQL or MySQL, or create the target column as TEXT",
            )
        return approx

    return each(number, code="22003")


def mysql_instant(target: TypeInfo) -> Convert:
    """Check an instant (ISO text in UTC) against TIMESTAMP's range; drop the `+00:00`."""
    lo, hi = MYSQL_TIMESTAMP  # ISO text in one form compares like the instants it spells
    naive = each(methodcaller("removesuffix", "+00:00"))

    def fits(value: object) -> object:
        if lo <= value <= hi:  # type: ignore[operator]
            return value
        raise Refused(
            "22008",
            f"{value} is outside MySQL TIMESTAMP's range (1970-01-01 00:00:01 to "
            "2038-01-19 03:14:07 UTC)",
            hint="create the target column as DATETIME(6) yourself to hold other instants",
        )

    checked = _checked(lambda vs: lo <= min(vs) and max(vs) <= hi, fits)  # type: ignore[type-var]
    return lambda column: naive(checked(column))


def _checked(ok: Callable[[list], bool], fits: Callable[[object], object]) -> Convert:
    """Pass a column through if `ok(non-null values)`; otherwise name the value `fits` refuses."""

    def convert(column: Sequence[object]) -> list[object]:
        check(column, ok, fits)
        return list(column)

    return convert


def _byte_size(value: object) -> int:
    return len(value.encode()) if isinstance(value, str) else len(value)  # type: ignore[arg-type]


def _each(fn: Callable[[object], object]) -> Callable[[TypeInfo], Convert]:
    return lambda target: each(fn)


_ISO = _each(methodcaller("isoformat"))
_SPACED = _each(methodcaller("replace", "T", " ", 1))  # SQLite's form of ISO 8601
STEPS: dict[tuple[str, Kind], tuple[Callable[[TypeInfo], Convert], ...]] = {
    ("postgres", Kind.INTEGER): (int_range,),
    ("postgres", Kind.DECIMAL): (decimal_fits,),
    ("postgres", Kind.TEXT): (no_nul, length),
    # SQLite enforces no declared length or scale: only what its storage would change
    ("sqlite", Kind.INTEGER): (int_range,),
    ("sqlite", Kind.FLOAT): (finite,),
    ("sqlite", Kind.DECIMAL): (sqlite_number,),
    ("sqlite", Kind.BOOLEAN): (_each(int),),
    ("sqlite", Kind.DATE): (_ISO,),
    ("sqlite", Kind.TIME): (_ISO,),
    ("sqlite", Kind.TIMESTAMP): (_SPACED,),
    ("sqlite", Kind.TIMESTAMPTZ): (_SPACED,),
    ("mysql", Kind.INTEGER): (int_range,),
    ("mysql", Kind.FLOAT): (finite,),
    ("mysql", Kind.DECIMAL): (decimal_fits,),
    ("mysql", Kind.TEXT): (length,),
    ("mysql", Kind.BYTES): (length,),
    ("mysql", Kind.BOOLEAN): (_each(int),),
    ("mysql", Kind.TIMESTAMPTZ): (mysql_instant,),
}
# checks a source type can make needless: skipped when the test says so (`_steps`)
PROVEN: dict[Callable[[TypeInfo], Convert], Callable[[TypeInfo, TypeInfo], bool]] = {
    int_range: ints_fit,
    decimal_fits: decimals_fit,
}
