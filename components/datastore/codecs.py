"""Convert values between Python and one engine, column kind by column kind.

PostgreSQL has real types and psycopg adapts them; only JSON needs wrapping. SQLite and
MySQL store JSON as text, have no arrays and no time zones, so their codecs serialize
JSON, store instants in UTC, validate dates, UUIDs and booleans as PostgreSQL would
(refusing bad text instead of storing it), and refuse arrays.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import ClassVar

from mobo.exceptions import QueryError, UnsupportedFeature

from . import values as v
from .schema import Column, Kind

TEMPORAL = (Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.DATE, Kind.TIME)
PLAIN: frozenset[type] = frozenset({int, str, float, bool, type(None)})


class Codec:
    """Shared rules; engines override `encode_json`, `encode_array`, `encode_scalar`, `decode`."""

    engine: ClassVar[str] = ""
    # the kinds an engine's plain-read cursor may load with dates and times as the engine's
    # own text, for cached plans' row builders to respell (plans.py); empty: no such cursor
    TEXT_READ_KINDS: ClassVar[frozenset[Kind]] = frozenset()

    def encode(self, column: Column, value: object) -> object:
        """Return the driver parameter for writing `value` into `column`."""
        if value is None:
            return None
        if column.kind is Kind.JSON:
            return self.encode_json(column, value)
        if isinstance(value, list | tuple):
            return self.encode_array(column, value)
        if isinstance(value, dict):
            raise QueryError(
                f"column {column.name} is not a JSON column and cannot take an object",
                code="22P02",
            )
        return self.encode_scalar(column, value)

    def encode_filter(self, column: Column, value: object) -> object:
        """Return the parameter for comparing `column` with `value` (JSON text passes as is)."""
        if column.kind is Kind.JSON and isinstance(value, str):
            return value
        return self.encode(column, value)

    def encode_json(self, column: Column, value: object) -> object:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def encode_array(self, column: Column, value: list | tuple) -> object:
        raise UnsupportedFeature(self.engine, f"array values (column {column.name})")

    def encode_scalar(self, column: Column, value: object) -> object:
        return value

    def decode(self, column: Column | None, value: object) -> object:
        """Return the JSON-friendly value of what the driver read from `column`."""
        return v.jsonable(value)

    def decoder(self, column: Column | None) -> Callable[[object], object] | None:
        """Return `decode` for one column, or None when its values pass unchanged."""
        return partial(self.decode, column)

    def filter_encoder(self, column: Column) -> Callable[[object], object]:
        """Return `encode_filter` for one column (the plan cache binds one per value)."""
        return partial(self.encode_filter, column)

    def filter_passes(self, column: Column) -> frozenset[type]:
        """Return the value types `filter_encoder(column)` hands back unchanged (the plan
        cache binds values of only these types as they are, without a call per value)."""
        return frozenset()


class PostgresCodec(Codec):
    """psycopg adapts nearly everything; JSON documents go through its Json wrappers."""

    engine = "postgres"
    # psycopg reads these as int, float, str and bool already, the adapter's connections
    # read numeric and uuid as their text (adapters/postgres_pool.py TEXT_TYPES), and its
    # statements dates and times as ISO text (TEMPORAL_TYPES)
    NATIVE_KINDS = frozenset(
        {Kind.INTEGER, Kind.FLOAT, Kind.TEXT, Kind.BOOLEAN, Kind.DECIMAL, Kind.UUID} | set(TEMPORAL)
    )

    # kinds that hold no date or time inside them (arrays, ranges and other types may):
    # a plan reading only these may go through the plain-read cursor (adapters/postgres.py)
    TEXT_READ_KINDS = NATIVE_KINDS | {Kind.JSON, Kind.BYTES}

    def filter_encoder(self, column: Column) -> Callable[[object], object]:
        encode = partial(self.encode_filter, column)
        if column.kind in (Kind.JSON, Kind.ARRAY):
            return encode

        def plain_or_encode(value: object) -> object:
            # psycopg adapts these itself: encode_filter would hand them back unchanged
            return value if value.__class__ in PLAIN else encode(value)

        return plain_or_encode

    def filter_passes(self, column: Column) -> frozenset[type]:
        return frozenset() if column.kind in (Kind.JSON, Kind.ARRAY) else PLAIN

    def decoder(self, column: Column | None) -> Callable[[object], object] | None:
        if column is None:
            return v.jsonable
        if column.kind in self.NATIVE_KINDS or column.kind is Kind.JSON:
            return None  # JSON documents arrive parsed into JSON's own types
        return v.jsonable

    def encode_json(self, column: Column, value: object) -> object:
        from psycopg.types.json import Json, Jsonb

        return Json(value) if column.type == "json" else Jsonb(value)

    def encode_array(self, column: Column, value: list | tuple) -> object:
        return list(value)

    def encode_filter(self, column: Column, value: object) -> object:
        # psycopg types a list by its items (int2[] for small ints) and `int4[] = int2[]`
        # has no operator; an untyped array literal takes the column's type instead.
        if column.kind is Kind.ARRAY and isinstance(value, list | tuple):
            return array_literal(value)
        return super().encode_filter(column, value)


def array_literal(value: list | tuple) -> str:
    """Spell a (nested) list as PostgreSQL array text: `{"a","b,c",NULL}`."""
    items = []
    for item in value:
        if item is None:
            items.append("NULL")
        elif isinstance(item, list | tuple):
            items.append(array_literal(item))
        else:
            text = str(v.jsonable(item)).replace("\\", "\\\\").replace('"', '\\"')
            items.append(f'"{text}"')
    return "{" + ",".join(items) + "}"


class TextualCodec(Codec):
    """SQLite and MySQL: JSON as text, no arrays, instants stored in UTC."""

    def encode_scalar(self, column: Column, value: object) -> object:
        kind, name = column.kind, column.name
        if kind is Kind.UUID:
            return v.parse_uuid(value, name)
        if kind is Kind.BOOLEAN:
            return int(v.parse_bool(value, name))
        if kind in TEMPORAL:
            return self.encode_temporal(column, value)
        return self.encode_plain(value)

    def encode_temporal(self, column: Column, value: object) -> object:
        if column.kind is Kind.DATE:
            return v.parse_date(value, column.name).isoformat()
        if column.kind is Kind.TIME:
            return v.parse_time(value, column.name).isoformat()
        return v.utc_naive(v.parse_datetime(value, column.name))

    def encode_plain(self, value: object) -> object:
        return value

    def decode(self, column: Column | None, value: object) -> object:
        if column is None or value is None:
            return v.jsonable(value)
        kind = column.kind
        if kind is Kind.JSON and isinstance(value, str | bytes):
            return _json_or_text(value)
        if kind is Kind.BOOLEAN and isinstance(value, int):
            return bool(value)
        if kind is Kind.DECIMAL:
            return v.decimal_text(value)
        if kind is Kind.TIME and isinstance(value, dt.timedelta):
            return v.time_text(value)
        if kind in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
            return _instant(kind, value)
        return v.jsonable(value)


def _json_or_text(value: str | bytes) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return value if isinstance(value, str) else v.jsonable(value)


def _instant(kind: Kind, value: object) -> object:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime) and kind is Kind.TIMESTAMPTZ:
        value = value.replace(tzinfo=v.UTC) if value.tzinfo is None else value.astimezone(v.UTC)
    return v.jsonable(value)


class SqliteCodec(TextualCodec):
    """SQLite: instants as `YYYY-MM-DD HH:MM:SS[.ffffff]` text (CURRENT_TIMESTAMP's form)."""

    engine = "sqlite"

    def encode_temporal(self, column: Column, value: object) -> object:
        stored = super().encode_temporal(column, value)
        if not isinstance(stored, dt.datetime):
            return stored
        text = stored.isoformat(sep=" ")
        return text + "+00:00" if column.kind is Kind.TIMESTAMPTZ else text

    def encode_plain(self, value: object) -> object:
        if isinstance(value, bool | int | float | str | bytes) or value is None:
            return value
        return v.jsonable(value)  # Decimal, UUID, datetime: as text, SQLite converts by affinity


class MysqlCodec(TextualCodec):
    """MySQL/MariaDB: pymysql escapes datetimes and Decimals itself; sessions run in UTC."""

    engine = "mysql"

    NATIVE = (bool, int, float, str, bytes, Decimal, dt.date, dt.time, dt.timedelta)

    def encode_plain(self, value: object) -> object:
        return value if isinstance(value, self.NATIVE) else v.jsonable(value)
