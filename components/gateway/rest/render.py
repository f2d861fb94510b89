"""Response bodies and range headers: JSON (exact numbers), CSV, `Content-Range`.

MagDS returns numeric/decimal values as exact text ("12.50"). PostgREST, whose JSON is
built by PostgreSQL, prints them as bare numbers with every digit: so does MagGate,
writing the text itself into the JSON (a `RawNumber`) instead of going through a float.
Bodies without such columns take the plain `json.dumps` path.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_encode_str = json.JSONEncoder(ensure_ascii=False).encode
_encode_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class RawNumber(str):
    """Decimal text to write into JSON as a bare number (its digits kept as they are)."""

    __slots__ = ()

    @classmethod
    def of(cls, value: object) -> object:
        """Wrap decimal text (never NaN/Infinity, which stay strings, as in PostgreSQL)."""
        if type(value) is str and NUMBER.fullmatch(value):
            return cls(value)
        return value


def dumps(value: Any, *, exact: bool = False) -> bytes:
    """Return `value` as compact UTF-8 JSON; `exact` when it may hold RawNumbers.

    A float JSON cannot hold (NaN, ±infinity) is written as PostgreSQL's `to_json` writes
    it, and so PostgREST: the string "NaN", "Infinity" or "-Infinity" (`json` would write
    a bare NaN, which no JSON parser reads). Looked for only when the text has those words.
    """
    text = _encoded(value, exact)
    if "NaN" in text or "Infinity" in text:  # such a float, or only text that says so
        text = _encoded(_finite(value), exact)
    return text.encode()


def _encoded(value: Any, exact: bool) -> str:
    if not exact:
        return _encode_compact(value)
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _finite(value: Any) -> Any:
    """Return `value` with each NaN or infinite float spelled as PostgreSQL's JSON does."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, RawNumber):
        out.append(str.__str__(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_encode_str(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False, default=str))


def strip_nulls(value: Any) -> Any:
    """Drop null-valued keys from every object (`;nulls=stripped`, json_strip_nulls)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def to_csv(rows: list[dict[str, Any]], keys: list[str]) -> bytes:
    """Return rows as CSV with a header row; null is an empty field, JSON is its text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow([_csv_value(row.get(key)) for key in keys])
    return buffer.getvalue().encode()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def content_range(lower: int, shown: int, total: int | None) -> str:
    """Return PostgREST's `Content-Range`: `0-9/100`, `0-9/*`, `*/100`, `*/*`."""
    upper = lower + shown - 1
    span = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    return f"{span}/{'*' if total is None else total}"


def range_status(lower: int, shown: int, total: int | None) -> int:
    """Return 200, 206 (a known total and a partial page) or 416 (offset past the end)."""
    if total is None:
        return 200
    if lower > total:
        return 416
    return 206 if shown < total else 200
