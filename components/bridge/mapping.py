"""The type a target column is created with, for each pair of engines.

Same engine: the source's own type text (PostgreSQL's `format_type`, SQLite's declared
type, MySQL's `COLUMN_TYPE`). Across engines: the table in docs/bridge.md, chosen so that
every value of the source type fits and reads back equal; arrays and types MagDS has no
kind for are refused rather than approximated.
"""

from __future__ import annotations

from collections.abc import Callable

from components.datastore.schema import Kind
from mobo.exceptions import UnsupportedFeature

from .typeinfo import TypeInfo

MYSQL_VARCHAR_MAX = 16_383  # the longest utf8mb4 VARCHAR a row can hold
MYSQL_KEY_TEXT = 255  # characters of an unbounded text column in a MySQL primary key
MYSQL_DECIMAL_MAX = (65, 30)  # MySQL's largest DECIMAL precision and scale
MYSQL_TEXT = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"  # exact, case-sensitive keys

PLAIN: dict[str, dict[Kind, str]] = {
    "postgres": {
        Kind.BOOLEAN: "boolean",
        Kind.JSON: "jsonb",
        Kind.UUID: "uuid",
        Kind.DATE: "date",
        Kind.TIME: "time",
        Kind.TIMESTAMP: "timestamp",
        Kind.TIMESTAMPTZ: "timestamptz",
        Kind.BYTES: "bytea",
    },
    "sqlite": {
        Kind.INTEGER: "INTEGER",
        Kind.FLOAT: "REAL",
        Kind.BOOLEAN: "BOOLEAN",
        Kind.JSON: "JSON",
        Kind.UUID: "UUID",
        Kind.DATE: "DATE",
        Kind.TIME: "TIME",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.TIMESTAMPTZ: "TIMESTAMPTZ",
        Kind.BYTES: "BLOB",
    },
    "mysql": {
        Kind.FLOAT: "DOUBLE",  # also for 4-byte floats: MySQL prints FLOAT with 6 digits
        Kind.BOOLEAN: "BOOLEAN",
        Kind.JSON: "JSON",
        Kind.DATE: "DATE",
        Kind.TIME: "TIME(6)",
        Kind.TIMESTAMP: "DATETIME(6)",
        Kind.TIMESTAMPTZ: "TIMESTAMP(6)",  # an instant, as MagDS reads it; 1970-2038 only
    },
}


def column_type(source: TypeInfo, engine: str, *, in_key: bool, mysql_uuid: bool) -> str:
    """Return the type to create for `source` on `engine` (refusing what cannot be copied)."""
    _refuse_unportable(source, engine)
    if source.engine == engine:
        return _same_engine(source)
    plain = PLAIN[engine].get(source.kind)
    if plain is not None:
        return plain
    if engine == "mysql" and source.kind is Kind.UUID:
        return "UUID" if mysql_uuid else "CHAR(36)" + MYSQL_TEXT
    return _SIZED[engine](source, in_key)


def _refuse_unportable(source: TypeInfo, engine: str) -> None:
    if source.kind is Kind.ARRAY and engine != "postgres":
        raise UnsupportedFeature(
            engine,
            f"array columns ({source.spelled}); MagBridge copies arrays only between "
            "PostgreSQL stores",
            hint="copy into a PostgreSQL store, or turn the column into json on the source",
        )
    portable = source.engine == engine and (engine != "mysql" or source.kind is not Kind.OTHER)
    if source.kind is Kind.OTHER and not portable:
        raise UnsupportedFeature(
            engine,
            f"the {source.engine} type {source.spelled or '(none)'}: MagDS has no kind for it",
            hint="create the target table yourself with a type MagDS knows, or change the "
            "source column's type",
        )


def _same_engine(source: TypeInfo) -> str:
    if source.engine != "mysql":
        return source.spelled
    if source.kind is Kind.JSON:
        return "JSON"  # MariaDB spells its JSON as longtext (plus a json_valid check)
    if source.kind is Kind.TEXT:
        return source.spelled + MYSQL_TEXT
    return source.spelled


def _to_postgres(source: TypeInfo, in_key: bool) -> str:
    kind = source.kind
    if kind is Kind.INTEGER:
        bits = source.bits + source.unsigned
        if bits > 64:
            return "numeric(20,0)"
        return "smallint" if bits <= 16 else "integer" if bits <= 32 else "bigint"
    if kind is Kind.FLOAT:
        return "real" if source.single else "double precision"
    if kind is Kind.DECIMAL:
        return _numeric("numeric", source) or "numeric"
    return f"varchar({source.length})" if source.length else "text"


def _to_sqlite(source: TypeInfo, in_key: bool) -> str:
    if source.kind is Kind.DECIMAL:
        return _numeric("NUMERIC", source) or "NUMERIC"
    return f"VARCHAR({source.length})" if source.length else "TEXT"


def _to_mysql(source: TypeInfo, in_key: bool) -> str:
    kind = source.kind
    if kind is Kind.INTEGER:
        bits = source.bits + source.unsigned
        name = "SMALLINT" if bits <= 16 else "INT" if bits <= 32 else "BIGINT"
        return name + (" UNSIGNED" if bits > 64 else "")
    if kind is Kind.DECIMAL:
        precision, scale = MYSQL_DECIMAL_MAX
        if source.precision is not None and source.precision <= precision:
            precision, scale = source.precision, source.scale or 0
        return f"DECIMAL({precision},{min(scale, MYSQL_DECIMAL_MAX[1])})"
    if kind is Kind.BYTES:
        return f"VARBINARY({MYSQL_KEY_TEXT})" if in_key else "LONGBLOB"
    length = source.length or (MYSQL_KEY_TEXT if in_key else None)
    if length is not None and length <= MYSQL_VARCHAR_MAX:
        return f"VARCHAR({length})" + MYSQL_TEXT
    return "LONGTEXT" + MYSQL_TEXT


def _numeric(name: str, source: TypeInfo) -> str | None:
    if source.precision is None:
        return None
    return f"{name}({source.precision},{source.scale or 0})"


_SIZED: dict[str, Callable[[TypeInfo, bool], str]] = {
    "postgres": _to_postgres,
    "sqlite": _to_sqlite,
    "mysql": _to_mysql,
}
