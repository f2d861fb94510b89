"""The order-independent checksum of a table's rows, over normalised values.

Each row is spelled canonically (below), one column at a time, and hashed with BLAKE2b
(8 bytes); the table's checksum is the sum of its row hashes modulo 2**64. A sum does not
depend on the order rows are read in (engines may order text keys differently) and,
unlike XOR, counts a duplicated row twice; the row count is compared beside it.

Canonical spelling, by the *source* column's kind, of the neutral values (see
`decode.py`) read from either side: integers and decimals in plain notation without
trailing zeros, floats by `repr`, booleans `t`/`f`, JSON re-serialised with sorted keys
and normalised numbers, dates and times in ISO 8601 (timestamptz in UTC), bytes in hex;
NULL is U+0000 and columns are joined with U+001F (a value containing those characters
could, in theory, collide with another row's spelling).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from itertools import repeat
from operator import methodcaller

from components.datastore.schema import Kind

from .convert import Convert, Refused, decimal_text, each, preview

NULL = "\x00"
SEPARATOR = "\x1f"
ROWS, ROW_BYTES = "\x1e", b"\x1e"
MODULUS = 2**64
_hash = partial(hashlib.blake2b, digest_size=8)
_digest = methodcaller("digest")
_iso = methodcaller("isoformat")


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
        # one text for the batch, split back into rows as bytes: one encode, not one a row
        # (a value holding the row separator splits its row in two on both sides alike)
        text = ROWS.join(map(SEPARATOR.join, zip(*columns, strict=True)))
        hashes = map(_digest, map(_hash, text.encode("utf-8", "surrogatepass").split(ROW_BYTES)))
        total = self.total + sum(map(int.from_bytes, hashes, repeat("little")))
        return Checksum(self.rows + rows, total % MODULUS)

    @property
    def hex(self) -> str:
        return f"{self.total:016x}"

    @classmethod
    def from_hex(cls, rows: int, text: str) -> Checksum:
        return cls(rows, int(text, 16))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checksum):
            return NotImplemented
        return (self.rows, self.total) == (other.rows, other.total)

    __hash__ = None  # type: ignore[assignment]


def canonical(kind: Kind) -> Convert:
    """Return the function that spells a column of neutral values canonically."""
    if kind in SPELLED_ALREADY:
        return _nulls_marked
    spell = each(SPELL.get(kind, repr))

    def convert(column: Sequence[object]) -> list[object]:
        return _nulls_marked(spell(column))

    return convert


def _nulls_marked(column: Sequence[object]) -> list[object]:
    if None not in column:
        return list(column)
    return [NULL if v is None else v for v in column]


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
    Kind.INTEGER: str,
    Kind.FLOAT: float.__repr__,
    Kind.BOOLEAN: {True: "t", False: "f"}.__getitem__,
    Kind.JSON: canonical_json,
    Kind.UUID: str.lower,
    Kind.DATE: _iso,
    Kind.TIME: _iso,
    Kind.BYTES: bytes.hex,
}
