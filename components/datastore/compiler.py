"""Compile a neutral query into one engine's SQL: text plus bound parameters.

`Compiler.check` runs first and resolves every table and column name against the
introspected schema, so an unknown name raises UnknownIdentifier before any SQL exists.
After that, identifiers reach the SQL only through `Dialect.quote_ident` and values only
as parameters: the SQL text depends on the query's shape, never on its values.

Result columns are selected positionally, without `AS` aliases; the adapter names them
from `Statement.outputs`, so a select alias never reaches the SQL either. JSON path keys
and text search configurations are values too: bound, never spliced. An aggregated
Select is grouped by the positions of its other columns (`GROUP BY 1, 2`), which stays
one expression however its JSON keys are bound.
"""

# S608 flags f-string SQL; here every identifier was resolved against the schema and quoted,
# and every value is a bound parameter (tests/datastore/test_injection.py holds us to it).
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from mobo.exceptions import QueryError, UnsupportedFeature

from .bounded_regex import check_pattern
from .dialect import Dialect
from .query import (
    FTS_OPS,
    And,
    Column,
    Cond,
    Delete,
    Filter,
    Insert,
    JsonPath,
    Not,
    Op,
    Or,
    Order,
    Query,
    Resolution,
    Select,
    Update,
    aggregated,
    referenced_columns,
)
from .schema import Column as ColumnInfo
from .schema import Kind, Schema, Table

COMPARISONS = {Op.EQ: "=", Op.NEQ: "<>", Op.GT: ">", Op.GTE: ">=", Op.LT: "<", Op.LTE: "<="}
IS_SQL = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "NULL"}
BASIC_OPS = frozenset({*COMPARISONS, Op.IS, Op.IN, Op.LIKE, Op.ILIKE})
FTS_FUNCTIONS = {
    Op.FTS: "to_tsquery",
    Op.PLFTS: "plainto_tsquery",
    Op.PHFTS: "phraseto_tsquery",
    Op.WFTS: "websearch_to_tsquery",
}
POSTGRES_OPERATORS = {
    Op.CS: "@>",
    Op.CD: "<@",
    Op.OV: "&&",
    Op.SL: "<<",
    Op.SR: ">>",
    Op.NXR: "&<",
    Op.NXL: "&>",
    Op.ADJ: "-|-",
}
JSON_EQUALITY = frozenset({Op.EQ, Op.NEQ, Op.IN, Op.IS})  # on a JSON value, outside PostgreSQL
AGGREGATE_SQL = {"count": "COUNT", "sum": "SUM", "avg": "AVG", "max": "MAX", "min": "MIN"}


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
            if column.aggregate_cast:
                self.dialect.cast_type(column.aggregate_cast)
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
        sql, outputs = self._grouped(table, query, params)
        sql += self._order(table, query.order, params, _positions(query))
        sql += self._paging(query, params)
        return Statement(sql, tuple(params), outputs)

    def count(self, query: Select) -> Statement:
        """Compile the COUNT(*) of a Select's matching rows, ignoring order and paging.

        An aggregated Select counts its groups: the rows it would return."""
        table = self.check(query)
        params: list[object] = []
        if aggregated(query):
            inner, _ = self._grouped(table, query, params)
            sql = f"SELECT COUNT(*) FROM ({inner}) {self._ident('mobo_groups')}"
        else:
            where = self._where(table, query.where, params)
            sql = f"SELECT COUNT(*) FROM {self._table(table)}{where}"
        return Statement(sql, tuple(params), (Output("count", None),))

    def _grouped(
        self, table: Table, query: Select, params: list[object]
    ) -> tuple[str, tuple[Output, ...]]:
        """Return `SELECT ... FROM ... WHERE ... [GROUP BY ...]` and its outputs."""
        columns, outputs = self._outputs(table, query.columns, params)
        sql = f"SELECT {columns} FROM {self._table(table)}{self._where(table, query.where, params)}"
        if aggregated(query):
            groups = [str(i) for i, c in enumerate(query.columns, 1) if c.aggregate is None]
            sql += f" GROUP BY {', '.join(groups)}" if groups else ""
        return sql, outputs

    def insert(self, query: Insert) -> tuple[Statement, ...]:
        """Compile an Insert into one statement per batch of rows the engine can bind."""
        table = self.check(query)
        if not query.rows:
            return ()
        names = tuple(query.rows[0])
        extra: list[object] = []  # the RETURNING list's own parameters (JSON keys)
        returning, outputs = self._returning(table, query.returning, extra)
        if not names:
            sql = f"INSERT INTO {self._table(table)} {self.dialect.default_values}{returning}"
            return tuple(Statement(sql, tuple(extra), outputs, 1) for _ in query.rows)
        head = self._insert_head(table, query, names)
        tail = self._conflict(table, query, names) + returning
        size = max(1, (self.dialect.max_params - len(extra)) // len(names))
        return tuple(
            self._values(table, head, (tail, tuple(extra)), names, batch, outputs)
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
        returning, outputs = self._returning(table, query.returning, params)
        sql = f"UPDATE {self._table(table)} SET {sets}{where}{returning}"
        return Statement(sql, tuple(params), outputs)

    def delete(self, query: Delete) -> Statement:
        """Compile a Delete."""
        table = self.check(query)
        params: list[object] = []
        where = self._where(table, query.where, params)
        returning, outputs = self._returning(table, query.returning, params)
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

    def _outputs(
        self, table: Table, columns: Sequence[Column], params: list[object]
    ) -> tuple[str, tuple[Output, ...]]:
        columns = columns or tuple(Column(c.name) for c in table.columns)
        exprs, outputs = [], []
        for column in columns:
            expr, info = self._output(table, column, params)
            exprs.append(expr)
            outputs.append(Output(column.key, info))
        return ", ".join(exprs), tuple(outputs)

    def _output(
        self, table: Table, column: Column, params: list[object]
    ) -> tuple[str, ColumnInfo | None]:
        """Return one output's SQL and the column it decodes as (None: as the driver reads)."""
        if column.name == "*":
            expr, info = "COUNT(*)", None
        else:
            expr, info = self._operand(table, column.name, column.json, params)
            if column.cast:
                expr, info = f"CAST({expr} AS {self.dialect.cast_type(column.cast)})", None
        if column.aggregate is not None and column.name != "*":
            expr = f"{AGGREGATE_SQL[column.aggregate]}({expr})"
            info = info if column.aggregate in ("max", "min") else None
        if column.aggregate_cast:
            expr, info = f"CAST({expr} AS {self.dialect.cast_type(column.aggregate_cast)})", None
        return expr, info

    def _operand(
        self, table: Table, name: str, path: JsonPath | None, params: list[object]
    ) -> tuple[str, ColumnInfo | None]:
        """Return a column, or a value inside it, and the column it decodes as."""
        info = table.column(name)
        if path is None:
            return self._ident(name), info
        expr = self.dialect.json_expr(
            self._ident(name), path.keys, path.text, lambda v: self._param(params, v)
        )
        return expr, None if path.text else ColumnInfo(path.last, "jsonb", Kind.JSON)

    def _returning(
        self, table: Table, returning: Sequence[Column] | None, params: list[object]
    ) -> tuple[str, tuple[Output, ...]]:
        if returning is None:
            return "", ()
        columns, outputs = self._outputs(table, returning, params)
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
        if cond.json is not None or cond.modifier is not None or cond.op not in BASIC_OPS:
            sql = self._special(table, cond, params)
            return f"NOT ({sql})" if cond.negate else sql
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

    def _special(self, table: Table, cond: Cond, params: list[object]) -> str:
        """Compile a condition on a JSON path, with (any)/(all), or with a newer operator."""
        self._check_cond(table, cond)
        if cond.modifier is None:
            return self._compare(table, cond, cond.value, params)
        assert isinstance(cond.value, tuple)
        if not cond.value:  # as PostgreSQL: ANY of nothing is false, ALL of nothing true
            return "1=0" if cond.modifier == "any" else "1=1"
        joiner = " OR " if cond.modifier == "any" else " AND "
        return "(" + joiner.join(self._compare(table, cond, v, params) for v in cond.value) + ")"

    def _check_cond(self, table: Table, cond: Cond) -> None:
        """Refuse what the engine cannot do faithfully, naming it."""
        dialect, op = self.dialect, cond.op
        if cond.json is not None and not cond.json.text and dialect.json_style != "postgres":
            if op not in JSON_EQUALITY and not (op in (Op.CS, Op.CD) and dialect.json_contains):
                raise UnsupportedFeature(
                    dialect.engine,
                    f"the {op} operator on a JSON value ({cond.column}->...): compare it "
                    "as text with ->> instead",
                )
            if op is not Op.IS and dialect.json_equal is None and op not in (Op.CS, Op.CD):
                raise UnsupportedFeature(dialect.engine, "comparing JSON values")
        if op in FTS_OPS and not dialect.postgres_ops:
            raise UnsupportedFeature(dialect.engine, f"full-text search ({op})")
        if op in (Op.MATCH, Op.IMATCH) and dialect.match is None:
            raise UnsupportedFeature(dialect.engine, f"regular expressions ({op})")
        if op in POSTGRES_OPERATORS and not dialect.postgres_ops:
            json_value = cond.json is not None and not cond.json.text
            json_column = cond.json is None and table.column(cond.column).kind is Kind.JSON
            if (
                op not in (Op.CS, Op.CD)
                or dialect.json_contains is None
                or not (json_value or json_column)
            ):
                what = "JSON values" if op in (Op.CS, Op.CD) else "ranges"
                raise UnsupportedFeature(
                    dialect.engine,
                    f"the {op} operator here (array and range operators are PostgreSQL's; "
                    f"{dialect.engine} has cs/cd on {what} only)",
                )

    def _compare(self, table: Table, cond: Cond, value: object, params: list[object]) -> str:
        """Compile `operand op value` once (an (any)/(all) condition repeats it per value)."""
        op, dialect = cond.op, self.dialect
        textual = dialect.json_style != "postgres"  # JSON is text: compare it as JSON
        if textual and cond.json is not None and not cond.json.text and op in JSON_EQUALITY:
            if op is not Op.IS:
                values = value if isinstance(value, tuple) else (value,)
                if not values:
                    return "1=0"
                equal = " OR ".join(self._json_equal(table, cond, v, params) for v in values)
                return f"NOT ({equal})" if op is Op.NEQ else f"({equal})"
        mark_count = len(params)
        lhs, info = self._operand(table, cond.column, cond.json, params)
        if op is Op.IS:
            return f"{lhs} IS {IS_SQL[str(value)]}"
        if op is Op.IN:
            assert isinstance(value, tuple)
            if not value:
                return "1=0"
            marks = [self._param(params, self._value(info, cond, v)) for v in value]
            return f"{lhs} IN ({', '.join(marks)})"
        if op in (Op.LIKE, Op.ILIKE):
            template = dialect.like if op is Op.LIKE else dialect.ilike
            return template.format(col=lhs, val=self._param(params, like_pattern(value)))
        if op in (Op.MATCH, Op.IMATCH):
            matcher = dialect.match if op is Op.MATCH else dialect.imatch
            assert matcher is not None
            if dialect.engine == "sqlite":  # the regex package runs it: refuse a bad one first
                check_pattern(str(value))
            return matcher.format(col=lhs, val=self._param(params, like_pattern(value)))
        if op in FTS_FUNCTIONS:
            function = FTS_FUNCTIONS[op]
            if cond.config is None:
                return f"{lhs} @@ {function}({self._param(params, like_pattern(value))})"
            config = self._param(params, cond.config)
            return f"{lhs} @@ {function}({config}::regconfig, {self._param(params, value)})"
        if op in (Op.CS, Op.CD) and dialect.json_style != "postgres":
            assert dialect.json_contains is not None
            if op is Op.CD:  # the value comes first in the SQL: bind it first
                del params[mark_count:]
                mark = self._param(params, like_pattern(value))
                lhs, _ = self._operand(table, cond.column, cond.json, params)
                return dialect.json_contains.format(col=mark, val=lhs)
            mark = self._param(params, like_pattern(value))
            return dialect.json_contains.format(col=lhs, val=mark)
        if op in POSTGRES_OPERATORS:
            mark = self._param(params, self._value(info, cond, value))
            return f"{lhs} {POSTGRES_OPERATORS[op]} {mark}"
        mark = self._param(params, self._value(info, cond, value))
        if op is Op.ISDISTINCT:
            return dialect.isdistinct.format(col=lhs, val=mark)
        return f"{lhs} {COMPARISONS[op]} {mark}"

    def _json_equal(self, table: Table, cond: Cond, value: object, params: list[object]) -> str:
        """Compile `json value = JSON text` where JSON is text (SQLite, MySQL)."""
        template = self.dialect.json_equal
        assert template is not None and cond.json is not None
        lhs, _ = self._operand(table, cond.column, cond.json, params)
        return template.format(col=lhs, val=self._param(params, like_pattern(value)))

    def _value(self, info: ColumnInfo | None, cond: Cond, value: object) -> object:
        """Return the parameter for `value`: typed for a column, as given for a JSON path."""
        if cond.json is not None or info is None:
            return like_pattern(value)
        return self.dialect.codec.encode_filter(info, value)

    def _order(
        self,
        table: Table,
        orders: Sequence[Order],
        params: list[object],
        positions: dict[tuple[str, JsonPath | None], int] | None = None,
    ) -> str:
        """Compile ORDER BY; a grouped column is named by its position (`positions`), as
        its JSON keys, bound anew, would not be the GROUP BY's expression for PostgreSQL."""
        terms: list[str] = []
        for order in orders:
            position = (positions or {}).get((order.column, order.json))
            if position is not None and self.dialect.nulls_order:
                table.column(order.column)
                terms.extend(self._order_terms(order, partial(str, position)))
                continue
            if order.json is not None and not order.json.text:
                if self.dialect.json_style != "postgres":
                    raise UnsupportedFeature(
                        self.dialect.engine,
                        f"ordering by a JSON value ({order.column}->...): order by its text "
                        "with ->> instead",
                    )

            def operand(order: Order = order) -> str:  # bound anew where it is repeated
                return self._operand(table, order.column, order.json, params)[0]

            terms.extend(self._order_terms(order, operand))
        return " ORDER BY " + ", ".join(terms) if terms else ""

    def _order_terms(self, order: Order, operand: Callable[[], str]) -> Iterator[str]:
        direction = " DESC" if order.desc else ""
        nulls_first = order.nulls == "first" if order.nulls else order.desc
        if self.dialect.nulls_order:
            yield f"{operand()}{direction} NULLS {'FIRST' if nulls_first else 'LAST'}"
            return
        if nulls_first != (self.dialect.nulls_low != order.desc):
            yield f"{operand()} IS NULL{' DESC' if nulls_first else ''}"
        yield f"{operand()}{direction}"

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
        tail: tuple[str, tuple[object, ...]],
        names: tuple[str, ...],
        rows: Sequence[Mapping[str, object]],
        outputs: tuple[Output, ...],
    ) -> Statement:
        params: list[object] = []
        groups = (
            "("
            + ", ".join(self._param(params, self._encode(table, n, row[n])) for n in names)
            + ")"
            for row in rows
        )
        sql = f"{head} VALUES {', '.join(groups)}{tail[0]}"
        return Statement(sql, (*params, *tail[1]), outputs, len(rows))


def _positions(query: Select) -> dict[tuple[str, JsonPath | None], int] | None:
    """Return the select positions of an aggregated Select's grouped JSON paths."""
    if not aggregated(query):
        return None
    return {
        (c.name, c.json): i
        for i, c in enumerate(query.columns, 1)
        if c.aggregate is None and c.json is not None and c.cast is None
    }


def like_pattern(value: object) -> object:
    """Return a LIKE pattern parameter: text as is, anything else as its text."""
    return value if value is None or isinstance(value, str) else str(value)


def _batches(
    rows: Sequence[Mapping[str, object]], size: int
) -> Iterator[Sequence[Mapping[str, object]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
