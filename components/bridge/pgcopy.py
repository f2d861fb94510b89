"""The text fields of PostgreSQL's COPY format, built a column at a time.

psycopg's `copy.write_row` adapts value by value; a batch is faster spelled here, one
column at a time, and sent as one block of bytes. For most kinds the checksum's
canonical spelling is already valid PostgreSQL input (plain numbers, `t`/`f`, ISO 8601
dates and instants), so it is reused; text is escaped (backslash, tab, newline, carriage
return), bytes become `\\x` hex, NULL is `\\N`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from components.datastore.schema import Kind

from .checksum import NULL

Fields = Callable[[list[object], list[object]], list[object]]

NULL_FIELD = "\\N"
ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
SPECIAL = ("\\", "\t", "\n", "\r")
TEXTUAL = (Kind.TEXT, Kind.JSON, Kind.ARRAY, Kind.OTHER)  # neutral values are the text


def copy_fields(source: Kind, target: Kind) -> Fields:
    """Return the function that spells a column as COPY fields for a `target` column."""
    if target in TEXTUAL:
        return _text
    if target is Kind.BYTES:
        return _bytes
    return _spelled


def escape(texts: Sequence[str]) -> list[str]:
    """Escape COPY's special characters, scanning the whole column once first."""
    joined = "".join(texts)
    if any(c in joined for c in SPECIAL):
        return [t.translate(ESCAPES) for t in texts]
    return list(texts)


def _text(neutral: list[object], spelled: list[object]) -> list[object]:
    if None not in neutral:
        return escape(neutral)  # type: ignore[arg-type]
    done = escape(["" if v is None else v for v in neutral])  # type: ignore[misc]
    return [NULL_FIELD if v is None else f for v, f in zip(neutral, done, strict=True)]


def _bytes(neutral: list[object], spelled: list[object]) -> list[object]:
    return [NULL_FIELD if s == NULL else "\\\\x" + s for s in spelled]  # type: ignore[operator]


def _spelled(neutral: list[object], spelled: list[object]) -> list[object]:
    if NULL not in spelled:
        return spelled
    return [NULL_FIELD if s == NULL else s for s in spelled]
