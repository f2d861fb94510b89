"""What a column's type can hold, read from its engine's own spelling.

Introspection gives each column a neutral `kind` and the engine's type text
(`character varying(20)`, `bigint(20) unsigned`, `NUMERIC(12,2)`); MagBridge also needs
the limits inside that text: integer width, text length, decimal precision and scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from components.datastore.schema import Column, Kind

PARAMS = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
# integer widths in bits, by a word of the type's name (checked in this order)
PG_INTS = (("smallint", 16), ("bigint", 64), ("integer", 32))
MYSQL_INTS = (("tinyint", 8), ("smallint", 16), ("mediumint", 24), ("bigint", 64), ("int", 32))
MYSQL_INTS += (("year", 16),)
SQLITE_INTS = (("TINYINT", 16), ("SMALLINT", 16), ("MEDIUMINT", 32))  # other INTs: 64 bits
# MySQL's text and blob types are limited in bytes, not characters
MYSQL_BYTES = {"tiny": 255, "": 65_535, "medium": 16_777_215, "long": 4_294_967_295}
MYSQL_LOBS = re.compile(r"^(tiny|medium|long|)(text|blob)\b")


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A column's kind and the limits of its type; `None` means unlimited or unknown."""

    engine: str
    kind: Kind
    spelled: str  # the engine's type text, as introspected
    nullable: bool = True
    bits: int = 64  # integers
    unsigned: bool = False
    single: bool = False  # floats: 4-byte REAL/FLOAT
    length: int | None = None  # text and bytes: characters (bytes for binary types)
    max_bytes: int | None = None  # MySQL TEXT/BLOB types: their size limit in bytes
    precision: int | None = None  # decimals
    scale: int | None = None

    @property
    def int_range(self) -> tuple[int, int]:
        """Return the smallest and largest integer the type holds."""
        if self.unsigned:
            return 0, 2**self.bits - 1
        return -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1


def type_info(engine: str, column: Column) -> TypeInfo:
    """Read the limits of `column`'s type as `engine` spells it."""
    spelled = column.type
    base = TypeInfo(engine, column.kind, spelled, column.nullable)
    if column.kind in (Kind.ARRAY, Kind.OTHER, Kind.BOOLEAN, Kind.JSON):
        return base
    return _READERS[engine](base, spelled.lower())


def _params(text: str) -> tuple[int | None, int | None]:
    match = PARAMS.search(text)
    if match is None:
        return None, None
    second = match.group(2)
    return int(match.group(1)), int(second) if second is not None else None


def _postgres(info: TypeInfo, text: str) -> TypeInfo:
    first, second = _params(text)
    if info.kind is Kind.INTEGER:
        return _with(info, bits=next((b for word, b in PG_INTS if word in text), 64))
    if info.kind is Kind.FLOAT:
        return _with(info, single=text == "real")
    if info.kind is Kind.DECIMAL:
        return _with(info, precision=first, scale=(second or 0) if first is not None else None)
    if info.kind is Kind.TEXT and text.startswith(("character", "char", "varchar")):
        return _with(info, length=first)
    return info


def _mysql(info: TypeInfo, text: str) -> TypeInfo:
    first, second = _params(text)
    if info.kind is Kind.INTEGER:
        bits = next((b for word, b in MYSQL_INTS if text.startswith(word)), 64)
        return _with(info, bits=bits, unsigned="unsigned" in text)
    if info.kind is Kind.FLOAT:
        return _with(info, single=text.startswith("float"))
    if info.kind is Kind.DECIMAL:
        return _with(info, precision=first or 10, scale=second or 0)
    lob = MYSQL_LOBS.match(text)
    if lob is not None:
        return _with(info, max_bytes=MYSQL_BYTES[lob.group(1)])
    fixed = text.startswith(("char", "varchar", "binary", "varbinary"))
    if info.kind in (Kind.TEXT, Kind.BYTES) and fixed:
        return _with(info, length=first if first is not None else 1)
    return info


def _sqlite(info: TypeInfo, text: str) -> TypeInfo:
    first, second = _params(text)
    upper = text.upper()
    if info.kind is Kind.INTEGER:
        return _with(info, bits=next((b for word, b in SQLITE_INTS if word in upper), 64))
    if info.kind is Kind.DECIMAL:
        return _with(info, precision=first, scale=(second or 0) if first is not None else None)
    if info.kind is Kind.TEXT and "CHAR" in upper:
        return _with(info, length=first)
    return info


def _with(info: TypeInfo, **changes: object) -> TypeInfo:
    return replace(info, **changes)  # type: ignore[arg-type]


_READERS = {"postgres": _postgres, "mysql": _mysql, "sqlite": _sqlite}
