"""Introspect a SQLite database through its table-valued pragmas.

SQLite types are declared names, not types: `kind` follows SQLite's own affinity rules,
refined by words in the name (JSON, BOOL, UUID, TIMESTAMPTZ, DATETIME, DATE, TIME).
SQLite does not report foreign key constraint names; a table-level
`CONSTRAINT name FOREIGN KEY (...)` is read from the table's SQL, and any other foreign
key gets PostgreSQL's default name, `<table>_<columns>_fkey`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..schema import Column, ForeignKey, Index, Kind, Schema, Table

RELATIONS = (
    "SELECT name, type, sql FROM sqlite_master "
    "WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
)
COLUMNS = 'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)'
FOREIGN_KEYS = 'SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq'
INDEXES = 'SELECT name, "unique", origin, partial FROM pragma_index_list(?)'
INDEX_COLUMNS = "SELECT name FROM pragma_index_info(?) ORDER BY seqno"

NAME = r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[^\s(),]+'
NAMED_FK = re.compile(rf"CONSTRAINT\s+({NAME})\s+FOREIGN\s+KEY\s*\(([^)]*)\)", re.IGNORECASE)
KIND_WORDS = (
    (("JSON",), Kind.JSON),
    (("BOOL",), Kind.BOOLEAN),
    (("UUID", "GUID"), Kind.UUID),
    (("TIMESTAMPTZ", "WITH TIME ZONE"), Kind.TIMESTAMPTZ),
    (("TIMESTAMP", "DATETIME"), Kind.TIMESTAMP),
    (("DATE",), Kind.DATE),
    (("TIME",), Kind.TIME),
    (("INT",), Kind.INTEGER),
    (("CHAR", "CLOB", "TEXT"), Kind.TEXT),
    (("BLOB",), Kind.BYTES),
    (("REAL", "FLOA", "DOUB"), Kind.FLOAT),
    (("NUMERIC", "DECIMAL"), Kind.DECIMAL),
)

Run = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


def kind_of(declared: str) -> Kind:
    """Return the kind of a declared SQLite type name."""
    upper = declared.upper()
    for words, kind in KIND_WORDS:
        if any(word in upper for word in words):
            return kind
    return Kind.OTHER


def load_schema(run: Run) -> Schema:
    """Read every table and view with `run(sql, params) -> rows`."""
    relations = run(RELATIONS, ())
    keys = {name: _primary_key(run, name) for name, _, _ in relations}
    tables = {
        name: Table(
            name,
            _columns(run, name, keys[name], sql or ""),
            type_,
            keys[name],
            _foreign_keys(run, name, sql or "", keys),
            _indexes(run, name),
        )
        for name, type_, sql in relations
    }
    return Schema(tables)


def _primary_key(run: Run, table: str) -> tuple[str, ...]:
    ranked = sorted((pk, name) for name, _, _, _, pk, _ in run(COLUMNS, (table,)) if pk)
    return tuple(name for _, name in ranked)


def _columns(run: Run, table: str, key: tuple[str, ...], sql: str) -> tuple[Column, ...]:
    without_rowid = "WITHOUT ROWID" in sql.upper()
    columns = []
    for name, type_, notnull, default, pk, hidden in run(COLUMNS, (table,)):
        if hidden == 1:  # a virtual table's hidden column
            continue
        # INTEGER PRIMARY KEY is the rowid: never NULL, numbered when not given.
        rowid = len(key) == 1 and pk and not without_rowid and type_.upper() == "INTEGER"
        if rowid and default is None:
            default = "rowid"
        nullable = not (notnull or rowid or (pk and without_rowid))
        columns.append(Column(name, type_, kind_of(type_), nullable, default, bool(pk)))
    return tuple(columns)


def _foreign_keys(
    run: Run, table: str, sql: str, keys: dict[str, tuple[str, ...]]
) -> tuple[ForeignKey, ...]:
    groups: dict[int, list[tuple[str, str, str | None]]] = {}
    for id_, ref_table, from_, to in run(FOREIGN_KEYS, (table,)):
        groups.setdefault(id_, []).append((ref_table, from_, to))
    names = _named_foreign_keys(sql)
    result = []
    for parts in groups.values():
        ref_table = parts[0][0]
        cols = tuple(p[1] for p in parts)
        ref_cols = tuple(p[2] for p in parts if p[2]) or keys.get(ref_table, ())
        name = names.get(cols, f"{table}_{'_'.join(cols)}_fkey")
        result.append(ForeignKey(name, cols, ref_table, ref_cols))
    return tuple(sorted(result, key=lambda fk: fk.name))


def _named_foreign_keys(sql: str) -> dict[tuple[str, ...], str]:
    return {
        tuple(_unquote(c.strip()) for c in match.group(2).split(",")): _unquote(match.group(1))
        for match in NAMED_FK.finditer(sql)
    }


def _unquote(name: str) -> str:
    if name[:1] in ('"', "`") and name[-1:] == name[:1]:
        return name[1:-1].replace(name[0] * 2, name[0])
    if name[:1] == "[" and name[-1:] == "]":
        return name[1:-1]
    return name


def _indexes(run: Run, table: str) -> tuple[Index, ...]:
    indexes = []
    for name, unique, origin, partial in run(INDEXES, (table,)):
        columns = [col for (col,) in run(INDEX_COLUMNS, (name,))]
        expression = any(col is None for col in columns)
        cols = tuple(col for col in columns if col is not None)
        indexes.append(Index(name, cols, bool(unique), origin == "pk", bool(partial) or expression))
    return tuple(sorted(indexes, key=lambda index: index.name))
