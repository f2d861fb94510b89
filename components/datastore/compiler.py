"""Compile a neutral query into one engine's SQL: text plus bound parameters.

`Compiler.check` runs first and resolves every table and column name against the
introspected schema, so an unknown name raises UnknownIdentifier before any SQL exists.
After that, identifiers reach the SQL only through `Dialect.quote_ident` and values only
as parameters: the SQL text depends on the query's shape, never on its values.

Result columns are selected positionally, without `AS` aliases; the adapter names them
from `Statement.outputs`, so a select alias never reaches the SQL either.
"""

# S608 flags f-string SQL; here every identifier was resolved against the schema and quoted,
# and every value is a bound parameter (tests/datastore/test_injection.py holds us to it).
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mobo.exceptions import QueryError, UnsupportedFeature

from .dialect import Dialect
from .query import (
    And,
    Column,
    Cond,
    Delete,
    Filter,
    Insert,
    Not,
    Op,
    Or,
    Order,
    Query,
    Resolution,
    Select,
    Update,
    referenced_columns,
)
from .schema import Column as ColumnInfo
from .schema import Schema, Table

COMPARISONS = {Op.EQ: "=", Op.NEQ: "<>", Op.GT: ">", Op.GTE: ">=", Op.LT: "<", Op.LTE: "<="}
IS_SQL = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "NULL"}


@dataclass(frozen=True, slots=True)
class Output:
    """A result column: its key in result rows and the schema column it decodes as."""

    key: str
    column: ColumnInfo | None


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement ready for the driver; `rows` counts an INSERT's input rows."""

    sql: str
    params: tuple[object, ...] = ()
    outputs: tuple[Output, ...] = ()
    rows: int = 0


class Compiler:
    """Compile queries against one schema in one dialect."""

    def __init__(self, dialect: Dialect, schema: Schema) -> None:
        self.dialect = dialect
        self.schema = schema

    # -- checks -------------------------------------------------------------------------

    def check(self, query: Query) -> Table:
        """Resolve every name the query uses and refuse what the engine cannot do."""
        table = self.schema.table(query.table)
        for name in referenced_columns(query):
            table.column(name)
        for column in (*getattr(query, "columns", ()), *(getattr(query, "returning", ()) or ())):
            if column.cast:
                self.dialect.cast_type(column.cast)
        if isinstance(query, Insert):
            self._check_insert(table, query)
        elif isinstance(query, Update) and query.returning is not None:
            if not self.dialect.supports_returning("update") and not table.primary_key:
                feature = f"UPDATE ... RETURNING on {table.name}, which has no primary key"
                raise UnsupportedFeature(self.dialect.engine, feature)
        elif isinstance(query, Delete) and query.returning is not None:
            self._check_returning("delete")
        return table

    def _check_insert(self, table: Table, query: Insert) -> None:
        if query.returning is not None:
            self._check_returning("insert")
        if query.resolution is None and query.on_conflict is None:
            return
        target = self.conflict_target(table, query)
        if not table.is_unique(target):
            raise QueryError(
                f"there is no unique or exclusion constraint matching the ON CONFLICT "
                f"specification ({', '.join(target)}) on {table.name}",
                code="42P10",
                hint="on_conflict must name the primary key or the columns of a unique index",
            )
        if query.resolution is not None and query.rows and not query.rows[0]:
            raise QueryError("an upsert needs at least one column", code="PGRST102")

    def _check_returning(self, statement: str) -> None:
        if not self.dialect.supports_returning(statement):
            feature = f"{statement.upper()} ... RETURNING"
            raise UnsupportedFeature(self.dialect.engine, feature)

    def conflict_target(self, table: Table, query: Insert) -> tuple[str, ...]:
        """Return the upsert's conflict columns: `on_conflict`, else the primary key."""
        target = query.on_conflict or table.primary_key
        if not target:
            raise QueryError(
                f"{table.name} has no primary key: name the conflict columns with on_conflict",
                code="42P10",
            )
        return target

    # -- statements ---------------------------------------------------------------------

    def select(self, query: Select) -> Statement:
        """Compile a Select (without its count)."""
        table = self.check(query)
        params: list[object] = []
        columns, outputs = self._outputs(table, query.columns)
        sql = f"SELECT {columns} FROM {self._table(table)}{self._where(table, query.where, params)}"
        sql += self._order(table, query.order) + self._paging(query, params)
        return Statement(sql, tuple(params), outputs)

    def count(self, query: Select) -> Statement:
        """Compile the COUNT(*) of a Select's matching rows, ignoring order and paging."""
        table = self.check(query)
        params: list[object] = []
        where = self._where(table, query.where, params)
        sql = f"SELECT COUNT(*) FROM {self._table(table)}{where}"
        return Statement(sql, tuple(params), (Output("count", None),))

    def insert(self, query: Insert) -> tuple[Statement, ...]:
        """Compile an Insert into one statement per batch of rows the engine can bind."""
        table = self.check(query)
        if not query.rows:
            return ()
        names = tuple(query.rows[0])
        returning, outputs = self._returning(table, query.returning)
        if not names:
            sql = f"INSERT INTO {self._table(table)} {self.dialect.default_values}{returning}"
            return tuple(Statement(sql, (), outputs, 1) for _ in query.rows)
        head = self._insert_head(table, query, names)
        tail = self._conflict(table, query, names) + returning
        size = max(1, self.dialect.max_params // len(names))
        return tuple(
            self._values(table, head, tail, names, batch, outputs)
            for batch in _batches(query.rows, size)
        )

    def update(self, query: Update) -> Statement:
        """Compile an Update (with RETURNING where the dialect has it)."""
        table = self.check(query)
        params: list[object] = []
        sets = ", ".join(
            f"{self._ident(name)} = {self._param(params, self._encode(table, name, value))}"
            for name, value in query.values.items()
        )
        where = self._where(table, query.where, params)
        returning, outputs = self._returning(table, query.returning)
        sql = f"UPDATE {self._table(table)} SET {sets}{where}{returning}"
        return Statement(sql, tuple(params), outputs)

    def delete(self, query: Delete) -> Statement:
        """Compile a Delete."""
        table = self.check(query)
        params: list[object] = []
        where = self._where(table, query.where, params)
        returning, outputs = self._returning(table, query.returning)
        return Statement(
            f"DELETE FROM {self._table(table)}{where}{returning}", tuple(params), outputs
        )

    def keys(self, table_name: str, where: Filter | None) -> Statement:
        """Compile `SELECT <primary key> ... FOR UPDATE`: step one of an emulated RETURNING."""
        table = self.schema.table(table_name)
        params: list[object] = []
        columns = ", ".join(self._ident(name) for name in table.primary_key)
        sql = f"SELECT {columns} FROM {self._table(table)}{self._where(table, where, params)}"
        outputs = tuple(Output(name, table.column(name)) for name in table.primary_key)
        return Statement(sql + self.dialect.for_update, tuple(params), outputs)

    # -- pieces -------------------------------------------------------------------------

    def _ident(self, name: str) -> str:
        return self.dialect.quote_ident(name)

    def _table(self, table: Table) -> str:
        name = self._ident(table.name)
        return f"{self._ident(self.schema.namespace)}.{name}" if self.schema.namespace else name

    def _param(self, params: list[object], value: object) -> str:
        params.append(value)
        return self.dialect.placeholder

    def _encode(self, table: Table, name: str, value: object) -> object:
        return self.dialect.codec.encode(table.column(name), value)

    def _outputs(self, table: Table, columns: Sequence[Column]) -> tuple[str, tuple[Output, ...]]:
        columns = columns or tuple(Column(c.name) for c in table.columns)
        exprs, outputs = [], []
        for column in columns:
            info = table.column(column.name)
            expr = self._ident(column.name)
            if column.cast:
                expr = f"CAST({expr} AS {self.dialect.cast_type(column.cast)})"
            exprs.append(expr)
            outputs.append(Output(column.key, None if column.cast else info))
        return ", ".join(exprs), tuple(outputs)

    def _returning(
        self, table: Table, returning: Sequence[Column] | None
    ) -> tuple[str, tuple[Output, ...]]:
        if returning is None:
            return "", ()
        columns, outputs = self._outputs(table, returning)
        return f" RETURNING {columns}", outputs

    def _where(self, table: Table, node: Filter | None, params: list[object]) -> str:
        return "" if node is None else f" WHERE {self._filter(table, node, params)}"

    def _filter(self, table: Table, node: Filter, params: list[object]) -> str:
        if isinstance(node, Cond):
            return self._cond(table, node, params)
        if isinstance(node, Not):
            return f"NOT ({self._filter(table, node.node, params)})"
        if not node.nodes:
            return "1=1" if isinstance(node, And) else "1=0"
        joiner = " AND " if isinstance(node, And) else " OR "
        assert isinstance(node, And | Or)
        return "(" + joiner.join(self._filter(table, n, params) for n in node.nodes) + ")"

    def _cond(self, table: Table, cond: Cond, params: list[object]) -> str:
        info = table.column(cond.column)
        col = self._ident(cond.column)
        codec = self.dialect.codec
        if cond.op is Op.IS:
            sql = f"{col} IS {IS_SQL[str(cond.value)]}"
        elif cond.op is Op.IN:
            assert isinstance(cond.value, tuple)
            marks = [self._param(params, codec.encode_filter(info, v)) for v in cond.value]
            sql = f"{col} IN ({', '.join(marks)})" if marks else "1=0"
        elif cond.op in (Op.LIKE, Op.ILIKE):
            template = self.dialect.like if cond.op is Op.LIKE else self.dialect.ilike
            sql = template.format(col=col, val=self._param(params, like_pattern(cond.value)))
        else:
            mark = self._param(params, codec.encode_filter(info, cond.value))
            sql = f"{col} {COMPARISONS[cond.op]} {mark}"
        return f"NOT ({sql})" if cond.negate else sql

    def _order(self, table: Table, orders: Sequence[Order]) -> str:
        terms: list[str] = []
        for order in orders:
            table.column(order.column)
            terms.extend(self._order_terms(order))
        return " ORDER BY " + ", ".join(terms) if terms else ""

    def _order_terms(self, order: Order) -> Iterator[str]:
        col = self._ident(order.column)
        direction = " DESC" if order.desc else ""
        nulls_first = order.nulls == "first" if order.nulls else order.desc
        if self.dialect.nulls_order:
            yield f"{col}{direction} NULLS {'FIRST' if nulls_first else 'LAST'}"
            return
        if nulls_first != (self.dialect.nulls_low != order.desc):
            yield f"{col} IS NULL{' DESC' if nulls_first else ''}"
        yield f"{col}{direction}"

    def _paging(self, query: Select, params: list[object]) -> str:
        sql = ""
        if query.limit is not None:
            sql = f" LIMIT {self._param(params, query.limit)}"
        elif query.offset is not None and self.dialect.no_limit:
            sql = f" LIMIT {self.dialect.no_limit}"
        if query.offset is not None:
            sql += f" OFFSET {self._param(params, query.offset)}"
        return sql

    def _insert_head(self, table: Table, query: Insert, names: tuple[str, ...]) -> str:
        ignore = self.dialect.upsert == "on_duplicate_key" and query.resolution is Resolution.IGNORE
        columns = ", ".join(self._ident(n) for n in names)
        return f"INSERT {'IGNORE ' if ignore else ''}INTO {self._table(table)} ({columns})"

    def _conflict(self, table: Table, query: Insert, names: tuple[str, ...]) -> str:
        if query.resolution is None:
            return ""
        target = self.conflict_target(table, query)
        updated = [n for n in names if n not in target] or list(target)
        if self.dialect.upsert == "on_duplicate_key":
            if query.resolution is Resolution.IGNORE:
                return ""  # INSERT IGNORE; the adapter re-raises any non-duplicate warning
            sets = (f"{self._ident(n)} = VALUES({self._ident(n)})" for n in updated)
            return " ON DUPLICATE KEY UPDATE " + ", ".join(sets)
        conflict = f" ON CONFLICT ({', '.join(self._ident(n) for n in target)})"
        if query.resolution is Resolution.IGNORE:
            return conflict + " DO NOTHING"
        sets = (f"{self._ident(n)} = EXCLUDED.{self._ident(n)}" for n in updated)
        return conflict + " DO UPDATE SET " + ", ".join(sets)

    def _values(
        self,
        table: Table,
        head: str,
        tail: str,
        names: tuple[str, ...],
        rows: Sequence[dict[str, object]],
        outputs: tuple[Output, ...],
    ) -> Statement:
        params: list[object] = []
        groups = (
            "("
            + ", ".join(self._param(params, self._encode(table, n, row[n])) for n in names)
            + ")"
            for row in rows
        )
        sql = f"{head} VALUES {', '.join(groups)}{tail}"
        return Statement(sql, tuple(params), outputs, len(rows))


def like_pattern(value: object) -> object:
    """Return a LIKE pattern parameter: text as is, anything else as its text."""
    return value if value is None or isinstance(value, str) else str(value)


def _batches(rows: Sequence[dict[str, object]], size: int) -> Iterator[Sequence[dict[str, object]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
