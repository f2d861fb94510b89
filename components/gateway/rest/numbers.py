"""Filter values on numeric columns must read as numbers (MySQL and MariaDB).

MySQL compares a number with text by reading the text's leading digits, so
`?id=eq.1;drop table t` would match row 1 (the SQL stays inert: the value is bound). As
PostgreSQL does, such a value is refused: 400 `22P02` `invalid input syntax for type
integer: "1;drop table t"`. SQLite compares by type and PostgreSQL refuses by itself.
"""

from __future__ import annotations

import re

from components.datastore import query as q
from components.datastore.schema import Kind, Table
from components.gateway.rest import errors

INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
PATTERNS = {Kind.INTEGER: INTEGER, Kind.FLOAT: DECIMAL, Kind.DECIMAL: DECIMAL}
LENIENT_ENGINES = frozenset({"mysql"})
TEXT_OPS = frozenset({q.Op.LIKE, q.Op.ILIKE, q.Op.IS})


def check(engine: str, table: Table, node: q.Filter | None) -> None:
    """Refuse (22P02) text that is not a number compared with a numeric column."""
    if engine not in LENIENT_ENGINES or node is None:
        return
    if isinstance(node, q.Not):
        check(engine, table, node.node)
    elif isinstance(node, q.And | q.Or):
        for child in node.nodes:
            check(engine, table, child)
    elif node.op not in TEXT_OPS:
        _check_cond(table, node)


def _check_cond(table: Table, cond: q.Cond) -> None:
    column = next((c for c in table.columns if c.name == cond.column), None)
    pattern = PATTERNS.get(column.kind) if column is not None else None
    if pattern is None:
        return
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    for value in values:
        if isinstance(value, str) and not pattern.fullmatch(value):
            kind = "integer" if column.kind is Kind.INTEGER else "numeric"  # type: ignore[union-attr]
            raise errors.api_error(400, "22P02", f'invalid input syntax for type {kind}: "{value}"')
