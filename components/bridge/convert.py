"""Column-at-a-time conversion, with the failing row found only when something fails.

MagBridge converts a batch one column at a time (`list(map(fn, column))` runs in C), so
the fast path carries no per-value `try`. When a conversion raises, the column is walked
again to find the first value that fails, and `BadValue` names its row index; the copy
turns that into `UnrepresentableValue` with the row's primary key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]*)?")

Convert = Callable[[Sequence[object]], list[object]]
FAILURES = (ValueError, TypeError, OverflowError, ArithmeticError, UnicodeError)


class Refused(ValueError):
    """A value the target cannot hold; `code` is the SQLSTATE the engine would use."""

    def __init__(self, code: str, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.hint = hint


class BadValue(Exception):
    """The value at row `index` of a column (`column`, once known) failed to convert."""

    def __init__(self, index: int, refused: Refused, column: int | None = None) -> None:
        super().__init__(refused.reason)
        self.index = index
        self.refused = refused
        self.column = column


def each(fn: Callable[[object], object], *, code: str = "22P02") -> Convert:
    """Convert a column with `fn` value by value; None stays None."""

    def convert(column: Sequence[object]) -> list[object]:
        try:
            if None in column:
                return [None if v is None else fn(v) for v in column]
            return list(map(fn, column))
        except FAILURES:
            raise locate(column, fn, code) from None

    return convert


def locate(column: Sequence[object], fn: Callable[[object], object], code: str) -> BadValue:
    """Return the BadValue for the first value of `column` that `fn` refuses."""
    for index, value in enumerate(column):
        if value is None:
            continue
        try:
            fn(value)
        except Refused as exc:
            return BadValue(index, exc)
        except FAILURES as exc:
            return BadValue(index, Refused(code, f"{_preview(value)}: {exc}"))
    return BadValue(0, Refused(code, "a value could not be converted"))  # pragma: no cover


def nulls_aside(fn: Convert) -> Convert:
    """Run a whole-column `fn` on the non-null values only, and put the NULLs back."""

    def convert(column: Sequence[object]) -> list[object]:
        if None not in column:
            return fn(column)
        where = [i for i, v in enumerate(column) if v is not None]
        if not where:
            return list(column)
        try:
            done = fn([column[i] for i in where])
        except BadValue as exc:
            exc.index = where[exc.index]
            raise
        out: list[object] = [None] * len(column)
        for i, value in zip(where, done, strict=True):
            out[i] = value
        return out

    return convert


def trim_decimals(texts: Sequence[str]) -> list[str]:
    """Drop trailing fractional zeros from plain decimal text ("12.50" -> "12.5")."""
    out = [t.rstrip("0").rstrip(".") if "." in t else t for t in texts]
    return [("0" if t in ("-0", "") else t) for t in out] if ("-0" in out or "" in out) else out


def non_null(column: Sequence[object]) -> list[object]:
    """Return the values of `column` that are not None."""
    return [v for v in column if v is not None] if None in column else list(column)


def check(column: Sequence[object], ok: Callable[[list[object]], bool], fn: Callable) -> None:
    """Run the cheap whole-column test `ok` on the non-null values; if it fails, find the
    value `fn` refuses.

    `ok` is tried on the column as it is first: every test raises TypeError on a None (it
    compares, measures or joins each value), and then runs again without the NULLs, so a
    column without any is not copied and scanned for them first."""
    if not column:
        return
    try:
        passed = ok(column)  # type: ignore[arg-type]
    except TypeError:
        values = non_null(column)
        passed = not values or ok(values)
    if not passed:
        raise locate(column, fn, "22000")


def decimal_text(value: object) -> str:
    """Spell a number exactly, in plain notation, without trailing zeros ("12.5", "100")."""
    if type(value) is int:
        return str(value)
    if type(value) is float:
        text = repr(value)
    elif isinstance(value, Decimal | str):
        text = str(value)
    else:
        raise Refused("22P02", f"{_preview(value)} is not a number")
    if PLAIN_NUMBER.fullmatch(text) is None:
        return _slow_decimal_text(text)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _slow_decimal_text(text: str) -> str:
    try:
        if "_" in text or text != text.strip() or not text.isascii():
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        raise Refused("22P02", f"{_preview(text)} is not a number") from None
    if not number.is_finite():
        return "NaN" if number.is_nan() else ("-Infinity" if number < 0 else "Infinity")
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


def _preview(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


preview = _preview
