"""The order-independent checksum of a table's rows, over normalised values.

Each row is spelled canonically (below), one column at a time, and hashed with MD5; its
first 8 bytes, read as a big-endian number, are the row's hash, and the table's checksum is
the sum of its row hashes modulo 2**64. A sum does not depend on the order rows are read in
(engines may order text keys differently) and, unlike XOR, counts a duplicated row twice;
the row count is compared beside it. MD5 (not for security here: as a checksum) because
PostgreSQL has it built in: `pgsum.py` computes the same checksum on the server, in SQL.

Canonical spelling, by the *source* column's kind, of the neutral values (see
`decode.py`) read from either side: integers and decimals in plain notation without
trailing zeros, floats by `repr`, booleans `t`/`f`, JSON re-serialised with sorted keys
and normalised numbers, dates and times in ISO 8601 (timestamptz in UTC), bytes in hex;
NULL is U+001D and columns are joined with U+001F, the row's text hashed as UTF-8 (a value
containing those characters could, in theory, collide with another row's spelling).
"""

from __future__ import annotations

import hashlib
import json
import sys
from array import array
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from operator import methodcaller

from components.datastore.schema import Kind

from .convert import FAILURES, Convert, Refused, decimal_text, locate, preview

NULL = "\x1d"  # not U+0000: PostgreSQL text cannot hold it, and pgsum.py spells rows as text
SEPARATOR = "\x1f"
ROWS, ROW_BYTES = "\x1e", b"\x1e"
MODULUS = 2**64
RECORDED = "md5:"  # how a checkpoint's checksum starts (earlier ones were BLAKE2b sums)
VERIFIED = "md5v:"  # ... when each of its batches was verified on the target (batchcheck.py)
try:  # CPython's own MD5: a third faster than OpenSSL's for short rows (no EVP context)
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover - a Python built without it
    _md5 = partial(hashlib.md5, usedforsecurity=False)  # a checksum, not a signature
_digest = type(_md5()).digest  # the method itself: cheaper per row than methodcaller's lookup
_iso = methodcaller("isoformat")
_WORDS = "Q"  # array type of 8-byte unsigned integers
assert array(_WORDS).itemsize == 8


class Checksum:
    """Rows seen and the sum of their hashes; `plus` returns a new one."""

    __slots__ = ("rows", "total")

    def __init__(self, rows: int = 0, total: int = 0) -> None:
        self.rows = rows
        self.total = total

    def plus(self, columns: Sequence[Sequence[object]], rows: int) -> Checksum:
        """Return this checksum with a batch added, given as canonical columns."""
        if not rows:
            return self
        return self.plus_text(batch_text(columns), rows, columns)

    def plus_text(self, text: str, rows: int, columns: Sequence[Sequence[object]]) -> Checksum:
        """Return this checksum with a batch added, given as its `batch_text`.

        The text is encoded once and split back into rows as bytes; if a value holds the
        row separator itself, the rows are encoded one by one from `columns` instead.
        """
        if not rows:
            return self
        lines = text.encode("utf-8", "surrogatepass").split(ROW_BYTES)
        if len(lines) != rows:
            lines = [
                SEPARATOR.join(row).encode("utf-8", "surrogatepass")  # type: ignore[arg-type]
                for row in zip(*columns, strict=True)
            ]
        return self.plus_lines(lines, rows)

    def plus_lines(self, lines: Sequence[bytes], rows: int) -> Checksum:
        """Return this checksum with rows added, given as their canonical text in UTF-8."""
        if not rows:
            return self
        if len(lines) != rows:
            raise ValueError(f"{len(lines)} lines for {rows} rows")
        return Checksum(self.rows + rows, (self.total + hash_sum(lines)) % MODULUS)

    def __add__(self, other: Checksum) -> Checksum:
        """The checksum of both sets of rows."""
        return Checksum(self.rows + other.rows, (self.total + other.total) % MODULUS)

    @property
    def hex(self) -> str:
        return f"{self.total:016x}"

    @classmethod
    def from_hex(cls, rows: int, text: str) -> Checksum:
        return cls(rows, int(text, 16))

    @property
    def recorded(self) -> str:
        """The checksum as a checkpoint records it (tagged with the hash it sums)."""
        return RECORDED + self.hex

    def recorded_as(self, *, verified: bool) -> str:
        """The checksum as a checkpoint records it, saying whether every batch it sums was
        verified on the target in its own transaction."""
        return (VERIFIED if verified else RECORDED) + self.hex

    @classmethod
    def from_recorded(cls, rows: int, text: str) -> Checksum | None:
        """Read a checkpoint's checksum; None if an earlier MagBridge recorded it."""
        for prefix in (RECORDED, VERIFIED):
            if text.startswith(prefix):
                return cls.from_hex(rows, text.removeprefix(prefix))
        return cls() if rows == 0 else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checksum):
            return NotImplemented
        return (self.rows, self.total) == (other.rows, other.total)

    __hash__ = None  # type: ignore[assignment]


def batch_text(columns: Sequence[Sequence[object]]) -> str:
    """Spell a batch of canonical columns as one text: rows joined by U+001E."""
    return ROWS.join(map(SEPARATOR.join, zip(*columns, strict=True)))  # type: ignore[arg-type]


def hash_sum(lines: Sequence[bytes]) -> int:
    """Return the sum of the rows' hashes: MD5's first 8 bytes, big-endian (not mod 2**64)."""
    words = array(_WORDS, b"".join(map(_digest, map(_md5, lines))))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words[::2])


def row_hash(line: bytes) -> int:
    """Return one row's hash (its canonical text as UTF-8): what `hash_sum` adds up."""
    return int.from_bytes(_md5(line).digest()[:8], "big")


def canonical(kind: Kind) -> Convert:
    """Return the function that spells a column of neutral values canonically."""
    if kind in SPELLED_ALREADY:
        return _nulls_marked
    fn = SPELL.get(kind, repr)

    def convert(column: Sequence[object]) -> list[object]:
        # each(fn) and then NULLs marked, in one pass (no spelling is ever None)
        try:
            if _dense(column):
                return list(map(fn, column))
            return [NULL if v is None else fn(v) for v in column]
        except FAILURES:
            raise locate(column, fn, "22P02") from None

    return convert


def _nulls_marked(column: Sequence[object]) -> list[object]:
    if _dense(column):
        return list(column)
    return [NULL if v is None else v for v in column]


def _dense(column: Sequence[object]) -> bool:
    """Tell whether a column holds no None: `all()` first (a truth test is cheaper than
    `in`'s comparison of each value with None), the search only if a value is falsy."""
    return all(column) or None not in column


def canonical_json(value: object) -> str:
    """Spell a JSON document canonically: sorted keys, no spaces, normalised numbers."""
    try:
        document = json.loads(value, parse_float=Decimal, parse_int=Decimal)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Refused("22P02", f"{preview(value)} is not valid JSON") from None
    return _dump(document)


def _dump(value: object) -> str:
    if isinstance(value, dict):
        items = (json.dumps(k, ensure_ascii=False) + ":" + _dump(value[k]) for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_dump, value)) + "]"
    if isinstance(value, Decimal):
        return decimal_text(value)
    return json.dumps(value, ensure_ascii=False)


# their neutral values are canonical text already
SPELLED_ALREADY = (Kind.TEXT, Kind.DECIMAL, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
SPELL: dict[Kind, Callable[[object], object]] = {
    # str() of an int, or of the text of a decimal column read back (an integer column
    # copied into a decimal one): format() with no spec is str() for both, a cheaper call
    Kind.INTEGER: format,
    Kind.FLOAT: float.__repr__,
    Kind.BOOLEAN: {True: "t", False: "f"}.__getitem__,
    Kind.JSON: canonical_json,
    Kind.UUID: str.lower,
    Kind.DATE: _iso,
    Kind.TIME: _iso,
    Kind.BYTES: bytes.hex,
}
