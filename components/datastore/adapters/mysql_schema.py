"""Introspect the connected MySQL/MariaDB database from information_schema.

MariaDB's JSON is LONGTEXT with a `CHECK (json_valid(col))`: such columns are JSON.
`tinyint(1)` (what BOOLEAN creates) is boolean; TIMESTAMP (an instant) is timestamptz
and DATETIME (a wall-clock time) is timestamp. A prefix or expression index is `partial`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ..schema import Column, ForeignKey, Index, Kind, Schema, Table

TABLES = (
    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
)
COLUMNS = (
    "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
    "EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
    "ORDER BY TABLE_NAME, ORDINAL_POSITION"
)
INDEXES = (
    "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART "
    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
    "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
)
FOREIGN_KEYS = (
    "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
    "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL "
    "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"
)
JSON_CHECKS = (
    "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE()"
)
JSON_VALID = re.compile(r"json_valid\(`((?:[^`]|``)+)`\)", re.IGNORECASE)
KINDS = dict.fromkeys(
    ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"), Kind.INTEGER
)
KINDS |= dict.fromkeys(("decimal", "numeric"), Kind.DECIMAL)
KINDS |= dict.fromkeys(("float", "double", "real"), Kind.FLOAT)
KINDS |= dict.fromkeys(
    ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"), Kind.TEXT
)
KINDS |= dict.fromkeys(
    ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"), Kind.BYTES
)
KINDS |= {"json": Kind.JSON, "date": Kind.DATE, "time": Kind.TIME, "uuid": Kind.UUID}
KINDS |= {"datetime": Kind.TIMESTAMP, "timestamp": Kind.TIMESTAMPTZ}

Run = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


def load_schema(run: Run, *, mariadb: bool) -> Schema:
    """Read every table and view of the current database with `run(sql, params)`."""
    json_columns = _json_columns(run) if mariadb else set()
    indexes = _indexes(run)
    keys = {
        table: next((i.columns for i in found if i.primary), ()) for table, found in indexes.items()
    }
    columns: dict[str, list[Column]] = defaultdict(list)
    for row in run(COLUMNS, ()):
        table = row[0]
        columns[table].append(_column(row, keys.get(table, ()), json_columns))
    fkeys = _foreign_keys(run)
    tables = {
        name: Table(
            name,
            tuple(columns[name]),
            "view" if type_ == "VIEW" else "table",
            keys.get(name, ()),
            fkeys.get(name, ()),
            tuple(indexes.get(name, ())),
        )
        for name, type_ in run(TABLES, ())
    }
    return Schema(tables)


def _column(
    row: tuple[Any, ...], key: tuple[str, ...], json_columns: set[tuple[str, str]]
) -> Column:
    table, name, column_type, data_type, nullable, default, extra = row
    kind = KINDS.get(data_type.lower(), Kind.OTHER)
    if column_type.lower().startswith("tinyint(1)"):
        kind = Kind.BOOLEAN
    if (table, name) in json_columns:
        kind = Kind.JSON
    if "auto_increment" in (extra or "").lower():
        default = "auto_increment"
    if default == "NULL":  # MariaDB spells an explicit DEFAULT NULL this way
        default = None
    return Column(name, column_type, kind, nullable == "YES", default, name in key)


def _json_columns(run: Run) -> set[tuple[str, str]]:
    found = set()
    for table, clause in run(JSON_CHECKS, ()):
        match = JSON_VALID.fullmatch(clause.strip())
        if match:
            found.add((table, match.group(1).replace("``", "`")))
    return found


def _indexes(run: Run) -> dict[str, list[Index]]:
    parts: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    for table, name, non_unique, column, sub_part in run(INDEXES, ()):
        parts[(table, name)].append((non_unique, column, sub_part))
    result: dict[str, list[Index]] = defaultdict(list)
    for (table, name), rows in sorted(parts.items()):
        partial = any(column is None or sub_part is not None for _, column, sub_part in rows)
        columns = tuple(column for _, column, _ in rows if column is not None)
        unique = not int(rows[0][0])
        result[table].append(Index(name, columns, unique, name == "PRIMARY", partial))
    return result


def _foreign_keys(run: Run) -> dict[str, tuple[ForeignKey, ...]]:
    parts: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
    for table, name, column, ref_schema, ref_table, ref_column in run(FOREIGN_KEYS, ()):
        parts[(table, name)].append((column, ref_schema, ref_table, ref_column))
    result: dict[str, list[ForeignKey]] = defaultdict(list)
    for (table, name), rows in sorted(parts.items()):
        columns = tuple(r[0] for r in rows)
        ref_columns = tuple(r[3] for r in rows)
        result[table].append(ForeignKey(name, columns, rows[0][2], ref_columns, rows[0][1]))
    return {table: tuple(found) for table, found in result.items()}
