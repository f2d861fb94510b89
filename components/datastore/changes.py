"""Row changes made through the adapter layer, reported to observers after commit.

The adapter stays bus-agnostic: `adapter.on_change(callback)` registers an observer, and
the adapter calls `callback(changes)` once per committed write (once per transaction
for writes inside `transaction()`), never for a rolled-back one. The Datastores object
wires an observer that emits them as `data.change` events.

To know the rows it changed, the adapter widens the write's RETURNING to every column
while an observer is attached (the caller still gets exactly what it asked for), so a
change costs no extra statement where the engine has RETURNING. What an engine cannot
return is reported as well as it can be known: an insert's own input rows, or one
table-level change with `pk`, `new` and `old` all null (see docs/datastores.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .dialect import Dialect
from .query import ALL, Column, Delete, Insert, Query, Resolution, Update, Write
from .schema import Table
from .values import jsonable

# prefix of the extra RETURNING keys added for observers; never in SQL, and unlike the
# gateway's private aliases ("\x00k0"), which a caller's RETURNING may hold
HIDDEN = "\x00w:"

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One row changed by a committed write; `op` is insert, update, upsert or delete."""

    store: str
    table: str
    op: str
    pk: dict[str, Any] | None
    new: Row | None = None
    old: Row | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the `data` of a `data.change` event."""
        return {
            "store": self.store,
            "table": self.table,
            "op": self.op,
            "pk": self.pk,
            "new": self.new,
            "old": self.old,
        }


ChangeObserver = Callable[[Sequence[Change]], None]


def op_of(query: Insert | Update | Delete) -> str:
    """Name what a write does to rows (a merging upsert may insert or update each)."""
    if isinstance(query, Insert):
        return "upsert" if query.resolution is Resolution.MERGE else "insert"
    return "update" if isinstance(query, Update) else "delete"


class Watch:
    """One observed write: the query to run, and how to split what it returned."""

    def __init__(
        self, store: str, dialect: Dialect, table: Table, query: Query, *, widen: bool = True
    ) -> None:
        assert isinstance(query, Insert | Update | Delete)
        self.store, self.table, self.original = store, table, query
        self.op = op_of(query)
        statement = "insert" if isinstance(query, Insert) else self.op
        can_return = dialect.supports_returning(statement) or (
            isinstance(query, Update) and bool(table.primary_key)  # emulated on MariaDB
        )
        # widen=False: RETURNING only what the caller asked (a row policy may let the role
        # write rows it may not read); the changes then carry the request's rows or none
        self.widened = widen and can_return and query.returning != ALL
        self.query: Write = self._widen(query) if self.widened else query
        self.rows_known = can_return and (widen or query.returning == ALL)

    def _widen(self, query: Write) -> Write:
        hidden = tuple(Column(c.name, alias=HIDDEN + c.name) for c in self.table.columns)
        extra = () if query.returning is None else query.returning
        return replace(query, returning=(*extra, *hidden))

    def split(self, rows: list[Row], rowcount: int) -> tuple[list[Row], int, list[Change]]:
        """Return the caller's rows and rowcount, and the changes, from what ran."""
        if not self.rows_known:
            return rows, rowcount, self._unknown_rows()
        if not self.widened:
            return rows, rowcount, [self._change(row) for row in rows]
        cut = len(HIDDEN)
        full = [{k[cut:]: v for k, v in row.items() if k[:cut] == HIDDEN} for row in rows]
        changes = [self._change(row) for row in full]
        if self.original.returning is None:
            return [], self._rowcount(len(rows)), changes
        mine = [{k: v for k, v in row.items() if k[:cut] != HIDDEN} for row in rows]
        return mine, rowcount, changes

    def _rowcount(self, returned: int) -> int:
        query = self.original
        if isinstance(query, Insert) and query.resolution is Resolution.MERGE:
            return len(query.rows)  # as without RETURNING: every input row was written
        return returned

    def _change(self, row: Row) -> Change:
        pk = {name: row.get(name) for name in self.table.primary_key} or None
        if self.op == "delete":
            return Change(self.store, self.table.name, self.op, pk, None, row)
        return Change(self.store, self.table.name, self.op, pk, row, None)

    def _unknown_rows(self) -> list[Change]:
        query = self.original
        if isinstance(query, Insert) and query.resolution is None:
            return [self._change({k: jsonable(v) for k, v in row.items()}) for row in query.rows]
        return [Change(self.store, self.table.name, self.op, None)]
