"""MagAuth's tables, read and written through the MagDS neutral query model.

On PostgreSQL the tables live in the schema `auth` (`auth.users`, …), reached through an
adapter whose namespace is `auth`; on SQLite and MySQL they are `auth_users`, … in the
store itself. Every row carries `project` (the board id for now), and every lookup is
scoped by it, so one board can later serve several projects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from components.datastore import Adapter, And, Cond, Delete, Insert, Order, Select, Update
from components.datastore import Transaction as Tx

Row = dict[str, Any]
TABLES = ("users", "identities", "sessions", "refresh_tokens", "api_keys")


def instant(value: object) -> dt.datetime | None:
    """Read an instant from a store (ISO text or datetime; naive means UTC)."""
    if value is None or value == "":
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class AuthStore:
    """Rows of users, identities, sessions, refresh tokens and API keys of one project."""

    def __init__(self, adapter: Adapter, project: str, *, prefix: str | None = None) -> None:
        self.adapter = adapter
        self.project = project
        self.prefix = prefix if prefix is not None else table_prefix(adapter.engine)

    def table(self, name: str) -> str:
        return self.prefix + name

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.adapter.transaction() as tx:
            yield tx

    # -- generic ------------------------------------------------------------------------

    def _where(self, **eq: object) -> And:
        """`project = ? AND k = v …`; a None value means `k IS NULL`."""
        conds = [Cond(k, "is" if v is None else "eq", v) for k, v in eq.items()]
        return And([Cond("project", "eq", self.project), *conds])

    def find(self, table: str, tx: Tx | None = None, **eq: object) -> Row | None:
        """Return the one row of `table` matching `eq`, or None."""
        rows = self.adapter.execute(Select(self.table(table), where=self._where(**eq)), tx=tx).rows
        return rows[0] if rows else None

    def find_all(
        self, table: str, tx: Tx | None = None, *, order: str = "created_at", **eq: object
    ) -> list[Row]:
        query = Select(self.table(table), where=self._where(**eq), order=[Order(order)])
        return self.adapter.execute(query, tx=tx).rows

    def insert(self, table: str, row: Mapping[str, object], tx: Tx | None = None) -> None:
        self.adapter.execute(Insert(self.table(table), [{**row, "project": self.project}]), tx=tx)

    def update(
        self, table: str, values: Mapping[str, object], tx: Tx | None = None, **eq: object
    ) -> int:
        """Set `values` on the rows matching `eq`; return how many matched."""
        query = Update(self.table(table), dict(values), where=self._where(**eq))
        return self.adapter.execute(query, tx=tx).rowcount

    def delete(self, table: str, tx: Tx | None = None, **eq: object) -> int:
        query = Delete(self.table(table), where=self._where(**eq))
        return self.adapter.execute(query, tx=tx).rowcount

    # -- specific -----------------------------------------------------------------------

    def page_of_users(self, page: int, per_page: int) -> tuple[list[Row], int]:
        """Return one page of users (oldest first) and the total."""
        query = Select(
            self.table("users"),
            where=self._where(),
            order=[Order("created_at"), Order("id")],
            limit=per_page,
            offset=(page - 1) * per_page,
            count=True,
        )
        result = self.adapter.execute(query)
        return result.rows, int(result.count or 0)

    def delete_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete a user's sessions (their refresh tokens go with them), all but `keep`."""
        where = self._where(user_id=user_id)
        if keep:
            where = And([*where.nodes, Cond("id", "neq", keep)])
        with self.transaction() as tx:
            ids = [r["id"] for r in self._select(tx, "sessions", where, ("id",))]
            for session_id in ids:
                self.delete("refresh_tokens", tx, session_id=session_id)
                self.delete("sessions", tx, id=session_id)
        return len(ids)

    def _select(self, tx: Tx, table: str, where: And, columns: tuple[str, ...]) -> list[Row]:
        query = Select(self.table(table), columns=columns, where=where)
        return self.adapter.execute(query, tx=tx).rows


def table_prefix(engine: str) -> str:
    """Return the table prefix on `engine`: none in Postgres's `auth` schema, else `auth_`."""
    return "" if engine == "postgres" else "auth_"
