"""One request's access rules, applied to the queries it runs (SQLite and MariaDB stores).

A `Guard` joins the caller (a Principal) with the store's Permissions: `check` refuses an
operation not granted (PermissionDenied); `scope` returns the ownership filter to AND
into a read, update or delete; `own` sets the owner column of inserted rows and
`check_values` refuses an update that would hand a row to someone else (both raise
RowPolicyViolation). On PostgreSQL the Guard has no permissions and does nothing: the
database enforces GRANTs and row-level security under the request's role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.datastore import query as q
from components.datastore.access.errors import PermissionDenied, RowPolicyViolation
from components.datastore.access.permissions import Permissions
from mobo.principal import Principal

Row = Mapping[str, object]


class Guard:
    """Apply one store's permissions to one caller."""

    __slots__ = ("permissions", "principal")

    def __init__(self, permissions: Permissions | None, principal: Principal) -> None:
        self.permissions = permissions
        self.principal = principal

    @property
    def anonymous(self) -> bool:
        return self.principal.role == "anon"

    @property
    def enforced(self) -> bool:
        return self.permissions is not None and self.principal.role != "service_role"

    def check(self, table: str, op: str) -> None:
        """Refuse `op` on `table` unless the caller's role was granted it."""
        if self.enforced and not self.permissions.rule(table).allows(self.principal.role, op):  # type: ignore[union-attr]
            raise PermissionDenied(table, anonymous=self.anonymous)

    def owner(self, table: str, op: str) -> str | None:
        """Return the owner column the rule applies to `op` on `table`, if any."""
        if not self.enforced:
            return None
        rule = self.permissions.rule(table)  # type: ignore[union-attr]
        return rule.owner if rule.owned(self.principal.role, op) else None

    def scope(self, table: str, op: str) -> q.Filter | None:
        """Return the filter that keeps the caller to its own rows (None: no rule)."""
        column = self.owner(table, op)
        if column is None:
            return None
        uid = self.principal.user_id
        # no user, no rows: `owner = NULL` is never true, as `owner = auth.uid()` for anon
        return q.Cond(column, q.Op.IN, ()) if uid is None else q.Cond(column, q.Op.EQ, uid)

    def own(self, table: str, rows: Sequence[Row]) -> tuple[Row, ...]:
        """Return insert rows with the owner column set to the caller (refusing others)."""
        column = self.owner(table, "insert")
        if column is None:
            return tuple(rows)
        uid = self._uid(table)
        owned = []
        for row in rows:
            value = row.get(column)
            if value is not None and str(value) != uid:
                raise RowPolicyViolation(table, anonymous=self.anonymous)
            owned.append({**row, column: uid})
        return tuple(owned)

    def check_values(self, table: str, values: Row) -> None:
        """Refuse an update that would set the owner column to someone else."""
        column = self.owner(table, "update")
        if column is not None and column in values:
            if values[column] is None or str(values[column]) != self._uid(table):
                raise RowPolicyViolation(table, anonymous=self.anonymous)

    def foreign_rows(self, table: str) -> q.Filter | None:
        """Return the filter matching rows the caller does not own (for upsert checks)."""
        column = self.owner(table, "update")
        if column is None:
            return None
        uid = self.principal.user_id
        if uid is None:
            return q.And(())  # every row is someone else's
        return q.Or((q.Cond(column, q.Op.NEQ, uid), q.Cond(column, q.Op.IS, "null")))

    def _uid(self, table: str) -> str:
        uid = self.principal.user_id
        if uid is None:
            raise RowPolicyViolation(table, anonymous=self.anonymous)
        return uid


def combine(*nodes: q.Filter | None) -> q.Filter | None:
    """AND the given filters together, skipping None."""
    present = [n for n in nodes if n is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else q.And(tuple(present))
